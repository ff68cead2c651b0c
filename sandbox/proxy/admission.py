"""Admission, pure: whose request it is, what the policy decides, and whether its answer is a long stream.

The seam for answers the proxy gives itself: `Responder`s run after admission and the audit call record,
before anything goes upstream; the first that returns an `Answer` settles the request (the /version copy
in `version.py` is one). A new local answer is one more small module handed to ProxyApp.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kro.sandbox.proxy.flow import Flow, Refused, Scope
from kro.shims import rules as R
from kro.shims.api_path import parse_query, query_flag
from kro.shims.api_policy import ApiDecision, ApiPins, ApiRequest, Namespaced, decide_request


@dataclass(frozen=True)
class Answer:
    """A whole answer the proxy gives without going upstream."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


Responder = Callable[[Flow], Awaitable[Answer | None]]


def flow_of(scope: Scope) -> Flow:
    """The request as the policy reads it: raw path (not percent-decoded), raw query, lower-cased headers."""
    raw = scope.get("raw_path") or scope["path"].encode()
    raw_path = raw.decode("latin-1").split("?", 1)[0]
    query = scope.get("query_string", b"").decode("latin-1")
    headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"])
    return Flow(ApiRequest(scope["method"], raw_path, query, headers))


def admitted(token: str, headers: tuple[tuple[str, str], ...]) -> bool:
    """The session's own bearer token, compared in constant time."""
    given = next((v for k, v in headers if k == "authorization"), "")
    return hmac.compare_digest(given.encode(), ("Bearer " + token).encode())


def admit(req: ApiRequest, token: str, pins: ApiPins, namespaced: Namespaced) -> ApiDecision:
    """The allowed decision for `req`; Refused (401 or the policy's 403) otherwise."""
    if not admitted(token, req.headers):
        raise Refused(
            401,
            R.API_AUTH,
            "Unauthorized",
            "this proxy admits only the session's own token (use the session kubeconfig)",
        )
    decision = decide_request(req, pins, namespaced)
    if not decision.allowed:
        raise Refused(403, decision.rule, "Forbidden", decision.reason)
    return decision


def long_stream(req: ApiRequest, decision: ApiDecision) -> bool:
    """A watch or a followed log: open as long as the client keeps it, so kept off the shared connection."""
    return decision.watch or query_flag(parse_query(req.query), "follow")
