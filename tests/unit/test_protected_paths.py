"""The protected-path list (sandbox/protected_paths.py): what each git layout and home yields, and how."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kro.sandbox import protected_paths as pp


def _layout(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def _hows(entries: list[pp.Protected], root: Path) -> dict[str, str]:
    return {os.path.relpath(e.path, root): e.how for e in entries if e.path.startswith(str(root))}


REPO = {".git/HEAD": "ref: refs/heads/main\n", ".git/config": "[core]\n", ".git/hooks/": "",
        ".git/objects/": ""}  # fmt: skip


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            REPO,
            {".git": pp.PIN, ".git/config": pp.READ_ONLY, ".git/hooks": pp.READ_ONLY,
             ".git/commondir": pp.PLACEHOLDER, ".git/config.worktree": pp.PLACEHOLDER,
             ".git/info": pp.PLACEHOLDER, ".git/worktrees": pp.PLACEHOLDER},
            id="repository",
        ),
        pytest.param(
            {**REPO, ".git/worktrees/wt/HEAD": "x\n", ".git/worktrees/wt/commondir": "../..\n",
             ".git/worktrees/wt/gitdir": "/elsewhere/.git\n"},
            {".git/worktrees": pp.READ_ONLY, ".git/worktrees/wt": None, ".git/worktrees/wt/commondir": None},
            id="linked-worktree-git-dirs",
        ),
        pytest.param(
            {**REPO, ".git/modules/vendor/lib/HEAD": "x\n", ".git/modules/vendor/lib/hooks/": ""},
            {".git/modules/vendor/lib": pp.PIN, ".git/modules/vendor/lib/hooks": pp.READ_ONLY,
             ".git/modules/vendor/lib/config": pp.PLACEHOLDER},
            id="nested-submodule-git-dir",
        ),
        pytest.param({}, {".git": pp.PLACEHOLDER, ".mcp.json": None, ".claude": None},
                     id="no-repository-none-can-be-made-no-project-stand-ins"),
        pytest.param({".mcp.json": "{}", ".claude/settings.json": "{}", ".vscode/": ""},
                     {".mcp.json": pp.READ_ONLY, ".claude/settings.json": pp.READ_ONLY,
                      ".vscode": pp.READ_ONLY},
                     id="existing-project-settings-read-only"),
        pytest.param({".git": "gitdir: wtgit\n", "wtgit/HEAD": "x\n", "wtgit/commondir": "../main\n",
                      "main/HEAD": "x\n", "main/hooks/": ""},
                     {".git": pp.READ_ONLY, "wtgit": pp.PIN, "wtgit/commondir": pp.READ_ONLY,
                      "main": pp.PIN, "main/hooks": pp.READ_ONLY},
                     id="gitdir-file-and-its-common-dir"),
    ],
)  # fmt: skip
def test_repository_layouts(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    root = tmp_path / "work"
    root.mkdir()
    _layout(root, files)
    got = _hows(pp.protected([str(root)], str(tmp_path / "home")), root)
    assert {k: got.get(k) for k in expected} == expected


def test_placeholders_hold_what_git_reads_when_absent(tmp_path: Path) -> None:
    _layout(tmp_path, REPO)
    entries = {os.path.relpath(e.path, tmp_path): e for e in pp.protected([str(tmp_path)], "/nonexistent")}
    assert entries[".git/commondir"].content == ".\n"
    assert entries[".git/config.worktree"].content == ""
    assert entries[".git/info"].is_dir


def test_home_entries_only_under_writable_roots(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _layout(home, {".claude/": "", ".codex/config.toml": "model = 'x'\n", ".npm/_npx/": "", ".gemini/": "",
                   ".claude.json": "{}\n"})  # fmt: skip
    writable = [str(home / d) for d in (".claude", ".codex", ".npm", ".claude.json")]  # not .gemini
    got = _hows(pp.protected(writable, str(home)), home)
    assert got[".claude/settings.json"] == pp.PLACEHOLDER
    assert got[".claude/hooks"] == pp.PLACEHOLDER
    assert got[".claude/plugins"] == pp.PLACEHOLDER
    assert got[".codex/config.toml"] == pp.READ_ONLY
    assert got[".npm/_npx"] == pp.PRIVATE
    assert got[".claude.json"] == pp.PRIVATE
    assert not any(k.startswith(".gemini") for k in got), "read-only already: not writable"


def test_outermost_first(tmp_path: Path) -> None:
    _layout(tmp_path, REPO)
    paths = [e.path for e in pp.protected([str(tmp_path)], "/nonexistent")]
    assert paths.index(str(tmp_path / ".git")) < paths.index(str(tmp_path / ".git" / "config"))


def test_too_many_submodules_make_modules_read_only_whole(tmp_path: Path) -> None:
    _layout(tmp_path, REPO)
    for n in range(pp.MAX_SUBMODULES + 1):
        _layout(tmp_path, {f".git/modules/m{n}/HEAD": "x\n"})
    got = _hows(pp.protected([str(tmp_path)], "/nonexistent"), tmp_path)
    assert got[".git/modules"] == pp.READ_ONLY
    assert not any(k.startswith(".git/modules/") for k in got)
