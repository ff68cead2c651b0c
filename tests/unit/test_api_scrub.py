"""Response rewriting at the API proxy: Secrets scrubbed in every shape, secret-shaped values redacted."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kro_testing import require_shared, shared_path

from kro.shims.api_scrub import LAST_APPLIED, forbidden_status, json_accept, redact_objects, scrub_secrets
from kro.shims.redact import MARK

FIXTURES = shared_path("fixtures", "kube-apiserver-1.36")
TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json"
)


def fixture(url: str, accept: str) -> Any:
    """The real kube-apiserver's answer to GET url with that Accept header (skips when absent)."""
    index = require_shared("fixtures", "kube-apiserver-1.36", "index.json")
    entry = json.loads(index.read_text())[f"{url} | {accept}"]
    return json.loads((FIXTURES / entry["file"]).read_text())


def secret(name: str = "db", **data: str) -> dict[str, Any]:
    """A Secret as the API serves it, with a last-applied annotation that repeats its data."""
    applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": data, "metadata": {"name": name}})
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": "demo",
            "annotations": {LAST_APPLIED: applied + "\n", "a": "b"},
        },
        "type": "Opaque",
        "data": dict(data),
    }


def kindless(obj: dict[str, Any]) -> dict[str, Any]:
    """An item as a typed list carries it: without kind and apiVersion."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def test_forbidden_status_is_a_kubernetes_status() -> None:
    """The refusal body kubectl, client-go and the Python client all print as an error."""
    assert forbidden_status("DELETE is not allowed") == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "kro: DELETE is not allowed",
        "reason": "Forbidden",
        "code": 403,
    }


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param(TABLE_ACCEPT, TABLE_ACCEPT, id="accept.kubectl-table-kept"),
        pytest.param(
            "application/vnd.kubernetes.protobuf,application/json", "application/json", id="accept.protobuf"
        ),
        pytest.param(
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            id="accept.protobuf-table",
        ),
        pytest.param("application/json, */*", "application/json", id="accept.wildcard"),
        pytest.param("*/*", "application/json", id="accept.only-wildcard"),
        pytest.param(None, "application/json", id="accept.absent"),
        pytest.param("", "application/json", id="accept.empty"),
        pytest.param("application/yaml", "application/json", id="accept.yaml"),
        pytest.param(
            "application/cbor,application/json;stream=watch",
            "application/json;stream=watch",
            id="accept.cbor",
        ),
        pytest.param(
            'Application/JSON;x="a,b", text/plain', 'Application/JSON;x="a,b"', id="accept.quoted-comma"
        ),
    ],
)
def test_json_accept(accept: str | None, expected: str) -> None:
    """Upstream is asked for the same JSON media ranges and parameters, never protobuf or CBOR."""
    assert json_accept(accept) == expected


def _assert_clean(doc: object) -> None:
    """No Secret (kind Secret, or an item of a SecretList) holds a value or the annotation, at any depth."""
    for obj, is_secret in _walk(doc):
        if obj.get("kind") == "PartialObjectMetadata":
            assert LAST_APPLIED not in (obj.get("metadata") or {}).get("annotations", {})
        if not is_secret:
            continue
        for field in ("data", "stringData"):
            values = obj.get(field)
            assert values is None or all(v == "" for v in values.values()), obj
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        assert not isinstance(annotations, dict) or LAST_APPLIED not in annotations, obj


def _walk(doc: object) -> list[tuple[dict[str, Any], bool]]:
    found: list[tuple[dict[str, Any], bool]] = []
    stack: list[tuple[object, bool]] = [(doc, False)]
    while stack:
        node, in_secret_list = stack.pop()
        if isinstance(node, list):
            stack.extend((item, in_secret_list) for item in node)
        elif isinstance(node, dict):
            found.append((node, node.get("kind") == "Secret" or (in_secret_list and "kind" not in node)))
            for key, value in node.items():
                stack.append((value, key == "items" and node.get("kind") == "SecretList"))
    return found


SHAPES = [
    pytest.param(secret(password="aHVudGVyMg=="), id="scrub.single"),
    pytest.param(
        {
            "kind": "SecretList",
            "apiVersion": "v1",
            "items": [kindless(secret(a="eA==")), kindless(secret(b="eQ=="))],
        },
        id="scrub.secret-list-kindless-items",
    ),
    pytest.param({"kind": "List", "items": [secret(a="eA=="), {"kind": "ConfigMap"}]}, id="scrub.v1-list"),
    pytest.param({"type": "ADDED", "object": secret(a="eA==")}, id="scrub.watch-event"),
    pytest.param({"type": "MODIFIED", "object": kindless(secret(a="eA=="))}, id="scrub.watch-event-kindless"),
    pytest.param(
        {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "rows": [{"cells": ["db"], "object": secret(a="eA==")}],
        },
        id="scrub.table-include-object",
    ),
    pytest.param(
        {"kind": "PartialObjectMetadataList", "items": [{"metadata": secret(a="eA==")["metadata"]}]},
        id="scrub.partial-object-metadata-list",
    ),
    pytest.param(
        {"kind": "List", "items": [{"kind": "List", "items": [secret(a="eA==")]}]}, id="scrub.nested-lists"
    ),
    pytest.param([{"type": "ADDED", "object": secret(a="eA==")}], id="scrub.list-of-events"),
    pytest.param(
        {"kind": "Secret", "stringData": {"p": "hunter2"}, "data": "not-a-map"}, id="scrub.malformed-data"
    ),
]


@pytest.mark.parametrize("doc", SHAPES)
def test_scrub_secrets_every_shape(doc: object) -> None:
    """Values emptied (keys kept), last-applied removed, other annotations kept, whatever the wrapper."""
    before = copy.deepcopy(doc)
    out = scrub_secrets(doc)
    _assert_clean(out)
    text = json.dumps(out)
    for value in ("eA==", "eQ==", "aHVudGVyMg==", "hunter2"):
        assert value not in text
    assert _keys(out) == _keys(before)
    assert text.count('"a": "b"') == json.dumps(before).count('"a": "b"')


def _keys(doc: object) -> list[list[str]]:
    """The data/stringData keys of every Secret (map-shaped ones), in walk order."""
    return [
        sorted(obj[field])
        for obj, is_secret in _walk(doc)
        if is_secret
        for field in ("data", "stringData")
        if isinstance(obj.get(field), dict) and obj[field]
    ]


def test_scrub_secrets_real_table_of_secrets() -> None:
    """The real server's `kubectl get secrets` Table carries the value in last-applied; it goes."""
    doc = fixture("/api/v1/namespaces/shop/secrets?limit=500", TABLE_ACCEPT)
    assert "ZXhhbXBsZQ==" in json.dumps(doc)
    out = scrub_secrets(doc)
    assert "ZXhhbXBsZQ==" not in json.dumps(out)
    assert out["rows"][0]["cells"][:3] == ["api-tls", "Opaque", 1]
    assert out["rows"][0]["object"]["metadata"]["name"] == "api-tls"


