"""`kro serve` through the official MCP SDK client, on the demo cluster with the real kubectl (issue 8)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from kro_testing import BIN, calls_of
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult

from kro.democluster.fixture import (
    CRASHLOOP_POD,
    FAKE_BEARER_TOKEN,
    FAKE_ENV_PASSWORD,
    FAKE_SA_TOKEN,
    FAKE_SECRET_PASSWORD,
)
from kro.democluster.testing import DemoHandle
from kro.mcp import docs, replies
from kro.mcp.server import build_parser
from kro.mcp.tools import TOOLS

FAKES = (FAKE_SECRET_PASSWORD, FAKE_BEARER_TOKEN, FAKE_ENV_PASSWORD, FAKE_SA_TOKEN)
LEAK_MARKERS = (*FAKES, *(base64.b64encode(f.encode()).decode() for f in FAKES))


# --- a synchronous client over one `kro serve` process -------------------------------------------


@dataclass
class Server:
    """One `kro serve` over stdio, driven from sync tests through a blocking portal."""

    portal: BlockingPortal
    session: ClientSession
    audit_log: Path
    init_seconds: float
    pipeline_calls: int = 0
    results: list[CallToolResult] = field(default_factory=list)

    def call(self, name: str, args: dict[str, Any]) -> CallToolResult:
        """Call a tool; counts the calls that reached the pipeline (they, and only they, carry structure)."""
        result = self.portal.call(lambda: self.session.call_tool(name, args, read_timeout_seconds=60))
        assert isinstance(result, CallToolResult)
        self.pipeline_calls += result.structured_content is not None
        self.results.append(result)
        return result

    def call_together(self, name: str, args: dict[str, Any], times: int) -> list[CallToolResult]:
        """The same call `times` times at once."""

        async def many() -> list[CallToolResult]:
            out: list[CallToolResult] = []

            async def one() -> None:
                result = await self.session.call_tool(name, args, read_timeout_seconds=60)
                assert isinstance(result, CallToolResult)
                out.append(result)

            async with anyio.create_task_group() as group:
                for _ in range(times):
                    group.start_soon(one)
            return out

        results = self.portal.call(many)
        self.pipeline_calls += sum(r.structured_content is not None for r in results)
        self.results.extend(results)
        return results

    def audit(self) -> list[dict[str, Any]]:
        """The tool calls audited so far, each call record with its outcome folded in."""
        return calls_of(self.audit_log, api=False)

    def api(self) -> list[dict[str, Any]]:
        """The session API proxy's records, one per request kubectl sent it."""
        return calls_of(self.audit_log, api=True)


