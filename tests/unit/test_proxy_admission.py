"""The proxy's admission step, pure: the session token, the policy's refusal, which requests stream long."""

from __future__ import annotations

import pytest

from kro.sandbox.proxy.admission import admit, flow_of, long_stream
from kro.sandbox.proxy.flow import Refused, refusal_body
from kro.shims import rules as R
from kro.shims.api_policy import ApiPins

TOKEN = "session-token"


def _scope(method: str, target: str, token: str | None = TOKEN) -> dict[str, object]:
    path, _, query = target.partition("?")
    headers = [(b"Authorization", f"Bearer {token}".encode())] if token else []
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
    }


@pytest.mark.parametrize(
    ("method", "target", "token", "code", "rule"),
    [
        pytest.param("GET", "/api/v1/pods", None, 401, R.API_AUTH, id="api.auth.none"),
        pytest.param("GET", "/api/v1/pods", "other", 401, R.API_AUTH, id="api.auth.wrong"),
        pytest.param("DELETE", "/api/v1/namespaces/a/pods/x", TOKEN, 403, R.API_METHOD, id="api.method"),
        pytest.param(
            "GET", "/api/v1/namespaces/a/pods/x/exec", TOKEN, 403, R.API_SUBRESOURCE, id="api.subresource"
        ),
    ],
)
def test_refused(method: str, target: str, token: str | None, code: int, rule: str) -> None:
    flow = flow_of(_scope(method, target, token))
    with pytest.raises(Refused) as refused:
        admit(flow.request, TOKEN, ApiPins(), lambda gv, r: None)
    assert (refused.value.code, refused.value.rule) == (code, rule)
    body, content_type = refusal_body(refused.value)
    assert content_type == "application/json"
    assert b'"kind":"Status"' in body


@pytest.mark.parametrize(
    ("target", "long"),
    [
        pytest.param("/api/v1/namespaces/a/pods", False, id="list"),
        pytest.param("/api/v1/namespaces/a/pods?watch=1", True, id="watch"),
        pytest.param("/api/v1/namespaces/a/pods?watch=false", False, id="watch-false"),
        pytest.param("/api/v1/watch/namespaces/a/pods", True, id="legacy-watch-path"),
        pytest.param("/apis/apps/v1/deployments?watch=true&allowWatchBookmarks=true", True, id="watch-apps"),
        pytest.param("/api/v1/namespaces/a/pods/p/log?follow=true", True, id="log-follow"),
        pytest.param("/api/v1/namespaces/a/pods/p/log", False, id="log"),
    ],
)
def test_long_streams_are_told_apart(target: str, long: bool) -> None:
    flow = flow_of(_scope("GET", target))
    decision = admit(flow.request, TOKEN, ApiPins(), lambda gv, r: None)
    assert long_stream(flow.request, decision) is long
    assert flow.target == target


def test_upstream_failures_are_text_kubectl_quotes() -> None:
    """api.upstream: a 502 in kro's words, as text (client-go quotes text on every path)."""
    body, content_type = refusal_body(
        Refused(502, R.API_UPSTREAM, "BadGateway", "cannot reach the API server")
    )
    assert (body, content_type) == (b"kro: cannot reach the API server", "text/plain; charset=utf-8")
