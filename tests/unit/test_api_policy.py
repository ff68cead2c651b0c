"""The API proxy's per-request policy: table-driven cases (ids cite rule ids), real traces, properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kro_testing import shared_missing_case, shared_path

from kro.shims.api_policy import ApiDecision, ApiPins, ApiRequest, decide_request

FIXTURES = shared_path("fixtures", "kube-apiserver-1.36")
# Used only when the real server's discovery documents are not there.
_SCOPES_FALLBACK = {
    ("v1", "pods"): True, ("v1", "events"): True, ("v1", "secrets"): True, ("v1", "services"): True,
    ("v1", "configmaps"): True, ("v1", "serviceaccounts"): True, ("v1", "nodes"): False,
    ("v1", "namespaces"): False, ("v1", "persistentvolumes"): False, ("apps/v1", "deployments"): True,
    ("rbac.authorization.k8s.io/v1", "clusterroles"): False,
}  # fmt: skip


def _scopes() -> dict[tuple[str, str], bool]:
    """(group/version, plural) -> namespaced, from the real kube-apiserver's aggregated discovery."""
    index = FIXTURES / "index.json"
    if not index.is_file():
        return _SCOPES_FALLBACK
    scopes: dict[tuple[str, str], bool] = {}
    for key, entry in json.loads(index.read_text()).items():
        if key.split(" | ")[0] in ("/api", "/apis") and "apidiscovery" in key:
            doc = json.loads((FIXTURES / entry["file"]).read_text())
            for group in doc["items"]:
                name = group["metadata"].get("name", "")
                for version in group["versions"]:
                    gv = f"{name}/{version['version']}" if name else version["version"]
                    for res in version["resources"]:
                        scopes[(gv, res["resource"])] = res["scope"] == "Namespaced"
    return scopes


SCOPES = _scopes()


def namespaced(group_version: str, resource: str) -> bool | None:
    """What the proxy's discovery lookup answers: namespaced, cluster-scoped, or None when unknown."""
    return SCOPES.get((group_version, resource))


OPEN = ApiPins()
PINNED = ApiPins(namespaces=("demo", "web"))
REDACT = ApiPins(redact=True)
A = "allowed"


def request(method: str, url: str, headers: dict[str, str] | None = None) -> ApiRequest:
    """An ApiRequest as the proxy builds it from the wire: raw path, raw query, lower-cased header names."""
    path, _, query = url.partition("?")
    return ApiRequest(method, path, query, tuple((k.lower(), v) for k, v in (headers or {}).items()))


def decide(method: str, url: str, pins: ApiPins = OPEN, headers: dict[str, str] | None = None) -> ApiDecision:
    """decide_request with the discovery-backed namespaced lookup."""
    return decide_request(request(method, url, headers), pins, namespaced)


def case(
    method: str,
    url: str,
    rule: str,
    *,
    pins: ApiPins = OPEN,
    headers: dict[str, str] | None = None,
    rewrite: str = "none",
    watch: bool = False,
    id: str,
) -> object:
    """One row: the request, the rule it must get, and for allowed ones the rewrite and watch flags."""
    return pytest.param(method, url, pins, headers, rule, rewrite, watch, id=id)


