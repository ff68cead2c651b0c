"""One request's flow object, passed through the proxy's small steps, and the Status of a refusal."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from kro.shims.api_policy import ApiDecision, ApiRequest
from kro.shims.api_scrub import forbidden_status

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Refused(Exception):
    """A request (or its response) the proxy answers with a Status instead; `rule` is a rules.py id."""

    def __init__(self, code: int, rule: str, reason: str, why: str) -> None:
        super().__init__(why)
        self.code, self.rule, self.reason, self.why = code, rule, reason, why


@dataclass
class Flow:
    """One request through the proxy: what was asked, what was decided, what was answered."""

    request: ApiRequest
    started: float = field(default_factory=time.monotonic)
    decision: ApiDecision | None = None
    body: bytes = b""  # the request body (a review's), read whole once admitted
    call_id: str = ""  # the audit call record's id once written (the request may then go upstream)
    status: int | None = None
    sent: int = 0  # body bytes sent to the client
    ended: str | None = None  # why the answer stopped short (the client went away, the upstream failed)
    withheld: str | None = None  # the rule id of a refusal after forwarding (an answer too big to scrub)

    @property
    def target(self) -> str:
        """The path and query as sent upstream and audited."""
        req = self.request
        return req.raw_path + ("?" + req.query if req.query else "")


def status_body(code: int, reason: str, message: str) -> bytes:
    """A Kubernetes Status (kind Status, status Failure, message `kro: ...`) as kubectl expects it."""
    doc = forbidden_status(message)
    if code != 403:
        doc = {**doc, "code": code, "reason": reason}
    return orjson.dumps(doc)


def refusal_body(no: Refused) -> tuple[bytes, str]:
    """The body and content type answering `no`.

    A refusal by policy is a JSON Status (kubectl prints `Error from server (Forbidden): kro: ...`, client
    libraries raise their usual error). When the cluster failed (5xx), client-go shows a JSON Status's
    message only on some paths (discovery prints its own fixed words for 502/503/504 JSON), but quotes a
    text body on all of them: `an error on the server ("kro: ...")`, so those answers are text.
    """
    if no.code >= 500:
        return f"kro: {no.why}".encode(), "text/plain; charset=utf-8"
    return status_body(no.code, no.reason, no.why), "application/json"


async def respond(send: Send, code: int, body: bytes, content_type: str = "application/json") -> None:
    """A whole answer (JSON unless told)."""
    await start(send, code, [("content-type", content_type), ("content-length", str(len(body)))])
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def start(send: Send, status: int, headers: list[tuple[str, str]]) -> None:
    """The response head."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )
