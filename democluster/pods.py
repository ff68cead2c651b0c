"""Pods as a real API server shows them: spec defaults from the owner's template, status from a state."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from kro.democluster.clock import Clock

Obj = dict[str, Any]
Lookup = Callable[[str, str, str], Obj]  # (kind, namespace, name) -> object

_SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
]


def digest(*parts: str) -> str:
    """A stable sha256 hex digest of the parts."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def owner_ref(owner: Obj) -> Obj:
    """The controller ownerReference pointing at an object."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def qos_class(containers: list[Obj]) -> str:
    """Guaranteed, Burstable or BestEffort, as the kubelet decides."""
    requests, limits = [], []
    for c in containers:
        res = c.get("resources", {})
        requests.append(res.get("requests", {}))
        limits.append(res.get("limits", {}))
    if not any(requests) and not any(limits):
        return "BestEffort"
    for req, lim in zip(requests, limits, strict=True):
        for name in ("cpu", "memory"):
            if name not in lim or req.get(name, lim[name]) != lim[name]:
                return "Burstable"
    return "Guaranteed"


def _api_access_volume(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
            "defaultMode": 420,
        },
    }


def uid_for(kind: str, namespace: str, name: str) -> str:
    """A stable uid, so describe's involvedObject.uid queries find the fixture's events."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kro-demo:{kind}/{namespace}/{name}"))


def default_spec(spec: Obj, pod_name: str, node: str, static: bool) -> Obj:
    """Fill in what admission and defaulting add to a pod spec (static pods get no token)."""
    volume = f"kube-api-access-{digest(pod_name)[:5]}"
    if not static:
        spec.setdefault("volumes", []).append(_api_access_volume(volume))
    for c in spec["containers"]:
        c.setdefault("resources", {})
        if not static:
            mount = {"name": volume, "readOnly": True, "mountPath": _SA_MOUNT}
            c.setdefault("volumeMounts", []).append(mount)
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("imagePullPolicy", "Always" if c["image"].endswith(":latest") else "IfNotPresent")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    sa = spec.setdefault("serviceAccountName", "default")
    spec["serviceAccount"] = sa
    spec["nodeName"] = node
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("tolerations", copy.deepcopy(_TOLERATIONS))
    critical = spec.get("priorityClassName") in ("system-node-critical", "system-cluster-critical")
    spec.setdefault("priority", 2000001000 if critical else 0)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    return spec


def _condition(kind: str, ok: bool, when: str, reason: str = "", message: str = "") -> Obj:
    cond: Obj = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
                 "lastTransitionTime": when}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _image_id(image: str) -> str:
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}@sha256:{digest(image)}"


def pod_status(entry: Obj, spec: Obj, uid: str, clock: Clock, node_ip: str) -> Obj:
    """The status for a compact pod entry's `state` (running, crashloop or completed)."""
    state = entry.get("state", "running")
    created = clock.at(entry["created"])
    started = clock.at(entry.get("lastStarted", "@-0s")) if state != "running" else clock.plus(created, 4)
    finished = clock.at(entry["lastFinished"]) if "lastFinished" in entry else None
    name, ns = entry["name"], entry["namespace"]
    restarts = int(entry.get("restarts", 0))
    statuses = []
    for c in spec["containers"]:
        cid = f"containerd://{digest(name, c['name'], str(restarts))}"
        st: Obj = {"name": c["name"], "state": {}, "lastState": {}, "ready": state == "running",
                   "restartCount": restarts, "image": c["image"], "imageID": _image_id(c["image"]),
                   "containerID": cid, "started": state == "running"}
        if state == "running":
            st["state"] = {"running": {"startedAt": started}}
        elif state == "crashloop":
            st["state"] = {"waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container={c['name']} pod={name}_{ns}({uid})",
            }}
            st["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started,
                                              "finishedAt": finished, "containerID": cid}}
        else:
            st["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                          "finishedAt": finished, "containerID": cid}}
        statuses.append(st)
    scheduled = clock.plus(created, 1)
    if state == "running":
        ready = clock.plus(created, 6)
        conditions = [_condition("PodReadyToStartContainers", True, clock.plus(created, 3)),
                      _condition("Initialized", True, scheduled),
                      _condition("Ready", True, ready), _condition("ContainersReady", True, ready),
                      _condition("PodScheduled", True, scheduled)]
    elif state == "crashloop":
        names = " ".join(c["name"] for c in spec["containers"])
        msg = f"containers with unready status: [{names}]"
        conditions = [_condition("PodReadyToStartContainers", True, clock.plus(created, 3)),
                      _condition("Initialized", True, scheduled),
                      _condition("Ready", False, finished or started, "ContainersNotReady", msg),
                      _condition("ContainersReady", False, finished or started, "ContainersNotReady", msg),
                      _condition("PodScheduled", True, scheduled)]
    else:
        done = finished or started
        conditions = [_condition("PodReadyToStartContainers", False, done),
                      _condition("Initialized", True, scheduled, "PodCompleted"),
                      _condition("Ready", False, done, "PodCompleted"),
                      _condition("ContainersReady", False, done, "PodCompleted"),
                      _condition("PodScheduled", True, scheduled)]
    ip = entry["ip"]
    return {
        "phase": "Succeeded" if state == "completed" else "Running",
        "conditions": conditions,
        "hostIP": node_ip,
        "hostIPs": [{"ip": node_ip}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": scheduled,
        "containerStatuses": statuses,
        "qosClass": qos_class(spec["containers"]),
    }


def expand_pod(entry: Obj, lookup: Lookup, clock: Clock, node_ips: dict[str, str]) -> Obj:
    """A full Pod object from a compact fixture entry."""
    name, ns = entry["name"], entry["namespace"]
    owner_kind, owner_name = entry["owner"].split("/", 1)
    owner = lookup(owner_kind, "" if owner_kind == "Node" else ns, owner_name)
    labels: dict[str, str] = {}
    if "spec" in entry:
        spec = copy.deepcopy(entry["spec"])
    else:
        template = owner["spec"]["template"]
        spec = copy.deepcopy(template["spec"])
        labels.update(template.get("metadata", {}).get("labels", {}))
    labels.update(entry.get("labels", {}))
    for key in ("hostname", "subdomain"):
        if key in entry:
            spec[key] = entry[key]
    spec["volumes"] = [*entry.get("volumes", []), *spec.get("volumes", [])]
    uid = uid_for("Pod", ns, name)
    spec = default_spec(spec, name, entry["node"], static=owner_kind == "Node")
    meta: Obj = {"name": name}
    if owner_kind != "Node" and owner_kind != "StatefulSet":
        meta["generateName"] = f"{owner_name}-"
    meta.update({"namespace": ns, "uid": uid, "creationTimestamp": clock.at(entry["created"]),
                 "labels": labels})
    if entry.get("annotations"):
        meta["annotations"] = dict(entry["annotations"])
    meta["ownerReferences"] = [owner_ref(owner)]
    status = pod_status(entry, spec, uid, clock, node_ips.get(entry["node"], ""))
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}


def clone_pod(base: Obj, name: str, ip: str, uid: str) -> Obj:
    """A cheap copy of a running pod under a new name and IP (used by --pods N); spec is shared."""
    meta = dict(base["metadata"])
    meta["name"], meta["uid"] = name, uid
    status = dict(base["status"])
    status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
    statuses = []
    for cs in status["containerStatuses"]:
        cs = dict(cs)
        cs["containerID"] = f"containerd://{digest(name, cs['name'])}"
        statuses.append(cs)
    status["containerStatuses"] = statuses
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": base["spec"], "status": status}