SPDY = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io"}
WS = {"Connection": "keep-alive, Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}

CASES = [
    # allowed: reads of every kind of endpoint
    case("GET", "/api?timeout=32s", A, id="allowed.discovery-api"),
    case("GET", "/apis", A, id="allowed.discovery-apis"),
    case("GET", "/apis/", A, id="allowed.discovery-apis-trailing-slash"),
    case("GET", "/api/v1", A, id="allowed.discovery-core-v1"),
    case("GET", "/apis/apps", A, id="allowed.discovery-group"),
    case("GET", "/apis/apps/v1", A, id="allowed.discovery-group-version"),
    case("GET", "/openapi/v2", A, id="allowed.openapi-v2"),
    case("GET", "/openapi/v3", A, id="allowed.openapi-v3"),
    case("GET", "/openapi/v3/apis/apps/v1?hash=9C48&timeout=32s", A, id="allowed.openapi-v3-group"),
    case("GET", "/version?timeout=32s", A, id="allowed.version"),
    case("GET", "/healthz", A, id="allowed.healthz"),
    case("GET", "/healthz/etcd", A, id="allowed.healthz-etcd"),
    case("GET", "/livez?verbose", A, id="allowed.livez-verbose"),
    case("GET", "/readyz/poststarthook/rbac", A, id="allowed.readyz-check"),
    case("GET", "/metrics", A, id="allowed.metrics"),
    case("GET", "/metrics/slis", A, id="allowed.metrics-slis"),
    case("HEAD", "/api/v1/namespaces/demo/pods", A, id="allowed.head"),
    case("GET", "/api/v1/pods?limit=500", A, id="allowed.list-all-namespaces-unpinned"),
    case("GET", "/api/v1/namespaces/demo/pods/web-1", A, id="allowed.get-pod"),
    case("GET", "/api/v1/namespaces/demo/pods/web-1/status", A, id="allowed.status-subresource"),
    case("GET", "/apis/apps/v1/namespaces/demo/deployments/web/scale", A, id="allowed.scale-subresource"),
    case("GET", "/api/v1/namespaces/demo/pods/web-1/log?container=api&tailLines=5", A, id="allowed.log"),
    case("GET", "/api/v1/namespaces/demo/pods/web-1/log?follow=true", A, id="allowed.log-follow"),
    case("GET", "/api/v1/namespaces/demo/pods?watch=true", A, watch=True, id="allowed.watch-query"),
    case("GET", "/api/v1/namespaces/demo/pods?watch=1", A, watch=True, id="allowed.watch-1"),
    case("GET", "/api/v1/namespaces/demo/pods?watch", A, watch=True, id="allowed.watch-empty-is-true"),
    case("GET", "/api/v1/namespaces/demo/pods?w%61tch=true", A, watch=True, id="allowed.watch-encoded-key"),
    case("GET", "/api/v1/namespaces/demo/pods?watch=false", A, id="allowed.watch-false"),
    case(
        "GET", "/api/v1/namespaces/demo/pods?watch=FALSE&watch=true", A, id="allowed.watch-first-value-wins"
    ),
    case("GET", "/api/v1/namespaces/demo/pods/web-1?watch=true", A, id="allowed.watch-ignored-on-get"),
    case("GET", "/api/v1/watch/namespaces/demo/pods", A, watch=True, id="allowed.legacy-watch-path"),
    case(
        "GET", "/apis/apps/v1/watch/namespaces/demo/deployments/web", A, watch=True, id="allowed.watch-named"
    ),
    case("GET", "/api/v1/namespaces/sys%3Atest/pods", A, id="allowed.encoded-colon"),
    case(
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node-proxier",
        A,
        id="allowed.colon-name",
    ),
    case("GET", "/api/v1/namespaces/demo/%70ods", A, id="allowed.encoded-letter"),
    case("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", A, id="allowed.auth-can-i"),
    case("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", A, id="allowed.auth-can-i-list"),
    case("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", A, id="allowed.auth-whoami"),
    case("POST", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews", A, id="allowed.auth-whoami-beta"),
    case(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        A,
        pins=PINNED,
        id="allowed.review-pinned",
    ),
    # rewrite: secrets whatever the shape of the read, objects only in redacting sessions
    case(
        "GET",
        "/api/v1/namespaces/demo/secrets?limit=500",
        A,
        rewrite="secrets",
        id="allowed.rewrite-secrets-list",
    ),
    case("GET", "/api/v1/namespaces/demo/secrets/db", A, rewrite="secrets", id="allowed.rewrite-secrets-get"),
    case("GET", "/api/v1/secrets", A, rewrite="secrets", id="allowed.rewrite-secrets-all"),
    case(
        "GET",
        "/api/v1/namespaces/demo/secrets?watch=1",
        A,
        rewrite="secrets",
        watch=True,
        id="allowed.rewrite-secrets-watch",
    ),
    case(
        "GET",
        "/api/v1/watch/secrets",
        A,
        rewrite="secrets",
        watch=True,
        id="allowed.rewrite-secrets-legacy-watch",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo/secrets/db/status",
        A,
        rewrite="secrets",
        id="allowed.rewrite-secrets-subresource",
    ),
    case(
        "GET", "/api/v1/namespaces/demo/%73ecrets", A, rewrite="secrets", id="allowed.rewrite-secrets-encoded"
    ),
    case(
        "GET",
        "/apis/example.com/v1/namespaces/demo/secrets",
        A,
        rewrite="secrets",
        id="allowed.rewrite-secrets-other-group",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo/secrets",
        A,
        pins=REDACT,
        rewrite="secrets",
        id="allowed.rewrite-secrets-redact",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo/pods",
        A,
        pins=REDACT,
        rewrite="objects",
        id="allowed.rewrite-objects-pods",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo",
        A,
        pins=REDACT,
        rewrite="objects",
        id="allowed.rewrite-objects-namespace",
    ),
    case(
        "GET",
        "/apis/apps/v1/namespaces/demo/deployments?watch=1",
        A,
        pins=REDACT,
        rewrite="objects",
        watch=True,
        id="allowed.rewrite-objects-watch",
    ),
    case("GET", "/api/v1/namespaces/demo/pods/web-1/log", A, pins=REDACT, id="allowed.rewrite-none-log"),
    case("GET", "/openapi/v3", A, pins=REDACT, id="allowed.rewrite-none-openapi"),
    case("GET", "/api/v1/namespaces/demo", A, id="allowed.rewrite-none-namespace-object"),
    case("GET", "/api/v1/namespaces/demo/pods/exec", A, id="allowed.pod-named-exec"),
    # api.method
    case("DELETE", "/api/v1/namespaces/demo/pods/web-1", "api.method", id="api.method.delete"),
    case("POST", "/api/v1/namespaces/demo/pods", "api.method", id="api.method.create"),
    case("PUT", "/api/v1/namespaces/demo/configmaps/c", "api.method", id="api.method.put"),
    case(
        "PATCH",
        "/apis/apps/v1/namespaces/demo/deployments/web/scale",
        "api.method",
        id="api.method.patch-scale",
    ),
    case("PATCH", "/api/v1/namespaces/demo/pods/web-1?dryRun=All", "api.method", id="api.method.dry-run"),
    case("POST", "/api/v1/namespaces/demo/pods?dryRun=All", "api.method", id="api.method.dry-run-create"),
    case("DELETE", "/api/v1/namespaces/demo/pods", "api.method", id="api.method.deletecollection"),
    case("POST", "/api/v1/namespaces/demo/pods/web-1/eviction", "api.method", id="api.method.eviction"),
    case("OPTIONS", "/api/v1/pods", "api.method", id="api.method.options"),
    case("TRACE", "/version", "api.method", id="api.method.trace"),
    case(
        "CONNECT", "/api/v1/namespaces/demo/pods/web-1/exec", "api.subresource", id="api.method.connect-exec"
    ),
    case("get", "/api/v1/pods", "api.method", id="api.method.lower-case"),
    case("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", "api.method", id="api.method.sar"),
    case(
        "POST",
        "/apis/authorization.k8s.io/v1/namespaces/demo/localsubjectaccessreviews",
        "api.method",
        id="api.method.local-sar",
    ),
    case("POST", "/apis/authentication.k8s.io/v1/tokenreviews", "api.method", id="api.method.tokenreview"),
    case(
        "POST",
        "/apis/authorization.k8s.io/v1/namespaces/demo/selfsubjectaccessreviews",
        "api.method",
        id="api.method.review-namespaced-path",
    ),
    case(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x",
        "api.method",
        id="api.method.review-named-path",
    ),
    case(
        "GET",
        "/api/v1/pods",
        "api.method",
        headers={"X-HTTP-Method-Override": "DELETE"},
        id="api.method.override-header",
    ),
    # api.upgrade
    case(
        "GET", "/api/v1/namespaces/demo/pods/web-1/log", "api.upgrade", headers=WS, id="api.upgrade.websocket"
    ),
    case(
        "POST",
        "/api/v1/namespaces/demo/pods/web-1/exec?command=sh",
        "api.upgrade",
        headers=SPDY,
        id="api.upgrade.spdy-exec",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo/pods/web-1/portforward",
        "api.upgrade",
        headers=WS,
        id="api.upgrade.websocket-portforward",
    ),
    case("GET", "/version", "api.upgrade", headers={"Upgrade": "h2c"}, id="api.upgrade.any-upgrade-header"),
    case(
        "GET",
        "/version",
        "api.upgrade",
        headers={"Connection": "close, UPGRADE"},
        id="api.upgrade.connection-token",
    ),
    case(
        "GET", "/version", "api.upgrade", headers={"Sec-WebSocket-Key": "x"}, id="api.upgrade.websocket-key"
    ),
    # api.subresource
    case(
        "GET",
        "/api/v1/namespaces/demo/pods/web-1/exec?command=sh",
        "api.subresource",
        id="api.subresource.exec",
    ),
    case("POST", "/api/v1/namespaces/demo/pods/web-1/attach", "api.subresource", id="api.subresource.attach"),
    case(
        "GET",
        "/api/v1/namespaces/demo/pods/web-1/portforward",
        "api.subresource",
        id="api.subresource.portforward",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo/services/web:80/proxy/",
        "api.subresource",
        id="api.subresource.svc-proxy",
    ),
    case(
        "GET", "/api/v1/nodes/node-1/proxy/configz", "api.subresource", id="api.subresource.node-proxy-path"
    ),
    case("DELETE", "/api/v1/nodes/node-1/proxy", "api.subresource", id="api.subresource.any-method"),
    case(
        "GET",
        "/api/v1/proxy/namespaces/demo/services/web/",
        "api.subresource",
        id="api.subresource.legacy-proxy",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo/pods/web-1/%65xec",
        "api.subresource",
        id="api.subresource.encoded-exec",
    ),
    case(
        "GET",
        "/apis/kubevirt.io/v1/namespaces/demo/virtualmachineinstances/vm/guestosinfo",
        "api.subresource",
        id="api.subresource.unknown-aggregated",
    ),
    case(
        "GET", "/api/v1/namespaces/demo/finalize", "api.subresource", id="api.subresource.namespace-finalize"
    ),
    # api.token-request
    case(
        "POST",
        "/api/v1/namespaces/demo/serviceaccounts/default/token",
        "api.token-request",
        id="api.token-request.create",
    ),
    case(
        "GET",
        "/api/v1/namespaces/demo/serviceaccounts/default/token",
        "api.token-request",
        id="api.token-request.get",
    ),
    # api.impersonation
    case(
        "GET",
        "/api/v1/pods",
        "api.impersonation",
        headers={"Impersonate-User": "admin"},
        id="api.impersonation.user",
    ),
    case(
        "GET",
        "/api/v1/pods",
        "api.impersonation",
        headers={"Impersonate-Group": "system:masters"},
        id="api.impersonation.group",
    ),
    case(
        "GET",
        "/api/v1/pods",
        "api.impersonation",
        headers={"Impersonate-Extra-Scopes": "x"},
        id="api.impersonation.extra",
    ),
    case(
        "GET",
        "/api/v1/pods",
        "api.impersonation",
        headers={"Impersonate-Uid": "1"},
        id="api.impersonation.uid",
    ),
    case(
        "GET",
        "/api/v1/pods",
        "api.impersonation",
        headers={"X-Remote-User": "admin"},
        id="api.impersonation.front-proxy-user",
    ),
    # api.path
    case("GET", "/api/v1/namespaces/demo/pods/../secrets", "api.path", id="api.path.dot-dot"),
    case("GET", "/api/v1/namespaces/demo/pods/%2e%2e/secrets", "api.path", id="api.path.encoded-dot-dot"),
    case("GET", "/api/v1/namespaces/demo/pods/%2E", "api.path", id="api.path.encoded-dot"),
    case("GET", "/api/v1/namespaces/demo/pods/.", "api.path", id="api.path.dot-segment"),
    case("GET", "/api//v1/pods", "api.path", id="api.path.double-slash"),
    case("GET", "//api/v1/pods", "api.path", id="api.path.leading-double-slash"),
    case("GET", "/api/v1/namespaces/demo/pods%2Fweb-1%2Fexec", "api.path", id="api.path.encoded-slash"),
    case("GET", "/api/v1/namespaces/demo/pods%2fweb-1", "api.path", id="api.path.encoded-slash-lower"),
    case("GET", "/api/v1/namespaces/demo/pods%252Fx", "api.path", id="api.path.double-encoding"),
    case("GET", "/api/v1/namespaces/demo/pods\\web-1", "api.path", id="api.path.backslash"),
    case("GET", "/api/v1/namespaces/demo/pods%5Cweb-1", "api.path", id="api.path.encoded-backslash"),
    case("GET", "/api/v1/namespaces/demo/pods%zz", "api.path", id="api.path.bad-escape"),
    case("GET", "/api/v1/namespaces/demo/pods%4", "api.path", id="api.path.short-escape"),
    case("GET", "/api/v1/namespaces/demo/pods%00", "api.path", id="api.path.encoded-nul"),
    case("GET", "/api/v1/namespaces/demo/pods%C3%A9", "api.path", id="api.path.encoded-non-ascii"),
    case("GET", "/api/v1/namespaces/démo/pods", "api.path", id="api.path.non-ascii"),
    case("GET", "/api/v1/namespaces/demo/pods;x=1", "api.path", id="api.path.semicolon"),
    case("GET", "/api/v1/pods web", "api.path", id="api.path.space"),
    case("GET", "api/v1/pods", "api.path", id="api.path.relative"),
    case("GET", "http://example.com/api/v1/pods", "api.path", id="api.path.absolute-form"),
    case("GET", "/api/v1/pods?watch=1;x=2", "api.path", id="api.path.query-semicolon"),
    case("GET", "/api/v1/pods?labelSelector=a%zz", "api.path", id="api.path.query-bad-escape"),
    case("GET", "/api/v1/pods?watch=%ff", "api.path", id="api.path.query-not-utf8"),
    case("GET", "/", "api.path", id="api.path.root"),
    case("GET", "/logs/", "api.path", id="api.path.node-logs"),
    case("GET", "/debug/pprof/", "api.path", id="api.path.debug"),
    case("PUT", "/debug/flags/v", "api.method", id="api.method.debug-flags"),
    case("GET", "/apis/Apps/v1/deployments", "api.path", id="api.path.bad-group"),
    case("GET", "/api/v1/watch", "api.path", id="api.path.watch-nothing"),
    case("GET", "/api/v1/watch/namespaces/demo/pods/web-1/log", "api.path", id="api.path.watch-subresource"),
    case("GET", "/api/v1/namespaces/demo/pods/web-1/status/x", "api.path", id="api.path.after-subresource"),
    case("GET", "/openapi/v4", "api.path", id="api.path.unknown-openapi"),
    case("GET", "/.well-known/openid-configuration", "api.path", id="api.path.oidc-discovery"),
    # api.namespace
    case("GET", "/api/v1/namespaces/demo/pods", A, pins=PINNED, id="api.namespace.pinned-ok"),
    case("GET", "/api/v1/namespaces/web/pods/x/log", A, pins=PINNED, id="api.namespace.pinned-log-ok"),
    case(
        "GET", "/api/v1/namespaces/kube-system/pods", "api.namespace", pins=PINNED, id="api.namespace.other"
    ),
    case(
        "GET",
        "/api/v1/namespaces/kube-system/secrets",
        "api.namespace",
        pins=PINNED,
        id="api.namespace.other-secrets",
    ),
    case(
        "GET",
        "/api/v1/watch/namespaces/kube-system/pods",
        "api.namespace",
        pins=PINNED,
        id="api.namespace.other-legacy-watch",
    ),
    case("GET", "/api/v1/pods", "api.namespace", pins=PINNED, id="api.namespace.cluster-wide-list"),
    case("GET", "/api/v1/pods?watch=1", "api.namespace", pins=PINNED, id="api.namespace.cluster-wide-watch"),
    case(
        "GET",
        "/api/v1/watch/pods",
        "api.namespace",
        pins=PINNED,
        id="api.namespace.cluster-wide-legacy-watch",
    ),
    case("GET", "/api/v1/secrets", "api.namespace", pins=PINNED, id="api.namespace.cluster-wide-secrets"),
    case(
        "GET",
        "/apis/apps/v1/deployments",
        "api.namespace",
        pins=PINNED,
        id="api.namespace.cluster-wide-group",
    ),
    case(
        "GET", "/apis/example.com/v1/widgets", "api.namespace", pins=PINNED, id="api.namespace.unknown-scope"
    ),
    case("GET", "/api/v1/nodes", A, pins=PINNED, id="api.namespace.cluster-scoped-ok"),
    case("GET", "/api/v1/nodes/node-1", A, pins=PINNED, id="api.namespace.cluster-scoped-get-ok"),
    case("GET", "/api/v1/namespaces", A, pins=PINNED, id="api.namespace.list-namespaces-ok"),
    case("GET", "/api/v1/namespaces/demo", A, pins=PINNED, id="api.namespace.pinned-namespace-object"),
    case("GET", "/api/v1/namespaces/kube-system", A, pins=PINNED, id="api.namespace.other-namespace-object"),
    case(
        "GET",
        "/api/v1/namespaces/kube-system/status",
        A,
        pins=PINNED,
        id="api.namespace.other-namespace-status",
    ),
    case("GET", "/metrics", "api.namespace", pins=PINNED, id="api.namespace.metrics"),
    case("GET", "/version", A, pins=PINNED, id="api.namespace.version-ok"),
    case("GET", "/apis", A, pins=PINNED, id="api.namespace.discovery-ok"),
]


@pytest.mark.parametrize(("method", "url", "pins", "headers", "rule", "rewrite", "watch"), CASES)
def test_request_policy(
    method: str,
    url: str,
    pins: ApiPins,
    headers: dict[str, str] | None,
    rule: str,
    rewrite: str,
    watch: bool,
) -> None:
    """The request gets the rule of its row; allowed ones the rewrite and watch flag; refusals say why."""
    decision = decide(method, url, pins, headers)
    assert decision.rule == rule, decision.reason
    assert decision.allowed is (rule == A)
    assert decision.reason
    if decision.allowed:
        assert (decision.rewrite, decision.watch) == (rewrite, watch)
    else:
        assert (decision.rewrite, decision.watch) == ("none", False)
        assert "\n" not in decision.reason
        assert not decision.reason.endswith(".")


def _trace_requests() -> list[object]:
    traces = sorted((FIXTURES / "traces").glob("*.json"))
    if not traces:
        return [shared_missing_case(FIXTURES / "traces")]
    out = []
    for path in traces:
        trace = json.loads(path.read_text())
        for n, req in enumerate(trace["requests"]):
            out.append(pytest.param(req, id=f"{path.stem}.{n}-{req['method']}-{req['url'][:50]}"))
    return out


@pytest.mark.parametrize("req", _trace_requests())
def test_every_kubectl_request_in_the_real_traces_is_allowed(req: dict[str, str]) -> None:
    """Every request the real kubectl sent the real kube-apiserver for a read command passes the proxy."""
    decision = decide(req["method"], req["url"], headers={"Accept": req["accept"]})
    assert decision.allowed, decision.reason
    path = req["url"].split("?")[0]
    assert (decision.rewrite == "secrets") is ("/secrets" in path)
    assert decision.watch is ("watch=true" in req["url"])


def test_reasons_carry_the_namespace_pins() -> None:
    """The namespace refusal names the pinned namespaces and how to stay inside them."""
    decision = decide("GET", "/api/v1/pods", PINNED)
    assert "demo, web" in decision.reason
    assert "/namespaces/<ns>/" in decision.reason
    assert "pods in every namespace" in decision.reason


def test_namespaced_lookup_failure_fails_closed() -> None:
    """A discovery lookup that raises is an unknown scope: refused when namespaces are pinned."""

    def broken(group_version: str, resource: str) -> bool | None:
        raise RuntimeError("discovery down")

    decision = decide_request(request("GET", "/api/v1/nodes"), PINNED, broken)
    assert (decision.allowed, decision.rule) == (False, "api.namespace")


def test_namespaced_lookup_only_when_pinned() -> None:
    """Without a namespace pin the lookup is never consulted (it may be slow or absent)."""
    calls: list[tuple[str, str]] = []

    def lookup(group_version: str, resource: str) -> bool | None:
        calls.append((group_version, resource))
        return True

    assert decide_request(request("GET", "/api/v1/pods"), OPEN, lookup).allowed
    assert calls == []
    assert not decide_request(request("GET", "/apis/apps/v1/deployments"), PINNED, lookup).allowed
    assert calls == [("apps/v1", "deployments")]


def test_long_paths_are_shown_shortened() -> None:
    """A refusal quotes at most a bounded part of an agent-chosen path."""
    decision = decide("GET", "/x" * 5000)
    assert not decision.allowed
    assert len(decision.reason) < 400


METHODS = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST"]),
    st.sampled_from(["PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "get", "Post"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10),
)
SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "api",
            "apis",
            "v1",
            "apps",
            "authorization.k8s.io",
            "authentication.k8s.io",
            "namespaces",
            "demo",
            "kube-system",
            "pods",
            "secrets",
            "watch",
            "proxy",
            "exec",
            "log",
            "status",
            "serviceaccounts",
            "token",
            "selfsubjectaccessreviews",
            "selfsubjectrulesreviews",
            "selfsubjectreviews",
            "localsubjectaccessreviews",
            "healthz",
            "openapi",
            "v3",
            "version",
            "metrics",
            "",
            ".",
            "..",
            "%2F",
            "%2e",
            "%25",
            "%73ecrets",
            "a;b",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.%:/\\", max_size=8),
)
PREFIXES = st.sampled_from(
    ["/api/v1", "/api/v1/watch", "/apis/apps/v1", "/apis/authorization.k8s.io/v1",
     "/apis/authentication.k8s.io/v1", "/apis/example.com/v1beta1", "/api/v1/proxy", ""]
)  # fmt: skip
RESOURCES = st.sampled_from(
    ["pods", "secrets", "nodes", "namespaces", "deployments", "serviceaccounts", "services", "widgets",
     "selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews", "localsubjectaccessreviews",
     "subjectaccessreviews", "tokenreviews"]
)  # fmt: skip
# Paths shaped like the API's (so that many are allowed and the property bites), then mangled at random.
GRAMMAR_PATHS = st.builds(
    lambda prefix, ns, resource, rest, noise: "/".join(
        [prefix, *(["namespaces", ns] if ns else []), resource, *rest, *noise]
    ),
    PREFIXES,
    st.sampled_from([None, "demo", "web", "kube-system"]),
    RESOURCES,
    st.lists(
        st.sampled_from(["web-1", "default", "log", "status", "exec", "token", "proxy", "attach"]), max_size=2
    ),
    st.one_of(st.just([]), st.just([]), st.just([]), st.lists(SEGMENTS, max_size=1)),
)
PATHS = st.one_of(GRAMMAR_PATHS, st.lists(SEGMENTS, max_size=8).map(lambda s: "/" + "/".join(s)))
QUERIES = st.one_of(
    st.just(""),
    st.just(""),
    st.sampled_from(["watch=1", "dryRun=All", "watch", "follow=true", "limit=500", "watch=false;x"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=&%+;", max_size=20),
)
HEADERS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "accept",
                "content-type",
                "connection",
                "upgrade",
                "impersonate-user",
                "x-remote-group",
                "user-agent",
                "sec-websocket-protocol",
                "x-http-method-override",
            ]
        ),
        st.sampled_from(["application/json", "Upgrade", "keep-alive", "websocket", "admin", "kubectl/v1.32"]),
    ),
    max_size=3,
)


