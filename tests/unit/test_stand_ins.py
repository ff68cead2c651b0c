"""Stand-ins on the host: made before a confined session, removed by the last session using them."""

from __future__ import annotations

import os
from pathlib import Path

from kro.sandbox import protected_paths as pp
from kro.sandbox import stand_ins


def _entries(repo: Path) -> tuple[pp.Protected, ...]:
    return tuple(pp.protected([str(repo)], "/nonexistent"))


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "work"
    (repo / ".git" / "hooks").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "config").write_text("[core]\n")
    return repo


def test_made_then_removed(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    held = stand_ins.make(_entries(repo), tmp_path / "box", tmp_path / "registry")
    assert (repo / ".git" / "commondir").read_text() == ".\n"  # what git assumes without one
    assert (repo / ".git" / "config.worktree").read_text() == ""
    assert (repo / ".git" / "info").is_dir()
    stand_ins.release(held)
    assert sorted(p.name for p in (repo / ".git").iterdir()) == ["HEAD", "config", "hooks"]
    assert list((tmp_path / "registry").iterdir()) == []


def test_the_last_session_removes_them(tmp_path: Path) -> None:
    """A second session in the same dir joins the first one's stand-ins; they go when both have ended."""
    repo = _repo(tmp_path)
    registry = tmp_path / "registry"
    first = stand_ins.make(_entries(repo), tmp_path / "box1", registry)
    second = stand_ins.make(_entries(repo), tmp_path / "box2", registry)  # sees them as existing files
    stand_ins.release(first)
    assert (repo / ".git" / "commondir").read_text() == ".\n", "still bound in the second session"
    stand_ins.release(second)
    assert not (repo / ".git" / "commondir").exists()


def test_a_killed_sessions_stand_ins_go_with_the_next_one(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    registry = tmp_path / "registry"
    killed = stand_ins.make(_entries(repo), tmp_path / "box1", registry)
    for _, fd, _ in killed.entries:  # kro-run died: its locks went with its descriptors
        os.close(fd)
    nxt = stand_ins.make(_entries(repo), tmp_path / "box2", registry)
    stand_ins.release(nxt)
    assert not (repo / ".git" / "commondir").exists()
    assert not (repo / ".git" / "info").exists()


def test_a_changed_stand_in_is_left_alone(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    held = stand_ins.make(_entries(repo), tmp_path / "box", tmp_path / "registry")
    (repo / ".git" / "info" / "exclude").write_text("x\n")  # the user's git, outside, during the session
    stand_ins.release(held)
    assert (repo / ".git" / "info" / "exclude").read_text() == "x\n"
