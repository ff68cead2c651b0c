"""The MCPServer and its tools, built from the tool table; each call runs the funnel in a worker thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

import kro
from kro.mcp import inputs, outputs, replies
from kro.mcp.tools import TOOLS, Shape, ToolSpec
from kro.shims import run_to_envelope
from kro.shims.cache import cache_root
from kro.shims.errors import KroError
from kro.shims.session import Session

OUTPUTS: dict[Shape, type[BaseModel]] = {
    "table": outputs.TableOut,
    "object": outputs.ObjectOut,
    "text": outputs.TextOut,
    "raw": outputs.TextOut,
    "can_i": outputs.CanIOut,
    "secrets": outputs.SecretListOut,
    "secret": outputs.SecretOut,
}
_SIMPLE: dict[Shape, Callable[[dict[str, Any]], replies.Reply]] = {
    "table": replies.table,
    "text": replies.text,
    "raw": replies.raw,
    "can_i": replies.can_i,
    "secrets": replies.secrets,
    "secret": replies.secret,
}
# kubectl auth can-i answers "no" on stdout and exits 1; the funnel reports that as this message.
_CAN_I_NO = "kubectl exited with code 1"


class Runner:
    """Runs one tool call: argv from the table, then the funnel (decide, run, redact, audit), then shaping."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def run(self, spec: ToolSpec, args: inputs.Args) -> replies.Reply:
        """The reply to one validated call; never raises for a blocked, failed or unreachable call."""
        argv = spec.argv(args)
        try:
            try:
                _, env = run_to_envelope.read(self.session, argv, tool="kubectl", audit_as="mcp")
            except FileExistsError:
                # Two concurrent calls of this process got the same cache file name (same ms and verb);
                # the failed one was not audited, so run it again (reads are idempotent).
                _, env = run_to_envelope.read(self.session, argv, tool="kubectl", audit_as="mcp")
        except (KroError, OSError) as exc:
            return replies.error({"kind": "infra", "message": str(exc), "kube_context": self.session.context})
        if env.get("status") == "error":
            if spec.shape == "can_i" and env.get("kind") == "user" and env.get("message") == _CAN_I_NO:
                return replies.can_i({**env, "content": "no"})
            return replies.error(env)
        if spec.shape == "object":
            cache = Path(self.session.cache_dir) if self.session.cache_dir else cache_root()
            return replies.json_object(env, cache)
        return _SIMPLE[spec.shape](env)


def to_result(reply: replies.Reply) -> CallToolResult:
    """The MCP result for a reply."""
    return CallToolResult(
        content=[TextContent(type="text", text=t) for t in reply.texts],
        structured_content=reply.structured,
        is_error=reply.is_error,
    )


def _handler(spec: ToolSpec, runner: Runner) -> Callable[..., Awaitable[CallToolResult]]:
    async def call(**kwargs: Any) -> CallToolResult:
        args = spec.args.model_construct(**kwargs)  # already validated by the SDK against spec.args
        return to_result(await anyio.to_thread.run_sync(runner.run, spec, args))

    call.__name__ = spec.name
    return call


def make_tool(spec: ToolSpec, runner: Runner) -> Tool:
    """An SDK tool whose input schema is the spec's pydantic model and whose output schema is its shape's."""
    return Tool(
        fn=_handler(spec, runner),
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=spec.args.model_json_schema(by_alias=True),
        fn_metadata=FuncMetadata(arg_model=spec.args, output_schema=OUTPUTS[spec.shape].model_json_schema()),
        is_async=True,
        context_kwarg=None,
        annotations=ToolAnnotations(
            title=spec.title,
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,  # every tool reads a live cluster, an external system
        ),
    )


def build_server(session: Session, instructions: str) -> MCPServer[Any]:
    """The MCP server for one pinned session."""
    runner = Runner(session)
    return MCPServer(
        "kro",
        title="kro (read-only Kubernetes)",
        instructions=instructions,
        version=kro.__version__,
        tools=[make_tool(spec, runner) for spec in TOOLS],
        log_level="WARNING",
    )
