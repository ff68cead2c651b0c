"""Typed, constrained tool arguments: what an agent may pass, checked before any kubectl argv exists."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from pydantic import ConfigDict, Field, StringConstraints

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
# Names never start with '-', so kubectl can never read a value as a flag.
Name = Annotated[str, StringConstraints(pattern=rf"^{_LABEL}(\.{_LABEL})*$", max_length=253)]
Label = Annotated[str, StringConstraints(pattern=rf"^{_LABEL}$", max_length=63)]
Selector = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./=!,() -]+$", max_length=1024)]
FieldSelector = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./=!,-]+$", max_length=1024)]
Duration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(ms|s|m|h))+$", max_length=32)]
ResourceType = Annotated[
    str, StringConstraints(pattern=rf"^{_LABEL}(\.{_LABEL})*(/{_LABEL})?$", max_length=253)
]
Arg = Annotated[str, StringConstraints(max_length=4096)]

_NS = "namespace (DNS-1123 label); omit for the session's default namespace"
_ALL = "every namespace (refused when kro serve is limited to some namespaces)"
_LABELS = "label selector, e.g. app=web,tier!=db or 'env in (prod,stage)'"
_FIELDS = "field selector, e.g. status.phase=Running or spec.nodeName=demo-worker"


class Args(ArgModelBase):
    """Base of every tool's arguments: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class NoArgs(Args):
    """No arguments."""


class ClusterListArgs(Args):
    """Filters for listing a cluster-scoped kind."""

    label_selector: Selector | None = Field(None, description=_LABELS)
    field_selector: FieldSelector | None = Field(None, description=_FIELDS)


class ListArgs(ClusterListArgs):
    """Filters for listing a namespaced kind."""

    namespace: Label | None = Field(None, description=_NS)
    all_namespaces: bool = Field(False, description=_ALL)


class EventListArgs(ListArgs):
    """Filters for listing events."""

    object_name: Name | None = Field(None, description="only events about the object of this name")
    event_type: Literal["Normal", "Warning"] | None = Field(None, description="only events of this type")


class ClusterNameArgs(Args):
    """One cluster-scoped object."""

    name: Name = Field(description="object name (DNS-1123 subdomain)")


class NameArgs(ClusterNameArgs):
    """One namespaced object."""

    namespace: Label | None = Field(None, description=_NS)


class LogsArgs(Args):
    """A bounded window of one pod's logs."""

    name: Name = Field(description="pod name")
    namespace: Label | None = Field(None, description=_NS)
    container: Label | None = Field(None, description="container name; omit for the pod's default container")
    tail: int = Field(100, ge=1, le=5000, description="the last N lines (1..5000; at most 200 are shown)")
    since: Duration | None = Field(None, description="only lines newer than this, e.g. 15m or 1h30m")
    previous: bool = Field(False, description="logs of the previous (crashed) container instance")
    timestamps: bool = Field(False, description="prefix each line with its RFC 3339 timestamp")


class TopPodsArgs(Args):
    """Which pods' usage to show."""

    namespace: Label | None = Field(None, description=_NS)
    all_namespaces: bool = Field(False, description=_ALL)
    label_selector: Selector | None = Field(None, description=_LABELS)
    containers: bool = Field(False, description="one row per container instead of per pod")
    sort_by: Literal["cpu", "memory"] | None = Field(None, description="sort by cpu or memory")


class TopNodesArgs(Args):
    """Which nodes' usage to show."""

    label_selector: Selector | None = Field(None, description=_LABELS)
    sort_by: Literal["cpu", "memory"] | None = Field(None, description="sort by cpu or memory")


class RolloutArgs(Args):
    """A workload that has rollouts."""

    kind: Literal["deployment", "statefulset", "daemonset"] = Field("deployment", description="workload kind")
    name: Name = Field(description="workload name")
    namespace: Label | None = Field(None, description=_NS)


class RolloutHistoryArgs(RolloutArgs):
    """A workload's rollout history."""

    revision: int | None = Field(None, ge=1, description="show this revision's pod template")


class ApiResourcesArgs(Args):
    """Filters for the server's resource types."""

    api_group: str | None = Field(
        None, pattern=r"^[a-z0-9.-]*$", max_length=253, description="only this API group ('' = core)"
    )
    namespaced: bool | None = Field(None, description="only namespaced (true) or cluster-scoped (false)")


class CanIArgs(Args):
    """One access question for the pinned identity."""

    verb: Literal[
        "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate", "*"
    ] = Field(description="the API verb to ask about")
    resource: ResourceType = Field(description="resource type, e.g. pods, deployments.apps, pods/log")
    name: Name | None = Field(None, description="a specific object's name")
    subresource: Label | None = Field(None, description="a subresource such as log, exec or scale")
    namespace: Label | None = Field(None, description=_NS)
    all_namespaces: bool = Field(False, description="ask about every namespace")


class ExplainArgs(Args):
    """A resource type or field path to document."""

    field_path: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*$",
        max_length=253,
        description="resource or field path, e.g. pods, pods.spec.containers, deployments.spec.strategy",
    )
    recursive: bool = Field(False, description="list every nested field (names and types only)")
    api_version: str | None = Field(
        None, pattern=r"^([a-z0-9.-]+/)?v[0-9]+[a-z0-9]*$", max_length=253, description="e.g. apps/v1"
    )


class KubectlArgs(Args):
    """A raw kubectl argument vector, judged by the policy like any shell call."""

    argv: list[Arg] = Field(
        min_length=1,
        max_length=64,
        description='kubectl arguments without "kubectl", e.g. ["get", "pods", "-n", "demo", "-o", "wide"]',
    )
