"""The audit log as people read it: one view per call, the proxy's requests folded under their call.

Pure over parsed records: `kro audit` (kro/audit_command.py) and the demo tour (kro.sandbox.tour) both
render with it.
"""

from __future__ import annotations

import time
from calendar import timegm
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

_OUTCOME_KEYS = ("exit_code", "duration_ms", "bytes", "timed_out", "signal", "error")


def ts_seconds(ts: str) -> float:
    """Seconds since the epoch of an audit timestamp."""
    return timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + int(ts[20:23]) / 1000


def calls(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One view per call, in log order: the call record with its outcome's fields folded in.

    `state` says what is known: "blocked", "done" (an outcome record, or a record complete in itself), "exec"
    (plain mode replaced the shim with the tool, so no outcome is recorded) or "started" (no outcome record
    yet: still running, or it was lost).
    """
    views: list[dict[str, Any]] = []
    pending: dict[tuple[object, object], dict[str, Any]] = {}
    for record in records:
        if record.get("event") == "outcome":
            view = pending.pop((record.get("session"), record.get("call")), None)
            if view is not None:
                view.update({k: record.get(k) for k in _OUTCOME_KEYS}, state="done")
                if "status" in record:  # the API proxy's
                    view["status"] = record["status"]
                if record.get("rule"):  # an answer the API proxy withheld
                    view["rule"] = record["rule"]
            continue
        view = {k: v for k, v in record.items() if k != "event"}
        follows = record.get("follows", "none")  # records before outcome records existed are complete
        if record.get("decision") == "blocked":
            view["state"] = "blocked"
        elif follows == "outcome":
            view["state"] = "started"
            pending[(record.get("session"), record.get("call"))] = view
        else:
            view["state"] = "exec" if follows == "exec" else "done"
        views.append(view)
    return views


def parse_records(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The lines that parse as JSON objects (a torn line is skipped)."""
    for line in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


def records_of(path: Path) -> Iterator[dict[str, Any]]:
    """The records of the log at `path` (a torn line is skipped)."""
    return parse_records(path.read_bytes().splitlines())


_SLACK = 0.005  # ms-resolution timestamps, and the outcome's duration counts from before the call record


def _window(view: dict[str, Any]) -> tuple[float, float | None] | None:
    """When a call's tool ran: (start, end), end None while open (exec, no outcome); None: ran nothing."""
    if view.get("tool") == "api" or view.get("state") == "blocked":
        return None
    if str(view.get("rule") or "").startswith("approval."):
        return None  # run outside the session, with the approver's credentials: never through the proxy
    start = ts_seconds(str(view.get("ts")))
    if view.get("state") in ("exec", "started"):
        return start, None
    duration = view.get("duration_ms")
    return start, start + (duration / 1000 if isinstance(duration, (int, float)) else 0) + _SLACK


def fold_api(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The proxy's requests folded under the call that made them (its `api` list); others stay in place.

    A request belongs to the call of the same session whose tool was running when the proxy answered it:
    from the call record to its end (the outcome's duration), or, for a call with no end on record (plain
    mode's exec, still running), to the session's next call. When calls of one session overlap, the one
    that started last takes it. Requests no call spans (curl, a client library, kubectl by its real path)
    stay lines of their own.
    """
    out: list[dict[str, Any]] = []
    open_calls: dict[object, list[tuple[float, float | None, dict[str, Any]]]] = {}
    for view in views:
        session = view.get("session")
        if view.get("tool") != "api":
            window = _window(view)
            if window is None:
                out.append(view)
                continue
            spans = open_calls.setdefault(session, [])
            # A call with no recorded end runs until the session's next call starts.
            spans[:] = [(s, e if e is not None else window[0], v) for s, e, v in spans]
            view = {**view, "api": []}
            spans.append((window[0], window[1], view))
            out.append(view)
            continue
        at = ts_seconds(str(view.get("ts")))
        owner = None
        for s, e, v in reversed(open_calls.get(session, [])):
            if s - _SLACK <= at and (e is None or at <= e):
                owner = v
                break
        if owner is None:
            out.append(view)
        else:
            owner["api"].append(view)
    return out


def _describe(view: dict[str, Any]) -> str:
    state = view.get("state")
    api: list[dict[str, Any]] = view.get("api") or []
    if state == "blocked":
        return f"[{view.get('rule')}] {view.get('reason')}"
    if view.get("tool") == "api":
        return f"HTTP {view.get('status')}" + (f", {view.get('bytes')} bytes" if view.get("bytes") else "")
    if state == "exec":
        text = "run by exec (plain mode): no outcome on record"
        if api:  # the proxy's answers are the last thing kro knows of it
            last = ts_seconds(str(api[-1].get("ts"))) - ts_seconds(str(view.get("ts")))
            text += f"; last API answer +{last * 1000:.0f} ms (HTTP {api[-1].get('status')})"
    elif state == "started":
        text = "started; no outcome recorded (still running, or the outcome record was lost)"
    elif view.get("exit_code") is None:  # a step complete in itself with no exit (an approval)
        text = f"[{view.get('rule')}] {view.get('reason')}"
    else:
        parts = [f"exit {view.get('exit_code')}", f"{view.get('duration_ms')} ms"]
        if view.get("timed_out"):
            parts.append("timed out")
        if view.get("error"):
            parts.append(str(view["error"]))
        text = ", ".join(parts)
    if api:
        refused = sum(a.get("decision") == "blocked" for a in api)
        text += f"; {len(api)} API request{'s' if len(api) != 1 else ''}"
        text += f" ({refused} refused)" if refused else ""
    return text


def _line(view: dict[str, Any]) -> str:
    mark = "✘" if view.get("state") == "blocked" else "✔"
    argv_text = " ".join(str(a) for a in view.get("argv") or [])
    context = f"  ({view.get('context')})" if view.get("tool") != "api" else ""
    return f"{view.get('ts')} {mark} {view.get('tool')} {argv_text}{context}  {_describe(view)}\n"


def _api_line(view: dict[str, Any]) -> str:
    mark = "✘" if view.get("state") == "blocked" else "✔"
    argv_text = " ".join(str(a) for a in view.get("argv") or [])
    return f"    {str(view.get('ts'))[11:]} {mark} {argv_text}  {_describe(view)}\n"


@dataclass(frozen=True, slots=True)
class Filters:
    """What `kro audit` shows."""

    blocked: bool = False
    cutoff: float | None = None
    session: str = ""
    tool: str = ""
    api: bool = False


def shown(view: dict[str, Any], f: Filters) -> bool:
    """Whether the filters let `view` through."""
    if f.session and not str(view.get("session") or "").startswith(f.session):
        return False
    if f.tool and view.get("tool") != f.tool:
        return False
    if f.cutoff is not None and ts_seconds(str(view.get("ts"))) < f.cutoff:
        return False
    return not f.blocked or view.get("state") == "blocked"


def render(views: list[dict[str, Any]], f: Filters) -> str:
    """The text view: one line per call, its API requests under it with --api (or --tool api)."""
    lines: list[str] = []
    for view in views:
        api = view.get("api") or []
        if f.tool == "api" or f.blocked:  # the proxy's requests as lines of their own
            lines += [_line(a) for a in api if shown(a, f)]
        if not shown(view, f):
            continue
        lines.append(_line(view))
        # A refused request is shown under its call even without --api: a refusal is never folded away.
        lines += [_api_line(a) for a in api if f.api or a.get("state") == "blocked"]
    return "".join(lines)
