"""decide → execute → redact → audit for front ends that want the envelope as data (MCP, tours)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from kro.shims import envelope, executor
from kro.shims.audit import AuditLog, Call
from kro.shims.decide import decide_argv
from kro.shims.errors import EXIT_BLOCKED, EXIT_NOT_FOUND
from kro.shims.model import Decision, Pins
from kro.shims.session import Session


def read(
    session: Session, argv: Sequence[str], *, tool: str = "kubectl", audit_as: str | None = None
) -> tuple[Decision, dict[str, object]]:
    """Decide one call, run it if allowed, and return the decision and its envelope; always audited.

    `audit_as` names the front end in the audit log (e.g. "mcp"); the policy is the tool's own.
    """
    started = time.monotonic()
    args = list(argv)
    inv, decision = decide_argv(tool, args, Pins(session.context, session.namespaces))
    audit = AuditLog.open(session.audit_log)
    call = Call(session.id, audit_as or tool, args, session.context)
    try:
        if not decision.allowed:
            audit.write(call, decision, EXIT_BLOCKED, started)
            return decision, envelope.error(
                "policy", decision.reason, session.context, session.notice, decision.rule
            )
        path = session.kubectl if tool == "kubectl" else session.kubetail
        if not path or not os.access(path, os.X_OK):
            audit.write(call, decision, EXIT_NOT_FOUND, started)
            message = f"{tool} is not installed (looked for {path or tool}); install it and restart"
            return decision, envelope.error("infra", message, session.context, session.notice)
        from kro.shims import config_view
        from kro.shims.envelope_output import read as run_read

        env = executor.session_env(os.environ, session)
        if config_view.renders(inv):
            out, code = config_view.read(session, inv, path, env)
        else:
            out, code = run_read(session, inv, path, executor.pinned_argv(inv, session), env)
        audit.write(call, decision, code, started)
        return decision, out
    finally:
        audit.close()
