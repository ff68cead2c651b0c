"""Every entry point maps errors to ExitStatus the same way: one line naming the program, no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kro_testing import BIN

from kro.sandbox import session_dir
from kro.sandbox.confine import client_script
from kro.shims.errors import ExitStatus


def _shim(tmp: Path, text: str, session: str | None) -> str:
    (tmp / "bin").mkdir(exist_ok=True)
    script = tmp / "bin" / "kubectl"
    script.write_text(text)
    script.chmod(0o700)
    if session is not None:
        (tmp / "session.json").write_text(session)
    return str(script)


def _case(name: str, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that make entry point `name` fail."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp), "XDG_RUNTIME_DIR": str(tmp), "XDG_CACHE_HOME": str(tmp)}
    return {
        "kro": ([str(BIN / "kro"), "no-such-command"], env),
        "kro-audit": ([str(BIN / "kro"), "audit", "--file", str(tmp / "none.jsonl")], env),
        "kro-check": ([str(BIN / "kro"), "check", "--bogus"], env),
        "kro-serve": ([str(BIN / "kro"), "serve", "--kubeconfig", str(tmp / "none")], env),
        "kro-run": ([str(BIN / "kro-run"), "--kubeconfig", str(tmp / "none"), "--", "true"], env),
        "kubectl-ro": ([str(BIN / "kubectl-ro"), "get", "pods"], {**env, "KUBECONFIG": str(tmp / "none")}),
        "shim": ([_shim(tmp, session_dir.shim_script("kubectl"), "{"), "get", "pods"], env),
        "confined-shim": ([_shim(tmp, client_script("kubectl"), '{"schema": 1}'), "get", "pods"], env),
    }[name]


@pytest.mark.parametrize(
    ("name", "status", "prefix"),
    [
        pytest.param("kro", ExitStatus.USAGE, "kro: unknown command", id="entry.kro"),
        pytest.param("kro-audit", ExitStatus.USAGE, "kro audit: no audit log", id="entry.kro-audit"),
        pytest.param("kro-check", ExitStatus.USAGE, "kro check: unknown option", id="entry.kro-check"),
        pytest.param("kro-serve", ExitStatus.CONFIG, "kro serve: ", id="entry.kro-serve"),
        pytest.param("kro-run", ExitStatus.CONFIG, "kro-run: ", id="entry.kro-run"),
        pytest.param("kubectl-ro", ExitStatus.CONFIG, "kubectl-ro: kubeconfig", id="entry.kubectl-ro"),
        pytest.param("shim", ExitStatus.CONFIG, "kro: damaged session file", id="entry.shim"),
        pytest.param(
            "confined-shim", ExitStatus.CONFIG, "kro: damaged session file", id="entry.confined-shim"
        ),
    ],
)
def test_entry_point_errors(tmp_path: Path, name: str, status: int, prefix: str) -> None:
    """The same error, the same way: one line on stderr starting with the program's name, its ExitStatus."""
    argv, env = _case(name, tmp_path)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == status, proc.stderr
    assert proc.stderr.startswith(prefix), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