def _env(tmp: Path) -> dict[str, str]:
    dirs = {name: tmp / name.lower() for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")}
    for path in dirs.values():
        path.mkdir(mode=0o700, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


@asynccontextmanager
async def _connect(
    args: list[str], tmp: Path, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[ClientSession, float]]:
    params = StdioServerParameters(
        command=str(BIN / "kro"), args=["serve", *args], env={**_env(tmp), **(env or {})}
    )
    started = time.monotonic()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session, time.monotonic() - started


@contextmanager
def serve(
    kubeconfig: Path, tmp: Path, *extra: str, audit: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start `kro serve --kubeconfig K --context kro-demo --audit-log tmp/audit.jsonl EXTRA...`."""
    audit = audit or tmp / "audit.jsonl"
    args = ["--kubeconfig", str(kubeconfig), "--context", "kro-demo", "--audit-log", str(audit), *extra]
    connect = _connect(args, tmp, env)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(connect) as conn:
        yield Server(portal, conn[0], audit, conn[1])


@pytest.fixture(scope="module")
def requests_before(demo_cluster: DemoHandle) -> int:
    """How many requests the shared demo cluster had seen before this module's servers started."""
    return len(demo_cluster.cluster.requests())


@pytest.fixture(scope="module")
def server(
    demo_cluster: DemoHandle, tmp_path_factory: pytest.TempPathFactory, requests_before: int
) -> Iterator[Server]:
    """One server for the module, pinned to kro-demo of the demo cluster."""
    with serve(demo_cluster.kubeconfig, tmp_path_factory.mktemp("mcp")) as srv:
        yield srv


@pytest.fixture(scope="module")
def pinned_server(demo_cluster: DemoHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server limited to namespace demo (kro serve -n demo)."""
    with serve(demo_cluster.kubeconfig, tmp_path_factory.mktemp("mcp-ns"), "--namespace", "demo") as srv:
        yield srv


def _everything(result: CallToolResult) -> str:
    texts = [getattr(block, "text", "") for block in result.content]
    return "\n".join(texts) + json.dumps(result.structured_content)


def _assert_no_leak(result: CallToolResult) -> None:
    seen = _everything(result)
    for marker in LEAK_MARKERS:
        assert marker not in seen, f"secret value leaked: {marker[:12]}..."


def _event_name(demo: DemoHandle) -> str:
    out = demo.kubectl("--context", "kro-demo", "get", "events", "-n", "demo", "-o", "name")
    return out.stdout.split()[0].split("/")[-1]


# --- listing ------------------------------------------------------------------------------------


def test_tools_are_listed_read_only_and_typed(server: Server) -> None:
    """At least 24 tools, all readOnlyHint, none destructive, each described and with a closed schema."""
    tools = server.portal.call(server.session.list_tools).tools
    assert len(tools) >= 24
    assert {t.name for t in tools} == {spec.name for spec in TOOLS}
    for tool in tools:
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True, tool.name
        assert tool.annotations.destructive_hint is False, tool.name
        assert len(tool.description or "") > 40, tool.name
        assert tool.input_schema.get("additionalProperties") is False, tool.name
        assert (tool.output_schema or {}).get("type") == "object", tool.name


# --- every tool, with sensible arguments --------------------------------------------------------

DEMO = {"namespace": "demo"}
CALLS = [
    pytest.param("list_namespaces", {}, "demo", id="list_namespaces"),
    pytest.param("get_namespace", {"name": "demo"}, '"name": "demo"', id="get_namespace"),
    pytest.param("describe_namespace", {"name": "demo"}, "Status:", id="describe_namespace"),
    pytest.param("list_nodes", {}, "demo-worker", id="list_nodes"),
    pytest.param("get_node", {"name": "demo-worker"}, '"kind": "Node"', id="get_node"),
    pytest.param("describe_node", {"name": "demo-worker"}, "Capacity:", id="describe_node"),
    pytest.param("list_pods", DEMO, "CrashLoopBackOff", id="list_pods"),
    pytest.param("get_pod", {"name": CRASHLOOP_POD, **DEMO}, "DB_PASSWORD", id="get_pod"),
    pytest.param("describe_pod", {"name": CRASHLOOP_POD, **DEMO}, "DB_PASSWORD", id="describe_pod"),
    pytest.param("list_deployments", {"all_namespaces": True}, "coredns", id="list_deployments"),
    pytest.param("get_deployment", {"name": "web", **DEMO}, '"kind": "Deployment"', id="get_deployment"),
    pytest.param("describe_deployment", {"name": "web", **DEMO}, "Replicas:", id="describe_deployment"),
    pytest.param("list_statefulsets", DEMO, "db", id="list_statefulsets"),
    pytest.param("get_statefulset", {"name": "db", **DEMO}, "POSTGRES_PASSWORD", id="get_statefulset"),
    pytest.param("describe_statefulset", {"name": "db", **DEMO}, "postgres", id="describe_statefulset"),
    pytest.param("list_daemonsets", {"namespace": "kube-system"}, "kube-proxy", id="list_daemonsets"),
    pytest.param("get_daemonset", {"name": "kube-proxy", "namespace": "kube-system"}, "DaemonSet",
                 id="get_daemonset"),
    pytest.param("describe_daemonset", {"name": "kube-proxy", "namespace": "kube-system"}, "kube-proxy",
                 id="describe_daemonset"),
    pytest.param("list_jobs", DEMO, "db-migrate", id="list_jobs"),
    pytest.param("get_job", {"name": "db-migrate", **DEMO}, '"kind": "Job"', id="get_job"),
    pytest.param("describe_job", {"name": "db-migrate", **DEMO}, "Completions", id="describe_job"),
    pytest.param("list_cronjobs", DEMO, "nightly-report", id="list_cronjobs"),
    pytest.param("get_cronjob", {"name": "nightly-report", **DEMO}, '"kind": "CronJob"', id="get_cronjob"),
    pytest.param("describe_cronjob", {"name": "nightly-report", **DEMO}, "Schedule:", id="describe_cronjob"),
    pytest.param("list_services", DEMO, "ClusterIP", id="list_services"),
    pytest.param("get_service", {"name": "web", **DEMO}, '"kind": "Service"', id="get_service"),
    pytest.param("describe_service", {"name": "web", **DEMO}, "Endpoints:", id="describe_service"),
    pytest.param("list_ingresses", DEMO, "shop.demo.example", id="list_ingresses"),
    pytest.param("get_ingress", {"name": "web", **DEMO}, '"kind": "Ingress"', id="get_ingress"),
    pytest.param("describe_ingress", {"name": "web", **DEMO}, "shop.demo.example", id="describe_ingress"),
    pytest.param("list_configmaps", DEMO, "app-config", id="list_configmaps"),
    pytest.param("get_configmap", {"name": "app-config", **DEMO}, "FEATURE_FLAGS", id="get_configmap"),
    pytest.param("describe_configmap", {"name": "app-config", **DEMO}, "LOG_FORMAT", id="describe_configmap"),
    pytest.param("list_persistentvolumeclaims", DEMO, "data-db-0", id="list_persistentvolumeclaims"),
    pytest.param("get_persistentvolumeclaim", {"name": "data-db-0", **DEMO}, "PersistentVolumeClaim",
                 id="get_persistentvolumeclaim"),
    pytest.param("describe_persistentvolumeclaim", {"name": "data-db-0", **DEMO}, "Bound",
                 id="describe_persistentvolumeclaim"),
    pytest.param("list_events", {"event_type": "Warning", **DEMO}, "BackOff", id="list_events"),
    pytest.param("get_event", {"name": "EVENT", **DEMO}, '"kind": "Event"', id="get_event"),
    pytest.param("describe_event", {"name": "EVENT", **DEMO}, "Reason:", id="describe_event"),
    pytest.param("pod_logs", {"name": CRASHLOOP_POD, "tail": 50, **DEMO}, "Bearer [REDACTED]", id="pod_logs"),
    pytest.param("top_pods", DEMO, "cpu_cores", id="top_pods"),
    pytest.param("top_nodes", {"sort_by": "cpu"}, "demo-control-plane", id="top_nodes"),
    pytest.param("rollout_status", {"name": "web", **DEMO}, "rollout", id="rollout_status"),
    pytest.param("rollout_history", {"name": "web", **DEMO}, "REVISION", id="rollout_history"),
    pytest.param("api_resources", {"api_group": "apps"}, "deployments", id="api_resources"),
    pytest.param("cluster_info", {}, "control plane", id="cluster_info"),
    pytest.param("auth_can_i", {"verb": "list", "resource": "pods", **DEMO}, '"allowed": true',
                 id="auth_can_i"),
    pytest.param("explain", {"field_path": "pods.spec.containers"}, "FIELD", id="explain"),
    pytest.param("list_secrets", DEMO, '"key_count": 2', id="list_secrets"),
    pytest.param("get_secret", {"name": "db-creds", **DEMO}, '"values": "[REDACTED]"', id="get_secret"),
    pytest.param("kubectl_read", {"argv": ["get", "deploy", "web", "-n", "demo", "-o", "json"]},
                 "[REDACTED]", id="kubectl_read"),
]  # fmt: skip


def test_every_tool_has_a_case() -> None:
    """The table below calls every tool the server lists."""
    assert {case.values[0] for case in CALLS} == {spec.name for spec in TOOLS}


@pytest.mark.parametrize(("tool", "args", "expect"), CALLS)
def test_tool_call(
    server: Server, demo_cluster: DemoHandle, tool: str, args: dict[str, Any], expect: str
) -> None:
    """Each tool answers from the cluster, matches its outputSchema (the client checks) and leaks nothing."""
    if args.get("name") == "EVENT":
        args = {**args, "name": _event_name(demo_cluster)}
    result = server.call(tool, args)
    assert not result.is_error, _everything(result)
    assert result.structured_content is not None
    assert result.structured_content["kube_context"] == "kro-demo"
    assert expect in _everything(result)
    _assert_no_leak(result)


@pytest.mark.parametrize(
    ("tool", "args", "key"),
    [
        pytest.param("list_pods", DEMO, "items", id="table-rows"),
        pytest.param("get_pod", {"name": CRASHLOOP_POD, **DEMO}, "object", id="object-read-back-whole"),
        pytest.param("describe_pod", {"name": CRASHLOOP_POD, **DEMO}, "text", id="text"),
    ],
)
def test_structured_shapes(server: Server, tool: str, args: dict[str, Any], key: str) -> None:
    """Lists are rows, gets are whole objects (even past the 200-line preview), describes are text."""
    out = server.call(tool, args).structured_content
    assert out is not None
    assert out[key]
    assert out["truncated"] is False
    if key == "items":
        crash = next(row for row in out["items"] if row["name"] == CRASHLOOP_POD)
        assert crash["status"] == "CrashLoopBackOff"
        assert crash["node"] == "demo-worker"
    if key == "object":
        assert out["object"]["metadata"]["name"] == CRASHLOOP_POD
        assert "managedFields" not in out["object"]["metadata"]


def test_secrets_show_metadata_only(server: Server) -> None:
    """list_secrets/get_secret give names, types and key counts; values and key names never."""
    listed = server.call("list_secrets", DEMO).structured_content
    assert listed is not None
    by_name = {item["name"]: item for item in listed["items"]}
    assert by_name["db-creds"] == {"name": "db-creds", "type": "Opaque", "key_count": 2, "age": by_name[
        "db-creds"]["age"]}  # fmt: skip
    assert by_name["web-token"]["type"] == "kubernetes.io/service-account-token"
    one = server.call("get_secret", {"name": "db-creds", **DEMO}).structured_content
    assert one is not None
    assert one["secret"]["key_count"] == 2
    assert one["values"] == "[REDACTED]"
    assert "password" not in json.dumps(one)
    assert "username" not in json.dumps(one)


# --- the policy through kubectl_read ------------------------------------------------------------


def test_kubectl_read_secret_metadata_outputs(server: Server) -> None:
    """Secret names and types through jsonpath and custom-columns are answered, values never."""
    names = server.call("kubectl_read", {"argv": ["get", "secrets", "-n", "demo", "-o",
                                                  "jsonpath={.items[*].metadata.name}"]})  # fmt: skip
    assert not names.is_error, _everything(names)
    assert "db-creds" in _everything(names)
    spec = "custom-columns=NAME:.metadata.name,TYPE:.type"
    columns = server.call("kubectl_read", {"argv": ["get", "secrets", "-n", "demo", "-o", spec]})
    assert not columns.is_error
    assert "kubernetes.io/service-account-token" in _everything(columns)
    for result in (names, columns):
        _assert_no_leak(result)



@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        pytest.param(["delete", "pod", "x"], "verb.mutating", id="delete"),
        pytest.param(["get", "secret", "db-creds", "-o", "yaml"], "secret.value-exposure", id="secret-yaml"),
        pytest.param(
            ["--context", "kro-demo-other", "get", "pods"], "global.context-pinned", id="other-context"
        ),
        pytest.param(["-n", "get", "delete", "pod", "x"], "verb.mutating", id="flag-value-verb"),
        pytest.param(["get", "secrets.v1.", "-ojson"], "secret.value-exposure", id="qualified-secrets"),
        pytest.param(
            ["describe", "secret", "web-token", "-n", "demo"], "secret.value-exposure", id="describe-sa"
        ),
        pytest.param(["exec", CRASHLOOP_POD, "--", "sh"], "verb.interactive", id="exec"),
        pytest.param(["get", "pods", "--server", "https://evil.example"], "global.identity", id="server"),
        pytest.param(["get", "pods", "-v=9"], "global.verbosity", id="verbosity"),
        pytest.param(["kubectl", "apply", "-f", "x.yaml"], "verb.mutating", id="leading-kubectl"),
        pytest.param(["get", "ns", "default", "-o", "go-template-file=/etc/passwd"], "read.local-file",
                     id="read.local-file.go-template-file"),
        pytest.param(["get", "ns", "default", "-o", "templatefile", "--template", "/etc/passwd"],
                     "read.local-file", id="read.local-file.template-flag"),
        pytest.param(["get", "ns", "-o", "jsonpath-file=/etc/passwd"], "read.local-file",
                     id="read.local-file.jsonpath"),
        pytest.param(["create", "foo", "--help"], "verb.unknown", id="verb.unknown.create-plugin"),
        pytest.param(["config", "view", "-o", "jsonpath={.users[0].user.token}"], "secret.value-exposure",
                     id="secret.config-view-user-jsonpath"),
    ],
)  # fmt: skip
def test_kubectl_read_blocks_with_rule(server: Server, argv: list[str], rule: str) -> None:
    """A blocked call is an isError result with kind policy, the rule id and the reason."""
    result = server.call("kubectl_read", {"argv": argv})
    assert "root:x:0:0" not in _everything(result), "a local file reached the client"
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["kind"] == "policy"
    assert result.structured_content["rule"] == rule
    assert f"(rule {rule})" in _everything(result)
    assert result.structured_content["message"]


@pytest.mark.parametrize(
    ("argv", "verb", "resource"),
    [
        pytest.param(["delete", "pod", "x"], "delete", "pod", id="policy-fields.delete"),
        pytest.param(["get", "secrets/db-creds", "-o", "yaml"], "get", "secrets", id="policy-fields.secret"),
        pytest.param(["-n", "get", "delete", "deploy", "web"], "delete", "deploy",
                     id="policy-fields.flag-value"),
    ],
)
def test_policy_errors_carry_verb_and_resource(
    server: Server, argv: list[str], verb: str, resource: str
) -> None:
    """A refusal's verb and resource are structured fields read off the decision, not out of its text."""
    out = server.call("kubectl_read", {"argv": argv}).structured_content
    assert out is not None
    assert (out["kind"], out["verb"], out["resource"]) == ("policy", verb, resource)


@pytest.mark.parametrize(
    ("tool", "args", "kind"),
    [
        pytest.param("get_pod", {"name": "no-such-pod", **DEMO}, "user", id="not-found"),
        pytest.param("pod_logs", {"name": "db-0", "container": "nope", **DEMO}, "user", id="bad-container"),
        pytest.param("explain", {"field_path": "pods.spec.nope"}, "user", id="unknown-field"),
    ],
)
def test_failed_calls_are_typed_errors(server: Server, tool: str, args: dict[str, Any], kind: str) -> None:
    """kubectl's own errors come back as isError with kind user and kubectl's message."""
    result = server.call(tool, args)
    assert result.is_error, _everything(result)
    assert result.structured_content is not None
    assert result.structured_content["kind"] == kind


def test_all_namespaces_is_allowed_without_a_namespace_pin(server: Server) -> None:
    """Without -n pins, all_namespaces lists kube-system too."""
    out = server.call("list_pods", {"all_namespaces": True}).structured_content
    assert out is not None
    assert {"demo", "kube-system"} <= {row["namespace"] for row in out["items"]}


# --- malformed arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        pytest.param("list_pods", {"namespace": 5}, id="wrong-type"),
        pytest.param("get_pod", {}, id="missing-required"),
        pytest.param("get_pod", {"name": "--all-namespaces"}, id="flag-as-name"),
        pytest.param("get_pod", {"name": "Web"}, id="not-dns-1123"),
        pytest.param("pod_logs", {"name": "db-0", "tail": 0}, id="tail-too-small"),
        pytest.param("pod_logs", {"name": "db-0", "tail": 5001}, id="tail-too-big"),
        pytest.param("pod_logs", {"name": "db-0", "since": "yesterday"}, id="bad-duration"),
        pytest.param("list_pods", {"bogus": True}, id="unknown-key"),
        pytest.param("kubectl_read", {"argv": []}, id="empty-argv"),
        pytest.param("kubectl_read", {"argv": "get pods"}, id="argv-not-a-list"),
        pytest.param("auth_can_i", {"verb": "fly", "resource": "pods"}, id="bad-enum"),
        pytest.param("no_such_tool", {}, id="unknown-tool"),
    ],
)
def test_malformed_arguments_are_errors(server: Server, tool: str, args: dict[str, Any]) -> None:
    """Bad arguments are refused before any kubectl call, and the server keeps answering."""
    before = len(server.audit())
    result = server.call(tool, args)
    assert result.is_error
    assert result.structured_content is None
    assert len(server.audit()) == before
    assert not server.call("cluster_info", {}).is_error


def test_concurrent_calls(server: Server) -> None:
    """Calls run side by side in worker threads; bulk outputs cached at the same moment do not collide."""
    before = len(server.audit())
    results = server.call_together("kubectl_read", {"argv": ["get", "pods", "-A", "-o", "json"]}, 16)
    assert [r.is_error for r in results] == [False] * 16
    assert all(r.structured_content and r.structured_content["truncated"] for r in results)
    assert len(server.audit()) == before + 16


# --- behind the session API proxy: every output format is redacted below kubectl's formatter -------

_ENV = "{.spec.template.spec.containers[0].env[2].value}"  # web's DB_PASSWORD, a bare env value
_POD_ENV = "{.items[0].spec.containers[0].env[2].value}"
_RANGE = "{range .spec.template.spec.containers[*].env[*]}{.name}={.value}{'\\n'}{end}"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["get", "deployment", "web", "-n", "demo", "-o", f"jsonpath={_ENV}"], id="jsonpath"),
        pytest.param(["get", "pods", "-n", "demo", "-l", "app=web", "-o", f"jsonpath={_POD_ENV}"],
                     id="jsonpath-pod"),
        pytest.param(["get", "deployment", "web", "-n", "demo", "-o",
                      f"jsonpath={_RANGE}"],
                     id="jsonpath-range"),
        pytest.param(["get", "deployment", "web", "-n", "demo", "-o",
                      "custom-columns=NAME:.metadata.name,V:.spec.template.spec.containers[0].env[2].value"],
                     id="custom-columns"),
        pytest.param(["get", "deployment", "web", "-n", "demo", "-o",
                      "go-template={{(index (index .spec.template.spec.containers 0).env 2).value}}"],
                     id="go-template"),
        pytest.param(["get", "deployment", "web", "-n", "demo", "-o",
                      "go-template={{range (index .spec.template.spec.containers 0).env}}{{.value}} {{end}}"],
                     id="go-template-range"),
        pytest.param(["get", "deployment", "web", "-n", "demo", "-o", "json"], id="json"),
        pytest.param(["get", "deployment", "web", "-n", "demo", "-o", "yaml"], id="yaml"),
        pytest.param(["get", "pods", "-n", "demo", "-l", "app=web", "-o", "yaml"], id="yaml-list"),
        pytest.param(["describe", "deployment", "web", "-n", "demo"], id="describe"),
    ],
)  # fmt: skip
def test_bare_env_value_is_redacted_in_every_output_format(server: Server, argv: list[str]) -> None:
    """Issue 23 §3 (F6): kro serve runs behind the session API proxy, which redacts the object before
    kubectl formats it, so a bare env value never comes back, whatever the output format."""
    result = server.call("kubectl_read", {"argv": argv})
    assert not result.is_error, _everything(result)
    _assert_no_leak(result)
    assert "[REDACTED]" in _everything(result)


