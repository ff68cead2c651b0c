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
    shown: str  # path and query, as audited
    started: float = field(default_factory=time.monotonic)
    decision: ApiDecision | None = None
    body: bytes = b""  # the request body, read whole before anything is sent
    call_id: str = ""  # the audit call record's id once written (the request may then go upstream)
    status: int | None = None
    sent: int = 0  # body bytes sent to the client
    ended: str | None = None  # why the answer stopped short (the client went away, the upstream failed)
    withheld: str | None = None  # the rule id of a refusal after forwarding (an answer too big to scrub)

    @property
    def target(self) -> str:
        """The path and query as sent upstream."""
        req = self.request
        return req.raw_path + ("?" + req.query if req.query else "")


def status_body(code: int, reason: str, message: str) -> bytes:
    """A Kubernetes Status (kind Status, status Failure, message `kro: ...`) as kubectl expects it."""
    doc = forbidden_status(message)
    if code != 403:
        doc = {**doc, "code": code, "reason": reason}
    return orjson.dumps(doc)


async def respond(send: Send, code: int, body: bytes) -> None:
    """A whole JSON answer."""
    await start(send, code, [("content-type", "application/json"), ("content-length", str(len(body)))])
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
