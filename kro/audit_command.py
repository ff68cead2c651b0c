"""`kro audit`: read the audit log (filters, JSON) and `kro audit verify` its well-formedness."""

from __future__ import annotations

import argparse
import re
import sys
import time
from calendar import timegm
from pathlib import Path

import orjson

from kro.shims.audit import MAX_RECORD, default_path
from kro.shims.errors import UsageError

FIELDS: dict[str, tuple[type, ...]] = {
    "ts": (str,),
    "session": (str,),
    "pid": (int,),
    "tool": (str,),
    "argv": (list,),
    "context": (str, type(None)),
    "decision": (str,),
    "rule": (str,),
    "reason": (str,),
    "exit_code": (int, type(None)),
    "duration_ms": (int, float),
}
# Records of the session API proxy (tool "api") carry these too.
API_FIELDS: dict[str, tuple[type, ...]] = {
    "method": (str,),
    "path": (str,),
    "status": (int,),
    "bytes": (int, type(None)),
}
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


def problems(line: bytes) -> list[str]:
    """What is wrong with one audit line (empty when it is well-formed)."""
    if len(line) + 1 > MAX_RECORD:
        return [f"record is {len(line) + 1} bytes, over {MAX_RECORD}"]
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(record, dict):
        return ["not a JSON object"]
    fields = {**FIELDS, **API_FIELDS} if record.get("tool") == "api" else FIELDS
    found = [f"missing {k}" for k in fields if k not in record]
    found += [
        f"{k} has type {type(v).__name__}"
        for k, v in record.items()
        if k in fields and not isinstance(v, fields[k])
    ]
    found += [f"unexpected key {k}" for k in record if k not in fields]
    if not found:
        if record["decision"] not in ("allowed", "blocked"):
            found.append(f"decision {record['decision']!r}")
        if not _TS.fullmatch(record["ts"]):
            found.append(f"ts {record['ts']!r} is not RFC 3339 UTC with ms")
        if not all(isinstance(a, str) for a in record["argv"]):
            found.append("argv holds a non-string")
        if record["decision"] == "blocked" and not (record["rule"] and record["reason"]):
            found.append("blocked without rule and reason")
    return found


def _verify(path: Path) -> int:
    count = bad = 0
    for n, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line:
            continue
        count += 1
        for problem in problems(line):
            bad += 1
            sys.stdout.write(f"{path}:{n}: {problem}\n")
    if bad:
        sys.stdout.write(f"FAIL: {bad} problem(s) in {count} records\n")
        return 1
    sys.stdout.write(f"OK: {count} well-formed records in {path}\n")
    return 0


def main(argv: list[str]) -> int:
    """Entry point of `kro audit`."""
    parser = argparse.ArgumentParser(
        prog="kro audit",
        description=(
            "Read kro's audit log: one JSON line per kubectl/kubetail/MCP attempt, allowed or blocked "
            "(ts, session, pid, tool, argv, context, decision, rule, reason, exit_code, duration_ms)."
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
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if args.blocked and record.get("decision") != "blocked":
            continue
        if cutoff is not None and ts_seconds(str(record.get("ts"))) < cutoff:
            continue
        if args.json:
            sys.stdout.write(line.decode() + "\n")
            continue
        mark = "✔" if record.get("decision") == "allowed" else "✘"
        argv_text = " ".join(record.get("argv") or [])
        tail = (
            "" if record.get("decision") == "allowed" else f"  [{record.get('rule')}] {record.get('reason')}"
        )
        sys.stdout.write(
            f"{record.get('ts')} {mark} {record.get('tool')} {argv_text}  ({record.get('context')}){tail}\n"
        )
    return 0
