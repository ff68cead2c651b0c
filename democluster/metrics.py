"""metrics.k8s.io v1beta1: pod and node usage for `kubectl top`, derived from the fixture."""

from __future__ import annotations

from typing import Any

from kro.democluster.clock import iso
from kro.democluster.fixture import Obj, Store
from kro.democluster.pods import digest

API_VERSION = "metrics.k8s.io/v1beta1"


def _running(pod: Obj) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return pod.get("status", {}).get("phase") == "Running" and all("running" in s["state"] for s in statuses)


def _usage(pod_name: str, container: str) -> tuple[int, int]:
    """Stable (millicores, KiB) for a container."""
    h = int(digest(pod_name, container)[:8], 16)
    return 1 + h % 47, 18_000 + (h >> 8) % 140_000


def pod_metrics(pod: Obj, now: float) -> Obj:
    """A PodMetrics object for a running pod."""
    meta = pod["metadata"]
    containers = []
    for c in pod["spec"]["containers"]:
        milli, kib = _usage(meta["name"], c["name"])
        containers.append({"name": c["name"], "usage": {"cpu": f"{milli * 1_000_000 + 12345}n",
                                                         "memory": f"{kib}Ki"}})
    return {
        "kind": "PodMetrics", "apiVersion": API_VERSION,
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": iso(now),
                     "labels": meta.get("labels", {})},
        "timestamp": iso(now - 12), "window": "15.011s", "containers": containers,
    }


def pods(store: Store, namespace: str | None, now: float) -> list[Obj]:
    """PodMetrics for the running pods of a namespace (or all)."""
    return [pod_metrics(p, now) for p in store.list(("", "pods"), namespace) if _running(p)]


def node_metrics(store: Store, node: Obj, now: float) -> Obj:
    """A NodeMetrics object: its pods' usage plus system overhead."""
    name = node["metadata"]["name"]
    milli, kib = 180, 1_400_000
    for pod in store.list(("", "pods")):
        if pod["spec"].get("nodeName") == name and _running(pod):
            for c in pod["spec"]["containers"]:
                m, k = _usage(pod["metadata"]["name"], c["name"])
                milli, kib = milli + m, kib + k
    return {
        "kind": "NodeMetrics", "apiVersion": API_VERSION,
        "metadata": {"name": name, "creationTimestamp": iso(now),
                     "labels": node["metadata"].get("labels", {})},
        "timestamp": iso(now - 9), "window": "20.04s",
        "usage": {"cpu": f"{milli * 1_000_000 + 54321}n", "memory": f"{kib}Ki"},
    }


def metrics_list(kind: str, items: list[Obj], resource_version: str) -> dict[str, Any]:
    """A PodMetricsList or NodeMetricsList."""
    return {"kind": f"{kind}List", "apiVersion": API_VERSION,
            "metadata": {"resourceVersion": resource_version}, "items": items}
