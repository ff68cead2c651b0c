"""kro doctor against a real kube-apiserver whose version kubectl may be too old for (skew check)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from envtest_cluster import RealCluster
from kro_testing import BIN

from kro.doctor import minor_skew

pytestmark = pytest.mark.e2e


def test_doctor_reports_client_server_skew(real_cluster: RealCluster, tmp_path: Path) -> None:
    """The skew check names both versions and warns (with the kubectl to install) past one minor."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    proc = subprocess.run(
        [str(BIN / "kro"), "doctor", "--json", "--kubeconfig", str(real_cluster.kubeconfig),
         "--context", real_cluster.admin_context],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    skew = next(c for c in report["checks"] if c["name"] == "skew")
    versions = json.loads(
        subprocess.run(
            ["kubectl", "--kubeconfig", str(real_cluster.kubeconfig), "--context", real_cluster.admin_context,
             "version", "-o", "json"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout
    )  # fmt: skip
    client, server = versions["clientVersion"]["gitVersion"], versions["serverVersion"]["gitVersion"]
    assert f"kubectl {client}, server {server}" in skew["detail"]
    apart = minor_skew(client, server)
    assert apart is not None
    assert skew["ok"] is (apart <= 1)
    if apart > 1:
        minor = server.split(".")[1]
        assert f"install kubectl 1.{minor}" in skew["fix"]
        assert proc.returncode == 0, "a skew warns; it does not block use"
