"""The approval queue: one request per identical call, single use, bound to the argv, expiry, pruning."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from kro.approvals.guard import markers
from kro.approvals.store import (
    ApprovalError,
    Queue,
    Registered,
    Result,
    argv_hash,
    process_start,
)

ARGV = ["scale", "deploy/web", "--replicas=3"]
NOW = 1_800_000_000.0


def _entry(session: str = "s1", pid: int | None = None, ttl: float = 900.0) -> Registered:
    pid = os.getpid() if pid is None else pid
    return Registered(
        session=session,
        launcher_pid=pid,
        launcher_start=process_start(pid),
        context="prod",
        namespace="web",
        kubeconfig=("/k",),
        audit_log="/a",
        confined=False,
        started=NOW,
        ttl=ttl,
    )


@pytest.fixture
def queue(tmp_path: Path) -> Queue:
    q = Queue(tmp_path / "approvals")
    q.register(_entry())
    return q


def test_identical_pending_calls_are_one_request(queue: Queue) -> None:
    kind, first = queue.submit(_entry(), "kubectl", ARGV, "web", NOW)
    again = queue.submit(_entry(), "kubectl", ARGV, "web", NOW + 5)
    other = queue.submit(_entry(), "kubectl", ["scale", "deploy/web", "--replicas=4"], "web", NOW)
    assert kind == "queued"
    assert again == ("queued", first)
    assert other[1].id != first.id
    assert first.expires == NOW + 900
    assert first.hash == argv_hash("kubectl", ARGV, "prod", "web")
    assert [r.id for r in queue.requests("s1")] == [first.id, other[1].id]


def test_ids_are_unique_across_sessions(queue: Queue) -> None:
    queue.register(_entry("s2"))
    a = queue.submit(_entry("s1"), "kubectl", ARGV, "web", NOW)[1]
    b = queue.submit(_entry("s2"), "kubectl", ARGV, "web", NOW)[1]
    assert a.id != b.id
    assert a.hash == b.hash
    assert queue.find(b.id)[0].session == "s2"


def test_approval_is_single_use_and_its_result_is_delivered_once(queue: Queue) -> None:
    request = queue.submit(_entry(), "kubectl", ARGV, "web", NOW)[1]
    claimed = queue.claim(request, "alice", NOW + 1)
    with pytest.raises(ApprovalError, match="already running by alice"):
        queue.claim(request, "bob", NOW + 2)
    assert queue.submit(_entry(), "kubectl", ARGV, "web", NOW + 3)[0] == "running"
    queue.record(claimed, Result(0, "deployment.apps/web scaled\n", "", NOW + 4))
    kind, delivered = queue.submit(_entry(), "kubectl", ARGV, "web", NOW + 5)
    assert kind == "result"
    assert delivered.status == "approved"
    assert delivered.approver == "alice"
    assert delivered.result is not None
    assert delivered.result.stdout == "deployment.apps/web scaled\n"
    kind, fresh = queue.submit(_entry(), "kubectl", ARGV, "web", NOW + 6)
    assert kind == "queued"
    assert fresh.id != request.id
    assert fresh.status == "pending"
    with pytest.raises(ApprovalError, match="already approved"):
        queue.claim(request, "alice", NOW + 7)


def test_the_approval_is_bound_to_the_argv_that_was_shown(queue: Queue) -> None:
    request = queue.submit(_entry(), "kubectl", ARGV, "web", NOW)[1]
    tampered = replace(request, argv=("scale", "deploy/web", "--replicas=300"))
    queue.save(tampered)
    with pytest.raises(ApprovalError, match="changed since it was shown"):
        queue.claim(request, "alice", NOW + 1)


def test_expired_and_denied_requests_never_run(queue: Queue) -> None:
    late = queue.submit(_entry(), "kubectl", ARGV, "web", NOW)[1]
    with pytest.raises(ApprovalError, match="expired"):
        queue.claim(late, "alice", NOW + 900)
    assert late.state(NOW + 900) == "expired"
    fresh = queue.submit(_entry(), "kubectl", ARGV, "web", NOW + 901)[1]
    assert fresh.id != late.id, "an identical call after expiry is a new request"
    denied = queue.deny(fresh, "alice", "not today", NOW + 902)
    with pytest.raises(ApprovalError, match="already denied by alice"):
        queue.claim(fresh, "alice", NOW + 903)
    kind, told = queue.submit(_entry(), "kubectl", ARGV, "web", NOW + 904)
    assert (kind, told.id, told.reason) == ("result", denied.id, "not today")


def test_concurrent_claims_run_once(queue: Queue) -> None:
    request = queue.submit(_entry(), "kubectl", ARGV, "web", NOW)[1]

    def claim(name: str) -> str:
        try:
            queue.claim(request, name, NOW + 1)
            return "won"
        except ApprovalError:
            return "lost"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(claim, [f"user{i}" for i in range(16)]))
    assert outcomes.count("won") == 1


def test_dead_sessions_are_ignored_and_pruned(tmp_path: Path) -> None:
    queue = Queue(tmp_path / "approvals")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    queue.register(_entry("dead", pid=gone.pid))
    queue.submit(_entry("dead", pid=gone.pid), "kubectl", ARGV, "web", NOW)
    assert queue.sessions() == []
    with pytest.raises(ApprovalError, match="no request 1 in a live session"):
        queue.find(1)
    queue.register(_entry("live"))  # registering prunes the dead on the way
    assert [e.session for e in queue.sessions()] == ["live"]
    assert not (tmp_path / "approvals" / "dead").exists()


def test_queue_files_are_private(queue: Queue) -> None:
    queue.submit(_entry(), "kubectl", ARGV, "web", NOW)
    files = ("lock", "next-id", "s1", "s1/1.json", "s1/session.json")
    for path in [queue.root, *(queue.root / f for f in files)]:
        assert path.stat().st_mode & 0o077 == 0, path


def test_session_markers() -> None:
    assert markers({"KRO_SESSION": "/run/kro/x", "PATH": "/usr/bin"}, [])[0].startswith("KRO_SESSION is set")
    assert any("is a kro session's launcher" in m for m in markers({"PATH": "/usr/bin"}, [os.getppid()]))
    assert markers({"PATH": "/usr/bin"}, []) == []


def test_a_queue_that_cannot_be_written_changes_nothing(queue: Queue) -> None:
    """A write the queue's directory refuses (here: next-id is a directory) is QueueUnwritable (exit 75),
    leaving no temp file behind and queueing nothing."""
    from kro.approvals.store import QueueUnwritable

    (queue.root / "next-id").mkdir()
    with pytest.raises(QueueUnwritable, match="cannot write the approval queue") as refused:
        queue.submit(_entry(), "kubectl", ARGV, "web", NOW)
    assert refused.value.exit_code == 75
    assert [p.name for p in queue.root.rglob("*.tmp")] == []
    assert queue.requests("s1") == []
