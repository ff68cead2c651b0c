"""The two audit records, as written by AuditLog and read back by `kro audit` (calls, verify's problems)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kro.audit_command import calls, problems
from kro.shims.audit import MAX_RECORD, AuditLog, Call, Ended, new_call_id
from kro.shims.errors import AuditError
from kro.shims.model import Decision

ALLOWED = Decision(True, "allowed", "'get' is a read-only command", "get")
BLOCKED = Decision(False, "verb.mutating", "'delete' is a mutating command", "delete")


def _log(path: Path, *entries: tuple[str, Decision, Ended | None, bool]) -> list[dict[str, object]]:
    started = time.monotonic()
    with AuditLog.open(str(path)) as log:
        for verb, decision, ended, execs in entries:
            call = Call("s1", "kubectl", [verb, "pods"], "ctx", new_call_id())
            log.call(call, decision, started, execs=execs)
            if ended is not None:
                log.outcome(call, ended, started)
    lines = path.read_bytes().splitlines()
    assert all(problems(line) == [] for line in lines)
    return [json.loads(line) for line in lines]


def test_records_and_their_views(tmp_path: Path) -> None:
    """Blocked: one record. Done: call + outcome. Exec: one record, saying so. Started: no outcome yet."""
    records = _log(
        tmp_path / "audit.jsonl",
        ("delete", BLOCKED, None, False),
        ("get", ALLOWED, Ended(0, 120), False),
        ("get", ALLOWED, None, True),
        ("get", ALLOWED, None, False),
        ("get", ALLOWED, Ended(124, 0, timed_out=True, error="did not finish"), False),
    )
    assert [r["event"] for r in records] == ["call", "call", "outcome", "call", "call", "call", "outcome"]
    views = calls(records)
    assert [v["state"] for v in views] == ["blocked", "done", "exec", "started", "done"]
    assert [v["exit_code"] for v in views] == [77, 0, None, None, 124]
    assert views[1]["bytes"] == 120
    assert (views[4]["timed_out"], views[4]["error"]) == (True, "did not finish")
    assert "event" not in views[0]


def test_a_settled_step_is_one_complete_record(tmp_path: Path) -> None:
    """write(): a call record carrying its own exit code, nothing to follow (an approval's steps)."""
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(str(path)) as log:
        log.write(Call("s", "kro approve", ["scale", "deploy/web"], "c"), ALLOWED, None, time.monotonic())
        log.write(Call("s", "kubectl", ["scale", "deploy/web"], "c"), ALLOWED, 1, time.monotonic())
    lines = path.read_bytes().splitlines()
    assert all(problems(line) == [] for line in lines)
    records = [json.loads(line) for line in lines]
    assert [(r["follows"], r["exit_code"]) for r in records] == [("none", None), ("none", 1)]
    assert len({r["call"] for r in records}) == 2
    assert [v["state"] for v in calls(records)] == ["done", "done"]


def test_a_record_written_before_outcome_records_still_verifies() -> None:
    """Logs written by earlier versions (one record a call, no call/event/exec) stay well-formed."""
    legacy = (
        b'{"ts":"2026-11-24T12:26:38.953Z","session":"8749","pid":1,"tool":"kubectl","argv":["get","ns"],'
        b'"context":"c","decision":"allowed","rule":"allowed","reason":"r","exit_code":0,"duration_ms":3.2}'
    )
    assert problems(legacy) == []
    [view] = calls([json.loads(legacy)])
    assert (view["state"], view["exit_code"]) == ("done", 0)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        pytest.param(
            {"event": "outcome", "exit_code": "0"}, "exit_code has type str", id="audit.outcome-type"
        ),
        pytest.param({"event": "later"}, "missing argv", id="audit.event-unknown"),
        pytest.param({"event": "outcome", "argv": []}, "unexpected key argv", id="audit.outcome-extra-key"),
    ],
)
def test_problems_name_what_is_wrong(tmp_path: Path, record: dict[str, object], problem: str) -> None:
    """verify names the field that is wrong."""
    [_, outcome] = _log(tmp_path / "a.jsonl", ("get", ALLOWED, Ended(0, 1), False))
    line = json.dumps({**outcome, **record}).encode()
    assert problem in problems(line)


def test_a_long_argv_keeps_the_record_under_4_kib(tmp_path: Path) -> None:
    """Records stay one write under 4 KiB whatever the argv."""
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(str(path)) as log:
        log.call(Call("s", "kubectl", ["x" * 5000] * 20, "c", new_call_id()), ALLOWED, time.monotonic())
    [line] = path.read_bytes().splitlines()
    assert len(line) < MAX_RECORD
    assert problems(line) == []


def test_write_failures_say_what_happened() -> None:
    """A refused call record says the call was not run; a refused outcome record says it did run."""
    with AuditLog.open("/dev/full") as log:
        call = Call("s", "kubectl", ["get", "ns"], "c", new_call_id())
        with pytest.raises(AuditError, match="No space left on device; the call was not run"):
            log.call(call, ALLOWED, time.monotonic())
        with pytest.raises(AuditError, match=r"the call ran \(exit 0\) but its outcome is not recorded"):
            log.outcome(call, Ended(0), time.monotonic())
