"""The session API proxy against the demo cluster: every client that skips the shim meets kro's policy."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import ssl
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
from disk_testing import fill, small_tmpfs
from kro_testing import BIN, KroSession, calls_of, drop_after_head, envelopes, wait_for

from kro.audit_view import calls, records_of
from kro.democluster.fixture import FAKE_SA_TOKEN, FAKE_SECRET_PASSWORD
from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle
from kro.sandbox import kubeconfig as kc
from kro.sandbox.proxy import server, tls
from kro.sandbox.proxy.admission import Answer
from kro.sandbox.proxy.flow import Flow
from kro.sandbox.proxy.server import ProxyHandle, start
from kro.sandbox.session_dir import find_real
from kro.shims.api_policy import ApiPins

TOKEN = "demo-cluster-token-3f9a0c77d1e24b6a"
SECRET_VALUES = (
    FAKE_SECRET_PASSWORD,
    FAKE_SA_TOKEN,
    base64.b64encode(FAKE_SECRET_PASSWORD.encode()).decode(),
)
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
                               "-H", "Sec-WebSocket-Version: 13",
                               "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                               "-H", "Sec-WebSocket-Protocol: v5.channel.k8s.io",
                               pod + "/exec?command=sh&stdin=true")
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
        cd {session.tmp}  # env -i drops HOME: kubectl then caches under the working directory
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
    results = json.loads(out.strip().splitlines()[-1])
    for name in ("curl_delete", "curl_exec_ws", "curl_exec_spdy"):
        status = json.loads(results[name])
        assert status["kind"] == "Status", (name, status)
        assert status["code"] == 403, (name, status)
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
    script = (
        f'mkdir {seen}; env > {seen}/env; cp "$KUBECONFIG" {seen}/kubeconfig; '
        f'cp -r "$KRO_SESSION" {seen}/session; kubectl get pods -n demo'
    )
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


PLUGIN = """#!/bin/sh
# A client-go exec credential plugin that counts its runs; the first run may hand out a stale token.
n=$(( $(cat "{count}" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "{count}"
token="{token}"
[ "$n" = 1 ] && [ -n "{stale_first}" ] && token=stale-token
expiry=$(date -u -d "@$(( $(date +%s) + {lifetime} ))" +%Y-%m-%dT%H:%M:%SZ)
printf '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
printf '"status":{{"token":"%s","expirationTimestamp":"%s"}}}}\\n' "$token" "$expiry"
"""


def _plugin_kubeconfig(demo: DemoHandle, tmp: Path, *, lifetime: int, stale_first: bool) -> tuple[Path, Path]:
    count = tmp / "plugin-runs"
    script = tmp / "plugin.sh"
    script.write_text(
        PLUGIN.format(count=count, token=TOKEN, lifetime=lifetime, stale_first="yes" if stale_first else "")
    )
    script.chmod(0o700)
    doc = demo.cluster.kubeconfig()
    for user in doc["users"]:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": str(script),
                "interactiveMode": "Never",
            }
        }
    path = tmp / "plugin-kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path, count


@pytest.mark.parametrize(
    "stale_first",
    [pytest.param(False, id="exec-plugin.cached"), pytest.param(True, id="exec-plugin.rerun-on-401")],
)
def test_exec_plugin_runs_once_per_token_lifetime(
    token_demo: DemoHandle, tmp_path: Path, stale_first: bool
) -> None:
    """The proxy runs the plugin (never the agent), caches its token, and re-runs it only after a 401."""
    config, count = _plugin_kubeconfig(token_demo, tmp_path, lifetime=3600, stale_first=stale_first)
    (tmp_path / "run").mkdir(mode=0o700)
    session = KroSession(DemoHandle(token_demo.cluster, config, token_demo.url, tmp_path / "c"), tmp_path)
    proc = session.sh(
        "for i in 1 2 3 4; do kubectl get pods -n demo | grep -c web-; done; grep -c exec $KUBECONFIG"
    )
    assert proc.returncode == 1, proc.stderr  # grep -c found no exec plugin in the agent's kubeconfig
    assert proc.stdout.split() == ["3", "3", "3", "3", "0"], proc.stderr
    assert int(count.read_text()) == (2 if stale_first else 1)


def test_exec_plugin_reruns_when_its_token_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token past its expirationTimestamp (less the early margin) is fetched again, once."""
    from kro.sandbox.proxy.credentials import Credentials

    count = tmp_path / "runs"
    script = tmp_path / "plugin.sh"
    lifetime = "$(( n == 1 ? 13 : 3600 ))"  # the first token lives 13 s, the next an hour
    script.write_text(PLUGIN.format(count=count, token="t", lifetime=lifetime, stale_first=""))
    script.chmod(0o700)
    creds = Credentials.from_user(
        {"exec": {"command": str(script), "apiVersion": "client.authentication.k8s.io/v1"}}, dict(os.environ)
    )
    assert [creds.authorization() for _ in range(3)] == ["Bearer t"] * 3
    assert count.read_text().strip() == "1"
    # Instead of waiting: the clock 4 s on, inside the 10 s early margin of the first token (not past it).
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 4)
    assert creds.authorization() == "Bearer t"
    assert creds.authorization() == "Bearer t"
    assert count.read_text().strip() == "2"


def test_editing_the_session_or_the_shim_gains_nothing(session: KroSession) -> None:
    """session.json without its namespace pin, or the shim replaced by the real kubectl: the proxy decides."""
    real = _real_kubectl()
    before = len(session.demo.cluster.requests())
    edit = session.tmp / "edit_session.py"
    edit.write_text(
        "import json, os\n"
        "path = os.environ['KRO_SESSION'] + '/session.json'\n"
        "doc = json.load(open(path))\n"
        "doc['namespaces'] = []\n"
        "json.dump(doc, open(path, 'w'))\n"
    )
    script = f"""
        {sys.executable} {edit}
        kubectl get pods -n kube-system; echo "rc=$?"
        kubectl get pods -A; echo "rc=$?"
        printf '#!/bin/sh\\nexec {real} "$@"\\n' > "$KRO_SESSION/bin/kubectl"
        kubectl delete pod x -n demo; echo "rc=$?"
        kubectl get secret db-creds -n demo -o jsonpath='{{.data.password}}'; echo "<rc=$?"
        kubectl get pods -n demo | grep -c web-
    """
    proc = session.sh(script, options=("-n", "demo"))
    err = proc.stderr
    assert proc.stdout.splitlines() == ["rc=1", "rc=1", "rc=1", "<rc=0", "3"], proc.stdout + err
    assert err.count(KRO_FORBIDDEN) == 3, err
    assert _writes(session.demo, before) == []
    for record in session.demo.cluster.requests()[before:]:
        assert "kube-system" not in record["path"]
        assert record["path"] != "/api/v1/pods", "no cluster-wide list reached the server"
    rules = {r["rule"] for r in session.audit(api=True) if r["decision"] == "blocked"}
    assert rules == {"api.namespace", "api.method"}


def _proxy(demo: DemoHandle, tmp: Path, audit: str | None = None, **kwargs: Any) -> ProxyHandle:
    config = kc.load([demo.kubeconfig], explicit=True)
    pins = ApiPins(**kwargs.pop("pins", {}))
    return start(
        kc.minified(config, "kro-demo"),
        dict(os.environ),
        pins,
        audit or str(tmp / "audit.jsonl"),
        "test-session",
        "kro-demo",
        **kwargs,
    )


def _client(handle: ProxyHandle, tmp: Path, token: str | None = None) -> httpx.Client:
    ca = tmp / "proxy-ca.crt"
    ca.write_bytes(handle.ca)
    return httpx.Client(
        base_url=handle.url,
        verify=ssl.create_default_context(cafile=str(ca)),
        timeout=30,
        headers={"authorization": f"Bearer {token or handle.token}"},
    )


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/v1/namespaces/demo/pods?watch=1", id="watch.streamed"),
        pytest.param("/api/v1/namespaces/demo/secrets?watch=1", id="watch.scrubbed-per-event"),
    ],
)
def test_watch_events_arrive_while_the_watch_is_open(
    token_demo: DemoHandle, tmp_path: Path, path: str
) -> None:
    """Every event arrives while the watch is still open: the demo holds it open 120 s after its events,
    past the client's 30 s read timeout, so events held back until the stream ends would fail the read."""
    with _proxy(token_demo, tmp_path) as handle, _client(handle, tmp_path) as client:
        expected = len(client.get(path.split("?")[0]).json()["items"])
        events = []
        with client.stream("GET", f"{path}&timeoutSeconds=120") as resp:
            assert resp.status_code == 200
            lines = resp.iter_lines()
            while len(events) < expected:
                line = next(lines)
                if line:
                    events.append(json.loads(line))
    assert len(events) == expected > 0
    assert all(e["type"] == "ADDED" for e in events)
    text = json.dumps(events)
    for value in SECRET_VALUES:
        assert value not in text
    if "secrets" in path:
        assert all(v == "" for e in events for v in (e["object"].get("data") or {}).values())