def test_every_tool_call_reaches_the_cluster_through_the_proxy(server: Server) -> None:
    """Each MCP call that ran kubectl leaves the proxy's tool "api" records, in the same session."""
    before = len(server.api())
    tools = (("list_pods", DEMO), ("get_deployment", {"name": "web", **DEMO}), ("cluster_info", {}))
    for tool, args in tools:
        assert not server.call(tool, args).is_error
        after = server.api()
        assert len(after) > before, f"{tool} reached the cluster without the API proxy"
        before = len(after)
    mcp_sessions = {r["session"] for r in server.audit()}
    assert {r["session"] for r in server.api()} == mcp_sessions


# --- every request with an id is answered (issue 22 item 8) ---------------------------------------


def test_every_request_with_an_id_is_answered(demo_cluster: DemoHandle, tmp_path: Path) -> None:
    """Raw stdio: bad params, nesting past any parser, an oversized line and broken JSON each get a JSON-RPC
    error carrying their id, and the server answers the next call."""
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    deep = "[" * 100_000 + "]" * 100_000
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": "nope"}),
        f'{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"x","arguments":{{"a":{deep}}}}}}}',
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                    "params": {"name": "kubectl_read", "arguments": {"argv": ["get", "x" * (2 << 20)]}}}),
        '{"jsonrpc":"2.0","id":5,"method":',
        json.dumps({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
                    "params": {"name": "list_pods", "arguments": DEMO}}),
    ]  # fmt: skip
    args = ["serve", "--kubeconfig", str(demo_cluster.kubeconfig), "--context", "kro-demo",
            "--audit-log", str(tmp_path / "audit.jsonl")]  # fmt: skip
    env = {**os.environ, **_env(tmp_path)}
    with subprocess.Popen([str(BIN / "kro"), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, env=env) as proc:  # fmt: skip
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write("\n".join(lines) + "\n")
        proc.stdin.flush()
        replies_: dict[int, dict[str, Any]] = {}
        timer = threading.Timer(60, proc.kill)  # a missing answer fails the test, never hangs it
        timer.start()
        while len(replies_) < 6 and (reply := proc.stdout.readline()):
            replies_[json.loads(reply)["id"]] = json.loads(reply)
        timer.cancel()
        proc.stdin.close()
    assert sorted(replies_) == [1, 2, 3, 4, 5, 6]
    codes = {i: replies_[i]["error"]["code"] for i in (2, 3, 4, 5)}
    assert codes == {2: -32602, 3: -32600, 4: -32600, 5: -32700}
    assert "limit" in replies_[3]["error"]["message"]
    assert "limit" in replies_[4]["error"]["message"]
    assert CRASHLOOP_POD in json.dumps(replies_[6]["result"])


# --- the audit log ------------------------------------------------------------------------------


def test_audit_has_one_line_per_kubectl_call(server: Server) -> None:
    """Every call that reached the pipeline was audited once, as tool mcp, pinned to kro-demo."""
    server.call("kubectl_read", {"argv": ["delete", "pod", "x"]})
    records = server.audit()
    assert len(records) == server.pipeline_calls
    assert {r["tool"] for r in records} == {"mcp"}
    assert {r["context"] for r in records} == {"kro-demo"}
    assert records[-1]["argv"] == ["delete", "pod", "x"]
    assert records[-1]["decision"] == "blocked"
    assert all(isinstance(r["argv"], list) for r in records)


def test_nothing_but_reads_reached_the_cluster(
    server: Server, demo_cluster: DemoHandle, requests_before: int
) -> None:
    """The demo cluster saw only GETs and self-subject reviews (auth can-i), whatever the tools were asked."""
    writes = [r for r in demo_cluster.cluster.requests()[requests_before:] if r["method"] != "GET"]
    assert all(r["method"] == "POST" and "selfsubject" in r["path"] for r in writes), writes


# --- a cluster that is down or hangs ------------------------------------------------------------


def _kubeconfig(path: Path, port: int) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: kro-demo\n"
        f"clusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\n"
        "users:\n- name: u\n  user: {}\n"
        "contexts:\n- name: kro-demo\n  context: {cluster: c, user: u}\n"
    )
    return path


