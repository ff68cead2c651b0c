"""The session API proxy's per-request policy (README "The API proxy's request policy"); rule ids api.*."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kro.shims import rules as R
from kro.shims.api_path import PathError, Route, parse_query, query_flag, route, split_path
from kro.shims.policy_reads import is_secret_type


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One request as the proxy received it."""

    method: str  # as received, e.g. "GET"
    raw_path: str  # exactly as on the wire (not percent-decoded), no query
    query: str  # raw query without "?", "" if none
    headers: tuple[tuple[str, str], ...]  # (lower-cased name, value) pairs as received


@dataclass(frozen=True, slots=True)
class ApiPins:
    """What the session pins: a namespace allowlist (empty: none) and whether objects are redacted."""

    namespaces: tuple[str, ...] = ()
    redact: bool = False


@dataclass(frozen=True, slots=True)
class ApiDecision:
    """allowed, the rule id, a reason an agent can act on, how to rewrite the response, whether it streams."""

    allowed: bool
    rule: str
    reason: str
    rewrite: str  # "none", "secrets" or "objects"
    watch: bool


Namespaced = Callable[[str, str], bool | None]

_READS = frozenset({"GET", "HEAD"})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SELF_REVIEWS = frozenset(
    {
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ("authentication.k8s.io", "selfsubjectreviews"),
    }
)
# Reviews that answer for another identity (or check someone's token): not about the session, refused.
_OTHER_REVIEWS = frozenset(
    {
        ("authorization.k8s.io", "subjectaccessreviews"),
        ("authorization.k8s.io", "localsubjectaccessreviews"),
        ("authentication.k8s.io", "tokenreviews"),
    }
)
REACH_IN = frozenset({"exec", "attach", "portforward", "proxy"})
# Subresources a GET may read: the object's own views. Others (an aggregated API's own verbs) are refused.
_READ_SUBRESOURCES = frozenset({"status", "scale", "log", "ephemeralcontainers", "resize"})
_METHOD_OVERRIDES = frozenset({"x-http-method-override", "x-http-method", "x-method-override"})
_SHOWN = 120


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _show(text: str) -> str:
    return repr(_clip(text))


def _refuse(rule: str, reason: str) -> ApiDecision:
    return ApiDecision(False, rule, reason, "none", False)


def method_reason(method: str) -> str:
    """Reason for a method other than GET/HEAD (and the self-subject reviews' POST)."""
    if method in _WRITES:
        return (
            f"{method} requests change the cluster (dryRun ones too) and this session is read-only; "
            "read with GET, and ask the user to make any change that is needed"
        )
    return f"the {_show(method)} method is not a read kro lets through; use GET"


def upgrade_reason() -> str:
    """Reason for an upgrade request (SPDY or WebSocket)."""
    return (
        "upgrade requests (exec, attach, port-forward over SPDY or WebSocket) reach into workloads and "
        "are blocked; use logs, describe or get to inspect instead"
    )


def subresource_reason(sub: str) -> str:
    """Reason for exec/attach/portforward/proxy, or a subresource kro does not know as a read."""
    if sub in REACH_IN:
        return (
            f"the '{sub}' subresource reaches into workloads, nodes or the network and is blocked; "
            "use logs, describe or get to inspect instead"
        )
    return (
        f"kro does not know the {_show(sub)} subresource as a plain read; read the object itself, "
        "its status or scale, or a pod's log"
    )


def path_reason(raw_path: str, why: str) -> str:
    """Reason for a path that cannot be read one way only."""
    return (
        f"the path {_show(raw_path)} holds {why}; send the plain path a client would "
        "(no '..', '//', encoded slashes or dots, backslashes)"
    )


def unknown_reason(raw_path: str) -> str:
    """Reason for a path that is none of the endpoints kro lets through."""
    return (
        f"{_show(raw_path)} is not a read kro knows; use API resources (/api, /apis), discovery, "
        "/openapi, /version, /healthz, /livez, /readyz or /metrics"
    )


def namespace_reason(pins: ApiPins, what: str = "") -> str:
    """Reason for another namespace, or a cluster-wide read of a namespaced kind, under a namespace pin."""
    allowed = ", ".join(pins.namespaces)
    return f"this session may only read namespaces {allowed}{what}; use a path under /namespaces/<ns>/"


def _header_problem(headers: tuple[tuple[str, str], ...]) -> ApiDecision | None:
    for raw_name, value in headers:
        name = raw_name.lower()
        if name.startswith(("impersonate-", "x-remote-")):
            return _refuse(
                R.API_IMPERSONATION,
                f"the {raw_name} header changes who the request acts as; this session's identity is fixed, "
                "so drop it",
            )
        if (
            name in ("upgrade", ":protocol", "x-stream-protocol-version")
            or name.startswith("sec-websocket-")
            or (name == "connection" and any(t.strip().lower() == "upgrade" for t in value.split(",")))
        ):
            return _refuse(R.API_UPGRADE, upgrade_reason())
        if name in _METHOD_OVERRIDES:
            return _refuse(R.API_METHOD, f"{raw_name} asks for another method; {method_reason('PUT')}")
    return None