def test_refusals_are_kubernetes_status_objects(token_demo: DemoHandle, tmp_path: Path) -> None:
    """A wrong token is 401, a write 403, an answer over the bound 403 asking for less; each audited."""
    pins = {"redact": True}  # pod lists are rewritten (redacted) too, so the bound applies to them
    with _proxy(token_demo, tmp_path, bound=4096, pins=pins) as handle, _client(handle, tmp_path) as client:
        wrong = client.get("/api/v1/namespaces/demo/pods", headers={"authorization": "Bearer " + TOKEN})
        delete = client.delete("/api/v1/namespaces/demo/pods/x")
        big = client.get("/api/v1/namespaces/demo/pods")
        small = client.get("/api/v1/namespaces/demo/secrets/db-creds")
    assert (wrong.status_code, wrong.json()["reason"]) == (401, "Unauthorized")
    for resp in (delete, big):
        status = resp.json()
        assert "reason" in status, status
        assert (resp.status_code, status["kind"], status["reason"]) == (403, "Status", "Forbidden")
        assert status["message"].startswith("kro: ")
    assert "ask for less" in big.json()["message"]
    assert small.status_code == 200
    assert small.json()["data"] == {"username": "", "password": ""}
    records = calls_of(tmp_path / "audit.jsonl")
    # the list over the bound went upstream (its call record first), its answer was withheld
    assert [(r["method"], r["status"], r["decision"]) for r in records] == [
        ("GET", 401, "blocked"),
        ("DELETE", 403, "blocked"),
        ("GET", 403, "allowed"),
        ("GET", 200, "allowed"),
    ]
    assert [r["rule"] for r in records[:3]] == ["api.auth", "api.method", "api.bound"]
    assert all(r["tool"] == "api" and r["session"] == "test-session" for r in records)
    assert records[3]["path"] == "/api/v1/namespaces/demo/secrets/db-creds"
    assert records[3]["bytes"] == len(small.content)


