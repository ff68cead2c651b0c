"""The caller's environment and kubectl's file flags against a real kube-apiserver (HTTP/2, bearer token)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from envtest_cluster import VIEWER_USER, RealCluster
from test_kro_e2e import KroRun, settled_audit_events, write_violations

pytestmark = pytest.mark.e2e


def test_godebug_never_reaches_kubectl(real_cluster: RealCluster, tmp_path: Path) -> None:
    """GODEBUG=http2debug=1 makes kubectl print its Authorization header; through kro it prints nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "KUBECTL_"))}
    direct = subprocess.run(
        ["kubectl", f"--kubeconfig={real_cluster.kubeconfig}", f"--context={real_cluster.viewer_context}",
         "get", "ns", "default"],
        env={**env, "GODEBUG": "http2debug=1", "KUBERC": "off"}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert real_cluster.viewer_token in direct.stderr, "control: kubectl itself prints the token"
    run = KroRun(real_cluster, tmp_path)
    script = (
        "GODEBUG=http2debug=1 kubectl get ns default; echo rc=$?; "
        f"kubectl get ns default -o go-template-file={real_cluster.kubeconfig}; echo rc=$?"
    )
    proc = subprocess.run(
        run.argv("plain", real_cluster.viewer_context, ["sh", "-c", script]), env=run.env(),
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert proc.stdout.splitlines()[-1] == "rc=77", proc.stdout
    assert "rc=0" in proc.stdout
    assert real_cluster.viewer_token not in proc.stdout + proc.stderr
    assert "http2:" not in proc.stderr
    assert [r["rule"] for r in run.audit()] == ["allowed", "read.local-file"]
    assert write_violations(settled_audit_events(real_cluster), VIEWER_USER) == []
