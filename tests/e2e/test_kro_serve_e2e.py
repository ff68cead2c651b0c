"""`kro serve` (MCP) against the real kube-apiserver, as the viewer: reads answer, policy and RBAC hold."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from envtest_cluster import ADMIN_CONTEXT, SEEDED_NAMESPACE, SEEDED_SECRET_VALUE, VIEWER_CONTEXT, RealCluster
from kro_testing import calls_of
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

KRO = str(Path(sys.executable).parent / "kro")


def _calls(cluster: RealCluster, tmp: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Start `kro serve` pinned to the viewer context and make the calls in order."""
    env = {name: str(tmp / name.lower()) for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")}
    for path in env.values():
        Path(path).mkdir(mode=0o700, exist_ok=True)
    args = ["serve", "--kubeconfig", str(cluster.kubeconfig), "--context", VIEWER_CONTEXT,
            "--audit-log", str(tmp / "audit.jsonl")]  # fmt: skip

    async def run() -> list[Any]:
        params = StdioServerParameters(command=KRO, args=args, env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return [
                await session.call_tool(name, arguments, read_timeout_seconds=60) for name, arguments in calls
            ]

    return anyio.run(run)


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content) + json.dumps(
        result.structured_content
    )


@pytest.mark.e2e
def test_kro_serve_tools_answer_against_a_real_apiserver(real_cluster: RealCluster, tmp_path: Path) -> None:
    """Read tools answer, RBAC's Forbidden is a typed user error, the policy blocks, nothing leaks."""
    pods, deploy, secrets, blocked, other, can_i = _calls(
        real_cluster,
        tmp_path,
        [
            ("list_pods", {"namespace": SEEDED_NAMESPACE}),
            ("get_deployment", {"name": "api", "namespace": SEEDED_NAMESPACE}),
            ("list_secrets", {"namespace": SEEDED_NAMESPACE}),
            ("kubectl_read", {"argv": ["delete", "pod", "api-1", "-n", SEEDED_NAMESPACE]}),
            ("kubectl_read", {"argv": ["--context", ADMIN_CONTEXT, "get", "pods"]}),
            ("auth_can_i", {"verb": "delete", "resource": "pods", "namespace": SEEDED_NAMESPACE}),
        ],
    )
    assert not pods.is_error, _text(pods)
    assert {item["name"] for item in pods.structured_content["items"]} >= {"api-1", "api-2"}
    assert not deploy.is_error, _text(deploy)
    assert deploy.structured_content["object"]["metadata"]["name"] == "api"
    assert secrets.is_error
    assert "forbidden" in _text(secrets).lower()
    assert '"user"' in _text(secrets)
    assert blocked.is_error
    assert "verb.mutating" in _text(blocked)
    assert other.is_error
    assert "global.context-pinned" in _text(other)
    assert not can_i.is_error
    assert can_i.structured_content["allowed"] is False
    for result in (pods, deploy, secrets, blocked, other, can_i):
        assert SEEDED_SECRET_VALUE not in _text(result)
    # the calls, each call record with its outcome folded in
    audit = calls_of(tmp_path / "audit.jsonl", api=False)
    assert len(audit) == 6
    assert {r["tool"] for r in audit} == {"mcp"}
    assert {r["context"] for r in audit} == {VIEWER_CONTEXT}
    # kro serve runs behind the session API proxy: the calls that ran kubectl reached the cluster through it
    api = calls_of(tmp_path / "audit.jsonl", api=True)
    assert api, "no call went through the session API proxy"
    assert {r["session"] for r in api} == {r["session"] for r in audit}