def test_cluster_down_is_an_infra_error(tmp_path: Path) -> None:
    """A closed port: kind infra, and the server answers the next call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with serve(_kubeconfig(tmp_path / "kubeconfig", port), tmp_path) as srv:
        result = srv.call("list_pods", DEMO)
        assert result.is_error
        assert result.structured_content is not None
        assert result.structured_content["kind"] == "infra", result.structured_content
        assert srv.call("cluster_info", {}).is_error
        assert len(srv.portal.call(srv.session.list_tools).tools) == len(TOOLS)


def test_hanging_cluster_times_out_as_infra(tmp_path: Path) -> None:
    """A server that accepts and never answers: infra error after --request-timeout, serving meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        kubeconfig = _kubeconfig(tmp_path / "kubeconfig", sock.getsockname()[1])
        with serve(kubeconfig, tmp_path, "--request-timeout", "2") as srv:
            hanging = srv.portal.start_task_soon(lambda: srv.session.call_tool("list_pods", DEMO))
            assert srv.call("kubectl_read", {"argv": ["delete", "pod", "x"]}).is_error
            assert not hanging.done(), "a hanging call must not hold up the others"
            result = hanging.result(timeout=60)
            assert isinstance(result, CallToolResult)
            assert result.is_error
            assert result.structured_content is not None
            assert result.structured_content["kind"] == "infra"
            assert "no data for 2 s" in result.structured_content["message"]
            assert len(srv.portal.call(srv.session.list_tools).tools) == len(TOOLS)
            assert len(srv.audit()) == 2


def test_full_audit_log_runs_nothing(demo_cluster: DemoHandle, tmp_path: Path) -> None:
    """--audit-log /dev/full: each call is an infra error saying it was not run; none reaches the server."""
    before = len(demo_cluster.cluster.requests())
    with serve(demo_cluster.kubeconfig, tmp_path, audit=Path("/dev/full")) as srv:
        for tool, args in (("list_pods", DEMO), ("kubectl_read", {"argv": ["delete", "pod", "x"]})):
            result = srv.call(tool, args)
            assert result.is_error
            assert result.structured_content is not None
            assert result.structured_content["kind"] == "infra"
            assert "the call was not run" in result.structured_content["message"]
    assert len(demo_cluster.cluster.requests()) == before


def test_missing_kubectl_is_the_shims_infra_error(demo_cluster: DemoHandle, tmp_path: Path) -> None:
    """kubectl gone after start: the same infra error and audit outcome as the shim's (not installed at …)."""
    real = shutil.which("kubectl")
    assert real
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl").symlink_to(real)
    path = f"{bindir}{os.pathsep}{os.environ['PATH']}"
    with serve(demo_cluster.kubeconfig, tmp_path, env={"PATH": path}) as srv:
        (bindir / "kubectl").unlink()
        result = srv.call("list_pods", DEMO)
        assert result.is_error
        assert result.structured_content is not None
        assert result.structured_content["kind"] == "infra"
        said = f"kubectl is not installed at {bindir}/kubectl, where this session found it at start"
        assert said in result.structured_content["message"]
        [call] = srv.audit()
        assert (call["tool"], call["state"], call["exit_code"]) == ("mcp", "done", 69)
        assert said in call["error"]


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        pytest.param({}, None, id="default-namespace"),
        pytest.param({"namespace": "demo"}, None, id="allowed-namespace"),
        pytest.param({"namespace": "kube-system"}, "global.namespace", id="other-namespace"),
        pytest.param({"all_namespaces": True}, "global.namespace", id="all-namespaces"),
    ],
)
def test_namespace_pins_apply_to_tools(pinned_server: Server, args: dict[str, Any], rule: str | None) -> None:
    """kro serve -n demo: tools read demo by default and are refused elsewhere, like the shell."""
    result = pinned_server.call("list_pods", args)
    assert result.structured_content is not None
    if rule is None:
        assert not result.is_error
        assert CRASHLOOP_POD in {row["name"] for row in result.structured_content["items"]}
    else:
        assert result.is_error
        assert result.structured_content["rule"] == rule


