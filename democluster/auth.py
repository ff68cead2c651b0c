"""Self-subject reviews for `kubectl auth can-i` and `auth whoami`: reads allowed, writes denied."""

from __future__ import annotations

from typing import Any

import orjson

from kro.democluster.messages import Request, Response, json_response
from kro.democluster.status import bad_request

USERNAME = "kro-demo-viewer"
USER_UID = "6b1f3c2e-4d5a-4b6c-9d7e-000000000001"
GROUPS = ["kro:demo-viewers", "system:authenticated"]
READ_VERBS = frozenset({"get", "list", "watch"})
NON_RESOURCE_URLS = ["/.well-known", "/.well-known/*", "/api", "/api/*", "/apis", "/apis/*", "/healthz",
                     "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]
_REVIEWS = {
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
}
_PROTOBUF_MAGIC = b"k8s\x00"


def _fields(data: bytes) -> dict[int, list[bytes | int]]:
    """Decode one protobuf message into field number -> values (bytes or varints)."""
    out: dict[int, list[bytes | int]] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            if i >= len(data):
                raise ValueError("truncated varint")
            byte = data[i]
            i += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        value: bytes | int
        if wire == 0:
            value = varint()
        elif wire == 2:
            size = varint()
            value, i = data[i : i + size], i + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i : i + size], i + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _sub(msg: dict[int, list[bytes | int]], number: int) -> dict[int, list[bytes | int]]:
    raw = msg.get(number, [b""])[0]
    return _fields(raw) if isinstance(raw, bytes) else {}


def _text(msg: dict[int, list[bytes | int]], number: int) -> str:
    raw = msg.get(number, [b""])[0]
    return raw.decode() if isinstance(raw, bytes) else ""


_RESOURCE_FIELDS = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


def _spec_from_protobuf(body: bytes, plural: str) -> dict[str, Any]:
    unknown = _fields(body[len(_PROTOBUF_MAGIC):])
    raw = unknown.get(2, [b""])[0]
    spec = _sub(_fields(raw) if isinstance(raw, bytes) else {}, 2)
    if plural == "selfsubjectrulesreviews":
        return {"namespace": _text(spec, 1)} if 1 in spec else {}
    out: dict[str, Any] = {}
    if 1 in spec:
        attrs = _sub(spec, 1)
        out["resourceAttributes"] = {f: _text(attrs, n) for n, f in enumerate(_RESOURCE_FIELDS, 1)
                                     if _text(attrs, n)}
    if 2 in spec:
        attrs = _sub(spec, 2)
        out["nonResourceAttributes"] = {"path": _text(attrs, 1), "verb": _text(attrs, 2)}
    return out


def _spec(req: Request, plural: str) -> dict[str, Any]:
    try:
        if req.body.startswith(_PROTOBUF_MAGIC):
            return _spec_from_protobuf(req.body, plural)
        body = orjson.loads(req.body or b"{}")
        spec = body.get("spec") or {}
        return spec if isinstance(spec, dict) else {}
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise bad_request(f"the body of the request was in an unknown format: {exc}") from None


def is_review(group: str, plural: str) -> bool:
    """Whether a resource is one of the self-subject reviews answered to POST."""
    return (group, plural) in _REVIEWS


def allowed(verb: str, resource: str = "", path: str = "") -> bool:
    """The demo's one policy: reads of anything, and asking about oneself."""
    if path:
        return verb == "get"
    if verb == "create" and resource in {p for _, p in _REVIEWS}:
        return True
    return verb in READ_VERBS


def review(plural: str, req: Request) -> Response:
    """Answer a POSTed self-subject review."""
    spec = _spec(req, plural)
    meta = {"creationTimestamp": None}
    status: dict[str, Any]
    if plural == "selfsubjectreviews":
        status = {"userInfo": {"username": USERNAME, "uid": USER_UID, "groups": GROUPS}}
        return json_response({"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                              "metadata": meta, "status": status}, 201)
    if plural == "selfsubjectrulesreviews":
        rules = [
            {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
            {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
             "resources": ["selfsubjectreviews"]},
            {"verbs": sorted(READ_VERBS), "apiGroups": ["*"], "resources": ["*"]},
        ]
        status = {"resourceRules": rules,
                  "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": NON_RESOURCE_URLS}],
                  "incomplete": False}
        return json_response({"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                              "metadata": meta, "spec": spec, "status": status}, 201)
    res = spec.get("resourceAttributes") or {}
    non = spec.get("nonResourceAttributes") or {}
    if non:
        ok = allowed(str(non.get("verb", "")), path=str(non.get("path", "")))
    else:
        ok = allowed(str(res.get("verb", "")), str(res.get("resource", "")))
    status = {"allowed": ok} if ok else {"allowed": False, "denied": True}
    return json_response({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                          "metadata": meta, "spec": spec, "status": status}, 201)