def test_scrub_secrets_leaves_other_kinds_alone() -> None:
    """ConfigMaps (kindless in their list too) and a real Deployment keep their data and annotations."""
    cm = {"kind": "ConfigMapList", "items": [{"metadata": {"name": "c"}, "data": {"k": "v"}}]}
    assert scrub_secrets(copy.deepcopy(cm)) == cm
    deployment = fixture("/apis/apps/v1/namespaces/shop/deployments/api", "application/json")
    assert scrub_secrets(copy.deepcopy(deployment)) == deployment


def test_scrub_secrets_deep_nesting() -> None:
    """A document nested far deeper than Python's recursion limit is walked (iteratively)."""
    doc: object = secret(a="eA==")
    for _ in range(5000):
        doc = {"kind": "List", "items": [doc]}
    _assert_clean(scrub_secrets(doc))


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["kind", "data", "items", "x"]) | st.text(max_size=4), inner, max_size=3
        ),
    ),
    max_leaves=12,
)
VALUES = st.one_of(st.text(min_size=1, max_size=12), JSON)


@st.composite
def secrets(draw: st.DrawFn, with_kind: bool = True) -> dict[str, Any]:
    """A Secret of any shape: arbitrary keys, values of any JSON type, extra fields and annotations."""
    obj: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(["type", "immutable", "x", "spec"]), JSON, max_size=2)
    )
    if with_kind:
        obj["kind"] = "Secret"
        obj["apiVersion"] = "v1"
    annotations = draw(st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2))
    annotations[LAST_APPLIED] = draw(st.text(min_size=1, max_size=20))
    obj["metadata"] = {"name": draw(st.text(max_size=6)), "annotations": annotations}
    for field in draw(st.sets(st.sampled_from(["data", "stringData"]), min_size=1)):
        obj[field] = draw(st.dictionaries(st.text(max_size=6), VALUES, min_size=1, max_size=4))
    return obj