# --- the pure helpers behind the shapes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "key"),
    [
        pytest.param("PORT(S)", "ports", id="ports"),
        pytest.param("CPU(%)", "cpu_percent", id="percent"),
        pytest.param("MEMORY(bytes)", "memory_bytes", id="unit"),
        pytest.param("LAST SEEN", "last_seen", id="space"),
        pytest.param("UP-TO-DATE", "up_to_date", id="dashes"),
    ],
)
def test_column_keys(header: str, key: str) -> None:
    """Table headers become stable JSON keys."""
    assert replies.column_key(header) == key


def test_parse_table_keeps_empty_cells_and_spaces() -> None:
    """Cells are cut at their header's offset: blank cells stay blank, cells with spaces stay whole."""
    text = (
        "NAME        SHORTNAMES   LAST SEEN   MESSAGE\n"
        "bindings                 5m          Back-off restarting  failed\n"
        "pods        po           12 (3m)     ok\n"
    )
    keys, rows = replies.parse_table(text)
    assert keys == ["name", "shortnames", "last_seen", "message"]
    assert rows[0] == {
        "name": "bindings",
        "shortnames": "",
        "last_seen": "5m",
        "message": "Back-off restarting  failed",
    }
    assert rows[1]["last_seen"] == "12 (3m)"


APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LAST_APPLIED = json.dumps(
    {
        "kind": "Deployment",
        "spec": {"containers": [{"env": [{"name": "DB_PASSWORD", "value": FAKE_ENV_PASSWORD}]}]},
    }
)


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({"env": [{"name": "DB_PASSWORD", "value": FAKE_ENV_PASSWORD}]}, id="env-pair"),
        pytest.param({"metadata": {"annotations": {APPLIED: LAST_APPLIED}}}, id="last-applied-annotation"),
        pytest.param({"kind": "Secret", "data": {"password": LEAK_MARKERS[len(FAKES)]},
                      "stringData": {"password": FAKE_SECRET_PASSWORD}}, id="secret-data"),
        pytest.param({"args": [f"--header=Authorization: Bearer {FAKE_BEARER_TOKEN}"]}, id="bearer"),
        pytest.param({"token": FAKE_SA_TOKEN}, id="sensitive-key"),
        pytest.param({"data": {"app.yaml": f"db:\n  password: {FAKE_SECRET_PASSWORD}\n"}}, id="multiline"),
    ],
)  # fmt: skip
def test_scrub_redacts_structurally(obj: dict[str, Any]) -> None:
    """Parsed JSON is scrubbed again, catching what a line-by-line pass cannot see."""
    clean, count = replies.scrub(obj)
    dumped = json.dumps(clean)
    assert count >= 1
    assert not any(marker in dumped for marker in LEAK_MARKERS)
    assert "[REDACTED]" in dumped


