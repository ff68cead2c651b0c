"""The MCPServer and its tools, built from the tool table; each call runs the pipeline in a worker thread."""

from __future__ import annotations

import sys
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
from kro.shims.errors import KroError
from kro.shims.outcome import Outcome, notes
from kro.shims.pipeline import run_call
from kro.shims.session import Session
from kro.shims.sinks import DataSink

OUTPUTS: dict[Shape, type[BaseModel]] = {
    "table": outputs.TableOut,
    "object": outputs.ObjectOut,
    "text": outputs.TextOut,
    "raw": outputs.TextOut,
    "can_i": outputs.CanIOut,
    "secrets": outputs.SecretListOut,
    "secret": outputs.SecretOut,
}
_SIMPLE: dict[Shape, Callable[[replies.Answer], replies.Reply]] = {
    "table": replies.table,
    "text": replies.text,
    "raw": replies.raw,
    "can_i": replies.can_i,
    "secrets": replies.secrets,
    "secret": replies.secret,
}


class Runner:
    """Runs one tool call: argv from the table, the pipeline (decide, audit, run, redact), then shaping."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def run(self, spec: ToolSpec, args: inputs.Args) -> replies.Reply:
        """The reply to one validated call; never raises for a blocked, failed or unreachable call."""
        try:
            outcome = run_call(self.session, "kubectl", spec.argv(args), DataSink(), audit_as="mcp")
        except (KroError, OSError) as exc:
            return replies.error("infra", str(exc), None, self.session.context)
        failure = outcome.failure
        if failure is not None:
            if spec.shape == "can_i" and _says_no(outcome):
                return replies.can_i(_answer(outcome))
            decision = outcome.decision if failure.kind == "policy" else None
            return replies.error(failure.kind, failure.message, failure.rule, outcome.context,
                                 decision and decision.verb, decision and decision.resource)  # fmt: skip
        if spec.shape == "object":
            return replies.json_object(_answer(outcome))
        return _SIMPLE[spec.shape](_answer(outcome))


def _says_no(outcome: Outcome) -> bool:
    """kubectl auth can-i answers "no" by exiting 1 without an error message."""
    result = outcome.result
    return result is not None and result.exit_code == 1 and not result.stderr.strip() and not result.signal


def _answer(outcome: Outcome) -> replies.Answer:
    """The fields the shapes read, from the outcome (never from its rendered text)."""
    result = outcome.result
    assert result is not None
    return replies.Answer(
        content=result.content,
        kube_context=outcome.context,
        agent_context=" ".join(notes(result)) or None,
        notice=outcome.notice,
        spill=Path(result.spill) if result.spill else None,
        other_notes=" ".join(notes(result, spill=False)) or None,
    )


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


async def run_stdio(server: MCPServer[Any]) -> None:
    """Serve over stdio as MCPServer.run("stdio") does, stdin's lines judged first (mcp/rpc_guard.py)."""
    from mcp.server.stdio import stdio_server
    from mcp.shared.message import SessionMessage

    from kro.mcp.rpc_guard import GuardedLines

    lines = GuardedLines(sys.stdin.buffer.readline)
    # the transport only iterates its stdin: guarded lines stand in for the file it would wrap
    async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]

        async def answer(error: Any) -> None:
            await write_stream.send(SessionMessage(error))

        lines.answer = answer
        lowlevel = server._lowlevel_server
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


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