def _wrap(draw: st.DrawFn, depth: int) -> object:
    choice = draw(st.integers(0, 6 if depth < 2 else 1))
    if choice == 0:
        return draw(secrets())
    if choice == 1:
        return {
            "kind": "SecretList",
            "apiVersion": "v1",
            "items": draw(st.lists(secrets(with_kind=draw(st.booleans())), max_size=3)),
        }
    inner = [_wrap(draw, depth + 1) for _ in range(draw(st.integers(1, 2)))]
    noise = draw(st.lists(JSON, max_size=2))
    if choice == 2:
        return {"kind": "List", "apiVersion": "v1", "items": inner + noise}
    if choice == 3:
        return {
            "type": draw(st.sampled_from(["ADDED", "MODIFIED", "DELETED", "BOOKMARK"])),
            "object": inner[0],
        }
    if choice == 4:
        rows = [{"cells": draw(st.lists(JSON_LEAVES, max_size=3)), "object": obj} for obj in inner]
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": [], "rows": rows}
    if choice == 5:
        meta = [{"kind": "PartialObjectMetadata", "metadata": draw(secrets())["metadata"]} for _ in inner]
        return {"kind": "PartialObjectMetadataList", "items": [*meta, *inner]}
    return inner + noise


@st.composite
def documents(draw: st.DrawFn) -> object:
    """Secrets inside lists, SecretLists, watch events, Tables, metadata lists and plain arrays, nested."""
    return _wrap(draw, 0)


@settings(max_examples=120, deadline=None)
@given(documents())
def test_no_secret_that_passes_scrub_holds_a_value(doc: object) -> None:
    """Whatever the shape, after a JSON round trip (as the proxy decodes it) no Secret keeps a value."""
    decoded = orjson.loads(orjson.dumps(doc))
    out = scrub_secrets(decoded)
    _assert_clean(out)
    again = orjson.loads(orjson.dumps(out))
    assert scrub_secrets(again) == out


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_scrub_and_redact_take_any_json(doc: object) -> None:
    """Arbitrary JSON never raises; both are idempotent (a second redaction finds nothing)."""
    out = scrub_secrets(copy.deepcopy(doc))
    _assert_clean(out)
    redacted, _ = redact_objects(out)
    again, count = redact_objects(copy.deepcopy(redacted))
    assert (again, count) == (redacted, 0)


def pod(env: list[dict[str, Any]], **annotations: str) -> dict[str, Any]:
    """A pod with one container and the given env list."""
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "web-1", "annotations": annotations},
        "spec": {"containers": [{"name": "web", "image": "web:1", "env": env}]},
    }


def test_redact_container_env_values_under_secret_names() -> None:
    """DB_PASSWORD's value goes; a plain value, a secretKeyRef and an empty value stay."""
    doc = pod(
        [
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "API_TOKEN", "value": "tok-9"},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "DB_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "EMPTY_TOKEN", "value": ""},
        ]
    )
    out, count = redact_objects(doc)
    env = out["spec"]["containers"][0]["env"]
    assert [e.get("value") for e in env] == [MARK, MARK, "debug", None, ""]
    assert env[3]["valueFrom"] == {"secretKeyRef": {"name": "db", "key": "password"}}
    assert count == 2


def test_redact_json_in_annotations() -> None:
    """last-applied-configuration is parsed, redacted and re-serialised as valid JSON (newline kept)."""
    applied = pod([{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "MODE", "value": "prod"}])
    doc = pod([], **{LAST_APPLIED: json.dumps(applied) + "\n", "note": '{"token": "abc123xyz"}'})
    out, count = redact_objects(doc)
    annotations = out["metadata"]["annotations"]
    assert "hunter2" not in annotations[LAST_APPLIED]
    assert annotations[LAST_APPLIED].endswith("\n")
    reparsed = json.loads(annotations[LAST_APPLIED])
    assert reparsed["spec"]["containers"][0]["env"] == [
        {"name": "DB_PASSWORD", "value": MARK},
        {"name": "MODE", "value": "prod"},
    ]
    assert json.loads(annotations["note"]) == {"token": MARK}
    assert count == 2


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        pytest.param(
            "--header=Authorization: Bearer abcdef0123456789", "abcdef0123456789", id="redact.bearer"
        ),
        pytest.param(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9", id="redact.jwt"
        ),
        pytest.param("aws AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP", id="redact.aws-key"),
        pytest.param("--db-password=hunter2", "hunter2", id="redact.flag-pair"),
        pytest.param(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\n",
            "MIIEpAIBAAKCAQEA",
            id="redact.pem-multiline",
        ),
        pytest.param("db.host=x\ndb.password=s3cr3t\n", "s3cr3t", id="redact.properties-file"),
    ],
)
def test_redact_token_patterns_in_any_string(text: str, hidden: str) -> None:
    """The text redactor's patterns apply to every string: args, ConfigMap data, annotations."""
    doc = {
        "kind": "ConfigMap",
        "data": {"file": text},
        "spec": {"args": [text]},
        "metadata": {"annotations": {"x": text}},
    }
    out, count = redact_objects(doc)
    assert hidden not in json.dumps(out)
    assert count >= 3


