"""The session's shim scripts start here: the core shim with the session's blocked-call handler wired in.

The core (kro.shims) imports nothing from kro.approvals; this is where a session with --approvals gets
the approvals hook plugged into the pipeline's blocked-call seam (the --confine broker does the same).
"""

from __future__ import annotations

from kro.shims import shim

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kro.shims.audit import AuditLog, Call
    from kro.shims.model import Decision, Invocation
    from kro.shims.pipeline import BlockedHandler
    from kro.shims.session import Session
    from kro.shims.sinks import Sink


def _approvals(session: Session, inv: Invocation, decision: Decision, log: AuditLog, call: Call,
               began: float, sink: Sink) -> int | None:  # fmt: skip
    """Queue a blocked mutation, or answer an identical re-run once with the approved run's result."""
    if decision.rule != "verb.mutating" or sink.name == "data":
        return None
    from kro.approvals.hook import answer_blocked

    return answer_blocked(session, inv, decision, log, call, began, sink.io)


def blocked_handler(session: Session) -> BlockedHandler | None:
    """The session's blocked-call handler: approvals when the session has them, else none."""
    return _approvals if session.approvals else None


def main(tool: str, script: str, argv: list[str]) -> int:
    """Entry point of the bin/kubectl and bin/kubetail scripts a session holds."""
    return shim.main(tool, script, argv, blocked_handler)