REACH_IN = ("exec", "attach", "portforward", "proxy")


def _check_allowed_only_reads(method: str, path: str, query: str, headers: list[tuple[str, str]]) -> None:
    for pins in (OPEN, PINNED, REDACT):
        decision = decide_request(ApiRequest(method, path, query, tuple(headers)), pins, namespaced)
        assert decision.reason
        assert decision.rewrite in ("none", "secrets", "objects")
        if not decision.allowed:
            assert decision.rule.startswith("api."), decision
            continue
        assert decision.rule == A
        assert not any(name in ("upgrade", "impersonate-user", "x-remote-group") for name, _ in headers)
        if method == "POST":
            assert path.rstrip("/").split("/")[-1] in (
                "selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"
            ), path  # fmt: skip
            assert path.split("/")[2] in ("authorization.k8s.io", "authentication.k8s.io")
        else:
            assert method in ("GET", "HEAD"), decision
        lowered = path.lower()
        assert ".." not in path
        assert "//" not in path
        assert "%2f" not in lowered
        assert "%2e" not in lowered
        segments = path.split("/")
        for i in range(len(segments) - 2):
            reach_in = segments[i] in ("pods", "services", "nodes") and segments[i + 2] in REACH_IN
            token = segments[i] == "serviceaccounts" and segments[i + 2] == "token"
            assert not reach_in, path
            assert not token, path
        assert segments[3:4] != ["proxy"], path
        if "secrets" in path.split("/") and path.startswith("/api") and method != "POST":
            assert decision.rewrite == "secrets"
        if pins.namespaces and "namespaces" in path.split("/"):
            after = path.split("/")[path.split("/").index("namespaces") + 1 :]
            assert not after or after[0] in pins.namespaces or len(after) == 1 or after[1] == "status", path


@settings(max_examples=500, deadline=None)
@given(METHODS, PATHS, QUERIES, st.one_of(st.just([]), HEADERS))
def test_no_method_but_reads_and_self_reviews_is_ever_allowed(
    method: str, path: str, query: str, headers: list[tuple[str, str]]
) -> None:
    """Whatever the path, query, headers and pins: only GET/HEAD, or POST to a self-subject review, pass."""
    _check_allowed_only_reads(method, path, query, headers)


@settings(max_examples=500, deadline=None)
@given(METHODS, GRAMMAR_PATHS, st.sampled_from(["", "watch=1", "dryRun=All", "follow=true"]))
def test_api_shaped_paths_allow_only_reads(method: str, path: str, query: str) -> None:
    """The same principle over API-shaped paths (most of them readable), so that allowed cases abound."""
    _check_allowed_only_reads(method, path, query, [])


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60), st.text(max_size=30))
def test_any_text_gets_a_decision(path: str, query: str) -> None:
    """Arbitrary (hostile) text as path and query never raises and never allows what it cannot read."""
    decision = decide_request(ApiRequest("GET", path, query, ()), PINNED, namespaced)
    if decision.allowed:
        assert path.startswith("/")
        assert path.isascii()
        assert "\\" not in path
