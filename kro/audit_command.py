"""`kro audit`: read the audit log (filters, JSON) and `kro audit verify` its well-formedness."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from kro.audit_view import Filters, calls, fold_api, parse_records, records_of, render, shown
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
        records.extend(parse_records(lines))
        idle_before = quiet >= idle_after
        quiet = 0.0 if lines else quiet + poll
        if not lines and (quiet >= idle_after) == idle_before:  # nothing new: no line, no quiet
            time.sleep(poll)
            continue
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
        for view in calls(records_of(path)):
            if shown(view, f):
                sys.stdout.write(orjson.dumps(view).decode() + "\n")
        return ExitStatus.OK
    if args.follow:
        try:
            follow(path, f)
        except KeyboardInterrupt:
            return ExitStatus.OK
    sys.stdout.write(render(fold_api(calls(records_of(path))), f))
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
