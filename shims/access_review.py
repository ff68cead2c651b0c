"""Honest self-subject reviews at the API proxy: `kubectl auth can-i` answers for the session.

The cluster answers for the credential kro holds, which may be an admin's. A review of a verb the session
refuses is answered here (`allowed: false`, a reason naming kro) with the same request policy the proxy
applies (`decide_request`); a read keeps the cluster's answer. A rules review (`auth can-i --list`) is
forwarded and its write verbs stripped. Pure: request body in, verdict or rewritten document out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from kro.shims import rules as R
from kro.shims.api_policy import REACH_IN, SELF_REVIEWS, ApiPins, ApiRequest, Namespaced, decide_request

GROUP = "authorization.k8s.io"
ACCESS = "selfsubjectaccessreviews"
RULES = "selfsubjectrulesreviews"
_PROTOBUF_MAGIC = b"k8s\x00"
# The verbs a resource review may name, as the HTTP request the session would send for them.
_METHODS = {
    "get": "GET",
    "list": "GET",
    "watch": "GET",
    "head": "HEAD",
    "create": "POST",
    "post": "POST",
    "update": "PUT",
    "put": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}
READ_VERBS = ("get", "list", "watch")
_SELF_REVIEWS = frozenset(resource for _, resource in SELF_REVIEWS)  # the resource names, in any group
_FIELDS = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


@dataclass(frozen=True, slots=True)
class Verdict:
    """kro's own answer to an access review (None from `access_verdict` leaves it to the cluster)."""

    reason: str  # starts "kro: "; kubectl prints it after "no - "
    body: bytes  # the SelfSubjectAccessReview to answer with (201, JSON)


def review_kind(method: str, raw_path: str) -> str | None:
    """ACCESS or RULES when the request POSTs that self-subject review, else None."""
    if method != "POST":
        return None
    parts = raw_path.strip("/").split("/")
    if len(parts) == 4 and parts[:2] == ["apis", GROUP] and parts[3] in (ACCESS, RULES):
        return parts[3]
    return None


def _fields(data: bytes) -> dict[int, list[bytes | int]]:
    """One protobuf message as field number -> values (length-delimited as bytes, varints as int)."""
    out: dict[int, list[bytes | int]] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            if i >= len(data) or shift > 63:
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
            if i + size > len(data):
                raise ValueError("truncated field")
            value, i = data[i : i + size], i + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i : i + size], i + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _sub(msg: dict[int, list[bytes | int]], number: int) -> dict[int, list[bytes | int]] | None:
    raw = msg.get(number, [None])[0]
    return _fields(raw) if isinstance(raw, bytes) else None


def _text(msg: dict[int, list[bytes | int]], number: int) -> str:
    raw = msg.get(number, [b""])[0]
    return raw.decode() if isinstance(raw, bytes) else ""


def review_spec(body: bytes) -> dict[str, Any]:
    """A SelfSubjectAccessReview's spec from JSON or protobuf (kubectl's default); ValueError if bad."""
    if body.startswith(_PROTOBUF_MAGIC):
        # runtime.Unknown{raw=2} wrapping SelfSubjectAccessReview{spec=2}: resourceAttributes=1,
        # nonResourceAttributes=2.
        unknown = _fields(body[len(_PROTOBUF_MAGIC) :])
        review = _sub(unknown, 2) or {}
        spec = _sub(review, 2) or {}
        out: dict[str, Any] = {}
        if (res := _sub(spec, 1)) is not None:
            out["resourceAttributes"] = {f: _text(res, n) for n, f in enumerate(_FIELDS, 1) if _text(res, n)}
        if (non := _sub(spec, 2)) is not None:
            out["nonResourceAttributes"] = {"path": _text(non, 1), "verb": _text(non, 2)}
        return out
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None
    found = doc.get("spec") if isinstance(doc, dict) else None
    return found if isinstance(found, dict) else {}


def _resource_path(attrs: dict[str, Any], namespaced: Namespaced) -> tuple[str, str]:
    """The path (and query) a request for these resource attributes would use."""
    group, resource = str(attrs.get("group") or ""), str(attrs.get("resource") or "")
    version = str(attrs.get("version") or "") or "v1"  # kubectl leaves it empty; any version decides alike
    gv = f"{group}/{version}" if group else version
    base = f"/apis/{quote(group, safe='')}/{quote(version, safe='')}" if group else f"/api/{version}"
    namespace = str(attrs.get("namespace") or "")
    if namespace:
        try:
            cluster_scoped = namespaced(gv, resource) is False
        except Exception:  # discovery failed: keep the namespace, the policy then judges as asked
            cluster_scoped = False
        if not cluster_scoped:  # kubectl names its default namespace for cluster-scoped kinds too
            base += f"/namespaces/{quote(namespace, safe='')}"
    path = f"{base}/{quote(resource or '*', safe='')}"
    name, sub = str(attrs.get("name") or ""), str(attrs.get("subresource") or "")
    if name or sub:
        path += f"/{quote(name or 'NAME', safe='')}"
    if sub:
        path += f"/{quote(sub, safe='')}"
    return path, "watch=1" if attrs.get("verb") == "watch" else ""


