"""`kro audit`: read the audit log (filters, JSON) and `kro audit verify` its well-formedness."""

from __future__ import annotations

import argparse
import re
import sys
import time
from calendar import timegm
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from kro.shims.audit import MAX_RECORD, default_path
from kro.shims.errors import ExitStatus, UsageError

_HEAD: dict[str, tuple[type, ...]] = {
    "ts": (str,),
    "session": (str,),
    "pid": (int,),
    "call": (str,),
    "event": (str,),
    "tool": (str,),
}
# The call record: written once the policy has decided, before anything runs.
CALL_FIELDS: dict[str, tuple[type, ...]] = {
    **_HEAD,
    "argv": (list,),
    "context": (str, type(None)),
    "decision": (str,),
    "rule": (str,),
    "reason": (str,),
    "exit_code": (int, type(None)),
    "duration_ms": (int, float),
    "follows": (str,),
}
# The outcome record: written when the call has ended (joined to its call record by `call`).
OUTCOME_FIELDS: dict[str, tuple[type, ...]] = {
    **_HEAD,
    "exit_code": (int,),
    "duration_ms": (int, float),
    "bytes": (int, type(None)),
    "timed_out": (bool,),
    "signal": (int, type(None)),
    "error": (str, type(None)),
}
# Records written before outcome records existed: one per call, without call/event/follows.
LEGACY_FIELDS = {k: v for k, v in CALL_FIELDS.items() if k not in ("call", "event", "follows")}
FOLLOWS = ("outcome", "exec", "none")
_OUTCOME_KEYS = ("exit_code", "duration_ms", "bytes", "timed_out", "signal", "error")
# Records of the session API proxy (tool "api") carry these too.
API_FIELDS: dict[str, tuple[type, ...]] = {
    "method": (str,),
    "path": (str,),
    "status": (int,),
    "bytes": (int, type(None)),
}
_API_CALL_FIELDS = {**CALL_FIELDS, **API_FIELDS}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def parse_duration(text: str) -> float:
    """'90s', '10m', '2h', '1d' or '1h30m' in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"--since wants a duration like 30s, 10m, 2h or 1d, not {text!r}")
    return sum(float(n) * _UNIT[u] for n, u in parts)


def ts_seconds(ts: str) -> float:
    """Seconds since the epoch of an audit timestamp."""
    return timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + int(ts[20:23]) / 1000


def _fields(record: dict[str, Any]) -> dict[str, tuple[type, ...]]:
    event = record.get("event")
    if event == "outcome":
        return OUTCOME_FIELDS
    if "event" not in record:
        return LEGACY_FIELDS
    return _API_CALL_FIELDS if record.get("tool") == "api" else CALL_FIELDS


def problems(line: bytes) -> list[str]:
    """What is wrong with one audit line on its own (empty when it is a well-formed record of either kind)."""
    if len(line) + 1 > MAX_RECORD:
        return [f"record is {len(line) + 1} bytes, over {MAX_RECORD}"]
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(record, dict):
        return ["not a JSON object"]
    fields = _fields(record)
    found = [f"missing {k}" for k in fields if k not in record]
    found += [
        f"{k} has type {type(v).__name__}"
        for k, v in record.items()
        if k in fields and not isinstance(v, fields[k])
    ]
    found += [f"unexpected key {k}" for k in record if k not in fields]
    if found:
        return found
    if record.get("event") not in (None, "call", "outcome"):
        found.append(f"event {record['event']!r}")
    if not _TS.fullmatch(record["ts"]):
        found.append(f"ts {record['ts']!r} is not RFC 3339 UTC with ms")
    if fields is OUTCOME_FIELDS:
        return found
    if record["decision"] not in ("allowed", "blocked"):
        found.append(f"decision {record['decision']!r}")
    if fields is not LEGACY_FIELDS and record["follows"] not in FOLLOWS:
        found.append(f"follows {record['follows']!r}")
    if not all(isinstance(a, str) for a in record["argv"]):
        found.append("argv holds a non-string")
    if record["decision"] == "blocked" and not (record["rule"] and record["reason"]):
        found.append("blocked without rule and reason")
    return found


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


def _records(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


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


def _shown(view: dict[str, Any], f: Filters) -> bool:
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
            lines += [_line(a) for a in api if _shown(a, f)]
        if not _shown(view, f):
            continue
        lines.append(_line(view))
        # A refused request is shown under its call even without --api: a refusal is never folded away.
        lines += [_api_line(a) for a in api if f.api or a.get("state") == "blocked"]
    return "".join(lines)


def _settled(view: dict[str, Any], later: bool, idle: bool) -> bool:
    """Whether a call's line is final while following: ended, or no end to wait for."""
    state = view.get("state")
    if state in ("exec", "started") and view.get("tool") != "api":
        return later or (state == "exec" and idle)
    return True


