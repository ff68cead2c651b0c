"""kro-run's process lifetime: signals reach the agent, nothing outlives a session, dead ones are reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from kro_testing import BIN, KroSession, wait_for
from test_confine import Confined, cluster, confined, needs_bwrap

__all__ = ["cluster", "confined"]  # fixtures, used by name


def _left(run_dir: Path) -> list[str]:
    """Processes still running for a session under `run_dir`: by environment (KRO_SESSION) or argv."""
    marker = str(run_dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(e.startswith(b"KRO_SESSION=" + marker) for e in env) or marker in argv:
            found.append(argv.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _sessions(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "kro").glob("session-*"))


def _start(session: KroSession, script: str, *options: str) -> subprocess.Popen[str]:
    argv = [str(BIN / "kro-run"), "--kubeconfig", str(session.demo.kubeconfig), "--context", "kro-demo",
            "--audit-log", str(session.audit_log), "--output", "plain", *options,
            "--", "sh", "-c", script]  # fmt: skip
    return subprocess.Popen(argv, env=session.env(), cwd=session.tmp, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


WATCH = "kubectl get pods -n demo -w >/dev/null 2>&1 & sleep 300 & touch started; wait"


def test_sigterm_reaches_the_agent_and_nothing_is_left(kro_session: KroSession) -> None:
    """SIGTERM to kro-run: the agent gets it (its trap runs), kro-run exits with the agent's code, and no
    process (the agent's children, kubectl) nor the session dir is left."""
    run = kro_session.tmp / "run"
    proc = _start(kro_session, f"trap 'echo trapped >&2; exit 3' TERM; {WATCH}")
    wait_for(
        lambda: (kro_session.tmp / "started").exists() and len(_left(run)) >= 3,
        "the agent and its children",
        30,
    )
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "trapped" in err
    assert _left(run) == []
    assert _sessions(run) == []


def test_an_agent_ignoring_sigterm_is_killed_after_the_grace(kro_session: KroSession) -> None:
    """An agent that ignores SIGTERM is killed with its process group after the grace period: 128+9."""
    run = kro_session.tmp / "run"
    proc = _start(kro_session, f"trap '' TERM; {WATCH}")
    wait_for(lambda: (kro_session.tmp / "started").exists(), "the agent to start", 30)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGKILL
    assert time.monotonic() - started > 4, "killed before the grace period (5 s) was over"
    assert _left(run) == []
    assert _sessions(run) == []


def test_kill_9_is_cleaned_up_at_the_next_start(kro_session: KroSession) -> None:
    """kill -9 of kro-run: the agent dies with it; what it left running and its session dir are gone once
    the next kro-run starts."""
    run = kro_session.tmp / "run"
    proc = _start(kro_session, WATCH)
    wait_for(
        lambda: (kro_session.tmp / "started").exists() and len(_left(run)) >= 3,
        "the agent and its children",
        30,
    )
    proc.kill()
    proc.wait(timeout=30)  # not communicate(): the orphans hold its pipes open
    assert len(_sessions(run)) == 1
    again = kro_session.sh("true")
    assert again.returncode == 0, again.stderr
    wait_for(lambda: _left(run) == [], "nothing left running", 10)
    assert _sessions(run) == []


@needs_bwrap
def test_confined_sigterm_and_kill_9_leave_nothing(confined: Confined) -> None:
    """--confine: SIGTERM ends the sandbox and the kubectl the broker runs for it; after kill -9 the broker's
    kubectl dies with kro-run, and the next start reclaims the session dir."""
    run = confined.base / "run"
    for sig in (signal.SIGTERM, signal.SIGKILL):
        proc = confined.popen("kubectl get pods -n demo -w >/dev/null & touch started; wait")
        wait_for(
            lambda: (confined.work / "started").exists() and any("-w" in p for p in _left(run)),
            "the confined watch",
            30,
        )
        proc.send_signal(sig)
        proc.wait(timeout=30)
        (confined.work / "started").unlink()
        wait_for(lambda: _left(run) == [], "nothing left running", 10)
        if sig == signal.SIGTERM:
            assert proc.returncode == 128 + signal.SIGTERM
            assert _sessions(run) == []
    assert len(_sessions(run)) == 1
    assert confined.run("true").returncode == 0
    assert _sessions(run) == []
