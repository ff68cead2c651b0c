"""The proxy's ASGI app: one Flow through small steps, mitmproxy-style.

admission (token, policy; pure) → audit call record (fail closed) → a local answer (Responders) or the
upstream transport → a body strategy (with the client-disconnect pump) → audit outcome record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kro.sandbox.proxy import admission, bodies
from kro.sandbox.proxy.access_review import AccessReviews, is_review
from kro.sandbox.proxy.admission import Answer, Responder
from kro.sandbox.proxy.audit import ProxyAudit
from kro.sandbox.proxy.discovery import Discovery
from kro.sandbox.proxy.flow import (
    Flow,
    Receive,
    Refused,
    Scope,
    Send,
    refusal_body,
    respond,
    start,
    status_body,
)
from kro.sandbox.proxy.transport import Transport, close, request_headers, response_headers
from kro.sandbox.proxy.upstream import Upstream
from kro.sandbox.proxy.version import VersionCopy
from kro.shims import rules as R
from kro.shims.api_policy import ApiPins
from kro.shims.api_scrub import json_accept
from kro.shims.audit import AuditLog
from kro.shims.errors import AuditError
from kro.shims.model import Decision

REQUEST_BODY_MAX = 1 << 20
DEFAULT_BOUND = 64 << 20


@dataclass
class Settings:
    """The session's side of the proxy: pins, the token it admits, the audit log, the buffer bound."""

    pins: ApiPins
    token: str
    audit: AuditLog
    session: str
    context: str
    bound: int = DEFAULT_BOUND


class ProxyApp:
    """ASGI callable; one instance per session, running on the proxy's event loop."""

    def __init__(self, upstream: Upstream, settings: Settings, responders: Sequence[Responder] = ()) -> None:
        self.settings = settings
        self.transport = Transport(upstream)
        self.discovery = Discovery(self.transport)
        self.audit = ProxyAudit(settings.audit, settings.session, settings.context)
        self.rewriter = bodies.Rewriter(settings.pins.redact, settings.bound)
        reviews = AccessReviews(self.transport, self.discovery, settings.pins)
        self.responders: list[Responder] = [*responders, reviews, VersionCopy(self.transport)]
        self.open_flows = 0  # requests being answered now (a test reads it to see streams end)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (other scopes are not served)."""
        if scope["type"] != "http":
            return
        flow = admission.flow_of(scope)
        self.open_flows += 1
        try:
            await self._serve(flow, receive, send)
        finally:
            self.open_flows -= 1

    async def _serve(self, flow: Flow, receive: Receive, send: Send) -> None:
        s = self.settings
        forwarded = False
        try:
            if s.pins.namespaces and admission.admitted(s.token, flow.request.headers):
                await self.discovery.learn(flow.request.raw_path)  # namespaced or not: once per group-version
            flow.decision = admission.admit(flow.request, s.token, s.pins, self.discovery.lookup)
            decision = Decision(True, flow.decision.rule, flow.decision.reason, None)
            if is_review(flow):  # `auth can-i`: answered for the session (access_review.py)
                why = "a self-subject review, answered for the session"
                decision = Decision(True, R.API_ACCESS_REVIEW, why, None)
            flow.body = await _read_body(receive)
            self.audit.forwarding(flow, decision)  # before anything leaves (AuditError: nothing does)
            forwarded = True
            await self._answer(flow, receive, send)
        except AuditError as exc:  # raised before any byte of the answer was sent
            await respond(send, 403, status_body(403, "Forbidden", str(exc)))
        except Refused as no:
            body, content_type = refusal_body(no)
            code = no.code
            flow.status, flow.sent = code, len(body)
            if forwarded:
                flow.ended, flow.withheld = no.why, no.rule
            else:
                try:
                    self.audit.settled(flow, Decision(False, no.rule, no.why, None), code, len(body))
                except AuditError as exc:
                    code, content_type = 403, "application/json"
                    body = status_body(403, "Forbidden", str(exc))
            await respond(send, code, body, content_type)
        finally:
            if forwarded:
                self.audit.answered(flow)

    async def _answer(self, flow: Flow, receive: Receive, send: Send) -> None:
        for responder in self.responders:
            answer = await responder(flow)
            if answer is not None:
                await _local(flow, answer, send)
                return
        decision = flow.decision
        assert decision is not None
        req = flow.request
        rewrite = decision.rewrite != "none"
        accept = next((v for k, v in req.headers if k == "accept"), None)
        headers = request_headers(req.headers, json_accept(accept) if rewrite else None)
        long = admission.long_stream(req, decision)
        if rewrite and decision.watch:
            strategy: bodies.Strategy = bodies.rewrite_events
        elif rewrite:
            strategy = bodies.rewrite_whole
        else:
            strategy = bodies.passthrough

        async def exchange() -> None:
            resp = await self.transport.send(
                req.method, flow.target, headers, flow.body, stream=True, long=long
            )
            flow.status = resp.status_code
            whole = False
            try:
                await strategy(resp, response_headers(resp), flow, send, self.rewriter)
                whole = flow.ended is None
            finally:
                await close(resp, whole=whole)

        await bodies.until_gone(exchange(), receive, flow)


async def _local(flow: Flow, answer: Answer, send: Send) -> None:
    flow.status, flow.sent = answer.status, len(answer.body)
    await start(send, answer.status, [*answer.headers, ("content-length", str(len(answer.body)))])
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        part = message.get("body", b"")
        size += len(part)
        if size > REQUEST_BODY_MAX:
            raise Refused(413, R.API_BODY, "RequestEntityTooLarge", "the request body is too large")
        parts.append(part)
        if not message.get("more_body"):
            break
    return b"".join(parts)