def test_an_unwritable_audit_log_refuses_the_request(token_demo: DemoHandle, tmp_path: Path) -> None:
    """Fail closed: when the audit line cannot be written, the answer is a Status saying why."""
    before = len(token_demo.cluster.requests())
    with _proxy(token_demo, tmp_path, audit="/dev/full") as handle, _client(handle, tmp_path) as client:
        resp = client.get("/api/v1/namespaces/demo/pods")
    assert resp.status_code == 403
    assert "cannot write the audit log" in resp.json()["message"]
    assert "web-" not in resp.text
    assert len(token_demo.cluster.requests()) == before, "the call record comes first: nothing went upstream"


def test_a_full_disk_stops_requests_before_the_cluster(token_demo: DemoHandle, tmp_path: Path) -> None:
    """The audit log's disk fills mid-session: every later request is refused, none reaches the cluster."""
    small = small_tmpfs(tmp_path / "small-disk", "64k")
    with small as disk, _proxy(token_demo, tmp_path, audit=str(disk / "a.jsonl")) as handle:
        with _client(handle, tmp_path) as client:
            assert client.get("/api/v1/namespaces/demo/pods").status_code == 200
            fill(disk / "filler")  # to the last page
            before = len(token_demo.cluster.requests())
            logged = len(calls(records_of(disk / "a.jsonl")))
            answers = [client.get(f"/api/v1/namespaces/demo/pods?limit={n}") for n in range(1, 41)]
        # the log file's last page still had room for a few records: those requests went out, audited
        audited = calls(records_of(disk / "a.jsonl"))[logged:]
        reached = token_demo.cluster.requests()[before:]
        assert [r["path"] for r in audited] == [f"{r['path']}?{r['query']}" for r in reached]
        refused = answers[len(audited) :]
        assert len(refused) > 20
        for resp in refused:
            assert resp.status_code == 403
            assert "the audit log" in resp.json()["message"]  # cannot write / short write
            assert "the call was not run" in resp.json()["message"]
            assert "web-" not in resp.text


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("https://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return False
    return True


def test_the_proxy_dies_with_kro_run_and_signals_reach_the_agent(session: KroSession) -> None:
    """SIGTERM to kro-run reaches the agent (its exit code comes back); kill -9 takes the proxy along."""
    argv = [
        str(BIN / "kro-run"),
        "--kubeconfig",
        str(session.demo.kubeconfig),
        "--audit-log",
        str(session.audit_log),
        "--output",
        "plain",
        "--",
        "sh",
        "-c",
    ]
    agent = (
        'trap "exit 42" TERM; echo "$$ $KRO_SESSION $(grep server: $KUBECONFIG)"; while :; do sleep 0.1; done'
    )
    proc = subprocess.Popen([*argv, agent], stdout=subprocess.PIPE, text=True, env=session.env())
    assert proc.stdout is not None
    _, workdir, _, url = proc.stdout.readline().split()
    assert _port_open(url)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 42
    assert not _port_open(url)
    assert not Path(workdir).exists()
    proc = subprocess.Popen([*argv, agent], stdout=subprocess.PIPE, text=True, env=session.env())
    assert proc.stdout is not None
    pid, _, _, url = proc.stdout.readline().split()
    try:
        assert _port_open(url)
        proc.kill()
        proc.wait(timeout=30)
        assert not _port_open(url), "the proxy lives in kro-run: no credentials holder outlives it"
    finally:
        with contextlib.suppress(ProcessLookupError):  # kro-run ends its agent too, where it can
            os.kill(int(pid), signal.SIGKILL)


def test_version_is_fetched_once_for_a_while(token_demo: DemoHandle, tmp_path: Path) -> None:
    """The dispatcher's /version before every call is answered from a short-lived copy, still audited."""
    before = len(token_demo.cluster.requests())
    with _proxy(token_demo, tmp_path) as handle, _client(handle, tmp_path) as client:
        answers = [client.get("/version?timeout=5s") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json()["gitVersion"] == answers[2].json()["gitVersion"]
    asked = [r for r in token_demo.cluster.requests()[before:] if r["path"] == "/version"]
    assert len(asked) == 1
    records = calls_of(tmp_path / "audit.jsonl")
    assert [(r["path"], r["status"], r["bytes"]) for r in records] == [
        ("/version?timeout=5s", 200, len(answers[0].content))
    ] * 3


def test_auth_can_i_answers_for_the_session(session: KroSession) -> None:
    """api.access-review: kubectl's can-i (protobuf) gets kro's `no` for a write, the cluster's `yes` else."""
    script = """
        kubectl auth can-i delete pods -n demo; echo "rc=$?"
        kubectl auth can-i create pods --subresource=exec -n demo; echo "rc=$?"
        kubectl auth can-i get pods -n demo; echo "rc=$?"
        kubectl auth can-i --list -n demo; echo "rc=$?"
    """
    result = session.sh(script)
    out = result.stdout.splitlines()
    assert out[0].startswith("no - kro: this session is read-only, so 'delete pods' is refused"), out
    exec_no = (
        "no - kro: the 'exec' subresource reaches into workloads, nodes or the network and is "
        "blocked; use logs, describe or get to inspect instead"
    )
    assert out[1:3] == ["rc=1", exec_no], out
    assert out[4:6] == ["yes", "rc=0"], out
    listed = "\n".join(out[6:])
    assert "[get list watch]" in listed, listed
    assert "delete" not in listed, listed
    records = [r for r in session.audit(api=True) if "selfsubject" in r["path"]]
    assert [r["rule"] for r in records] == ["api.access-review"] * 4
    assert [r["status"] for r in records] == [201] * 4


def test_rules_review_loses_its_write_verbs(token_demo: DemoHandle, tmp_path: Path) -> None:
    """api.access-review: the cluster's SelfSubjectRulesReview comes back with kro's note and reads only."""
    review = {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
              "spec": {"namespace": "demo"}}  # fmt: skip
    with _proxy(token_demo, tmp_path) as handle, _client(handle, tmp_path) as client:
        resp = client.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", json=review)
        access = client.post(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            json={
                "spec": {
                    "resourceAttributes": {"verb": "update", "resource": "configmaps", "namespace": "demo"}
                }
            },
        )
    assert resp.status_code == 201
    status = resp.json()["status"]
    assert status["evaluationError"].startswith("kro: this session is read-only")
    verbs = {v for rule in status["resourceRules"] for v in rule["verbs"]}
    assert verbs == {"get", "list", "watch", "create"}  # create: the self-subject reviews only
    reviews = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}
    assert all(set(r["resources"]) <= reviews for r in status["resourceRules"] if "create" in r["verbs"])
    assert access.status_code == 201
    assert access.json()["status"]["allowed"] is False
    assert access.json()["status"]["reason"].startswith("kro: ")
@pytest.mark.parametrize("when", [pytest.param("at-start", id="api.upstream.at-start"),
                                  pytest.param("mid-session", id="api.upstream.mid-session")])  # fmt: skip
def test_a_cluster_that_goes_away_is_infra_in_kros_words(tmp_path: Path, when: str) -> None:
    """The cluster down before or during the session: kubectl shows kro's message; the envelope is infra."""
    with DemoCluster(port=0, token=TOKEN) as cluster:
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(cluster.kubeconfig()))
        session = KroSession(DemoHandle(cluster, path, cluster.url, tmp_path / "kube-cache"), tmp_path)
        (tmp_path / "run").mkdir(mode=0o700)
        if when == "at-start":
            cluster.stop()
        script = f"""
            kubectl get ns -o name >/dev/null 2>&1; touch {tmp_path}/first
            while [ ! -f {tmp_path}/go ]; do sleep 0.05; done
            kubectl get pods -n demo
        """
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            done = pool.submit(session.sh, script, output="envelope")
            wait_for(lambda: (tmp_path / "first").exists() or done.done(), "the first call", 30)
            cluster.stop()
            (tmp_path / "go").touch()
            proc = done.result(timeout=120)
    failed = envelopes(proc.stdout)[-1]
    assert (failed["status"], failed["kind"]) == ("error", "infra"), failed
    assert failed["message"].startswith("Error from server (InternalError)"), failed["message"]
    assert "kro: cannot reach the API server" in failed["message"]
    assert "memcache" not in failed["message"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/v1/namespaces/demo/pods?watch=1", id="watch.streamed"),
        pytest.param("/api/v1/namespaces/demo/secrets?watch=1", id="watch.scrubbed-per-event"),
    ],
)
def test_a_client_that_leaves_ends_its_stream_at_once(
    token_demo: DemoHandle, tmp_path: Path, path: str
) -> None:
    """Dropped watches (the demo cluster holds each 6 s) leave no flow, task or upstream stream behind."""
    with _proxy(token_demo, tmp_path) as handle:
        with _client(handle, tmp_path) as client:
            assert client.get("/api/v1/namespaces/demo/pods").status_code == 200
        wait_for(lambda: not handle.state()["flows"], "the last answer's outcome record", 10)
        idle = handle.state()
        started = time.monotonic()
        for _ in range(5):
            drop_after_head(handle.url, handle.ca, handle.token, path, tmp_path, timeout=10)
        while handle.state() != idle and time.monotonic() - started < 3:
            time.sleep(0.02)
        assert handle.state() == idle, "every dropped watch ended before the server ended it (6 s)"
        assert time.monotonic() - started < 3
    watches = [r for r in calls_of(tmp_path / "audit.jsonl") if r["path"] == path]
    assert len(watches) == 5
    assert {(r["status"], r["error"]) for r in watches} == {(200, "the client went away")}


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"GET /version HTTP/1.1\r\nHost: x\r\n", id="half-a-head"),
    ],
)
def test_a_client_that_sends_no_request_is_let_go(
    token_demo: DemoHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent: bytes
) -> None:
    """A connection without a whole request head is closed after the client idle bound (1 s here)."""
    monkeypatch.setattr(server, "CLIENT_IDLE_TIMEOUT", 1)
    with _proxy(token_demo, tmp_path) as handle:
        ca = tmp_path / "proxy-ca.crt"
        ca.write_bytes(handle.ca)
        host, port = handle.url.removeprefix("https://").split(":")
        tls_ctx = ssl.create_default_context(cafile=str(ca))
        with (
            socket.create_connection((host, int(port)), timeout=10) as raw,
            tls_ctx.wrap_socket(raw, server_hostname=host) as conn,
        ):
            started = time.monotonic()
            conn.sendall(sent)
            assert conn.recv(1) == b""
            assert 0.5 < time.monotonic() - started < 5


