"""The call pipeline run with a fake executor and a blocked-call handler passed in (its two seams)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kro.shims.audit import AuditLog, Call
from kro.shims.errors import ExitStatus
from kro.shims.executor import Captured
from kro.shims.model import Decision, Invocation
from kro.shims.pipeline import TOTAL_CAP_S, run_call
from kro.shims.session import Session
from kro.shims.sinks import DataSink, EnvelopeSink, RedactedSink, Sink

LEAK = "hunter2-not-a-real-password"
RAN_OK = Captured(0, b"", False, False)


class FakeIO:
    """A caller's stdio kept in memory (the sinks write their answers here)."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {"PATH": os.defpath}
        self.stdout = bytearray()
        self.stderr: list[str] = []

    def out(self, data: bytes) -> None:
        self.stdout += data

    def err(self, text: str) -> None:
        self.stderr.append(text)

    def plain(self, path: str, argv: list[str], env: dict[str, str], seconds: float | None = None) -> Any:
        raise AssertionError("no call in these tests writes straight to the caller")


class FakeExecutor:
    """Stands in for executor.run_captured: records each run and feeds scripted stdout to the pipeline."""

    def __init__(self, stdout: bytes = b"", result: Captured = RAN_OK) -> None:
        self.stdout, self.result = stdout, result
        self.runs: list[tuple[str, list[str], float | None, bool]] = []
        self.idles: list[float | None] = []

    def __call__(self, path: str, argv: list[str], env: dict[str, str], on_stdout: Callable[[bytes], bool],
                 *, seconds: float | None, stream: bool, idle: float | None = None) -> Captured:  # fmt: skip
        self.runs.append((path, argv, seconds, stream))
        self.idles.append(idle)
        if self.stdout:
            on_stdout(self.stdout)
        return self.result


@pytest.fixture
def session(tmp_path: Path) -> Session:
    """A pinned session whose "kubectl" is an executable that the fake executor never starts."""
    return Session(id="unit", dir=str(tmp_path), context="ctx-pinned", kubeconfig=str(tmp_path / "kc"),
                   kubectl=sys.executable, output="envelope", audit_log=str(tmp_path / "audit.jsonl"),
                   cache_dir=str(tmp_path / "cache"), request_timeout=7.0)  # fmt: skip


def _records(session: Session) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(session.audit_log).read_text().splitlines()]


def test_allowed_call_runs_pinned_through_the_executor(session: Session) -> None:
    """verb.read: one run, pinned to the session's kubeconfig and context, bounded by --request-timeout;
    the envelope carries the redacted output and a count read off the redactor; call and outcome audited."""
    io = FakeIO()
    fake = FakeExecutor(f"NAME\nweb-1\nAuthorization: Bearer {LEAK}\n".encode())
    outcome = run_call(session, "kubectl", ["get", "pods"], EnvelopeSink(io), capture=fake)
    [(path, argv, seconds, stream)] = fake.runs
    assert path == sys.executable
    assert "--context=ctx-pinned" in argv
    assert f"--kubeconfig={session.kubeconfig}" in argv
    assert (seconds, stream) == (TOTAL_CAP_S, False)  # the total cap; a stall ends it sooner:
    assert fake.idles == [7.0]  # no data for --request-timeout
    assert outcome.failure is None
    assert outcome.result is not None
    assert outcome.result.redactions == 1
    envelope = json.loads(io.stdout)
    assert envelope["status"] == "ok"
    assert LEAK not in envelope["content"]
    assert "[REDACTED]" in envelope["content"]
    assert [r["event"] for r in _records(session)] == ["call", "outcome"]


@pytest.mark.parametrize(
    ("result", "kind"),
    [
        pytest.param(Captured(0, b"", True, False), "infra", id="pipeline.timed-out-is-infra"),
        pytest.param(Captured(1, b'Error from server (NotFound): pods "x" not found\n', False, False), "user",
                     id="pipeline.not-found-is-user"),
    ],
)  # fmt: skip
def test_failed_runs_are_typed(session: Session, result: Captured, kind: str) -> None:
    """How the executor says a run ended becomes the outcome's failure kind; the outcome record follows."""
    fake = FakeExecutor(result=result)
    outcome = run_call(session, "kubectl", ["get", "pod", "x"], DataSink(FakeIO()), capture=fake)
    assert outcome.failure is not None
    assert outcome.failure.kind == kind
    assert [r["event"] for r in _records(session)] == ["call", "outcome"]


def test_blocked_call_never_reaches_the_executor(session: Session) -> None:
    """verb.mutating: refused before any run, with the rule and verb as fields; plain mode exits 77."""
    io, fake = FakeIO(), FakeExecutor()
    outcome = run_call(session, "kubectl", ["delete", "pod", "x"], Sink(io), capture=fake)
    assert fake.runs == []
    assert (outcome.decision.rule, outcome.decision.verb) == ("verb.mutating", "delete")
    assert outcome.exit_code == ExitStatus.BLOCKED
    assert io.stderr[-1].startswith("✘ BLOCKED: ")
    assert [r["decision"] for r in _records(session)] == ["blocked"]


def test_blocked_handler_may_answer_a_refused_call(session: Session) -> None:
    """A handler passed in answers the refusal itself (approvals): its exit code, no answer from the sink."""
    seen: list[tuple[str, str]] = []

    def handler(s: Session, inv: Invocation, decision: Decision, log: AuditLog, call: Call, began: float,
                sink: Sink) -> int | None:  # fmt: skip
        seen.append((decision.rule, inv.verb or ""))
        log.write(call, decision, 5, began)
        return 5

    io, fake = FakeIO(), FakeExecutor()
    outcome = run_call(session, "kubectl", ["delete", "pod", "x"], RedactedSink(io), blocked=handler,
                       capture=fake)  # fmt: skip
    assert seen == [("verb.mutating", "delete")]
    assert outcome.exit_code == 5
    assert io.stdout == b""
    assert io.stderr == []
    assert fake.runs == []
    assert len(_records(session)) == 1


def test_blocked_handler_may_leave_a_refusal_to_the_sink(session: Session) -> None:
    """A handler returning None (not its kind of call) leaves the ordinary refusal; allowed calls skip it."""
    asked: list[str] = []

    def handler(*args: Any) -> int | None:
        asked.append(args[2].rule)
        return None

    io, fake = FakeIO(), FakeExecutor(b"ok\n")
    blocked = run_call(session, "kubectl", ["delete", "pod", "x"], EnvelopeSink(io), blocked=handler,
                       capture=fake)  # fmt: skip
    allowed = run_call(session, "kubectl", ["get", "pods"], EnvelopeSink(io), blocked=handler,
                       capture=fake)  # fmt: skip
    assert asked == ["verb.mutating"]
    assert blocked.failure is not None
    assert blocked.failure.kind == "policy"
    assert allowed.failure is None
    first, second = (json.loads(line) for line in io.stdout.splitlines())
    assert (first["status"], first["rule"], second["status"]) == ("error", "verb.mutating", "ok")
