"""The API proxy against a real kube-apiserver: clients that skip the shim cannot write or read a value.

The session runs as the admin user, who may write and read Secrets: only kro's proxy stands between the
clients and the server, and the server's own audit log is the judge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from envtest_cluster import ADMIN_USER, SEEDED_NAMESPACE, SEEDED_SECRET_NAME, RealCluster
from test_kro_e2e import KroRun, files_containing, secret_forms, settled_audit_events, write_violations

from kro.sandbox.session_dir import find_real

pytestmark = pytest.mark.e2e

CLIENTS = textwrap.dedent(
    """
    import base64, json, os, subprocess, sys, tempfile
    import yaml
    from kubernetes import client, config
    cfg = yaml.safe_load(open(os.environ["KUBECONFIG"]))
    server = cfg["clusters"][0]["cluster"]["server"]
    token = cfg["users"][0]["user"]["token"]
    ca = tempfile.NamedTemporaryFile(suffix=".crt", delete=False)
    ca.write(base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]))
    ca.close()
    ns, name = sys.argv[1], sys.argv[2]
    def curl(*args):
        argv = ["curl", "-sS", "--cacert", ca.name, "-H", "Authorization: Bearer " + token, *args]
        return subprocess.run(argv, capture_output=True, text=True).stdout
    out = {}
    out["curl_delete"] = curl("-X", "DELETE", f"{server}/api/v1/namespaces/{ns}/configmaps/api-config")
    out["curl_exec"] = curl("-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
                            "-H", "Sec-WebSocket-Version: 13",
                            "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                            f"{server}/api/v1/namespaces/{ns}/pods/api-0/exec?command=sh")
    out["curl_secret"] = json.loads(curl(f"{server}/api/v1/namespaces/{ns}/secrets/{name}"))
    config.load_kube_config()
    v1 = client.CoreV1Api()
    try:
        v1.delete_namespaced_config_map("api-config", ns)
        out["py_delete"] = "deleted"
    except client.ApiException as exc:
        out["py_delete"] = json.loads(exc.body)
    out["py_secret"] = v1.read_namespaced_secret(name, ns).data
    print(json.dumps(out))
    """
)


def test_every_client_meets_the_policy_at_the_api(real_cluster: RealCluster, tmp_path: Path) -> None:
    """kubectl by path, a login shell, env -i, curl and the Python client: kro's 403, no write, no value."""
    real = find_real("kubectl", os.environ.get("PATH", ""))
    assert real
    (tmp_path / "clients.py").write_text(CLIENTS)
    start = len(settled_audit_events(real_cluster))
    ns = SEEDED_NAMESPACE
    bare = "env -i PATH=/usr/bin:/bin KUBECONFIG=$KUBECONFIG kubectl"
    script = f"""
        cd {tmp_path}  # env -i drops HOME: kubectl then caches under the working directory
        {real} delete configmap api-config -n {ns}; echo "rc=$?"
        {os.path.realpath(real)} delete configmap api-config -n {ns}; echo "rc=$?"
        bash -lc 'kubectl delete configmap api-config -n {ns}'; echo "rc=$?"
        {bare} delete configmap api-config -n {ns}; echo "rc=$?"
        {bare} get secret {SEEDED_SECRET_NAME} -n {ns} -o yaml
        {bare} auth whoami
        {sys.executable} {tmp_path / "clients.py"} {ns} {SEEDED_SECRET_NAME}
    """
    run = KroRun(real_cluster, tmp_path)
    proc = subprocess.run(
        run.argv("plain", real_cluster.admin_context, ["sh", "-c", script]),
        env=run.env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    out, err = proc.stdout, proc.stderr
    assert out.count("rc=1") == 4, out + err
    assert err.count("Error from server (Forbidden): kro: ") == 4, err
    assert ADMIN_USER in out, "reads (the self-subject review too) go through as the session's user"
    results = json.loads(out.strip().splitlines()[-1])
    for name in ("curl_delete", "curl_exec"):
        status = json.loads(results[name])
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 403, "Forbidden"), name
        assert status["message"].startswith("kro: ")
    assert results["py_delete"]["code"] == 403
    assert results["py_delete"]["message"].startswith("kro: ")
    assert results["py_secret"], "the Secret's keys are listed"
    assert set(results["py_secret"].values()) == {""}
    assert set(results["curl_secret"]["data"].values()) == {""}
    for form in secret_forms(real_cluster):
        assert form not in out + err
    during = settled_audit_events(real_cluster)[start:]
    assert write_violations(during, ADMIN_USER) == []
    assert any(e.get("user", {}).get("username") == ADMIN_USER for e in during), "reads reached the server"
    assert files_containing([tmp_path], [real_cluster.admin_token]) == []
    api = run.audit(api=True)
    assert {r["rule"] for r in api if r["decision"] == "blocked"} >= {"api.method", "api.upgrade"}


def test_auth_can_i_answers_for_the_session_not_the_admin(real_cluster: RealCluster, tmp_path: Path) -> None:
    """api.access-review: an admin's `auth can-i delete pods` says no in a session; reads say yes."""
    script = """
        kubectl auth can-i delete pods; echo "rc=$?"
        kubectl auth can-i get pods; echo "rc=$?"
        kubectl auth can-i --list; echo "rc=$?"
    """
    run = KroRun(real_cluster, tmp_path)
    proc = subprocess.run(
        run.argv("plain", real_cluster.admin_context, ["sh", "-c", script]),
        env=run.env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    out = proc.stdout.splitlines()
    assert out[0].startswith("no - kro: this session is read-only"), proc.stdout + proc.stderr
    assert out[1:4] == ["rc=1", "yes", "rc=0"], out
    listed = "\n".join(out[4:])
    assert "[get list watch]" in listed, listed
    verbs = {line.rsplit("[", 1)[-1].rstrip("]") for line in out[5:-1] if line.strip()}
    assert verbs <= {"get list watch", "create", "get", "head"}, listed  # no "*", no delete
    outside = subprocess.run(
        [find_real("kubectl", os.environ.get("PATH", "")) or "kubectl", "--kubeconfig",
         str(real_cluster.kubeconfig), "--context", real_cluster.admin_context,
         "auth", "can-i", "delete", "pods"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert outside.stdout.strip() == "yes", "outside kro the admin may delete: the session's no is kro's"
ABANDON = textwrap.dedent(
    """
    import base64, json, os, socket, ssl, subprocess, sys, tempfile, time
    import yaml
    from kubernetes import client, config
    here, ns = sys.argv[1], sys.argv[2]
    cfg = yaml.safe_load(open(os.environ["KUBECONFIG"]))
    server = cfg["clusters"][0]["cluster"]["server"]
    token = cfg["users"][0]["user"]["token"]
    ca = os.path.join(here, "proxy-ca.crt")
    open(ca, "wb").write(base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]))
    def run(*argv, timeout=60):
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return time.monotonic() - started, done
    def handshake(name):  # tell the test, wait for it to have looked at kro-run
        open(os.path.join(here, name), "w").close()
        while not os.path.exists(os.path.join(here, name + ".seen")):
            time.sleep(0.05)
    for _ in range(3):
        run("kubectl", "get", "pods", "-n", ns)
    handshake("idle")
    config.load_kube_config()
    v1 = client.CoreV1Api()
    abandoned = []
    # raw watches ask from resourceVersion 0: open, with the pods as ADDED events (envtest answers a watch
    # without one with an error event after ~3 s)
    for _ in range(2):
        abandoned.append(run("kubectl", "wait", "--for=condition=Ready", "pod/api-1", "-n", ns,
                             "--timeout=2s"))
        abandoned.append(run("kubectl", "rollout", "status", "deployment/api", "-n", ns, "--timeout=2s"))
        abandoned.append(run("timeout", "2", "kubectl", "get", "pods", "-n", ns, "-w"))
        abandoned.append(run("curl", "-sS", "-N", "--max-time", "2", "--cacert", ca, "-H",
                             "Authorization: Bearer " + token,
                             f"{server}/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion=0"))
        resp = v1.list_namespaced_pod(ns, watch=True, resource_version="0", _preload_content=False)
        resp.read(1)  # the first event's first byte: the watch is open
        time.sleep(1)
        resp.close()
    # beside the reads: a live, quiet watch, and clients that stop reading a big answer and a watch
    live = subprocess.Popen(["kubectl", "get", "pods", "-n", ns, "-w"], stdout=subprocess.DEVNULL)
    host, port = server.removeprefix("https://").split(":")
    tls = ssl.create_default_context(cafile=ca)
    slow = []
    watch = f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion=0"
    for path in ("/openapi/v2", "/openapi/v2", watch):
        conn = tls.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
        head = f"GET {path} HTTP/1.1\\r\\nHost: {host}\\r\\nAuthorization: Bearer {token}\\r\\n\\r\\n"
        conn.sendall(head.encode())
        assert conn.recv(1)
        slow.append(conn)
    reads = [run("kubectl", "get", "pods", "-n", ns, timeout=30) for _ in range(20)]
    for conn in slow:
        conn.close()
    live.kill()
    live.wait()
    json.dump({
        "abandoned": [(round(t, 2), d.returncode, d.stderr[-300:]) for t, d in abandoned],
        "reads": [(round(t, 2), d.returncode, d.stdout.count("api-"), d.stderr[-300:]) for t, d in reads],
    }, open(os.path.join(here, "result.json"), "w"))
    handshake("done")
    """
)


def _held(pid: int) -> tuple[int, int]:
    """Descriptors and threads (kernel tasks) of a process."""
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


def _await_file(path: Path, proc: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path.name} never came"
        time.sleep(0.05)


def test_abandoned_streams_leave_the_session_responsive(real_cluster: RealCluster, tmp_path: Path) -> None:
    """kubectl wait and rollout status timeouts, get -w killed, curl and the Python client dropping a watch
    (each twice), then 20 reads beside a live `get -w` and clients that stopped reading: each under 5 s (no
    stall), and kro-run's descriptors and threads are back at their idle level (every abandoned upstream
    stream was closed)."""
    (tmp_path / "abandon.py").write_text(ABANDON)
    run = KroRun(real_cluster, tmp_path)
    cmd = [sys.executable, str(tmp_path / "abandon.py"), str(tmp_path), SEEDED_NAMESPACE]
    proc = subprocess.Popen(
        run.argv("plain", real_cluster.admin_context, cmd), env=run.env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _await_file(tmp_path / "idle", proc, 120)
        idle = _held(proc.pid)
        (tmp_path / "idle.seen").touch()
        _await_file(tmp_path / "done", proc, 300)
        deadline = time.monotonic() + 10  # the last read's connections close as its kubectl exits
        while (after := _held(proc.pid)) > idle and time.monotonic() < deadline:
            time.sleep(0.1)
        (tmp_path / "done.seen").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (out, err)
    result = json.loads((tmp_path / "result.json").read_text())
    assert all(seconds < 10 for seconds, *_ in result["abandoned"]), result["abandoned"]
    reads = result["reads"]
    assert [(code, pods) for _, code, pods, _ in reads] == [(0, 2)] * 20, reads
    assert max(seconds for seconds, *_ in reads) < 5, reads
    assert after[0] <= idle[0], f"descriptors: idle {idle[0]}, after {after[0]}"
    assert after[1] <= idle[1], f"threads: idle {idle[1]}, after {after[1]}"
    streams = [r for r in run.audit(api=True) if "watch=" in r["path"]]
    assert len(streams) >= 10, "every abandoned watch went through the proxy"
    assert all(r["state"] == "done" for r in streams), streams
    # seen to go: the curl and Python drops, the killed get -w, and the three that stopped reading at least
    gone = [r for r in run.audit(api=True) if r.get("error") == "the client went away"]
    assert len(gone) >= 9, gone
