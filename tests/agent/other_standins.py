"""Scripted stand-ins for the OpenAI Responses API (Codex CLI) and the Gemini API (Gemini CLI) on 127.0.0.1.

Like model_standin: the n-th answer runs the n-th scripted command with the agent's shell tool
(Codex: `exec_command` {"cmd"}; Gemini: `run_shell_command` {"command"}), then a short text ends the
turn; every request is kept, so a test reads what the shell tool returned to the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from claude_session import ClaudeBench, Run
from model_standin import LoopbackServer, Received, Script


class ResponsesScript(Script):
    """Codex CLI's conversation: function_call_output items carry what each command printed."""

    def tool_results(self) -> list[str]:
        """The output of every shell call, in order, from the last request."""
        for req in reversed(self.received):
            items = (req.body or {}).get("input") or []
            outs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
            if outs:
                return [str(o.get("output")) for o in outs]
        return []

    def answer(self, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The SSE events of the next step."""
        items = body.get("input") or []
        step = sum(1 for i in items if isinstance(i, dict) and i.get("type") == "function_call")
        if step < len(self.commands):
            item: dict[str, Any] = {"type": "function_call", "id": f"fc_{step}", "call_id": f"call_{step}",
                                    "name": "exec_command", "status": "completed",
                                    "arguments": json.dumps({"cmd": self.commands[step]})}  # fmt: skip
        else:
            item = {"type": "message", "id": "msg_done", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}  # fmt: skip
        usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                 "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip
        response = {"id": f"resp_{step}", "usage": usage}
        done = {"type": "response.output_item.done", "output_index": 0, "item": item}
        return [
            ("response.created", {"type": "response.created", "response": {"id": f"resp_{step}"}}),
            ("response.output_item.done", done),
            ("response.completed", {"type": "response.completed", "response": response}),
        ]


class GeminiScript(Script):
    """Gemini CLI's conversation: functionResponse parts carry what each command printed."""

    def tool_results(self) -> list[str]:
        """The output (or the hook's error) of every shell call, in order, from the last request."""
        for req in reversed(self.received):
            parts = [p for c in (req.body or {}).get("contents") or [] for p in c.get("parts") or []]
            found = [p["functionResponse"]["response"] for p in parts if "functionResponse" in p]
            if found:
                return [str(r.get("output", r.get("error", ""))) for r in found]
        return []

    def answer(self, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The SSE events of the next step (one chunk)."""
        parts = [p for c in body.get("contents") or [] for p in c.get("parts") or []]
        step = sum(1 for p in parts if "functionCall" in p)
        tools = [f.get("name") for t in body.get("tools") or [] for f in t.get("functionDeclarations") or []]
        if "run_shell_command" in tools and step < len(self.commands):
            part: dict[str, Any] = {"functionCall": {"name": "run_shell_command",
                                                     "args": {"command": self.commands[step]}}}  # fmt: skip
        else:
            part = {"text": "Done."}
        candidate = {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
        usage = {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
        chunk = {"candidates": [candidate], "usageMetadata": usage}
        return [("", chunk)]


class Standin(LoopbackServer):
    """Serve a ResponsesScript or GeminiScript on 127.0.0.1 for the lifetime of a `with` block."""

    def __init__(self, script: ResponsesScript | GeminiScript) -> None:
        self.script = script
        super().__init__(_handler(script))


def _handler(script: ResponsesScript | GeminiScript) -> type[BaseHTTPRequestHandler]:
    answer: Callable[[dict[str, Any]], list[tuple[str, dict[str, Any]]]] = script.answer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self) -> dict[str, Any]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            with script.lock:
                script.received.append(Received(self.command, self.path, dict(self.headers), body, raw))
            return body

        def _json(self, obj: object) -> None:
            data = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._record()
            self._json({"data": [], "models": []})

        def do_POST(self) -> None:
            body = self._record()
            if "countTokens" in self.path:
                self._json({"totalTokens": 10})
                return
            events = answer(body)
            if isinstance(script, GeminiScript) and "alt=sse" not in self.path:
                self._json(events[0][1])
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for name, data in events:
                head = f"event: {name}\n" if name else ""
                self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
            self.close_connection = True

    return Handler


def run_codex(bench: ClaudeBench, codex: Path, commands: list[str], options: tuple[str, ...] = (),
              codex_args: tuple[str, ...] = ()) -> Run:  # fmt: skip
    """`kro-run OPTIONS -- codex exec CODEX_ARGS …` against a scripted Responses API running `commands`."""

    def launch(url: str) -> tuple[list[str], dict[str, str]]:
        env = bench.env(url)
        env.update(CODEX_HOME=str(bench.home / ".codex"), KRO_STANDIN_KEY="sk-standin")
        (bench.home / ".codex").mkdir(exist_ok=True)
        provider = [f"model_providers.kro.{k}={v}" for k, v in (
            ("name", '"kro"'), ("base_url", f'"{url}/v1"'), ("wire_api", '"responses"'),
            ("env_key", '"KRO_STANDIN_KEY"'))]  # fmt: skip
        argv = [str(codex), "exec", "--skip-git-repo-check", *codex_args, "-m", "gpt-5",
                "-c", "model_provider=kro", *[w for p in provider for w in ("-c", p)], "Look at the cluster."]
        return argv, env

    return bench.run_agent(Standin(ResponsesScript(commands)), launch, options=options)
