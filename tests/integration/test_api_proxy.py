"""The session API proxy against the demo cluster: every client that skips the shim meets kro's policy."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml
from kro_testing import BIN, KroSession

from kro.sandbox import kubeconfig as kc
from kro.sandbox.demo.fixture import FAKE_ENV_PASSWORD, FAKE_SA_TOKEN, FAKE_SECRET_PASSWORD
from kro.sandbox.demo.server import DemoCluster
from kro.sandbox.demo.testing import DemoHandle
from kro.sandbox.proxy import tls
from kro.sandbox.proxy.server import ProxyHandle, start
from kro.sandbox.session_dir import find_real
from kro.shims.api_policy import ApiPins

TOKEN = "demo-cluster-token-3f9a0c77d1e24b6a"
SECRET_VALUES = (FAKE_SECRET_PASSWORD, FAKE_SA_TOKEN, base64.b64encode(FAKE_SECRET_PASSWORD.encode()).decode())
KRO_FORBIDDEN = "Error from server (Forbidden): kro: "


def _real_kubectl() -> str:
    found = find_real("kubectl", os.environ.get("PATH", ""))
    assert found
    return found


@pytest.fixture(scope="module")
def token_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    """A TLS demo cluster that wants a bearer token; its kubeconfig also carries a client certificate."""
    if find_real("kubectl", os.environ.get("PATH", "")) is None:
        pytest.skip("kubectl is not on PATH")
    base = tmp_path_factory.mktemp("token-demo")
    with DemoCluster(port=0, token=TOKEN, request_log=base / "requests.jsonl", watch_seconds=6) as cluster:
        doc = cluster.kubeconfig()
        cert, key = tls.self_signed()
        for user in doc["users"]:
            user["user"]["client-certificate-data"] = base64.b64encode(cert).decode()
            user["user"]["client-key-data"] = base64.b64encode(key).decode()
        path = base / "kubeconfig"
        path.write_text(yaml.safe_dump(doc))
        yield DemoHandle(cluster, path, cluster.url, base / "kube-cache")


@pytest.fixture
def session(token_demo: DemoHandle, tmp_path: Path) -> KroSession:
    """A kro session (plain output, no --confine) on the token demo cluster."""
    (tmp_path / "run").mkdir(mode=0o700)
    return KroSession(token_demo, tmp_path)


def _writes(demo: DemoHandle, since: int) -> list[dict[str, Any]]:
    records = demo.cluster.requests()[since:]
    return [r for r in records if r["method"] not in ("GET", "HEAD") and "selfsubject" not in r["path"]]


CLIENTS = textwrap.dedent(
    """
    import json, os, subprocess, sys, tempfile, base64
    import yaml
    cfg = yaml.safe_load(open(os.environ["KUBECONFIG"]))
    server = cfg["clusters"][0]["cluster"]["server"]
    token = cfg["users"][0]["user"]["token"]
    ca = tempfile.NamedTemporaryFile(suffix=".crt", delete=False)
    ca.write(base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])); ca.close()
    out = {}
    def curl(*args):
        done = subprocess.run(["curl", "-sS", "--cacert", ca.name, "-H", "Authorization: Bearer " + token,
                               *args], capture_output=True, text=True)
        return done.stdout
    pod = server + "/api/v1/namespaces/demo/pods/web-7c9f8d6b5d-4xkqp"
    out["curl_delete"] = curl("-X", "DELETE", pod)
    out["curl_exec_ws"] = curl("-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
                               "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                               "-H", "Sec-WebSocket-Protocol: v5.channel.k8s.io", pod + "/exec?command=sh&stdin=true")
    out["curl_exec_spdy"] = curl("-X", "POST", "-H", "Connection: Upgrade", "-H", "Upgrade: SPDY/3.1",
                                 pod + "/exec?command=sh&stdin=true")
    out["curl_secret"] = curl(server + "/api/v1/namespaces/demo/secrets/db-creds")
    from kubernetes import client, config
    config.load_kube_config()
    v1 = client.CoreV1Api()
    try:
        v1.delete_namespaced_pod("web-7c9f8d6b5d-4xkqp", "demo")
        out["py_delete"] = "deleted"
    except client.ApiException as exc:
        out["py_delete"] = {"status": exc.status, "body": exc.body}
    secret = v1.read_namespaced_secret("db-creds", "demo")
    out["py_secret"] = {"data": secret.data, "string_data": secret.string_data}
    listed = v1.list_namespaced_secret("demo")
    out["py_secrets"] = [s.data for s in listed.items]
    print(json.dumps(out))
    """
)


def test_every_client_meets_the_policy(session: KroSession) -> None:
    """Real kubectl by path, a login shell, env -i, curl with the token and the Python client: kro's 403."""
    real = _real_kubectl()
    resolved = os.path.realpath(real)
    (session.tmp / "clients.py").write_text(CLIENTS)
    before = len(session.demo.cluster.requests())
    script = f"""
        {real} delete pod x -n demo; echo "rc=$?"
        {resolved} delete pod x -n demo; echo "rc=$?"
        bash -lc 'kubectl delete pod x -n demo'; echo "rc=$?"
        env -i PATH=/usr/bin:/bin KUBECONFIG=$KUBECONFIG kubectl delete pod x -n demo; echo "rc=$?"
        env -i PATH=/usr/bin:/bin KUBECONFIG=$KUBECONFIG kubectl get secret db-creds -n demo -o yaml
        {real} exec -n demo web-7c9f8d6b5d-4xkqp -- true; echo "rc=$?"
        {sys.executable} {session.tmp / "clients.py"}
    """
    proc = session.sh(script, timeout=180)
    out, err = proc.stdout, proc.stderr
    assert err.count(KRO_FORBIDDEN) >= 4, err
    assert out.count("rc=1") == 5, out + err
    assert "would change the cluster" in err
    results = json.loads(out.strip().splitlines()[-1])
    for name in ("curl_delete", "curl_exec_ws", "curl_exec_spdy"):
        status = json.loads(results[name])
        assert status["kind"] == "Status" and status["code"] == 403, (name, status)
        assert status["reason"] == "Forbidden"
        assert status["message"].startswith("kro: "), status
    py = results["py_delete"]
    assert py["status"] == 403
    assert json.loads(py["body"])["message"].startswith("kro: ")
    assert set(results["py_secret"]["data"]) == {"username", "password"}
    assert all(v in ("", None) for v in results["py_secret"]["data"].values())
    assert all(v in ("", None) for data in results["py_secrets"] for v in (data or {}).values())
    everything = out + err
    for value in SECRET_VALUES:
        assert value not in everything
    assert _writes(session.demo, before) == [], "nothing but reads reached the server"
    api = session.audit(api=True)
    blocked = [r for r in api if r["decision"] == "blocked"]
    assert {r["rule"] for r in blocked} >= {"api.method"}
    assert any(r["method"] == "DELETE" and r["status"] == 403 for r in blocked)
    assert all(r["session"] == api[0]["session"] for r in api)


def _credentials(doc: dict[str, Any]) -> list[str]:
    """Every credential string of a kubeconfig's users, also decoded."""
    found = []
    for user in doc["users"]:
        for key in ("token", "client-certificate-data", "client-key-data"):
            value = user["user"].get(key)
            if value:
                found.append(value)
                if key != "token":
                    pem = base64.b64decode(value).decode()
                    found += [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return found


def test_session_holds_no_credential_of_the_kubeconfig(session: KroSession) -> None:
    """No file in the session dir, nor the agent's environment, holds the real token, cert or key."""
    original = yaml.safe_load(session.demo.kubeconfig.read_text())
    secrets = _credentials(original)
    assert len(secrets) > 3
    seen = session.tmp / "seen"
    script = (f'mkdir {seen}; env > {seen}/env; cp "$KUBECONFIG" {seen}/kubeconfig; '
              f'cp -r "$KRO_SESSION" {seen}/session; kubectl get pods -n demo')  # fmt: skip
    proc = session.sh(script)
    assert proc.returncode == 0, proc.stderr
    assert "web-" in proc.stdout, "the proxy authenticates upstream with the real credentials"
    files = [p for p in seen.rglob("*") if p.is_file()]
    assert any(p.name == "session.json" for p in files)
    for path in files:
        text = path.read_bytes().decode(errors="replace")
        for value in secrets:
            assert value not in text, path
    doc = yaml.safe_load((seen / "kubeconfig").read_text())
    assert doc["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")
    assert set(doc["clusters"][0]["cluster"]) == {"server", "certificate-authority-data"}
    assert set(doc["users"][0]["user"]) == {"token"}
    assert doc["users"][0]["user"]["token"] != TOKEN
    assert [c["name"] for c in doc["contexts"]] == ["kro-demo"]
    assert doc["contexts"][0]["context"]["namespace"] == "demo"
