"""The package layout: no symlinks, kro.* only, and the shim's `python -IS` start finds every part."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kro.sandbox import session_dir

ROOT = Path(__file__).resolve().parents[2]


def test_repository_holds_no_symlinks() -> None:
    listing = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert [line for line in listing.stdout.splitlines() if line.startswith("120000")] == []


@pytest.mark.parametrize("name", ["shims", "sandbox", "democluster"])
def test_mapped_folders_import_only_under_kro(name: str, tmp_path: Path) -> None:
    probe = f"from importlib.util import find_spec as f; print(f({name!r}) is None, f('kro.{name}') is None)"
    result = subprocess.run([sys.executable, "-I", "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.split() == ["True", "False"], result.stderr


def test_package_dirs_name_each_mapped_folder() -> None:
    dirs = session_dir.package_dirs()
    assert [os.path.basename(d) for d in dirs] == ["kro", "shims", "sandbox", "democluster"]
    assert all(os.path.isfile(os.path.join(d, "__init__.py")) for d in dirs)


def test_shim_script_starts_under_isolated_mode(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    shim = tmp_path / "bin" / "kubectl"
    shim.write_text(session_dir.shim_script("kubectl"))
    shim.chmod(0o700)
    env = {"PATH": os.defpath, "HOME": str(tmp_path)}
    result = subprocess.run([str(shim), "get", "pods"], capture_output=True, text=True, env=env, cwd=tmp_path)
    # No session.json beside the shim: the shim imported, ran, and refused with its configuration error.
    assert result.returncode == 78, result.stderr
    assert f"no kro session at {tmp_path}/session.json" in result.stderr


def test_readme_layout_names_every_module() -> None:
    """README's "Layout" section draws the tree: every module of every package folder is in it."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Layout\n")
    section = readme[start : readme.index("\n## ", start + 1) if "\n## " in readme[start + 1 :] else None]
    missing = [
        f"{folder}/{path.relative_to(ROOT / folder)}"
        for folder in ("shims", "sandbox", "democluster", "kro")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "__init__.py" and path.name not in section
    ]
    assert missing == []
