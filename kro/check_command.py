"""`kro check`: decide a kubectl or kubetail call without running it (single or --batch)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from kro.shims import json_codec
from kro.shims.decide import TOOLS, decide_argv
from kro.shims.errors import ExitStatus, UsageError
from kro.shims.model import Pins

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

HELP = """usage: kro check [--tool kubectl|kubetail] [--context NAME] [--namespace NS]... [--json] -- ARGS...
       kro check --batch [--context NAME] [--namespace NS]... < cases.jsonl

Decide, without running anything, whether kro lets a kubectl (or kubetail) call through.

Single mode prints 'OK' or 'BLOCKED: <reason>' and exits 0 when allowed, 1 when blocked,
2 on a usage error. --json prints the decision instead:
  {"allowed": bool, "rule": str, "reason": str, "verb": str|null}

--batch reads JSON Lines on stdin, each {"argv": [str, ...], "tool": "kubectl"|"kubetail"}
("tool" optional), and writes one decision per line, in order; a malformed line gives
{"error": "..."} and the run goes on. Exit 0.

options:
  --tool TOOL       kubectl (default) or kubetail
  --context NAME    the pinned context: --context on the call must equal it
  --namespace NS    allow only these namespaces (repeatable)
  --json            print the decision as JSON
  --batch           decide JSON Lines from stdin
  -h, --help        show this help
"""


def _options(args: list[str]) -> tuple[dict[str, object], list[str]]:
    opts: dict[str, object] = {
        "tool": "kubectl",
        "context": None,
        "namespaces": [],
        "json": False,
        "batch": False,
    }
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return opts, args[i + 1 :]
        if arg in ("-h", "--help"):
            opts["help"] = True
            return opts, []
        if arg in ("--json", "--batch"):
            opts[arg[2:]] = True
            i += 1
            continue
        name, eq, value = arg.partition("=")
        if name in ("--tool", "--context", "--namespace"):
            if not eq:
                if i + 1 >= len(args):
                    raise UsageError(f"{name} needs a value")
                value = args[i + 1]
                i += 1
            if name == "--namespace":
                ns = opts["namespaces"]
                assert isinstance(ns, list)
                ns.append(value)
            else:
                opts[name[2:]] = value
            i += 1
            continue
        if arg.startswith("-"):
            raise UsageError(f"unknown option {arg}; put the call to check after --")
        return opts, args[i:]
    return opts, []


MAX_LINE = 1 << 20  # a batch line longer than this is answered with an error, never read whole


def _lines(stream: IO[bytes], limit: int = MAX_LINE) -> Iterator[bytes | None]:
    """The stream's lines; None stands for one longer than `limit` (its rest is read and dropped)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or (line.endswith(b"\n") and len(line) == limit + 1):
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(limit)
        yield None


def _decide_line(line: bytes, pins: Pins, default_tool: str) -> dict[str, object]:
    """The decision for one batch line, or {"error": why} when the line is not a usable case."""
    try:
        case = json_codec.loads(line.rstrip(b"\r\n"))
    except (json_codec.JSONDecodeError, UnicodeDecodeError) as exc:
        return {"error": f"line is not JSON ({exc})"}
    if not isinstance(case, dict):
        return {"error": "each line must be a JSON object with an 'argv' list"}
    argv = case.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return {"error": "'argv' must be a list of strings"}
    if not argv:
        return {"error": "'argv' is empty: give the arguments that follow the tool's name"}
    tool = case.get("tool", default_tool)
    if tool not in TOOLS:
        return {"error": f"'tool' must be one of {', '.join(TOOLS)}"}
    _, decision = decide_argv(tool, argv, pins)
    return decision.as_dict()


def _batch(stream: IO[bytes], pins: Pins, default_tool: str, out: IO[bytes]) -> None:
    for line in _lines(stream):
        if line is None:
            answer: dict[str, object] = {"error": f"line is longer than {MAX_LINE} bytes; not decided"}
        elif not line.strip():
            continue
        else:
            try:
                answer = _decide_line(line, pins, default_tool)
            except (MemoryError, RecursionError, ValueError, TypeError) as exc:  # fail closed, keep going
                answer = {"error": f"could not decide this line ({type(exc).__name__}); treat it as blocked"}
        out.write(json_codec.dumps(answer) + b"\n")


def main(argv: list[str]) -> int:
    """Entry point of `kro check`."""
    opts, call = _options(argv)
    if opts.get("help"):
        sys.stdout.write(HELP)
        return 0
    tool = str(opts["tool"])
    if tool not in TOOLS:
        raise UsageError(f"--tool must be one of {', '.join(TOOLS)}")
    context = opts["context"]
    namespaces = opts["namespaces"]
    assert isinstance(namespaces, list)
    pins = Pins(context if isinstance(context, str) else None, tuple(namespaces))
    if opts["batch"]:
        if call:
            raise UsageError("--batch reads the calls from stdin; give no arguments")
        _batch(sys.stdin.buffer, pins, tool, sys.stdout.buffer)
        sys.stdout.flush()
        return 0
    if not call:
        raise UsageError("nothing to check: give the call's arguments after --, e.g. kro check -- get pods")
    _, decision = decide_argv(tool, call, pins)
    if opts["json"]:
        sys.stdout.buffer.write(json_codec.dumps(decision.as_dict()) + b"\n")
    else:
        sys.stdout.write("OK\n" if decision.allowed else f"BLOCKED: {decision.reason}\n")
    return ExitStatus.OK if decision.allowed else ExitStatus.FAILED