def test_redact_keys_that_hold_secrets() -> None:
    """Values under password/token/api-key keys go; names, refs, paths, booleans, seconds stay."""
    doc = {
        "kind": "ConfigMap",
        "data": {"db_password": "x1", "apiKey": "x2", "secretName": "db", "tokenPath": "/var/run/token"},
        "spec": {"password": 1234, "automountServiceAccountToken": True, "tokenExpirationSeconds": 600},
    }
    out, count = redact_objects(doc)
    assert out["data"] == {
        "db_password": MARK,
        "apiKey": MARK,
        "secretName": "db",
        "tokenPath": "/var/run/token",
    }
    assert out["spec"] == {
        "password": MARK,
        "automountServiceAccountToken": True,
        "tokenExpirationSeconds": 600,
    }
    assert count == 3


def test_redact_embedded_secret_and_printer_columns() -> None:
    """A Secret inside a List (not scrubbed) and a CRD's Password printer column are redacted too."""
    doc = {
        "kind": "List",
        "items": [
            secret(password="aHVudGVy"),
            {
                "kind": "Table",
                "columnDefinitions": [{"name": "Name"}, {"name": "Password"}, {"name": "Secrets"}],
                "rows": [{"cells": ["db", "hunter2", 1]}],
            },
        ],
    }
    out, count = redact_objects(doc)
    text = json.dumps(out)
    assert "aHVudGVy" not in text
    assert "hunter2" not in text
    assert out["items"][1]["rows"][0]["cells"] == ["db", MARK, 1]
    assert count >= 3


@pytest.mark.parametrize(
    ("url", "accept"),
    [
        pytest.param("/api/v1/namespaces/shop/pods/api-5c687b4c5f-z5g9k", "application/json", id="pod"),
        pytest.param("/apis/apps/v1/namespaces/shop/deployments/api", "application/json", id="deployment"),
        pytest.param("/api/v1/namespaces/shop/pods?limit=500", TABLE_ACCEPT, id="pods-table"),
        pytest.param("/api/v1/namespaces/shop/configmaps?limit=500", TABLE_ACCEPT, id="configmaps-table"),
        pytest.param("/api/v1/namespaces/shop/events?limit=500", TABLE_ACCEPT, id="events-table"),
        pytest.param("/api/v1/nodes/node-1", "application/json", id="node"),
    ],
)
def test_redact_leaves_real_objects_without_secrets_alone(url: str, accept: str) -> None:
    """The real server's objects (a token volume path, secret-free last-applied) come back unchanged."""
    doc = fixture(url, accept)
    out, count = redact_objects(copy.deepcopy(doc))
    assert (out, count) == (doc, 0)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[A-Z]{0,4}_?(PASSWORD|TOKEN|SECRET|API_KEY|CREDENTIALS)_?[A-Z]{0,4}", fullmatch=True),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=6, max_size=20),
)
def test_no_env_value_under_a_secret_name_survives(name: str, value: str) -> None:
    """Whatever the secret-like name and value, the value is gone from the pod and its last-applied copy."""
    value = f"q9{value}"  # never a piece of the surrounding JSON
    applied = json.dumps(pod([{"name": name, "value": value}]))
    out, count = redact_objects(pod([{"name": name, "value": value}], **{LAST_APPLIED: applied}))
    assert value not in json.dumps(out)
    assert count >= 2


def test_redact_deep_nesting() -> None:
    """Deeper than the recursion limit is fine."""
    doc: object = {"token": "abc123"}
    for _ in range(5000):
        doc = [doc]
    out, count = redact_objects(doc)
    assert count == 1
    for _ in range(5000):
        assert isinstance(out, list)
        out = out[0]
    assert out == {"token": MARK}
