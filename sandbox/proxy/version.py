"""A local answer: GET /version from a short-lived copy (the kubectl dispatcher asks it before every call)."""

from __future__ import annotations

import time

from kro.sandbox.proxy.admission import Answer
from kro.sandbox.proxy.flow import Flow
from kro.sandbox.proxy.transport import Transport, request_headers, response_headers

VERSION_TTL = 30.0  # the server's version, kept this long: one round trip less per kubectl call
_DROP = frozenset({"content-encoding", "date"})


class VersionCopy:
    """A Responder: answers GET /version (not rewritten) from a copy fetched like any other answer."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._copy: tuple[float, Answer] | None = None

    async def __call__(self, flow: Flow) -> Answer | None:
        req = flow.request
        if (
            req.method != "GET"
            or req.raw_path != "/version"
            or (flow.decision and flow.decision.rewrite != "none")
        ):
            return None
        if self._copy is not None and self._copy[0] >= time.monotonic():
            return self._copy[1]
        headers = [(k, v) for k, v in request_headers(req.headers, None) if k != "accept-encoding"]
        resp = await self.transport.send("GET", flow.target, headers, b"", stream=False)
        out = [(k, v) for k, v in response_headers(resp) if k not in _DROP]
        answer = Answer(resp.status_code, out, resp.content)
        if resp.status_code == 200:
            self._copy = (time.monotonic() + VERSION_TTL, answer)
        return answer
