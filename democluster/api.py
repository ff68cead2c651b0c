"""The read-only Kubernetes API: routing, discovery negotiation, list/get/watch, logs, metrics and reviews."""

from __future__ import annotations

import base64
import hmac
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson

from kro.democluster import as_table, auth, discovery, metrics, printers
from kro.democluster.fixture import Obj, Store
from kro.democluster.logs import pod_log
from kro.democluster.messages import TABLE_CONTENT_TYPE, Request, Response, json_response, text_response
from kro.democluster.openapi import OpenAPI
from kro.democluster.resources import REGISTRY, Resource, find
from kro.democluster.selectors import field_matcher, parse_fields, parse_labels
from kro.democluster.status import (
    ApiError,
    bad_request,
    method_not_allowed,
    not_found,
    page_not_found,
    unauthorized,
)

SERVER_VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4",
    "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335", "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:03:53Z", "goVersion": "go1.23.6", "compiler": "gc", "platform": "linux/amd64",
}
_HEALTH = ("livez", "readyz", "healthz")
_CHECKS = ("ping", "log", "etcd", "poststarthook/start-apiextensions-informers",
           "poststarthook/rbac/bootstrap-roles")
_WRITE_SUBRESOURCES = {"exec", "attach", "portforward", "proxy", "eviction", "binding", "token", "finalize",
                       "approval", "ephemeralcontainers"}


def wants_table(accept: str) -> str | None:
    """The meta.k8s.io version of an as=Table Accept entry, if the client asked for one."""
    for entry in accept.split(","):
        params = dict(p.strip().partition("=")[::2] for p in entry.split(";")[1:])
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return params.get("v", "v1")
    return None


