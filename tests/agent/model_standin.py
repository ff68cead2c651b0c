"""A scripted stand-in for the Anthropic Messages API on 127.0.0.1, for driving the real Claude Code offline.

The main conversation (a request offering the Bash tool) is answered step by step: the n-th answer is
a Bash tool_use running the n-th scripted command, streamed as server-sent events the way the API
streams them; after the last command, a short text ends the turn. Every other request (titles,
quota probes, token counts) gets a minimal valid answer. Every request body is kept, so a test can
read exactly what reached the model: the tool_result blocks Claude Code sent back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

NOT_FOUND = {"type": "error", "error": {"type": "not_found_error", "message": "no such endpoint"}}


@dataclass
class Received:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    raw: bytes


@dataclass
class Script:
    """The commands the model runs, in order, and what came back."""

    commands: list[str]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tool_results(self) -> list[str]:
        """The text of every Bash tool_result in the last main-conversation request, in order."""
        for req in reversed(self.received):
            if req.body and _offers_bash(req.body):
                return [_result_text(b) for b in _blocks(req.body) if b.get("type") == "tool_result"]
        return []

    def everything(self) -> bytes:
        """Every byte that reached the stand-in (all requests, bodies included)."""
        return b"\n".join(r.raw for r in self.received)


def _offers_bash(body: dict[str, Any]) -> bool:
    return any(isinstance(t, dict) and t.get("name") == "Bash" for t in body.get("tools") or [])


def _blocks(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            yield from (b for b in content if isinstance(b, dict))


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _step(body: dict[str, Any]) -> int:
    """How many Bash tool calls this conversation has already made."""
    return sum(
        1
        for m in body.get("messages") or []
        if m.get("role") == "assistant" and isinstance(m.get("content"), list)
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_use"
    )


def _events(model: str, blocks: list[dict[str, Any]], stop: str) -> Iterator[tuple[str, dict[str, Any]]]:
    usage = {"input_tokens": 10, "output_tokens": 1}
    msg = {"id": "msg_standin", "type": "message", "role": "assistant", "model": model, "content": [],
           "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
    yield "message_start", {"type": "message_start", "message": msg}
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            yield "content_block_start", {
                "type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""},
            }  # fmt: skip
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            yield "content_block_start", {"type": "content_block_start", "index": i, "content_block": start}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield "content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": i}
    yield "message_delta", {
        "type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": 5},
    }  # fmt: skip
    yield "message_stop", {"type": "message_stop"}


def _answer(script: Script, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    if not _offers_bash(body):
        return [{"type": "text", "text": "kro session"}], "end_turn"
    step = _step(body)
    if step < len(script.commands):
        block = {"type": "tool_use", "id": f"toolu_standin_{step:03d}", "name": "Bash",
                 "input": {"command": script.commands[step], "description": f"step {step}"}}  # fmt: skip
        return [block], "tool_use"
    return [{"type": "text", "text": "Done."}], "end_turn"


def handler(script: Script) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `script`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self) -> dict[str, Any] | None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            obj = body if isinstance(body, dict) else None
            with script.lock:
                script.received.append(Received(self.command, self.path, dict(self.headers), obj, raw))
            return obj

        def _json(self, status: int, obj: object) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._record()
            self._json(404, NOT_FOUND)

        def do_HEAD(self) -> None:
            self._record()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            body = self._record() or {}
            path = self.path.split("?", 1)[0]
            if path.endswith("/count_tokens"):
                self._json(200, {"input_tokens": 10})
                return
            if not path.endswith("/v1/messages"):
                self._json(404, NOT_FOUND)
                return
            blocks, stop = _answer(script, body)
            model = str(body.get("model") or "claude-standin")
            if not body.get("stream"):
                self._json(200, {"id": "msg_standin", "type": "message", "role": "assistant", "model": model,
                                 "content": blocks, "stop_reason": stop, "stop_sequence": None,
                                 "usage": {"input_tokens": 10, "output_tokens": 5}})  # fmt: skip
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for name, data in _events(model, blocks, stop):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
            self.close_connection = True

    return Handler


class LoopbackServer:
    """Serve one request handler on 127.0.0.1 (a free port) for the lifetime of a `with` block."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class ModelStandin(LoopbackServer):
    """Serve a Script on 127.0.0.1 (a free port) for the lifetime of a `with` block."""

    def __init__(self, commands: list[str]) -> None:
        self.script = Script(list(commands))
        super().__init__(handler(self.script))
