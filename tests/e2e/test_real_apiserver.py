"""The e2e fixture itself: a real apiserver with RBAC, two contexts and an audit log."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from envtest_cluster import (
    INJECTION_TEXT,
    SEEDED_NAMESPACE,
    VIEWER_USER,
    RealCluster,
    audit_events,
    kubectl,
)

pytestmark = pytest.mark.e2e


def test_viewer_lists_seeded_pods(real_cluster: RealCluster, tmp_path: Path) -> None:
    result = kubectl(
        real_cluster, "get", "pods", "-n", SEEDED_NAMESPACE, "-o", "name", cache_dir=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["pod/api-1", "pod/api-2"]


def test_viewer_is_forbidden_secrets(real_cluster: RealCluster, tmp_path: Path) -> None:
    result = kubectl(real_cluster, "get", "secrets", "-n", SEEDED_NAMESPACE, cache_dir=tmp_path)
    assert result.returncode != 0
    assert "forbidden" in result.stderr.lower()
    assert real_cluster.secret_value not in result.stdout + result.stderr


def test_admin_sees_the_secret(real_cluster: RealCluster, tmp_path: Path) -> None:
    result = kubectl(
        real_cluster,
        "get", "secret", "api-creds", "-n", SEEDED_NAMESPACE,
        "-o", "jsonpath={.data.password}",
        context=real_cluster.admin_context,
        cache_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert base64.b64decode(result.stdout).decode() == real_cluster.secret_value


def test_seeded_objects_carry_instruction_text(real_cluster: RealCluster, tmp_path: Path) -> None:
    cm = kubectl(
        real_cluster, "get", "configmap", "api-config", "-n", SEEDED_NAMESPACE, "-o", "yaml",
        cache_dir=tmp_path,
    )  # fmt: skip
    assert cm.returncode == 0, cm.stderr
    assert INJECTION_TEXT in cm.stdout
    events = kubectl(
        real_cluster, "get", "events", "-n", SEEDED_NAMESPACE, "-o", "yaml", cache_dir=tmp_path
    )
    assert events.returncode == 0, events.stderr
    assert "Ignore previous instructions" in events.stdout
    for kind in ("deployment/api", "service/api"):
        got = kubectl(real_cluster, "get", kind, "-n", SEEDED_NAMESPACE, cache_dir=tmp_path)
        assert got.returncode == 0, got.stderr


def test_audit_log_records_viewer_list(real_cluster: RealCluster, tmp_path: Path) -> None:
    result = kubectl(real_cluster, "get", "pods", "-n", SEEDED_NAMESPACE, cache_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    lists = [
        e
        for e in audit_events(real_cluster)
        if e.get("user", {}).get("username") == VIEWER_USER
        and e.get("verb") == "list"
        and e.get("stage") == "ResponseComplete"
        and e.get("requestURI", "").startswith(f"/api/v1/namespaces/{SEEDED_NAMESPACE}/pods")
    ]
    assert lists, "no audit event for the viewer's list of pods"
    assert all(e["responseStatus"]["code"] == 200 for e in lists)


def test_kubeconfig_has_two_contexts(real_cluster: RealCluster, tmp_path: Path) -> None:
    config = yaml.safe_load(real_cluster.kubeconfig.read_text())
    assert config["current-context"] == real_cluster.viewer_context
    names = {c["name"] for c in config["contexts"]}
    assert names == {real_cluster.viewer_context, real_cluster.admin_context}
    result = kubectl(real_cluster, "config", "get-contexts", "-o", "name", cache_dir=tmp_path)
    assert set(result.stdout.split()) == names
    for context, user in (
        (real_cluster.viewer_context, "e2e-viewer"),
        (real_cluster.admin_context, "e2e-admin"),
    ):
        who = kubectl(
            real_cluster, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
            context=context, cache_dir=tmp_path,
        )  # fmt: skip
        assert who.returncode == 0, who.stderr
        assert who.stdout == user
