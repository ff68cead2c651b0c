"""The portable platform tier: kro-run's session tests with KRO_PLATFORM=portable (kro.sandbox.platform).

With the switch on, kro-run uses none of the Linux-only primitives (pidfd, PR_SET_PDEATHSIG,
PR_SET_CHILD_SUBREAPER, /proc): it waits for the agent through SIGCHLD, ends the agent's process group
instead of reaping orphans, and walks processes with psutil, as it does on macOS.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import test_confine
import test_lifetime
from kro_testing import BIN, KroSession, wait_for
from test_confine import Confined, cluster, confined, needs_bwrap
from test_lifetime import _left, _sessions, _start

from kro.democluster.fixture import WEB_PODS

__all__ = ["cluster", "confined"]  # fixtures, used by name
pytestmark = pytest.mark.portable

READ_AND_WRITE = "kubectl get pods -n demo; kubectl delete pod -n demo {pod}; echo blocked=$?; exit 5"


@pytest.fixture(autouse=True)
def portable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kro-run these tests start inherits KRO_PLATFORM=portable."""
    monkeypatch.setenv("KRO_PLATFORM", "portable")


def test_the_switch_turns_every_linux_primitive_off() -> None:
    """platform.portable: no pidfd, no prctl (tie, subreaper), no /proc; psutil walks processes."""
    probe = (
        "import json, os, subprocess\n"
        "from kro.sandbox import platform as p\n"
        "child = subprocess.Popen(['sleep', '5'])\n"
        "found = [pid for pid, _ in p.descendants(os.getpid())]\n"
        "print(json.dumps({'portable': p.PORTABLE, 'linux': p.LINUX, 'proc': p.PROC,\n"
        "  'tied': p.tied() is None,\n"
        "  'reaper': p.become_subreaper(), 'pidfd': p.agent_exit_fd(child) is None,\n"
        "  'walk': found == [child.pid], 'parent': p.parent_pid(child.pid) == os.getpid(),\n"
        "  'psutil': 'psutil' in __import__('sys').modules}))\n"
        "child.kill()\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "KRO_PLATFORM": "portable"})  # fmt: skip
    assert json.loads(out.stdout) == {"portable": True, "linux": False, "proc": False, "tied": True,
                                      "reaper": False, "pidfd": True, "walk": True, "parent": True,
                                      "psutil": True}  # fmt: skip


def test_demo_session_reads_blocks_writes_and_passes_the_exit_code(tmp_path: os.PathLike[str]) -> None:
    """kro-run --demo: a read is answered, a write is refused (77), the agent's exit code is kro-run's."""
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path), "XDG_STATE_HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path)}  # fmt: skip
    argv = [str(BIN / "kro-run"), "--demo", "--output", "plain", "--", "sh", "-c",
            READ_AND_WRITE.format(pod=WEB_PODS[0])]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env,
                            stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert WEB_PODS[0] in result.stdout
    assert "blocked=77" in result.stdout
    assert "internal error" not in result.stderr


def test_real_session_reads_blocks_writes_and_passes_the_exit_code(kro_session: KroSession) -> None:
    """A session on a kubeconfig (through the API proxy): read, blocked write (77), exit code, audit."""
    result = kro_session.sh(READ_AND_WRITE.format(pod=WEB_PODS[0]))
    assert result.returncode == 5, result.stderr
    assert WEB_PODS[0] in result.stdout
    assert "blocked=77" in result.stdout
    assert "internal error" not in result.stderr
    assert [r["decision"] for r in kro_session.audit()] == ["allowed", "blocked"]


def test_sigterm_reaches_the_agent_and_nothing_is_left(kro_session: KroSession) -> None:
    """As test_lifetime's: the agent's trap runs, its exit code is kro-run's, its group is ended."""
    test_lifetime.test_sigterm_reaches_the_agent_and_nothing_is_left(kro_session)


def test_an_agent_ignoring_sigterm_is_killed_after_the_grace(kro_session: KroSession) -> None:
    """As test_lifetime's: SIGKILL to the group after the grace period, 128+9."""
    test_lifetime.test_an_agent_ignoring_sigterm_is_killed_after_the_grace(kro_session)


def test_kill_9_of_the_agent_leaves_nothing_running(kro_session: KroSession) -> None:
    """kill -9 of the agent: its children (no subreaper to collect them) end with its process group."""
    run = kro_session.tmp / "run"
    proc = _start(kro_session, f"echo $$ > agent.pid; {test_lifetime.WATCH}")
    wait_for(
        lambda: (kro_session.tmp / "started").exists() and len(_left(run)) >= 3,
        "the agent and its children",
        30,
    )
    os.kill(int((kro_session.tmp / "agent.pid").read_text()), signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGKILL, err
    assert "internal error" not in err
    assert _left(run) == []
    assert _sessions(run) == []


def test_kill_9_is_cleaned_up_at_the_next_start(kro_session: KroSession) -> None:
    """kill -9 of kro-run: no PR_SET_PDEATHSIG, so the next kro-run ends what it left (by its marker)."""
    test_lifetime.test_kill_9_is_cleaned_up_at_the_next_start(kro_session)


def test_kill_9_reclaims_a_process_named_only_by_its_argv(kro_session: KroSession) -> None:
    """A process without KRO_SESSION in its environment (as the real kubectl a shim exec'd) is still
    ended at the next start: its argv names the session dir (--kubeconfig=DIR/kubeconfig)."""
    run = kro_session.tmp / "run"
    unmarked = 'env -u KRO_SESSION python3 -c "import time; time.sleep(300)" "$KRO_SESSION/kubeconfig" &'
    proc = _start(kro_session, f"{unmarked} touch started; wait")
    wait_for(
        lambda: (kro_session.tmp / "started").exists() and any("time.sleep" in p for p in _left(run)),
        "the agent",
        30,
    )
    proc.kill()
    proc.wait(timeout=30)
    again = kro_session.sh("true")
    assert again.returncode == 0, again.stderr
    wait_for(lambda: _left(run) == [], "nothing left running", 10)


@needs_bwrap
def test_confined_reads_go_through_the_broker(confined: Confined) -> None:
    """--confine with the portable primitives: the broker's tool runner waits on a waiter thread (no
    pidfd) and its peer check walks parents through psutil; reads answered, a write blocked, audited."""
    test_confine.test_reads_go_through_the_broker(confined)
