"""`kro audit`'s folding of the proxy's requests under the call that made them (time window and session)."""

from __future__ import annotations

from typing import Any

import pytest

from kro.audit_view import Filters, calls, fold_api, render


def _call(
    ts: str,
    call: str,
    *,
    session: str = "s1",
    follows: str = "outcome",
    decision: str = "allowed",
    rule: str = "allowed",
    tool: str = "kubectl",
    exit_code: int | None = None,
) -> dict[str, Any]:
    return {
        "ts": f"2026-12-01T10:00:{ts}Z",
        "session": session,
        "pid": 1,
        "call": call,
        "event": "call",
        "tool": tool,
        "argv": ["get", call],
        "context": "c",
        "decision": decision,
        "rule": rule,
        "reason": "why",
        "exit_code": exit_code,
        "duration_ms": 1.0,
        "follows": follows,
    }


def _outcome(ts: str, call: str, ms: float, *, session: str = "s1") -> dict[str, Any]:
    return {
        "ts": f"2026-12-01T10:00:{ts}Z",
        "session": session,
        "pid": 1,
        "call": call,
        "event": "outcome",
        "tool": "kubectl",
        "exit_code": 0,
        "duration_ms": ms,
        "bytes": 1,
        "timed_out": False,
        "signal": None,
        "error": None,
    }


def _api(ts: str, path: str, *, session: str = "s1", blocked: bool = False) -> dict[str, Any]:
    return {
        "ts": f"2026-12-01T10:00:{ts}Z",
        "session": session,
        "pid": 2,
        "call": path,
        "event": "call",
        "tool": "api",
        "argv": ["GET", path],
        "context": "c",
        "decision": "blocked" if blocked else "allowed",
        "rule": "api.method" if blocked else "allowed",
        "reason": "r",
        "exit_code": None,
        "duration_ms": 0.1,
        "follows": "none",
        "method": "GET",
        "path": path,
        "status": 403 if blocked else 200,
        "bytes": 1,
    }


def _folded(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each top-level line's call id and the requests folded under it."""
    return {str(v["call"]): [a["call"] for a in v.get("api", [])] for v in fold_api(calls(records))}


CASES = [
    pytest.param(
        [_call("01.000", "a"), _api("01.100", "/x"), _outcome("01.500", "a", 500), _api("02.000", "/y")],
        {"a": ["/x"], "/y": []},
        id="inside-and-after-the-outcome",
    ),
    pytest.param(
        [
            _call("01.000", "a", follows="exec"),
            _api("01.100", "/x"),
            _api("05.000", "/y"),
            _call("06.000", "b", follows="exec"),
            _api("06.100", "/z"),
        ],
        {"a": ["/x", "/y"], "b": ["/z"]},
        id="exec-runs-until-the-next-call",
    ),
    pytest.param(
        [_call("01.000", "a"), _api("01.100", "/x", session="s2"), _outcome("01.500", "a", 500)],
        {"a": [], "/x": []},
        id="other-session-not-folded",
    ),
    pytest.param(
        [
            _call("01.000", "a"),
            _call("01.050", "b"),
            _api("01.100", "/x"),
            _outcome("01.200", "b", 150),
            _api("01.300", "/y"),
            _outcome("01.500", "a", 500),
        ],
        {"a": ["/y"], "b": ["/x"]},
        id="overlap-latest-started-wins",
    ),
    pytest.param(
        [_call("01.000", "a", decision="blocked", follows="none", exit_code=77), _api("01.001", "/x")],
        {"a": [], "/x": []},
        id="blocked-call-runs-nothing",
    ),
    pytest.param(
        [_call("01.000", "a", follows="none", rule="approval.run", exit_code=0), _api("01.000", "/x")],
        {"a": [], "/x": []},
        id="approval-run-is-not-the-session",
    ),
]


@pytest.mark.parametrize(("records", "expected"), CASES)
def test_fold(records: list[dict[str, Any]], expected: dict[str, list[str]]) -> None:
    assert _folded(records) == expected


def test_render_shows_refused_requests_under_their_call_and_no_exit_none() -> None:
    records = [
        _call("01.000", "a"),
        _api("01.100", "/ok"),
        _api("01.200", "/no", blocked=True),
        _outcome("01.500", "a", 500),
        _call("02.000", "k", tool="kro approve", follows="none", rule="approval.approved"),
    ]
    text = render(fold_api(calls(records)), Filters())
    lines = text.splitlines()
    assert lines[0].endswith("exit 0, 500 ms; 2 API requests (1 refused)"), lines
    assert lines[1].startswith("    10:00:01.200Z ✘ GET /no"), lines
    assert lines[2].endswith("[approval.approved] why"), lines
    assert "None" not in text
    assert len(render(fold_api(calls(records)), Filters(api=True)).splitlines()) == 4