def test_scrub_keeps_harmless_values_and_drops_managed_fields() -> None:
    """Secret names, key references and JSON strings without secrets stay as they were."""
    kept = {"secretName": "db-creds", "tokenPath": "/var/run", "note": '{"a": 1,  "b": [true]}', "empty": ""}
    clean, count = replies.scrub({"metadata": {"managedFields": [{"manager": "x"}]}, **kept})
    assert count == 0
    assert clean == {"metadata": {}, **kept}


# --- contrib/mcp ---------------------------------------------------------------------------------

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "mcp"


@pytest.mark.parametrize(
    ("path", "key"),
    [
        pytest.param("claude-code/.mcp.json", "mcpServers", id="claude-code"),
        pytest.param("claude-desktop/claude_desktop_config.json", "mcpServers", id="claude-desktop"),
        pytest.param("cursor/.cursor/mcp.json", "mcpServers", id="cursor"),
        pytest.param("vscode/.vscode/mcp.json", "servers", id="vscode"),
    ],
)
def test_client_configs_start_kro_serve(path: str, key: str) -> None:
    """Each sample config is valid JSON under the client's own key and runs a valid `kro serve` line."""
    entry = json.loads((CONTRIB / path).read_text())[key]["kro"]
    assert Path(entry["command"]).name == "kro"
    assert entry["args"][0] == "serve"
    build_parser().parse_args(entry["args"][1:])


def test_readme_tool_table_is_generated() -> None:
    """contrib/mcp/README.md lists exactly the tool table (regenerate with python -m kro.mcp.docs --write)."""
    text = (CONTRIB / "README.md").read_text()
    assert docs.embed(text) == text
