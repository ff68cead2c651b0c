"""`auth can-i` answered for the session (api.access-review): kro's `no` for refused verbs, reads as is."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kro.shims.access_review import ACCESS, RULES, access_verdict, read_only_rules, review_kind, review_spec
from kro.shims.api_policy import ApiPins

SCOPES = {("v1", "pods"): True, ("v1", "nodes"): False, ("apps/v1", "deployments"): True}


def _namespaced(gv: str, resource: str) -> bool | None:
    return SCOPES.get((gv, resource))


def _body(**attrs: str) -> bytes:
    return json.dumps({"kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": attrs}}).encode()


def _pb(number: int, value: bytes) -> bytes:
    return bytes([number << 3 | 2, len(value)]) + value


def _protobuf(**attrs: str) -> bytes:
    """A SelfSubjectAccessReview as kubectl sends it (runtime.Unknown around the message)."""
    order = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
    res = b"".join(_pb(n, attrs[f].encode()) for n, f in enumerate(order, 1) if f in attrs)
    review = _pb(2, _pb(1, res))
    return b"k8s\x00" + _pb(1, b"\x0a\x0fauthorization.k8s.io/v1") + _pb(2, review)


DENIED = [
    pytest.param(_body(verb="delete", resource="pods", namespace="demo"), ApiPins(), "read-only",
                 id="api.access-review-delete"),
    pytest.param(_body(verb="create", resource="deployments", group="apps", namespace="demo"), ApiPins(),
                 "read-only", id="api.access-review-create"),
    pytest.param(_body(verb="patch", resource="nodes", namespace="default"), ApiPins(), "read-only",
                 id="api.access-review-patch-cluster-scoped"),
    pytest.param(_body(verb="*", resource="pods", namespace="demo"), ApiPins(), "'*' is not a read",
                 id="api.access-review-star"),
    pytest.param(_body(verb="impersonate", resource="users"), ApiPins(), "'impersonate' is not a read",
                 id="api.access-review-impersonate"),
    pytest.param(_body(verb="create", resource="pods", subresource="exec", namespace="demo"), ApiPins(),
                 "'exec' subresource", id="api.access-review-exec"),
    pytest.param(_body(verb="get", resource="pods", namespace="other"), ApiPins(namespaces=("demo",)),
                 "may only read namespaces demo", id="api.access-review-other-namespace"),
    pytest.param(_protobuf(verb="delete", resource="pods", namespace="demo"), ApiPins(), "read-only",
                 id="api.access-review-protobuf"),
    pytest.param(json.dumps({"spec": {"nonResourceAttributes": {"verb": "post", "path": "/api"}}}).encode(),
                 ApiPins(), "read-only", id="api.access-review-non-resource-post"),
]


@pytest.mark.parametrize(("body", "pins", "says"), DENIED)
def test_refused_verbs_get_kros_no(body: bytes, pins: ApiPins, says: str) -> None:
    verdict = access_verdict(body, pins, _namespaced)
    assert verdict is not None
    assert verdict.reason.startswith("kro: ")
    assert says in verdict.reason
    doc = json.loads(verdict.body)
    assert doc["kind"] == "SelfSubjectAccessReview"
    assert doc["status"] == {"allowed": False, "denied": True, "reason": verdict.reason}
    assert doc["spec"] == review_spec(body)


LEFT_TO_THE_CLUSTER = [
    pytest.param(_body(verb="get", resource="pods", namespace="demo"), ApiPins(), id="allowed-get"),
    pytest.param(_body(verb="list", resource="deployments", group="apps"), ApiPins(), id="allowed-list-all"),
    pytest.param(_body(verb="watch", resource="pods", namespace="demo"), ApiPins(namespaces=("demo",)),
                 id="allowed-watch-pinned"),
    pytest.param(_body(verb="get", resource="nodes", namespace="elsewhere"), ApiPins(namespaces=("demo",)),
                 id="allowed-cluster-scoped-under-pin"),
    pytest.param(_protobuf(verb="get", resource="pods", namespace="demo"), ApiPins(), id="allowed-protobuf"),
    pytest.param(_body(verb="create", resource="selfsubjectaccessreviews", group="authorization.k8s.io"),
                 ApiPins(), id="allowed-create-self-review"),
    pytest.param(json.dumps({"spec": {"nonResourceAttributes": {"verb": "get", "path": "/healthz"}}})
                 .encode(), ApiPins(), id="allowed-non-resource-get"),
    pytest.param(b"not json", ApiPins(), id="allowed-unreadable-body-cluster-rejects"),
]


@pytest.mark.parametrize(("body", "pins"), LEFT_TO_THE_CLUSTER)
def test_reads_keep_the_clusters_answer(body: bytes, pins: ApiPins) -> None:
    assert access_verdict(body, pins, _namespaced) is None


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        pytest.param("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ACCESS, id="access"),
        pytest.param("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", RULES, id="rules"),
        pytest.param("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", None, id="get"),
        pytest.param("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", None, id="other"),
    ],
)
def test_review_kind(method: str, path: str, kind: str | None) -> None:
    assert review_kind(method, path) == kind


ADMIN_RULES: dict[str, Any] = {
    "kind": "SelfSubjectRulesReview",
    "spec": {"namespace": "default"},
    "status": {
        "resourceRules": [
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
            {"verbs": ["get", "create"], "apiGroups": [""], "resources": ["pods/exec", "pods/log"]},
            {"verbs": ["delete"], "apiGroups": [""], "resources": ["configmaps"]},
        ],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]},
                             {"verbs": ["post"], "nonResourceURLs": ["/x"]}],
        "incomplete": False,
    },
}


def test_rules_review_keeps_only_reads() -> None:
    """api.access-review: `auth can-i --list` as an admin shows reads (and the self reviews), no write."""
    doc = read_only_rules(ADMIN_RULES, ApiPins())
    assert isinstance(doc, dict)
    status = doc["status"]
    assert [(r["verbs"], r["resources"]) for r in status["resourceRules"]] == [
        (["get", "list", "watch"], ["*"]),
        (["create"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        (["get"], ["pods/log"]),
    ]
    assert status["nonResourceRules"] == [{"verbs": ["get", "head"], "nonResourceURLs": ["*"]}]
    assert status["evaluationError"].startswith("kro: this session is read-only")


def test_rules_review_of_an_unpinned_namespace_keeps_only_the_self_reviews() -> None:
    doc = read_only_rules(ADMIN_RULES, ApiPins(namespaces=("demo",)))
    assert isinstance(doc, dict)
    assert [r["resources"] for r in doc["status"]["resourceRules"]] == [
        ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]
    ]
    assert "may only read namespaces demo" in doc["status"]["evaluationError"]
