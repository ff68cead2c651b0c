"""The tool table, as data: each tool's name, description, argument model, kubectl argv and result shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from kro.mcp import inputs as i

Shape = Literal["table", "object", "text", "raw", "can_i", "secrets", "secret"]


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool: every call becomes exactly one kubectl argv, judged by the policy."""

    name: str
    title: str
    description: str
    args: type[i.Args]
    argv: Callable[[Any], list[str]]
    shape: Shape


@dataclass(frozen=True)
class Kind:
    """A resource kind that gets list_/get_/describe_ tools."""

    singular: str
    plural: str
    namespaced: bool
    columns: str
    title: str

    @property
    def titles(self) -> str:
        """The plural title, e.g. Ingresses."""
        return self.title + ("es" if self.title.endswith("s") else "s")


KINDS = (
    Kind("namespace", "namespaces", False, "status (phase), age", "Namespace"),
    Kind(
        "node", "nodes", False, "status, roles, age, version, internal IP, OS image, kernel, runtime", "Node"
    ),
    Kind("pod", "pods", True, "readiness, status (e.g. CrashLoopBackOff), restarts, age, IP, node", "Pod"),
    Kind(
        "deployment",
        "deployments",
        True,
        "ready/up-to-date/available replicas, age, images, selector",
        "Deployment",
    ),
    Kind("statefulset", "statefulsets", True, "ready replicas, age, containers, images", "StatefulSet"),
    Kind(
        "daemonset", "daemonsets", True, "desired/current/ready/available, node selector, images", "DaemonSet"
    ),
    Kind("job", "jobs", True, "status, completions, duration, age, images", "Job"),
    Kind("cronjob", "cronjobs", True, "schedule, suspend, active, last schedule, images", "CronJob"),
    Kind("service", "services", True, "type, cluster IP, external IP, ports, selector", "Service"),
    Kind("ingress", "ingresses", True, "class, hosts, address, ports", "Ingress"),
    Kind("configmap", "configmaps", True, "number of data keys, age", "ConfigMap"),
    Kind(
        "persistentvolumeclaim",
        "persistentvolumeclaims",
        True,
        "status, bound volume, capacity, access modes, storage class",
        "PersistentVolumeClaim",
    ),
    Kind("event", "events", True, "last seen, type, reason, object, source, message, count", "Event"),
)


def _ns(args: Any) -> list[str]:
    out = [f"--namespace={args.namespace}"] if getattr(args, "namespace", None) else []
    if getattr(args, "all_namespaces", False):
        out.append("--all-namespaces")
    return out


def _selectors(args: Any, *extra_fields: str) -> list[str]:
    out = [f"--selector={args.label_selector}"] if getattr(args, "label_selector", None) else []
    fields = [f for f in (getattr(args, "field_selector", None), *extra_fields) if f]
    if fields:
        out.append(f"--field-selector={','.join(fields)}")
    return out


def _list(kind: Kind) -> Callable[[Any], list[str]]:
    def argv(args: Any) -> list[str]:
        extra: list[str] = []
        if kind.plural == "events":
            if args.object_name:
                extra.append(f"involvedObject.name={args.object_name}")
            if args.event_type:
                extra.append(f"type={args.event_type}")
        sort = ["--sort-by=.lastTimestamp"] if kind.plural == "events" else []
        return ["get", kind.plural, "--output=wide", *sort, *_ns(args), *_selectors(args, *extra)]

    return argv


def _get(kind: Kind) -> Callable[[Any], list[str]]:
    return lambda args: ["get", kind.plural, args.name, "--output=json", *_ns(args)]


def _describe(kind: Kind) -> Callable[[Any], list[str]]:
    return lambda args: ["describe", kind.plural, args.name, *_ns(args)]


def _kind_tools(kind: Kind) -> list[ToolSpec]:
    where = "in a namespace or across all namespaces" if kind.namespaced else "in the cluster"
    list_args: type[i.Args] = i.EventListArgs if kind.plural == "events" else i.ListArgs
    if not kind.namespaced:
        list_args = i.ClusterListArgs
    name_args = i.NameArgs if kind.namespaced else i.ClusterNameArgs
    return [
        ToolSpec(
            f"list_{kind.plural}",
            f"List {kind.titles}",
            f"List {kind.plural} {where} (kubectl get {kind.plural} -o wide): one row per object with "
            f"{kind.columns}. Filter with label/field selectors.",
            list_args,
            _list(kind),
            "table",
        ),
        ToolSpec(
            f"get_{kind.singular}",
            f"Get {kind.title}",
            f"One {kind.singular} as a JSON object (kubectl get {kind.plural} NAME -o json), with "
            "secret-shaped values replaced by [REDACTED] and managedFields dropped.",
            name_args,
            _get(kind),
            "object",
        ),
        ToolSpec(
            f"describe_{kind.singular}",
            f"Describe {kind.title}",
            f"kubectl describe {kind.plural} NAME: the {kind.singular}'s details in readable form"
            + (", with its recent events." if kind.plural != "events" else "."),
            name_args,
            _describe(kind),
            "text",
        ),
    ]


def _logs(a: i.LogsArgs) -> list[str]:
    out = ["logs", a.name, f"--tail={a.tail}", *_ns(a)]
    out += [f"--container={a.container}"] if a.container else []
    out += [f"--since={a.since}"] if a.since else []
    return out + ["--previous"] * a.previous + ["--timestamps"] * a.timestamps


