"""kro serve's stdio lines judged before the SDK reads them: every request with an id gets an answer.

The SDK drops a line it cannot validate (bad params, nesting past its parser's limit, not JSON) without a
reply, so a client waits forever. Here such a line becomes a JSON-RPC error carrying the request's id (found
by a scan that needs no parse when the line does not parse), and lines past the size or depth bounds never
reach a parser at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import mcp_types as types

MAX_LINE_BYTES = 1 << 20  # a tool call is a few kB (kubectl_read takes at most 64 args of 4 kB)
MAX_DEPTH = 32  # the deepest tool arguments nest 3 levels below params
_NO_ID = object()


class Refusal(NamedTuple):
    """A line kro answers itself: the JSON-RPC error code and message, and the request id (None: unknown)."""

    id: int | str | None
    code: int
    message: str

    def reply(self) -> types.JSONRPCError:
        """The JSON-RPC error response."""
        return types.JSONRPCError(jsonrpc="2.0", id=self.id, error=types.ErrorData(code=self.code,
                                                                                 message=self.message))


def _depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _string_end(line: str, start: int) -> int:
    """The index of the quote closing the JSON string that opens at `start` (len(line) when unclosed)."""
    i = start + 1
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == '"':
            return i
        i += 1
    return len(line)


def scan_id(line: str) -> object:
    """The top-level "id" of a JSON-RPC line without parsing it (too deep, cut short or broken elsewhere).

    Returns the id (an int or str) or _NO_ID. Keys are read at depth one only, strings skipped whole.
    """
    depth, i, n = 0, 0, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            end = _string_end(line, i)
            if depth == 1 and line[i + 1 : end] == "id":
                j = end + 1
                while j < n and line[j] in " \t\r\n":
                    j += 1
                if j < n and line[j] == ":":
                    return _token(line, j + 1)
            i = end + 1
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        i += 1
    return _NO_ID


def _token(line: str, start: int) -> object:
    """The JSON string or integer at `start` (after blanks), or _NO_ID."""
    i = start
    while i < len(line) and line[i] in " \t\r\n":
        i += 1
    if i < len(line) and line[i] == '"':
        end = _string_end(line, i)
        text = line[i : end + 1]
    else:
        end = i
        while end < len(line) and (line[end].isdigit() or line[end] == "-"):
            end += 1
        text = line[i:end]
    try:
        value = json.loads(text)
    except ValueError:
        return _NO_ID
    return value if isinstance(value, int | str) and not isinstance(value, bool) else _NO_ID


def _known(value: object) -> int | str | None:
    return value if isinstance(value, int | str) and value is not _NO_ID else None


def judge(line: str, cut: bool = False) -> Refusal | None:
    """None when the line may go to the SDK; else the error to answer it with (`cut`: it was too long)."""
    if cut:
        return Refusal(_known(scan_id(line)), types.INVALID_REQUEST,
                       f"request larger than kro serve's limit of {MAX_LINE_BYTES} bytes")  # fmt: skip
    if not line.strip():
        return None
    try:
        message = json.loads(line)
    except RecursionError:
        return Refusal(_known(scan_id(line)), types.INVALID_REQUEST,
                       f"request nested deeper than kro serve's limit of {MAX_DEPTH} levels")  # fmt: skip
    except ValueError as exc:
        return Refusal(_known(scan_id(line)), types.PARSE_ERROR, f"not JSON: {exc}")
    if _depth(message) > MAX_DEPTH:
        ident = message.get("id") if isinstance(message, dict) else None
        return Refusal(_known(ident), types.INVALID_REQUEST,
                       f"request nested deeper than kro serve's limit of {MAX_DEPTH} levels")  # fmt: skip
    if not isinstance(message, dict) or "method" not in message or "id" not in message:
        return None  # a notification or a response: the SDK's to judge, nothing waits for an answer
    ident = _known(message["id"])
    if "params" in message and not isinstance(message["params"], dict):
        return Refusal(ident, types.INVALID_PARAMS, "params must be a JSON object")
    try:
        types.jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValueError as exc:
        first = str(exc).splitlines()[1:2]
        return Refusal(ident, types.INVALID_REQUEST, f"invalid request: {' '.join(first).strip()}")
    return None


class GuardedLines:
    """stdin's lines for the SDK's stdio transport, with every refused line answered through `answer`."""

    def __init__(self, readline: Callable[[int], bytes]) -> None:
        self.readline = readline
        self.answer: Callable[[types.JSONRPCError], Any] | None = None

    def __aiter__(self) -> GuardedLines:
        return self

    async def __anext__(self) -> str:
        import anyio.to_thread

        while True:
            raw = await anyio.to_thread.run_sync(self.readline, MAX_LINE_BYTES + 1)
            if not raw:
                raise StopAsyncIteration
            cut = len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n")
            while cut:  # drop the rest of an oversized line without holding it
                rest = await anyio.to_thread.run_sync(self.readline, MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            line = raw.decode("utf-8", "replace")
            refusal = judge(line, cut)
            if refusal is None:
                return line
            if self.answer is not None:
                await self.answer(refusal.reply())
