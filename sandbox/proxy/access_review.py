"""A local answer: `kubectl auth can-i` for the session, not for the credential kro holds (api.access-review).

A SelfSubjectAccessReview of anything the session refuses is answered here with kro's `no`
(`shims/access_review.py` decides it with the proxy's own request policy); a review of a read goes to the
cluster as it is. A SelfSubjectRulesReview (`auth can-i --list`) is asked of the cluster and its write
verbs are cut before it is passed back.
"""

from __future__ import annotations

import orjson

from kro.sandbox.proxy.admission import Answer
from kro.sandbox.proxy.discovery import Discovery
from kro.sandbox.proxy.flow import Flow, Refused
from kro.sandbox.proxy.transport import Transport, request_headers
from kro.shims import access_review
from kro.shims import rules as R
from kro.shims.api_policy import ApiPins

_JSON = [("content-type", "application/json")]


def is_review(flow: Flow) -> bool:
    """Whether the request POSTs a self-subject access or rules review."""
    return access_review.review_kind(flow.request.method, flow.request.raw_path) is not None


class AccessReviews:
    """A Responder: kro's answer to a review of a refused verb; the cluster's rules review, reads only."""

    def __init__(self, transport: Transport, discovery: Discovery, pins: ApiPins) -> None:
        self.transport, self.discovery, self.pins = transport, discovery, pins

    async def __call__(self, flow: Flow) -> Answer | None:
        req = flow.request
        kind = access_review.review_kind(req.method, req.raw_path)
        if kind is None:
            return None
        if kind == access_review.ACCESS:
            if self.pins.namespaces:
                await self.discovery.learn(access_review.discovery_path(flow.body))
            verdict = access_review.access_verdict(flow.body, self.pins, self.discovery.lookup)
            if verdict is None:  # a read: the cluster's answer stands
                return None
            return Answer(201, list(_JSON), verdict.body)
        headers = request_headers(req.headers, "application/json")
        resp = await self.transport.send("POST", flow.target, headers, flow.body, stream=False)
        out = resp.content
        if resp.status_code == 201:
            try:
                out = orjson.dumps(access_review.read_only_rules(orjson.loads(out), self.pins))
            except orjson.JSONDecodeError:
                raise Refused(403, R.API_REWRITE, "Forbidden", "the rules review was not JSON") from None
        return Answer(resp.status_code, list(_JSON), out)