def test_a_responder_answers_an_admitted_request_itself(token_demo: DemoHandle, tmp_path: Path) -> None:
    """The seam for local answers: after admission and the call record, before the upstream is asked."""
    review = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    seen: list[bytes] = []

    async def reviews(flow: Flow) -> Answer | None:
        if flow.request.method != "POST" or flow.request.raw_path != review:
            return None
        seen.append(flow.body)
        return Answer(201, [("content-type", "application/json")], b'{"status":{"allowed":false}}')

    config = kc.load([token_demo.kubeconfig], explicit=True)
    before = len(token_demo.cluster.requests())
    with (
        start(kc.minified(config, "kro-demo"), dict(os.environ), ApiPins(), str(tmp_path / "audit.jsonl"),
              "test-session", "kro-demo", responders=[reviews]) as handle,
        _client(handle, tmp_path) as client,
    ):  # fmt: skip
        answered = client.post(review, json={"spec": {"resourceAttributes": {"verb": "delete"}}})
        refused = client.post("/api/v1/namespaces/demo/configmaps", json={})
    assert (answered.status_code, answered.json()) == (201, {"status": {"allowed": False}})
    assert json.loads(seen[0]) == {"spec": {"resourceAttributes": {"verb": "delete"}}}
    assert refused.status_code == 403, "admission comes first: a responder never sees a refused request"
    assert len(seen) == 1
    assert len(token_demo.cluster.requests()) == before, "nothing went upstream"
    records = calls_of(tmp_path / "audit.jsonl")
    assert [(r["method"], r["status"], r["decision"]) for r in records] == [
        ("POST", 201, "allowed"),
        ("POST", 403, "blocked"),
    ]
