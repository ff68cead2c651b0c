"""The proxy's ASGI app: admit the session token, decide each request, forward it, rewrite when needed."""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import orjson

from kro.sandbox.proxy.credentials import CredentialError
from kro.sandbox.proxy.upstream import Upstream
from kro.shims import access_review
from kro.shims import rules as R
from kro.shims.api_policy import ApiDecision, ApiPins, ApiRequest, decide_request
from kro.shims.api_scrub import forbidden_status, json_accept, redact_objects, scrub_secrets
from kro.shims.audit import AuditLog, Call
from kro.shims.errors import AuditError
from kro.shims.model import Decision

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Not forwarded either way: hop-by-hop headers, the agent's credentials, what httpx recomputes.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "authorization",
        "content-length",
        "http2-settings",
    }
)
_REQUEST_BODY_MAX = 1 << 20
DEFAULT_BOUND = 64 << 20
VERSION_TTL = 30.0  # the server's version, kept this long: one round trip less per kubectl call


@dataclass
class Settings:
    """The session's side of the proxy: pins, the token it admits, the audit log, the buffer bound."""

    pins: ApiPins
    token: str
    audit: AuditLog
    session: str
    context: str
    bound: int = DEFAULT_BOUND


def _status(code: int, reason: str, message: str) -> bytes:
    doc = forbidden_status(message)
    if code != 403:
        doc = {**doc, "code": code, "reason": reason}
    return orjson.dumps(doc)


class Refused(Exception):
    """A request (or its response) the proxy answers with a Status instead."""

    def __init__(self, code: int, rule: str, reason: str, why: str) -> None:
        super().__init__(why)
        self.code, self.rule, self.reason, self.why = code, rule, reason, why


@dataclass
class Exchange:
    """One request's bookkeeping, for its audit line."""

    method: str
    path: str
    started: float = field(default_factory=time.monotonic)
    sent: int = 0


