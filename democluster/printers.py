"""Cells for each kind, ported from kube-apiserver's printers (pkg/printers/internalversion)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kro.democluster.clock import human_duration, parse

Obj = dict[str, Any]
Cell = str | int | bool
Printer = Callable[[Obj, float], list[Cell]]


def age(ts: str | None, now: float) -> str:
    """translateTimestampSince: "<unknown>" for a missing time, else a human duration."""
    return human_duration(now - parse(ts)) if ts else "<unknown>"


def _name(o: Obj) -> str:
    return str(o["metadata"]["name"])


def _created(o: Obj, now: float) -> str:
    return age(o["metadata"].get("creationTimestamp"), now)


def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: sorted k=v pairs, or <none>."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


def selector_string(sel: Obj | None) -> str:
    """metav1.LabelSelectorAsSelector(sel).String()."""
    if not sel:
        return ""
    reqs = [(k, f"{k}={v}") for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], ",".join(sorted(expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}[op]
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs))


def _containers(spec: Obj) -> list[Cell]:
    containers = spec.get("containers", [])
    return [",".join(c["name"] for c in containers), ",".join(c.get("image", "") for c in containers)]


def _pod(o: Obj, now: float) -> list[Cell]:
    status, spec = o.get("status", {}), o.get("spec", {})
    reason = status.get("reason") or status.get("phase", "")
    restarts, ready, last_restart, has_running = 0, 0, 0.0, False
    for cs in reversed(status.get("containerStatuses", [])):
        restarts += cs.get("restartCount", 0)
        finished = cs.get("lastState", {}).get("terminated", {}).get("finishedAt")
        if finished:
            last_restart = max(last_restart, parse(finished))
        state = cs.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal")
                                            else f"ExitCode:{term.get('exitCode', 0)}")
        elif cs.get("ready") and "running" in state:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        conds = status.get("conditions", [])
        ready_pod = any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
        reason = "Running" if ready_pod else "NotReady"
    if o["metadata"].get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restarts_cell = str(restarts)
    if restarts and last_restart:
        restarts_cell = f"{restarts} ({human_duration(now - last_restart)} ago)"
    ips = status.get("podIPs") or []
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        true = {c["type"] for c in status.get("conditions", []) if c["status"] == "True"}
        gates_cell = f"{sum(1 for g in gates if g['conditionType'] in true)}/{len(gates)}"
    return [_name(o), f"{ready}/{len(spec.get('containers', []))}", reason, restarts_cell, _created(o, now),
            ips[0]["ip"] if ips else "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates_cell]


def _node(o: Obj, now: float) -> list[Cell]:
    status, info = o.get("status", {}), o.get("status", {}).get("nodeInfo", {})
    ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
    states = [("Ready" if c["status"] == "True" else "NotReady") for c in ready] or ["Unknown"]
    if o.get("spec", {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for key, value in o["metadata"].get("labels", {}).items():
        if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]:
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    addrs = status.get("addresses", [])

    def addr(kind: str) -> str:
        return next((a["address"] for a in addrs if a["type"] == kind), "<none>")

    return [_name(o), ",".join(states), ",".join(sorted(roles)) or "<none>", _created(o, now),
            info.get("kubeletVersion", ""), addr("InternalIP"), addr("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _lb(status: Obj) -> str:
    ingress = status.get("loadBalancer", {}).get("ingress") or []
    return ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)


def _service(o: Obj, now: float) -> list[Cell]:
    spec = o.get("spec", {})
    kind = spec.get("type", "ClusterIP")
    external = ",".join(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        external = ",".join(x for x in (_lb(o.get("status", {})), external) if x) or "<pending>"
    elif kind == "ExternalName":
        external = spec.get("externalName", "")
    ports = ",".join(
        (f"{p['port']}:{p['nodePort']}" if p.get("nodePort") else str(p["port"]))
        + f"/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports", [])
    )
    ips = spec.get("clusterIPs") or []
    return [_name(o), kind, ips[0] if ips else "<none>", external or "<none>", ports or "<none>",
            _created(o, now), format_labels(spec.get("selector"))]


def _endpoints(o: Obj, now: float) -> list[Cell]:
    subsets = o.get("subsets") or []
    if not subsets:
        return [_name(o), "<none>", _created(o, now)]
    shown: list[str] = []
    count = 0
    for ss in subsets:
        addrs = [a["ip"] for a in ss.get("addresses", [])]
        for port in ss.get("ports") or [None]:
            count += len(addrs)
            for ip in addrs:
                if len(shown) < 3:
                    shown.append(f"{ip}:{port['port']}" if port else ip)
    text = ",".join(shown) + (f" + {count - 3} more..." if count > 3 else "")
    return [_name(o), text, _created(o, now)]


def _slice(o: Obj, now: float) -> list[Cell]:
    ports = ",".join(str(p.get("port", "<unset>")) for p in o.get("ports") or []) or "<unset>"
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses", [])]
    text = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [_name(o), o.get("addressType", ""), ports, text or "<unset>", _created(o, now)]


def _event_v1(o: Obj, now: float) -> list[Cell]:
    core = {"metadata": o["metadata"], "involvedObject": o.get("regarding", {}), "type": o.get("type"),
            "reason": o.get("reason"), "message": o.get("note", ""), "source": o.get("deprecatedSource", {}),
            "firstTimestamp": o.get("deprecatedFirstTimestamp"),
            "lastTimestamp": o.get("deprecatedLastTimestamp"), "eventTime": o.get("eventTime"),
            "count": o.get("deprecatedCount"), "series": o.get("series"),
            "reportingController": o.get("reportingController"),
            "reportingInstance": o.get("reportingInstance")}
    return _event(core, now)


def _event(o: Obj, now: float) -> list[Cell]:
    first = o.get("firstTimestamp") or o.get("eventTime")
    last = o.get("lastTimestamp") or first
    count = o.get("count") or 1
    if o.get("series"):
        last, count = o["series"]["lastObservedTime"], o["series"]["count"]
    inv = o.get("involvedObject", {})
    kind = inv.get("kind", "").lower()
    target = f"{kind}/{inv['name']}" if inv.get("name") else kind
    src = o.get("source", {})
    source = ", ".join(x for x in (src.get("component") or o.get("reportingController") or "",
                                   src.get("host") or o.get("reportingInstance") or "") if x)
    return [age(last, now), o.get("type", ""), o.get("reason", ""), target, inv.get("fieldPath", ""),
            source, o.get("message", "").strip(), age(first, now), int(count), _name(o)]


def _deployment(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    return [_name(o), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", st.get("updatedReplicas", 0),
            st.get("availableReplicas", 0), _created(o, now), *_containers(spec["template"]["spec"]),
            selector_string(spec.get("selector"))]


def _replicaset(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    return [_name(o), spec.get("replicas", 1), st.get("replicas", 0), st.get("readyReplicas", 0),
            _created(o, now), *_containers(spec["template"]["spec"]), selector_string(spec.get("selector"))]


def _statefulset(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    return [_name(o), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", _created(o, now),
            *_containers(spec["template"]["spec"])]


def _daemonset(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    return [_name(o), st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            format_labels(spec["template"]["spec"].get("nodeSelector")), _created(o, now),
            *_containers(spec["template"]["spec"]), selector_string(spec.get("selector"))]


def _job(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    succeeded = st.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif spec.get("parallelism", 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    if st.get("startTime"):
        end = parse(st["completionTime"]) if st.get("completionTime") else now
        duration = human_duration(end - parse(st["startTime"]))
    conds = {c["type"] for c in st.get("conditions", []) if c["status"] == "True"}
    status = next((s for s in ("Complete", "Failed") if s in conds), "")
    if not status:
        pending = ("Suspended", "FailureTarget", "SuccessCriteriaMet")
        status = ("Terminating" if o["metadata"].get("deletionTimestamp") else
                  next((s for s in pending if s in conds), "Running"))
    return [_name(o), status, completions, duration, _created(o, now), *_containers(spec["template"]["spec"]),
            selector_string(spec.get("selector"))]


def _cronjob(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    suspend = spec.get("suspend")
    return [_name(o), spec["schedule"], spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else ("True" if suspend else "False"), len(st.get("active") or []),
            age(st["lastScheduleTime"], now) if st.get("lastScheduleTime") else "<none>", _created(o, now),
            *_containers(spec["jobTemplate"]["spec"]["template"]["spec"]),
            selector_string(spec["jobTemplate"]["spec"].get("selector")) or "<none>"]


def _ingress(o: Obj, now: float) -> list[Cell]:
    spec = o.get("spec", {})
    rules = spec.get("rules") or []
    hosts = [r["host"] for r in rules[:3] if r.get("host")]
    host_cell = ",".join(hosts) + (f" + {len(rules) - 3} more..." if len(rules) > 3 else "")
    return [_name(o), spec.get("ingressClassName") or "<none>", host_cell or "*", _lb(o.get("status", {})),
            "80, 443" if spec.get("tls") else "80", _created(o, now)]


def _hpa(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    ref = spec["scaleTargetRef"]
    targets = []
    current = {m["resource"]["name"]: m["resource"]["current"] for m in st.get("currentMetrics") or []
               if m.get("type") == "Resource"}
    for m in spec.get("metrics") or []:
        if m.get("type") == "Resource":
            name, target = m["resource"]["name"], m["resource"]["target"]
            cur = current.get(name, {}).get("averageUtilization")
            shown = "<unknown>" if cur is None else f"{cur}%"
            targets.append(f"{name}: {shown}/{target.get('averageUtilization')}%")
    if "targetCPUUtilizationPercentage" in spec:  # autoscaling/v1
        cur = st.get("currentCPUUtilizationPercentage")
        shown = "<unknown>" if cur is None else f"{cur}%"
        targets.append(f"cpu: {shown}/{spec['targetCPUUtilizationPercentage']}%")
    return [_name(o), f"{ref['kind']}/{ref['name']}", ", ".join(targets) or "<none>",
            str(spec.get("minReplicas", "<unset>")), spec["maxReplicas"], st.get("currentReplicas", 0),
            _created(o, now)]


def _pvc(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    bound = bool(spec.get("volumeName"))
    modes = _modes(st.get("accessModes")) if bound else ""
    return [_name(o), st.get("phase", ""), spec.get("volumeName", ""),
            st.get("capacity", {}).get("storage", "") if bound else "", modes,
            spec.get("storageClassName", ""), spec.get("volumeAttributesClassName") or "<unset>",
            _created(o, now), spec.get("volumeMode", "<unset>")]


def _modes(modes: list[str] | None) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
             "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes or [])


def _pv(o: Obj, now: float) -> list[Cell]:
    spec, st = o["spec"], o.get("status", {})
    claim = spec.get("claimRef")
    return [_name(o), spec.get("capacity", {}).get("storage", ""), _modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), st.get("phase", ""),
            f"{claim['namespace']}/{claim['name']}" if claim else "", spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or "<unset>", st.get("reason", ""), _created(o, now),
            spec.get("volumeMode", "<unset>")]


def _storageclass(o: Obj, now: float) -> list[Cell]:
    annotations = o["metadata"].get("annotations", {})
    default = annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
    return [_name(o) + (" (default)" if default else ""), o.get("provisioner", ""),
            o.get("reclaimPolicy", "Delete"), o.get("volumeBindingMode", "Immediate"),
            bool(o.get("allowVolumeExpansion")), _created(o, now)]


def _priority(o: Obj, now: float) -> list[Cell]:
    return [_name(o), o.get("value", 0), bool(o.get("globalDefault")), _created(o, now),
            o.get("preemptionPolicy", "PreemptLowerPriority")]


def _created_at(o: Obj, now: float) -> list[Cell]:
    return [_name(o), str(o["metadata"]["creationTimestamp"])]


def _simple(*getters: Callable[[Obj], Cell]) -> Printer:
    def printer(o: Obj, now: float) -> list[Cell]:
        return [_name(o), *(g(o) for g in getters), _created(o, now)]

    return printer


# (group, plural) -> (column spec, printer)
PRINTERS: dict[tuple[str, str], tuple[str, Printer]] = {
    ("", "pods"): ("Name|Ready|Status|Restarts|Age|IP:1|Node:1|Nominated Node:1|Readiness Gates:1", _pod),
    ("", "nodes"): ("Name|Status|Roles|Age|Version|Internal-IP:1|External-IP:1|OS-Image:1|Kernel-Version:1"
                    "|Container-Runtime:1", _node),
    ("", "namespaces"): ("Name|Status|Age", _simple(lambda o: o.get("status", {}).get("phase", ""))),
    ("", "services"): ("Name|Type|Cluster-IP|External-IP|Port(s)|Age|Selector:1", _service),
    ("", "endpoints"): ("Name|Endpoints|Age", _endpoints),
    ("", "configmaps"): ("Name|Data|Age", _simple(
        lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    ("", "secrets"): ("Name|Type|Data|Age", _simple(
        lambda o: o.get("type", ""), lambda o: len(o.get("data") or {}))),
    ("", "serviceaccounts"): ("Name|Secrets|Age", _simple(lambda o: len(o.get("secrets") or []))),
    ("", "persistentvolumeclaims"): ("Name|Status|Volume|Capacity|Access Modes|StorageClass"
                                     "|VolumeAttributesClass|Age|VolumeMode:1", _pvc),
    ("", "persistentvolumes"): ("Name|Capacity|Access Modes|Reclaim Policy|Status|Claim|StorageClass"
                                "|VolumeAttributesClass|Reason|Age|VolumeMode:1", _pv),
    ("", "events"): ("Last Seen|Type|Reason|Object|Subobject:1|Source:1|Message|First Seen:1|Count:1|Name:1",
                     _event),
    ("events.k8s.io", "events"): ("Last Seen|Type|Reason|Object|Subobject:1|Source:1|Message|First Seen:1"
                                  "|Count:1|Name:1", _event_v1),
    ("apps", "deployments"): ("Name|Ready|Up-to-date|Available|Age|Containers:1|Images:1|Selector:1",
                              _deployment),
    ("apps", "replicasets"): ("Name|Desired:i|Current:i|Ready:i|Age|Containers:1|Images:1|Selector:1",
                              _replicaset),
    ("apps", "statefulsets"): ("Name|Ready|Age|Containers:1|Images:1", _statefulset),
    ("apps", "daemonsets"): ("Name|Desired:i|Current:i|Ready:i|Up-to-date:i|Available:i|Node Selector|Age"
                             "|Containers:1|Images:1|Selector:1", _daemonset),
    ("batch", "jobs"): ("Name|Status|Completions|Duration|Age|Containers:1|Images:1|Selector:1", _job),
    ("batch", "cronjobs"): ("Name|Schedule|Timezone|Suspend:b|Active:i|Last Schedule|Age"
                            "|Containers:1|Images:1|Selector:1", _cronjob),
    ("networking.k8s.io", "ingresses"): ("Name|Class|Hosts|Address|Ports|Age", _ingress),
    ("networking.k8s.io", "ingressclasses"): ("Name|Controller|Parameters|Age", _simple(
        lambda o: o.get("spec", {}).get("controller", ""), lambda o: "<none>")),
    ("autoscaling", "horizontalpodautoscalers"): ("Name|Reference|Targets|MinPods|MaxPods|Replicas|Age",
                                                  _hpa),
    ("discovery.k8s.io", "endpointslices"): ("Name|AddressType|Ports|Endpoints|Age", _slice),
    ("storage.k8s.io", "storageclasses"): ("Name|Provisioner|ReclaimPolicy|VolumeBindingMode"
                                           "|AllowVolumeExpansion:b|Age", _storageclass),
    ("coordination.k8s.io", "leases"): ("Name|Holder|Age", _simple(
        lambda o: o["spec"].get("holderIdentity", ""))),
    ("scheduling.k8s.io", "priorityclasses"): ("Name|Value:i|Global-Default:b|Age|PreemptionPolicy",
                                               _priority),
}
DEFAULT_PRINTER: tuple[str, Printer] = ("Name|Created At", _created_at)
