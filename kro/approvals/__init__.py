"""Approvals: a mutation the policy blocks becomes a request the user approves once, from outside."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kro.shims.audit import AuditLog, Call
    from kro.shims.executor import Stdio
    from kro.shims.model import Decision, Invocation
    from kro.shims.session import Session


def answer_blocked(session: Session, inv: Invocation, decision: Decision, audit: AuditLog, call: Call,
                   started: float, io: Stdio) -> int:  # fmt: skip
    """The pipeline's blocked-call handler for an approvals session's shims (kro/approvals/hook.py), imported
    only when a mutation is blocked: reads stay on the shim's lean path."""
    from kro.approvals.hook import answer_blocked as answer

    return answer(session, inv, decision, audit, call, started, io)
