"""`kro audit`: read the audit log (filters, JSON) and `kro audit verify` its well-formedness."""

from __future__ import annotations

import argparse
import re
import sys
import time
from calendar import timegm
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from kro.shims import durations
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
# Records of the session API proxy (tool "api") carry these too (status null in the call record of a
# request it forwards: the status comes in that request's outcome record).
API_FIELDS: dict[str, tuple[type, ...]] = {
    "method": (str,),
    "path": (str,),
    "status": (int, type(None)),
    "bytes": (int, type(None)),
}
_API_CALL_FIELDS = {**CALL_FIELDS, **API_FIELDS}
# ... and their outcome records the status, and the rule id of an answer the proxy withheld.
_API_OUTCOME_FIELDS = {**OUTCOME_FIELDS, "status": (int, type(None)), "rule": (str, type(None))}
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def parse_duration(text: str) -> float:
    """'90s', '10m', '2h', '1d' or '1h30m' in seconds (kro's one duration parser, shims/durations.py)."""
    try:
        return durations.parse_duration(text, durations.DAY_UNITS, bare=False)
    except ValueError:
        raise UsageError(f"--since wants a duration like 30s, 10m, 2h or 1d, not {text!r}") from None


def ts_seconds(ts: str) -> float:
    """Seconds since the epoch of an audit timestamp."""
    return timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + int(ts[20:23]) / 1000


def _fields(record: dict[str, Any]) -> dict[str, tuple[type, ...]]:
    event = record.get("event")
    if event == "outcome":
        return _API_OUTCOME_FIELDS if record.get("tool") == "api" else OUTCOME_FIELDS
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
    if fields is OUTCOME_FIELDS or fields is _API_OUTCOME_FIELDS:
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


def _records(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


def _describe(view: dict[str, Any]) -> str:
    state = view.get("state")
    if state == "blocked":
        return f"[{view.get('rule')}] {view.get('reason')}"
    if state == "exec":
        return "run by exec (plain mode): the outcome is not recorded"
    if state == "started":
        return "started; no outcome recorded (still running, or the outcome record was lost)"
    parts = [f"exit {view.get('exit_code')}", f"{view.get('duration_ms')} ms"]
    if view.get("timed_out"):
        parts.append("timed out")
    if view.get("error"):
        parts.append(str(view["error"]))
    return ", ".join(parts)


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
    parser = argparse.ArgumentParser(
        prog="kro audit",
        description=(
            "Read kro's audit log, one line per kubectl/kubetail/MCP call. The log holds a call record "
            "per attempt, written before anything runs (ts, session, pid, call, event=call, tool, argv, "
            "context, decision, rule, reason, exit_code, duration_ms, follows), and for an allowed call an "
            "outcome record when it ends (ts, session, pid, call, event=outcome, tool, exit_code, "
            "duration_ms, bytes, timed_out, signal, error). A call missing its outcome record is shown as "
            "started (still running, or the record was lost), or as run by exec in plain mode."
        ),
        epilog=(
            "examples:\n"
            "  kro audit --blocked --since 1h     what was refused in the last hour\n"
            "  kro audit --json | jq -r .argv     every call as JSON\n"
            "  kro audit verify                   check every line; exit 1 naming each bad one"
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
    parser.add_argument("--blocked", action="store_true", help="only blocked attempts")
    parser.add_argument("--since", help="only records newer than this duration, e.g. 10m, 2h, 1d")
    parser.add_argument("--json", action="store_true", help="print the records as JSON Lines")
    args = parser.parse_args(argv)
    path = args.file or Path(default_path())
    if not path.exists():
        raise UsageError(f"no audit log at {path} yet (use --file to read another)")
    if args.action == "verify":
        return _verify(path)
    cutoff = time.time() - parse_duration(args.since) if args.since else None
    for view in calls(_records(path)):
        if args.blocked and view.get("state") != "blocked":
            continue
        if cutoff is not None and ts_seconds(str(view.get("ts"))) < cutoff:
            continue
        if args.json:
            sys.stdout.write(orjson.dumps(view).decode() + "\n")
            continue
        mark = "✘" if view.get("state") == "blocked" else "✔"
        argv_text = " ".join(view.get("argv") or [])
        sys.stdout.write(
            f"{view.get('ts')} {mark} {view.get('tool')} {argv_text}  ({view.get('context')})"
            f"  {_describe(view)}\n"
        )
    return ExitStatus.OK
