"""Session dirs cannot race: created complete and locked by their owner; reclaimed only when it is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kro_testing import KroSession

from kro.sandbox import session_dir

OWNER = """
import sys, time
from pathlib import Path
from kro.sandbox import session_dir
print(session_dir.new_session_dir(Path(sys.argv[1])), flush=True)
time.sleep(600)
"""


def _owner(root: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen([sys.executable, "-c", OWNER, str(root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_reclaim_keeps_a_live_owners_dir_and_removes_a_dead_ones(tmp_path: Path) -> None:
    """A dir whose owner holds its lock stays, even with no session.json yet; once the owner dies it goes."""
    proc, made = _owner(tmp_path)
    try:
        assert made.name.startswith("session-")
        assert (made / "bin").is_dir()
        assert int((made / session_dir.LOCK_FILE).read_text()) == proc.pid
        assert session_dir.reclaim(tmp_path) == []
        assert made.is_dir()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert session_dir.reclaim(tmp_path) == [made]
    assert not made.exists()


def test_a_free_lock_with_a_live_pid_is_not_proof(tmp_path: Path) -> None:
    """The lock is free but the pid in it is alive (this process): the dir is kept."""
    entry = tmp_path / "session-mine"
    (entry / "bin").mkdir(parents=True)
    (entry / session_dir.LOCK_FILE).write_text(f"{os.getpid()}\n")
    assert session_dir.reclaim(tmp_path) == []
    (entry / session_dir.LOCK_FILE).write_text(f"{2**22 + 1}\n")  # above any pid_max
    assert session_dir.reclaim(tmp_path) == [entry]


def test_a_young_dir_without_lock_or_session_file_is_left_alone(tmp_path: Path) -> None:
    """A staging dir (or an older kro's dir) with nothing to prove its owner gone stays until it is old."""
    young = tmp_path / f"{session_dir.STAGING}abc"
    young.mkdir()
    assert session_dir.reclaim(tmp_path) == []
    old = time.time() - 2 * 600
    os.utime(young, (old, old))
    assert session_dir.reclaim(tmp_path) == [young]


def test_session_file_is_replaced_whole(tmp_path: Path) -> None:
    """session.json is written beside and renamed into place: over an old one, no .tmp left, 0600."""
    from kro.shims.session import SESSION_FILE, Session, load_session, write_session

    path = tmp_path / SESSION_FILE
    first = Session("s1", str(tmp_path), "ctx", "", "/usr/bin/kubectl", launcher_pid=os.getpid())
    write_session(first, str(path))
    second = first._replace(context="other")
    write_session(second, str(path))
    assert load_session(str(path)) == second
    assert [p.name for p in tmp_path.iterdir()] == [SESSION_FILE]
    assert path.stat().st_mode & 0o777 == 0o600


def test_twenty_four_sessions_started_at_once_all_succeed(kro_session: KroSession) -> None:
    """24 kro-run started at the same moment, sharing one runtime dir: every one runs its kubectl call."""
    env = kro_session.env()

    def one(n: int) -> subprocess.CompletedProcess[str]:
        return kro_session.run("kubectl", "get", "pods", "-n", "demo", env=env, timeout=600)

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(one, range(24)))
    failed = [(r.returncode, r.stderr[-300:]) for r in results if r.returncode != 0]
    assert failed == []
    assert all("web-" in r.stdout for r in results)
    assert list((kro_session.tmp / "run" / "kro").iterdir()) == []
    assert len([c for c in kro_session.audit() if c["argv"][:2] == ["get", "pods"]]) == 24