def _rewrite(where: Route, pins: ApiPins) -> str:
    """How the response of an allowed resource read must be rewritten before the client sees it."""
    # Any resource spelled secret(s), in any group: an aggregated API or CRD of that name may serve Secrets.
    # A name or subresource spelled so too (`/api/v1/pods/secrets`): when unsure, scrub.
    if any(is_secret_type(part or "") for part in (where.resource, where.name, where.subresource)):
        return "secrets"
    if pins.redact and where.subresource != "log":
        return "objects"
    return "none"


def _namespace_problem(where: Route, pins: ApiPins, namespaced: Namespaced) -> ApiDecision | None:
    if where.namespace is not None:
        # A Namespace object is cluster-scoped metadata, readable like a node (as `kubectl get ns NAME` is).
        if where.group == "" and where.resource == "namespaces" and where.name == where.namespace:
            return None
        if where.namespace in pins.namespaces:
            return None
        return _refuse(R.API_NAMESPACE, namespace_reason(pins))
    if where.group == "" and where.resource == "namespaces":
        return None
    try:
        scoped = namespaced(where.group_version, where.resource)
    except Exception:  # the discovery lookup failed: unknown, which is refused when pinned
        scoped = None
    if scoped is False:
        return None
    what = (
        f" and this reads {_clip(where.resource)} in every namespace"
        if scoped
        else f" and kro cannot tell whether {_show(where.resource)} is namespaced"
    )
    return _refuse(R.API_NAMESPACE, namespace_reason(pins, what))


def decide_request(req: ApiRequest, pins: ApiPins, namespaced: Namespaced) -> ApiDecision:
    """Decide one request at the proxy: allowed or refused, with the rule, the reason, and the rewrite."""
    problem = _header_problem(req.headers)
    if problem is not None:
        return problem
    try:
        where = route(split_path(req.raw_path))
        query = parse_query(req.query)
    except PathError as err:
        shown = req.raw_path + ("?" + req.query if req.query else "")
        return _refuse(R.API_PATH, path_reason(shown, str(err)))
    method = req.method
    if where.kind == "resource":
        if where.verb == "proxy" or where.subresource in REACH_IN:
            sub = "proxy" if where.verb == "proxy" else where.subresource or ""
            return _refuse(R.API_SUBRESOURCE, subresource_reason(sub))
        if where.resource == "serviceaccounts" and where.subresource == "token":
            return _refuse(
                R.API_TOKEN_REQUEST,
                "TokenRequest (serviceaccounts/NAME/token) mints a new service-account credential; it is "
                "blocked in this read-only session, so read service accounts with GET and ask the user if "
                "a token is really needed",
            )
    if method not in _READS:
        return _decide_post(req, where) if method == "POST" else _refuse(R.API_METHOD, method_reason(method))
    if where.kind == "unknown":
        return _refuse(R.API_PATH, unknown_reason(req.raw_path))
    if where.kind != "resource":
        if where.kind == "metrics" and pins.namespaces:
            return _refuse(
                R.API_NAMESPACE,
                f"this session may only read namespaces {', '.join(pins.namespaces)} and /metrics covers "
                "them all; read pod usage under /apis/metrics.k8s.io/v1beta1/namespaces/<ns>/pods instead",
            )
        return ApiDecision(True, R.ALLOWED, f"{method} {where.kind} is a read", "none", False)
    if where.extra or (where.verb == "watch" and where.subresource is not None):
        return _refuse(R.API_PATH, unknown_reason(req.raw_path))
    if where.subresource is not None and where.subresource not in _READ_SUBRESOURCES:
        return _refuse(R.API_SUBRESOURCE, subresource_reason(where.subresource))
    if pins.namespaces:
        problem = _namespace_problem(where, pins, namespaced)
        if problem is not None:
            return problem
    watch = where.verb == "watch" or (where.name is None and query_flag(query, "watch"))
    what = _clip(where.resource) + (f"/{where.subresource}" if where.subresource else "")
    return ApiDecision(True, R.ALLOWED, f"{method} {what} is a read", _rewrite(where, pins), watch)


def _decide_post(req: ApiRequest, where: Route) -> ApiDecision:
    """POST: only the self-subject reviews (`kubectl auth can-i`, `auth whoami`), cluster-scoped."""
    plain = (
        where.kind == "resource"
        and where.namespace is None
        and where.name is None
        and where.subresource is None
        and not where.verb
    )
    key = (where.group, where.resource)
    if plain and key in SELF_REVIEWS:
        return ApiDecision(True, R.ALLOWED, f"POST {where.resource} asks about this session's own access",
                           "none", False)  # fmt: skip
    if where.kind == "resource" and key in _OTHER_REVIEWS:
        return _refuse(
            R.API_METHOD,
            f"{where.resource} answer for another identity; ask about this session's own access with "
            "selfsubjectaccessreviews or selfsubjectrulesreviews ('kubectl auth can-i', 'auth can-i --list')",
        )
    return _refuse(R.API_METHOD, method_reason("POST"))
