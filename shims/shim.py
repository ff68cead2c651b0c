"""The kubectl/kubetail shim: load the session beside the script and hand the call to the pipeline."""

from __future__ import annotations

import os
import time

from kro.shims import executor
from kro.shims.errors import guarded
from kro.shims.raw_output import for_call
from kro.shims.session import SESSION_FILE, Session, load_session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from kro.shims.pipeline import BlockedHandler


def serve(
    session: Session,
    tool: str,
    argv: list[str],
    io: executor.Stdio,
    started: float | None = None,
    blocked: BlockedHandler | None = None,
) -> int:
    """One call of `session` on `io` (this process's stdio, or a broker client's): the exit code.

    The session's output settings choose the sink; plain mode without a bound execs the tool instead.
    `blocked` may answer a refused call (the approvals seam, wired by the caller).
    """
    from kro.shims.pipeline import run_call
    from kro.shims.sinks import for_session

    sink = for_session(session, io)
    return run_call(session, tool, argv, sink, started=started, blocked=blocked).exit_code


def main(
    tool: str,
    script: str,
    argv: list[str],
    handler: Callable[[Session], BlockedHandler | None] | None = None,
) -> int:
    """Entry point of the bin/kubectl and bin/kubetail scripts a session holds.

    `handler` gives the session's blocked-call handler (approvals), if any: the script wires it in.
    """
    started = time.monotonic()

    def body() -> int:
        bin_dir = os.path.dirname(os.path.realpath(script))
        session = for_call(load_session(os.path.join(os.path.dirname(bin_dir), SESSION_FILE)), tool, argv)
        if session.broker:
            from kro.shims.broker_client import forward, reply_timeout

            return forward(session.broker, session.broker_token, tool, argv, session.output, session.context,
                           reply_timeout(session))  # fmt: skip
        blocked = handler(session) if handler is not None else None
        return serve(session, tool, argv, executor.DIRECT, started, blocked)

    return guarded("kro", body)