def _strip(obj: Obj) -> Obj:
    """List items carry no kind/apiVersion, as typed lists from a real server."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _cpu(metrics_: list[Obj], field: str) -> Any:
    return next((m["resource"][field].get("averageUtilization") for m in metrics_
                 if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"), None)


def _hpa_v1(obj: Obj) -> Obj:
    """An autoscaling/v2 HPA as autoscaling/v1 shows it."""
    spec, status = obj["spec"], obj.get("status", {})
    target = _cpu(spec.get("metrics", []), "target")
    current = _cpu(status.get("currentMetrics", []), "current")
    v1_spec = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    v1_status = {k: status[k] for k in ("currentReplicas", "desiredReplicas") if k in status}
    if target is not None:
        v1_spec["targetCPUUtilizationPercentage"] = target
    if current is not None:
        v1_status["currentCPUUtilizationPercentage"] = current
    return {**obj, "apiVersion": "autoscaling/v1", "spec": v1_spec, "status": v1_status}


class Api:
    """Answers requests from the fixture store; raises ApiError for anything it refuses."""

    def __init__(self, store: Store, token: str | None = None, watch_seconds: float = 0.0) -> None:
        self.store = store
        self.token = token
        self.watch_seconds = watch_seconds
        self.server_address = "127.0.0.1:6443"
        self.stopping = threading.Event()
        self.openapi = OpenAPI()
        self._aggregated = {
            (core, v2): orjson.dumps(discovery.aggregated(
                core, "apidiscovery.k8s.io/v2" if v2 else "apidiscovery.k8s.io/v2beta1"))
            for core in (True, False) for v2 in (True, False)
        }

    # -- entry -----------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        """Route one request."""
        segs = [s for s in req.path.split("/") if s]
        if segs and segs[0] in _HEALTH:
            return self._health(segs, req)
        # Like RBAC's system:public-info-viewer, /version is readable without credentials.
        if segs == ["version"] and req.method in ("GET", "HEAD"):
            return json_response(SERVER_VERSION)
        if self.token is not None:
            scheme, _, given = req.authorization.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), self.token):
                raise unauthorized()
        if req.method not in ("GET", "HEAD"):
            if (req.method == "POST" and len(segs) == 4 and segs[0] == "apis"
                    and auth.is_review(segs[1], segs[3]) and segs[2] == "v1"):
                return auth.review(segs[3], req)
            raise method_not_allowed()
        if not segs:
            paths = sorted({"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version",
                            "/openapi/v3", *(f"/apis/{r.group_version}" for r in _groups())})
            return json_response({"paths": paths})
        if segs[0] == "api":
            return self._api(segs[1:], req)
        if segs[0] == "apis":
            return self._apis(segs[1:], req)
        if segs[:2] == ["openapi", "v3"]:
            return self.openapi.handle("/".join(segs[2:]), req, "gzip" in req.accept_encoding)
        raise page_not_found()

    def _health(self, segs: list[str], req: Request) -> Response:
        if len(segs) > 1:
            return text_response("ok")
        if "verbose" in req.query:
            lines = [f"[+]{check} ok" for check in _CHECKS]
            return text_response("\n".join(lines) + f"\n{segs[0]} check passed\n")
        return text_response("ok")

    # -- discovery -------------------------------------------------------------------------
    def _discovery(self, core: bool, req: Request) -> Response | None:
        accept = req.accept
        for entry in accept.split(","):
            if "as=APIGroupDiscoveryList" in entry and "g=apidiscovery.k8s.io" in entry:
                v2 = "v=v2;" in entry + ";" and "v=v2beta1" not in entry
                ctype = discovery.AGGREGATED_CONTENT_TYPE if v2 else discovery.AGGREGATED_V2BETA1_CONTENT_TYPE
                return Response(200, self._aggregated[(core, v2)], ctype)
        return None

    def _api(self, segs: list[str], req: Request) -> Response:
        if not segs:
            return self._discovery(True, req) or json_response(discovery.api_versions(self.server_address))
        if segs[0] != "v1":
            raise page_not_found()
        return self._group_version("", "v1", segs[1:], req)

    def _apis(self, segs: list[str], req: Request) -> Response:
        if not segs:
            return self._discovery(False, req) or json_response(discovery.api_group_list())
        if len(segs) == 1:
            group = discovery.api_group(segs[0])
            if group is None:
                raise page_not_found()
            return json_response(group)
        return self._group_version(segs[0], segs[1], segs[2:], req)

    # -- resources -------------------------------------------------------------------------
    def _group_version(self, group: str, version: str, segs: list[str], req: Request) -> Response:
        if not segs:
            listing = discovery.resource_list(group, version)
            if listing is None:
                raise page_not_found()
            return json_response(listing)
        namespace: str | None = None
        if segs[0] == "namespaces" and len(segs) >= 3:
            inner = find(group, version, segs[2])
            if inner is not None and inner.namespaced:
                namespace, segs = segs[1], segs[2:]
        res = find(group, version, segs[0])
        if res is None or len(segs) > 3:
            raise page_not_found()
        if namespace is not None and not res.namespaced:
            raise page_not_found()
        if namespace is None and res.namespaced and len(segs) > 1:
            raise page_not_found()
        name = segs[1] if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else None
        if ("list" if name is None else "get") not in res.verbs:
            raise method_not_allowed()
        if group == "metrics.k8s.io":
            return self._metrics(res, namespace, name, req)
        if name is None:
            return self._list(res, namespace, req)
        obj = self.store.get(res.key, namespace or "", name)
        if obj is None:
            raise not_found(res.plural, name, group)
        if res.key == ("autoscaling", "horizontalpodautoscalers") and version == "v1":
            obj = _hpa_v1(obj)
        if sub is None or sub == "status":
            return self._one(res, obj, req)
        if sub == "log" and res.plural == "pods":
            return pod_log(self.store, obj, req)
        if sub == "scale" and any(s.name == "scale" for s in res.subresources):
            return json_response(_scale(obj))
        if sub in _WRITE_SUBRESOURCES and any(s.name == sub for s in res.subresources):
            raise method_not_allowed()
        raise page_not_found()

    def _one(self, res: Resource, obj: Obj, req: Request) -> Response:
        table_version = wants_table(req.accept)
        if table_version is None:
            return json_response(obj)
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        table = self._table(res, [obj], meta, req, table_version)
        return json_response(table, content_type=TABLE_CONTENT_TYPE)

    def _table(self, res: Resource, items: list[Obj], meta: Obj, req: Request, version: str) -> Obj:
        include = req.param("includeObject", "Metadata")
        now = time.time()
        return {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": meta,
                "columnDefinitions": as_table.columns(res.key),
                "rows": [as_table.row(res.key, o, now, include) for o in items]}

    def _filtered(self, res: Resource, namespace: str | None, req: Request) -> list[Obj]:
        label_text, field_text = req.param("labelSelector"), req.param("fieldSelector")
        reqs = parse_labels(label_text) if label_text else []
        match = field_matcher(parse_fields(field_text), res.kind + (
            f".{res.group}" if res.group == "events.k8s.io" else "")) if field_text else None
        items = self.store.list(res.key, namespace)
        if reqs:
            items = [o for o in items if all(r.matches(o["metadata"].get("labels") or {}) for r in reqs)]
        if match is not None:
            items = [o for o in items if match(o)]
        if res.key == ("autoscaling", "horizontalpodautoscalers") and res.version == "v1":
            items = [_hpa_v1(o) for o in items]
        return items

    def _list(self, res: Resource, namespace: str | None, req: Request) -> Response:
        items = self._filtered(res, namespace, req)
        if req.flag("watch"):
            return self._watch(res, items, req)
        rv = str(self.store.resource_version)
        start = _decode_continue(req.param("continue"))
        limit = _int(req.param("limit"), "limit")
        meta: Obj = {"resourceVersion": rv}
        page = items[start:]
        if limit > 0 and len(page) > limit:
            page = page[:limit]
            meta["continue"] = _encode_continue(rv, start + limit)
            meta["remainingItemCount"] = len(items) - start - limit
        table_version = wants_table(req.accept)
        if table_version is not None:
            table = self._table(res, page, meta, req, table_version)
            return json_response(table, content_type=TABLE_CONTENT_TYPE)
        body = {"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta,
                "items": [_strip(o) for o in page]}
        return json_response(body)

    def _watch(self, res: Resource, items: list[Obj], req: Request) -> Response:
        rv = req.param("resourceVersion")
        initial = req.flag("sendInitialEvents")
        if rv not in ("", "0") and not initial:
            since = _int(rv, "resourceVersion")
            items = [o for o in items if int(o["metadata"].get("resourceVersion", "0")) > since]
        table_version = wants_table(req.accept)
        # Informers (rollout status, wait) pass timeoutSeconds and expect the watch to stay open that
        # long; `kubectl get -w` passes none, and its stream ends right after the events.
        timeout = _int(req.param("timeoutSeconds"), "timeoutSeconds")
        linger = float(timeout) if timeout > 0 else self.watch_seconds
        return Response(200, b"", TABLE_CONTENT_TYPE if table_version else "application/json",
                        stream=self._events(res, items, req, table_version, initial, linger))

    def _events(self, res: Resource, items: list[Obj], req: Request, table_version: str | None,
                initial: bool, linger: float) -> Iterator[bytes]:
        rv = str(self.store.resource_version)
        for i, obj in enumerate(items):
            out = obj
            if table_version is not None:
                out = self._table(res, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", rv)},
                                  req, table_version)
                if i:
                    out["columnDefinitions"] = None
            yield orjson.dumps({"type": "ADDED", "object": out}) + b"\n"
        if initial:
            mark = {"kind": res.kind, "apiVersion": res.group_version, "metadata": {
                "resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}}}
            yield orjson.dumps({"type": "BOOKMARK", "object": mark}) + b"\n"
        deadline = time.monotonic() + linger
        while (left := deadline - time.monotonic()) > 0 and not self.stopping.wait(min(left, 1.0)):
            yield b""  # a tick: the handler checks the client is still there

    # -- metrics.k8s.io --------------------------------------------------------------------
    def _metrics(self, res: Resource, namespace: str | None, name: str | None, req: Request) -> Response:
        now = time.time()
        label_text = req.param("labelSelector")
        reqs = parse_labels(label_text) if label_text else []
        if res.plural == "pods":
            items = metrics.pods(self.store, namespace, now)
        else:
            items = [metrics.node_metrics(self.store, n, now) for n in self.store.list(("", "nodes"))]
        items = [o for o in items if all(r.matches(o["metadata"].get("labels") or {}) for r in reqs)]
        if name is None:
            return json_response(metrics.metrics_list(res.kind, items, str(self.store.resource_version)))
        for item in items:
            if item["metadata"]["name"] == name:
                return json_response(item)
        shown = f"{namespace}/{name}" if namespace else name
        raise not_found(res.kind.lower(), shown, res.group)


def _groups() -> list[Resource]:
    seen: dict[str, Resource] = {}
    for res in REGISTRY:
        if res.group:
            seen.setdefault(res.group_version, res)
    return list(seen.values())


def _scale(obj: Obj) -> Obj:
    meta = obj["metadata"]
    replicas = obj["spec"].get("replicas", 1)
    selector = printers.selector_string(obj["spec"].get("selector"))
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp")},
            "spec": {"replicas": replicas},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0), "selector": selector}}


def _int(raw: str, name: str) -> int:
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name}: Invalid value: \"{raw}\": must be an integer") from None


def _encode_continue(rv: str, start: int) -> str:
    token = orjson.dumps({"v": "meta.k8s.io/v1", "rv": int(rv), "start": start})
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode_continue(token: str) -> int:
    if not token:
        return 0
    try:
        data: Any = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return max(0, int(data["start"]))
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise ApiError(400, "continue key is not valid: incorrect encoded start resourceVersion "
                            "(version meta.k8s.io/v1)") from None