def review_request(spec: dict[str, Any], namespaced: Namespaced) -> tuple[str, ApiRequest | None]:
    """What the review asks, in words, and the request the session would send for it (None: none)."""
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(non, dict) and not isinstance(res, dict):
        verb, path = str(non.get("verb") or ""), str(non.get("path") or "")
        method = _METHODS.get(verb)
        return f"{verb} {path}", ApiRequest(method, path.split("?", 1)[0], "", ()) if method else None
    attrs = res if isinstance(res, dict) else {}
    verb = str(attrs.get("verb") or "")
    what = "/".join(x for x in (str(attrs.get("resource") or ""), str(attrs.get("subresource") or "")) if x)
    method = _METHODS.get(verb)
    if method is None:
        return f"{verb} {what}", None
    path, query = _resource_path(attrs, namespaced)
    return f"{verb} {what}", ApiRequest(method, path, query, ())


def discovery_path(body: bytes) -> str:
    """A path under the reviewed resource's group-version, for the proxy to learn its scope ('' if none)."""
    try:
        attrs = review_spec(body).get("resourceAttributes")
    except ValueError:
        return ""
    if not isinstance(attrs, dict) or not attrs.get("resource"):
        return ""
    group, version = str(attrs.get("group") or ""), str(attrs.get("version") or "") or "v1"
    return f"/apis/{quote(group, safe='')}/{quote(version, safe='')}/x" if group else f"/api/{version}/x"


def _denial(spec: dict[str, Any], reason: str) -> Verdict:
    doc = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": f"{GROUP}/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": {"allowed": False, "denied": True, "reason": reason},
    }
    return Verdict(reason, orjson.dumps(doc))


def access_verdict(body: bytes, pins: ApiPins, namespaced: Namespaced) -> Verdict | None:
    """kro's `no` for a review of anything the session refuses; None when the cluster's answer stands."""
    try:
        spec = review_spec(body)
    except ValueError:
        return None  # the cluster rejects what it cannot read, with its own message
    asked, req = review_request(spec, namespaced)
    if req is None:
        verb = asked.split(" ", 1)[0] or "(none)"
        return _denial(
            spec,
            f"kro: this session is read-only and the verb {verb!r} is not a read; "
            f"only {', '.join(READ_VERBS)} are, so ask the user to do what needs {verb!r}",
        )
    decision = decide_request(req, pins, namespaced)
    if decision.allowed:
        return None
    if decision.rule == R.API_METHOD:
        reason = (
            f"kro: this session is read-only, so '{asked.strip()}' is refused whatever the cluster's RBAC "
            "allows; read with get, list or watch, and ask the user to make any change that is needed"
        )
    else:
        reason = f"kro: {decision.reason}"
    return _denial(spec, reason)


def _read_only_verbs(rule: dict[str, Any], *, reviews: bool) -> list[str]:
    verbs = [str(v) for v in rule.get("verbs") or []]
    if "*" in verbs:
        verbs = list(READ_VERBS)
    keep = [v for v in verbs if v in READ_VERBS or v == "head"]
    if reviews and "create" in verbs:
        keep.append("create")
    return keep


def _reaches_in(resource: str) -> bool:
    sub = resource.split("/", 1)[1] if "/" in resource else ""
    return sub in REACH_IN or resource == "serviceaccounts/token"


def read_only_rules(doc: object, pins: ApiPins) -> object:
    """A SelfSubjectRulesReview without the verbs the session refuses (kro's note in evaluationError)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("status"), dict):
        return doc
    status: dict[str, Any] = doc["status"]
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    namespace = str((spec or {}).get("namespace") or "")
    elsewhere = bool(pins.namespaces) and namespace not in pins.namespaces
    kept = []
    for rule in status.get("resourceRules") or []:
        if not isinstance(rule, dict):
            continue
        resources = [str(r) for r in rule.get("resources") or [] if not _reaches_in(str(r))]
        reviews = bool(resources) and all(r in _SELF_REVIEWS for r in resources)
        if elsewhere and not reviews:
            continue
        verbs = _read_only_verbs(rule, reviews=reviews)
        if verbs and resources:
            kept.append({**rule, "verbs": verbs, "resources": resources})
    non_kept = []
    for rule in status.get("nonResourceRules") or []:
        verbs = [str(v) for v in (rule.get("verbs") or [] if isinstance(rule, dict) else [])]
        verbs = ["get", "head"] if "*" in verbs else [v for v in verbs if v in ("get", "head")]
        if verbs:
            non_kept.append({**rule, "verbs": verbs})
    note = "kro: this session is read-only; verbs it refuses (writes, exec, attach, port-forward) are removed"
    if elsewhere:
        note += f"; it may only read namespaces {', '.join(pins.namespaces)}"
    error = str(status.get("evaluationError") or "")
    status = {
        **status,
        "resourceRules": kept,
        "nonResourceRules": non_kept,
        "evaluationError": f"{error}; {note}" if error else note,
    }
    return {**doc, "status": status}