class ProxyApp:
    """ASGI callable; one instance per session, running on the proxy's event loop."""

    def __init__(self, upstream: Upstream, settings: Settings) -> None:
        self.upstream = upstream
        self.settings = settings
        self.client: httpx.AsyncClient | None = None
        self._namespaced: dict[str, dict[str, bool]] = {}
        # /version, which the kubectl dispatcher asks before every call: (expiry, status, headers, body)
        self._version: tuple[float, int, list[tuple[str, str]], bytes] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (other scopes are not served)."""
        if scope["type"] != "http":
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        raw_path = raw.decode("latin-1").split("?", 1)[0]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"])
        req = ApiRequest(scope["method"], raw_path, query, headers)
        shown = raw_path + ("?" + query if query else "")
        ex = Exchange(req.method, shown)
        try:
            if not self._admitted(headers):
                raise Refused(
                    401,
                    "api.auth",
                    "Unauthorized",
                    "this proxy admits only the session's own token (use the session kubeconfig)",
                )
            if self.settings.pins.namespaces:  # namespaced or not: discovery, once per group-version
                await self._learn(raw_path)
            decision = decide_request(req, self.settings.pins, self._lookup)
            if not decision.allowed:
                raise Refused(403, decision.rule, "Forbidden", decision.reason)
            kind = access_review.review_kind(req.method, raw_path)
            if kind is not None:
                await self._review(kind, req, receive, send, ex)
                return
            await self._forward(req, decision, receive, send, ex)
        except AuditError as exc:  # raised before any byte of the answer was sent
            await _respond(send, 403, _status(403, "Forbidden", str(exc)))
        except Refused as no:
            body = _status(no.code, no.reason, no.why)
            try:
                self._audit(ex, no.rule, no.why, no.code, len(body), allowed=False)
            except AuditError as exc:
                body = _status(403, "Forbidden", str(exc))
            await _respond(send, no.code, body)

    async def _review(self, kind: str, req: ApiRequest, receive: Receive, send: Send, ex: Exchange) -> None:
        """`auth can-i` for the session: kro's own `no` for what it refuses, write verbs cut from `--list`."""
        body = await _read_body(receive)
        pins = self.settings.pins
        if kind == access_review.ACCESS:
            if pins.namespaces:
                await self._learn(access_review.discovery_path(body))
            verdict = access_review.access_verdict(body, pins, self._lookup)
            if verdict is None:  # a read: the cluster's answer stands
                replay = _replay(body)
                why = "a read: the cluster answers"
                decision = ApiDecision(True, R.API_ACCESS_REVIEW, why, "none", False)
                await self._forward(req, decision, replay, send, ex)
                return
            self._audit(ex, R.API_ACCESS_REVIEW, verdict.reason, 201, len(verdict.body), allowed=True)
            await _respond(send, 201, verdict.body)
            return
        headers = [(k, v) for k, v in req.headers if k not in _HOP and k not in ("accept", "accept-encoding")]
        headers += [("accept", "application/json"), ("accept-encoding", "identity")]
        try:
            target = req.raw_path + ("?" + req.query if req.query else "")
            resp = await self._send("POST", target, headers, body, stream=False)
        except (CredentialError, httpx.HTTPError) as exc:
            raise Refused(502, "api.upstream", "BadGateway", f"cannot reach the API server: {exc}") from exc
        out = resp.content
        if resp.status_code == 201:
            try:
                out = orjson.dumps(access_review.read_only_rules(orjson.loads(out), pins))
            except orjson.JSONDecodeError:
                raise Refused(403, "api.rewrite", "Forbidden", "the rules review was not JSON") from None
        reason = "write verbs removed from the cluster's rules"
        self._audit(ex, R.API_ACCESS_REVIEW, reason, resp.status_code, len(out), allowed=True)
        await _respond(send, resp.status_code, out)

    def _admitted(self, headers: tuple[tuple[str, str], ...]) -> bool:
        given = next((v for k, v in headers if k == "authorization"), "")
        expected = "Bearer " + self.settings.token
        return hmac.compare_digest(given.encode(), expected.encode())

    def _audit(
        self, ex: Exchange, rule: str, reason: str, status: int, size: int | None, *, allowed: bool
    ) -> None:
        s = self.settings
        call = Call(s.session, "api", [ex.method, ex.path], s.context)
        extra: dict[str, object] = {
            "method": ex.method,
            "path": ex.path[:1024],
            "status": status,
            "bytes": size,
        }
        s.audit.write(call, Decision(allowed, rule, reason, None), None, ex.started, extra)

    def _lookup(self, group_version: str, resource: str) -> bool | None:
        return self._namespaced.get(group_version, {}).get(resource)

    async def _learn(self, raw_path: str) -> bool:
        """Fetch discovery for the path's group-version when not known yet; whether anything was learnt."""
        segs = raw_path.strip("/").split("/")
        if segs[:1] == ["api"] and len(segs) > 2:
            gv, url = segs[1], f"/api/{segs[1]}"
        elif segs[:1] == ["apis"] and len(segs) > 3:
            gv, url = f"{segs[1]}/{segs[2]}", f"/apis/{segs[1]}/{segs[2]}"
        else:
            return False
        if gv in self._namespaced:
            return False
        try:
            resp = await self._send("GET", url, [("accept", "application/json")], b"", stream=False)
            doc = resp.json() if resp.status_code == 200 else {}
        except (httpx.HTTPError, ValueError, CredentialError):
            return False
        found = {
            str(r.get("name")): bool(r.get("namespaced"))
            for r in doc.get("resources") or []
            if isinstance(r, dict)
        }
        self._namespaced[gv] = found
        return True

    async def _send(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, *, stream: bool
    ) -> httpx.Response:
        """One upstream request with the session's credentials; a 401 refreshes them and retries once."""
        assert self.client is not None
        creds = self.upstream.creds
        auth = creds.authorization()
        for attempt in (0, 1):
            sent = [*headers, ("authorization", auth)] if auth else list(headers)
            request = self.client.build_request(
                method, self.upstream.server + target, headers=sent, content=body or None
            )
            if self.upstream.sni:
                request.extensions["sni_hostname"] = self.upstream.sni
            resp = await self.client.send(request, stream=stream)
            if resp.status_code != 401 or attempt or not (creds.plugin or creds.token_file):
                return resp
            await resp.aclose()
            auth = creds.authorization(refused=auth or "")
        raise AssertionError("unreachable")

    async def _forward(
        self, req: ApiRequest, decision: ApiDecision, receive: Receive, send: Send, ex: Exchange
    ) -> None:
        body = await _read_body(receive)
        headers = [(k, v) for k, v in req.headers if k not in _HOP]
        rewrite = decision.rewrite != "none"
        if rewrite:
            accept = next((v for k, v in req.headers if k == "accept"), None)
            headers = [(k, v) for k, v in headers if k not in ("accept", "accept-encoding")]
            headers += [("accept", json_accept(accept)), ("accept-encoding", "identity")]
        target = req.raw_path + ("?" + req.query if req.query else "")
        if req.method == "GET" and req.raw_path == "/version" and not rewrite:
            await self._cached_version(target, headers, decision, send, ex)
            return
        try:
            resp = await self._send(req.method, target, headers, body, stream=True)
        except CredentialError as exc:
            raise Refused(
                502, "api.upstream", "BadGateway", f"cannot authenticate to the cluster: {exc}"
            ) from exc
        except httpx.HTTPError as exc:
            raise Refused(502, "api.upstream", "BadGateway", f"cannot reach the API server: {exc}") from exc
        try:
            out = [(k.lower(), v) for k, v in resp.headers.multi_items() if k.lower() not in _HOP]
            if rewrite and decision.watch:
                await self._stream_events(resp, out, decision, send, ex)
            elif rewrite:
                await self._rewrite_whole(resp, out, decision, send, ex)
            else:
                await self._stream(resp, out, decision, send, ex)
        finally:
            await resp.aclose()

    async def _cached_version(
        self, target: str, headers: list[tuple[str, str]], decision: ApiDecision, send: Send, ex: Exchange
    ) -> None:
        """GET /version from a short-lived copy (the first answer is fetched like any other)."""
        cached = self._version
        if cached is None or cached[0] < time.monotonic():
            headers = [(k, v) for k, v in headers if k != "accept-encoding"]
            try:
                resp = await self._send("GET", target, headers, b"", stream=False)
            except CredentialError as exc:
                raise Refused(
                    502, "api.upstream", "BadGateway", f"cannot authenticate to the cluster: {exc}"
                ) from exc
            except httpx.HTTPError as exc:
                raise Refused(
                    502, "api.upstream", "BadGateway", f"cannot reach the API server: {exc}"
                ) from exc
            drop = {*_HOP, "content-encoding", "date"}
            out = [(k.lower(), v) for k, v in resp.headers.multi_items() if k.lower() not in drop]
            cached = (time.monotonic() + VERSION_TTL, resp.status_code, out, resp.content)
            if resp.status_code == 200:
                self._version = cached
        _, status, out, body = cached
        self._audit(ex, decision.rule, decision.reason, status, len(body), allowed=True)
        await self._start(send, status, [*out, ("content-length", str(len(body)))])
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _start(self, send: Send, status: int, headers: list[tuple[str, str]]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )

    async def _stream(
        self,
        resp: httpx.Response,
        out: list[tuple[str, str]],
        decision: ApiDecision,
        send: Send,
        ex: Exchange,
    ) -> None:
        """Pass the body through as it arrives (audited at the response head: nothing sent unaudited)."""
        length = resp.headers.get("content-length")
        self._audit(
            ex,
            decision.rule,
            decision.reason,
            resp.status_code,
            int(length) if length and length.isdigit() else None,
            allowed=True,
        )
        if length:
            out.append(("content-length", length))
        await self._start(send, resp.status_code, out)
        async for chunk in resp.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _rewrite(self, doc: object) -> object:
        doc = scrub_secrets(doc)
        if self.settings.pins.redact:
            doc, _ = redact_objects(doc)
        return doc

    async def _rewrite_whole(
        self,
        resp: httpx.Response,
        out: list[tuple[str, str]],
        decision: ApiDecision,
        send: Send,
        ex: Exchange,
    ) -> None:
        """Buffer (bounded), decode, scrub/redact, re-encode; a non-JSON body is refused, not passed."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in _bounded(resp.aiter_bytes(), self.settings.bound):
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
        del chunks
        if raw:
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise Refused(
                    403,
                    "api.rewrite",
                    "Forbidden",
                    "the server's answer to a request that must be "
                    "scrubbed was not JSON, so it is withheld; ask for JSON",
                ) from None
            del raw
            raw = orjson.dumps(self._rewrite(doc))
        out = [(k, v) for k, v in out if k not in ("content-encoding", "content-length")]
        out.append(("content-length", str(len(raw))))
        self._audit(ex, decision.rule, decision.reason, resp.status_code, len(raw), allowed=True)
        await self._start(send, resp.status_code, out)
        await send({"type": "http.response.body", "body": raw, "more_body": False})

    async def _stream_events(
        self,
        resp: httpx.Response,
        out: list[tuple[str, str]],
        decision: ApiDecision,
        send: Send,
        ex: Exchange,
    ) -> None:
        """A watch: each event (one JSON object a line) scrubbed on its own and sent at once."""
        out = [(k, v) for k, v in out if k not in ("content-encoding", "content-length")]
        self._audit(ex, decision.rule, decision.reason, resp.status_code, None, allowed=True)
        await self._start(send, resp.status_code, out)
        pending = b""
        async for chunk in resp.aiter_bytes():
            pending += chunk
            if len(pending) > self.settings.bound:
                break  # one event past the bound: end the stream (the client re-lists)
            *lines, pending = pending.split(b"\n")
            body = b"".join(self._event(line) for line in lines if line.strip())
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
        if pending.strip() and len(pending) <= self.settings.bound:
            await send({"type": "http.response.body", "body": self._event(pending), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _event(self, line: bytes) -> bytes:
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            doc = {
                "type": "ERROR",
                "object": forbidden_status("a watch event that must be scrubbed was not JSON"),
            }
        return orjson.dumps(self._rewrite(doc)) + b"\n"


async def _bounded(chunks: AsyncIterator[bytes], bound: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > bound:
            raise Refused(
                403,
                "api.bound",
                "Forbidden",
                f"the answer is over {bound >> 20} MiB and must be scrubbed in memory; "
                "ask for less (a label or field selector, one namespace, or --chunk-size)",
            )
        yield chunk


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        part = message.get("body", b"")
        size += len(part)
        if size > _REQUEST_BODY_MAX:
            raise Refused(413, "api.body", "RequestEntityTooLarge", "the request body is too large")
        parts.append(part)
        if not message.get("more_body"):
            break
    return b"".join(parts)


def _replay(body: bytes) -> Receive:
    """A receive callable that hands back a body already read."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _respond(send: Send, code: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