def _top_pods(a: i.TopPodsArgs) -> list[str]:
    sort = [f"--sort-by={a.sort_by}"] if a.sort_by else []
    return ["top", "pods", *_ns(a), *_selectors(a), *["--containers"] * a.containers, *sort]


def _top_nodes(a: i.TopNodesArgs) -> list[str]:
    return ["top", "nodes", *_selectors(a), *([f"--sort-by={a.sort_by}"] if a.sort_by else [])]


def _rollout_history(a: i.RolloutHistoryArgs) -> list[str]:
    revision = [f"--revision={a.revision}"] if a.revision else []
    return ["rollout", "history", f"{a.kind}/{a.name}", *revision, *_ns(a)]


def _api_resources(a: i.ApiResourcesArgs) -> list[str]:
    out = ["api-resources", "--output=wide"]
    out += [f"--api-group={a.api_group}"] if a.api_group is not None else []
    return out + ([f"--namespaced={str(a.namespaced).lower()}"] if a.namespaced is not None else [])


def _can_i(a: i.CanIArgs) -> list[str]:
    target = f"{a.resource}/{a.name}" if a.name else a.resource
    sub = [f"--subresource={a.subresource}"] if a.subresource else []
    return ["auth", "can-i", a.verb, target, *sub, *_ns(a)]


def _explain(a: i.ExplainArgs) -> list[str]:
    version = [f"--api-version={a.api_version}"] if a.api_version else []
    return ["explain", a.field_path, *["--recursive"] * a.recursive, *version]


def _kubectl(a: i.KubectlArgs) -> list[str]:
    return a.argv[1:] if a.argv[0] == "kubectl" else list(a.argv)


_SPECIAL = [
    ToolSpec("pod_logs", "Pod logs",
             "A bounded window of a pod's logs (kubectl logs --tail N): pick the container, a --since "
             "window, or the previous (crashed) instance. Never follows; at most 200 lines are shown, the "
             "rest is cached and named in agent_context. Bearer tokens and passwords in lines are redacted.",
             i.LogsArgs, _logs, "text"),
    ToolSpec("top_pods", "Top pods",
             "CPU and memory usage of pods from the metrics API (kubectl top pods), optionally per "
             "container.",
             i.TopPodsArgs, _top_pods, "table"),
    ToolSpec("top_nodes", "Top nodes",
             "CPU and memory usage of nodes, absolute and as % of allocatable (kubectl top nodes).",
             i.TopNodesArgs, _top_nodes, "table"),
    ToolSpec("rollout_status", "Rollout status",
             "Whether a deployment/statefulset/daemonset rollout is complete, without waiting "
             "(kubectl rollout status --watch=false).",
             i.RolloutArgs,
             lambda a: ["rollout", "status", f"{a.kind}/{a.name}", "--watch=false", *_ns(a)], "text"),
    ToolSpec("rollout_history", "Rollout history",
             "Revisions of a deployment/statefulset/daemonset (kubectl rollout history), or one revision's "
             "pod template.",
             i.RolloutHistoryArgs, _rollout_history, "text"),
    ToolSpec("api_resources", "API resources",
             "Resource types the server offers, with short names, API version, scope, kind and verbs "
             "(kubectl api-resources -o wide).",
             i.ApiResourcesArgs, _api_resources, "table"),
    ToolSpec("cluster_info", "Cluster info",
             "Addresses of the control plane and cluster services (kubectl cluster-info).",
             i.NoArgs, lambda a: ["cluster-info"], "text"),
    ToolSpec("auth_can_i", "Can I?",
             "Whether the pinned identity may perform an action (kubectl auth can-i VERB RESOURCE[/NAME]); "
             "asking is read-only even for write verbs.",
             i.CanIArgs, _can_i, "can_i"),
    ToolSpec("explain", "Explain a field",
             "Schema documentation of a resource or field path from the server's OpenAPI (kubectl explain).",
             i.ExplainArgs, _explain, "text"),
    ToolSpec("list_secrets", "List Secrets",
             "Secrets by name, type and number of keys (kubectl get secrets). Values and key names are never "
             "returned: the policy blocks every output that would show them.",
             i.ListArgs, lambda a: ["get", "secrets", *_ns(a), *_selectors(a)], "secrets"),
    ToolSpec("get_secret", "Get Secret metadata",
             "One Secret's name, type, key count, age and labels (kubectl get secrets NAME --show-labels); "
             "every value is [REDACTED] and key names are withheld by policy.",
             i.NameArgs, lambda a: ["get", "secrets", a.name, "--show-labels", *_ns(a)], "secret"),
    ToolSpec("kubectl_read", "kubectl (read-only)",
             "Any other read-only kubectl call, as an argument list (no shell). It is judged by the same "
             "policy as the shell shim: mutating verbs, exec/port-forward, secret values, other contexts, "
             "--server/--token and the like are refused with the rule id and reason. The context is pinned.",
             i.KubectlArgs, _kubectl, "raw"),
]  # fmt: skip

TOOLS: tuple[ToolSpec, ...] = (*(t for kind in KINDS for t in _kind_tools(kind)), *_SPECIAL)