def follow(path: Path, f: Filters, poll: float = 0.5, idle_after: float = 2.0) -> None:
    """Print calls as they end (a plain-mode exec once the session moves on or goes quiet), until killed."""
    records: list[dict[str, Any]] = []
    done: set[tuple[object, object, object]] = set()
    offset, pending, quiet = 0, b"", 0.0
    while True:
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except FileNotFoundError:
            chunk = b""
        offset += len(chunk)
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        quiet = 0.0 if lines else quiet + poll
        views = fold_api(calls(records))
        sessions_later: dict[object, int] = {}
        for n, view in enumerate(views):
            if view.get("tool") != "api":
                sessions_later[view.get("session")] = n
        out = []
        for n, view in enumerate(views):
            key = (view.get("session"), view.get("call"), view.get("ts"))
            if key in done:
                continue
            later = sessions_later.get(view.get("session"), n) > n
            if not _settled(view, later, quiet >= idle_after):
                continue
            done.add(key)
            out.append(view)
        text = render(out, f)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
        time.sleep(poll)


def _verify(path: Path) -> int:
    count = bad = 0
    open_calls: set[tuple[object, object]] = set()
    for n, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line:
            continue
        count += 1
        found = problems(line)
        if not found:
            record = orjson.loads(line)
            key = (record["session"], record.get("call"))
            if record.get("event") == "call":
                if key in open_calls:
                    found.append(f"call id {record['call']} is used twice")
                elif record["follows"] == "outcome":
                    open_calls.add(key)
            elif record.get("event") == "outcome":
                if key not in open_calls:
                    found.append(f"outcome of call {record['call']} without its call record before it")
                open_calls.discard(key)
        for problem in found:
            bad += 1
            sys.stdout.write(f"{path}:{n}: {problem}\n")
    if bad:
        sys.stdout.write(f"FAIL: {bad} problem(s) in {count} records\n")
        return ExitStatus.FAILED
    tail = f" ({len(open_calls)} call(s) without an outcome record)" if open_calls else ""
    sys.stdout.write(f"OK: {count} well-formed records in {path}{tail}\n")
    return ExitStatus.OK


def main(argv: list[str]) -> int:
    """Entry point of `kro audit`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    path = args.file or Path(default_path())
    if not path.exists() and not args.follow:
        raise UsageError(f"no audit log at {path} yet (use --file to read another)")
    if args.action == "verify":
        return _verify(path)
    f = Filters(
        blocked=args.blocked,
        cutoff=time.time() - parse_duration(args.since) if args.since else None,
        session=args.session or "",
        tool=args.tool or "",
        api=args.api,
    )
    if args.json and args.follow:
        raise UsageError("-f/--follow prints calls as text; for JSON use --json without it")
    if args.json:
        for view in calls(_records(path)):
            if _shown(view, f):
                sys.stdout.write(orjson.dumps(view).decode() + "\n")
        return ExitStatus.OK
    if args.follow:
        try:
            follow(path, f)
        except KeyboardInterrupt:
            return ExitStatus.OK
    sys.stdout.write(render(fold_api(calls(_records(path))), f))
    return ExitStatus.OK


def build_parser() -> argparse.ArgumentParser:
    """The parser of `kro audit` (also read by `kro completion`)."""
    parser = argparse.ArgumentParser(
        prog="kro audit",
        description=(
            "Read kro's audit log: one line per kubectl/kubetail/MCP call with its outcome, the session API "
            "proxy's requests folded under the call that made them (--api lists them). The log holds a call "
            "record per attempt, written before anything runs (ts, session, pid, call, event=call, tool, "
            "argv, context, decision, rule, reason, exit_code, duration_ms, follows), for an allowed call an "
            "outcome record when it ends (ts, session, pid, call, event=outcome, tool, exit_code, "
            "duration_ms, bytes, timed_out, signal, error), and one record per proxy request (tool api). "
            "A request is folded under the call of its session that was running when the proxy answered it "
            "(requests no call spans, e.g. curl's, keep lines of their own). A call missing its outcome "
            "record is shown as started (still running, or the record was lost), or as run by exec in plain "
            "mode, with the time of its last API answer."
        ),
        epilog=(
            "examples:\n"
            "  kro audit --since 1h                what ran in the last hour, one line per call\n"
            "  kro audit --api --session 41c1      one session's calls with their API requests\n"
            "  kro audit --blocked --tool api      requests the API proxy refused\n"
            "  kro audit -f                        follow: print calls as they end\n"
            "  kro audit --json | jq -r .argv      every call as JSON\n"
            "  kro audit verify                    check every line; exit 1 naming each bad one"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=("show", "verify"),
        default="show",
        help="show (default) the records, or verify that every line is well-formed",
    )
    parser.add_argument(
        "--audit-log",
        "--file",
        dest="file",
        type=Path,
        default=None,
        help=f"audit log (default {default_path()})",
    )
    parser.add_argument("--blocked", action="store_true", help="only blocked attempts (API requests too)")
    parser.add_argument("--since", help="only records newer than this duration, e.g. 10m, 2h, 1d")
    parser.add_argument("--session", help="only this session (its id, or a prefix of it)")
    parser.add_argument(
        "--tool", help="only this tool: kubectl, kubetail, mcp, api (the proxy's requests), 'kro approve', …"
    )
    parser.add_argument("--api", action="store_true", help="list each call's API requests under it")
    parser.add_argument("-f", "--follow", action="store_true", help="keep reading: print calls as they end")
    parser.add_argument("--json", action="store_true", help="print the records as JSON Lines (one per call)")
    return parser
