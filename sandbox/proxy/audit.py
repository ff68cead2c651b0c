"""The proxy's audit records: a call record before anything goes upstream (fail closed), an outcome after.

Refusals and answers the proxy gives itself are one record complete in itself (`follows: "none"`, with
status and bytes). A forwarded request is a call record (`follows: "outcome"`, status and bytes null)
written before the request leaves, then an outcome record with the status and the bytes sent (and the
rule id when the proxy withheld the answer, e.g. `api.bound`).
"""

from __future__ import annotations

import contextlib

from kro.sandbox.proxy.flow import Flow
from kro.shims.audit import AuditLog, Call, Ended, new_call_id
from kro.shims.errors import AuditError
from kro.shims.model import Decision


class ProxyAudit:
    """The session's audit log as the proxy writes it."""

    def __init__(self, log: AuditLog, session: str, context: str) -> None:
        self.log, self.session, self.context = log, session, context

    def _call(self, flow: Flow) -> Call:
        req = flow.request
        return Call(self.session, "api", [req.method, flow.target], self.context, flow.call_id)

    def _extra(self, flow: Flow, status: int | None, size: int | None) -> dict[str, object]:
        return {"method": flow.request.method, "path": flow.target[:1024], "status": status, "bytes": size}

    def settled(self, flow: Flow, decision: Decision, status: int, size: int) -> None:
        """A request the proxy answered itself (refused, or a local answer); AuditError when not written."""
        self.log.write(self._call(flow), decision, None, flow.started, self._extra(flow, status, size))

    def forwarding(self, flow: Flow, decision: Decision) -> None:
        """The call record, before the request goes upstream; AuditError (nothing is sent) if not written."""
        flow.call_id = new_call_id()
        self.log.write(
            self._call(flow), decision, None, flow.started, self._extra(flow, None, None), follows="outcome"
        )

    def answered(self, flow: Flow) -> None:
        """The outcome record once the answer has ended (the call record already holds the request: a log
        that fills up now loses only the status and size, and nothing is left to refuse)."""
        ended = Ended(0 if flow.ended is None else 1, flow.sent, error=flow.ended)
        with contextlib.suppress(AuditError):
            extra: dict[str, object] = {"status": flow.status, "rule": flow.withheld}
            self.log.outcome(self._call(flow), ended, flow.started, extra)
