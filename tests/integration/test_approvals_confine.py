"""kro-run --confine --approvals: the broker queues outside; nothing inside the sandbox can approve."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from approvals_testing import (
    SCALE,
    audit_lines,
    kro,
    pending,
    start_agent,
    stop_agents,  # noqa: F401 - the autouse fixture ending leftover agents
    writes,
)
from kro_testing import BIN

from kro.democluster.server import DemoCluster
from kro.democluster.testing import kubectl_env

VISIBLE_TMP = os.environ.get("KRO_TEST_VISIBLE_TMP", "/var/tmp")  # the sandbox's /tmp is fresh


def _bwrap_problem() -> str | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "true"]
    proc = subprocess.run(probe, capture_output=True, text=True, check=False)
    return f"bwrap cannot create a sandbox here: {proc.stderr.strip()}" if proc.returncode else None


_PROBLEM = _bwrap_problem()
pytestmark = pytest.mark.skipif(_PROBLEM is not None, reason=str(_PROBLEM))


@pytest.fixture
def base() -> Iterator[Path]:
    """A home (~/.kube/config to a demo cluster), a work dir and XDG dirs the sandbox shows read-only."""
    path = Path(tempfile.mkdtemp(prefix="kro-approvals-", dir=VISIBLE_TMP))
    try:
        for sub in ("work", "home", "run", "logs"):
            (path / sub).mkdir(mode=0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_nothing_inside_the_sandbox_approves_its_own_request(base: Path) -> None:
    """Inside: kro approve (plain, env cleared), queue files, the store code all fail; outside works."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH")
    state = base / "state"
    env = kubectl_env() | {
        "HOME": str(base / "home"),
        "XDG_STATE_HOME": str(state),
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_RUNTIME_DIR": str(base / "run"),
    }
    queue_dir = state / "kro" / "approvals"
    tries = (
        f"{BIN}/kro approve 1 --yes; echo rc=$?; "
        f"env -i PATH=/usr/bin:/bin HOME=$HOME XDG_STATE_HOME=$XDG_STATE_HOME {BIN}/kro approve 1 --yes; "
        f"echo rc=$?; {BIN}/kro deny 1; echo rc=$?; "
        f"ls -A {queue_dir} | wc -l | sed 's/^/visible=/'; "
        f"touch {queue_dir}/1.json 2>/dev/null; echo touch=$?; "
        f"{sys.executable} -c 'from kro.approvals.store import Queue, default_root; "
        'print("sessions=", len(Queue(default_root()).sessions()))\''
    )
    with DemoCluster(port=0) as cluster:
        cluster.write_kubeconfig(base / "home" / ".kube" / "config")
        argv = [
            str(BIN / "kro-run"),
            "--confine",
            "--approvals",
            "--context",
            "kro-demo",
            "--output",
            "plain",
            "--audit-log",
            str(base / "logs" / "audit.jsonl"),
        ]
        agent = start_agent(
            argv, [SCALE, tries, SCALE, SCALE], base / "work" / "steps", env, cwd=base / "work"
        )
        code, _, err = agent.result(1)
        assert code == 77, err
        assert "queued as request" in err
        [request] = pending(env)  # the broker queued it, outside
        n = request["id"]
        assert n == 1

        agent.go(2)
        agent.wait_ready(3)
        _, out, err = agent.result(2)
        assert out.count("rc=77") == 3, (out, err)
        assert "visible=0" in out, "the queue is not visible inside"
        assert "touch=1" in out, "nor writable"
        assert "sessions= 0" in out, "the store's own code finds nothing either"
        assert [r["id"] for r in pending(env)] == [n], "still pending: nothing inside approved it"

        agent.go(3)  # the agent's retry is still just the pending request
        agent.wait_ready(4)
        assert f"queued as request {n};" in agent.result(3)[2]
        assert writes(cluster.requests()) == []

        approved = kro(env, "approve", str(n), "--yes")  # the user, outside
        assert "will run:     kubectl scale --context=kro-demo --namespace=demo" in approved.stdout
        agent.go(4)
        assert agent.finish().returncode == 0
        code, _, err = agent.result(4)
        assert code == 1
        assert "MethodNotAllowed" in err
        assert f"request {n} was approved by" in err
        assert [(r["method"], r["query"]) for r in writes(cluster.requests())] == [
            ("PATCH", "dryRun=All"),
            ("PUT", ""),  # bound to the previewed resourceVersion
        ]
    rules = [r["rule"] for r in audit_lines(base / "logs" / "audit.jsonl")]
    assert rules.count("approval.run") == 1
    assert rules.count("approval.result") == 1
