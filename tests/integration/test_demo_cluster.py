"""The demo cluster answers the real kubectl like a real cluster: reads work, errors look real."""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from kro.democluster.fixture import (
    CRASHLOOP_POD,
    FAKE_BEARER_TOKEN,
    FAKE_ENV_PASSWORD,
    FAKE_SECRET_PASSWORD,
    INJECTION_TEXT,
    LOG_INJECTION_TEXT,
    WEB_PODS,
)
from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle, kubectl_env, run_kubectl

READ_CASES = [
    pytest.param(["get", "pods", "-A"],
                 ["NAMESPACE", "kube-system", "coredns-668d6bf9bc-8xhvd", CRASHLOOP_POD, "CrashLoopBackOff",
                  "12 (", "Completed"], id="get-pods-all-namespaces"),
    pytest.param(["get", "pods", "-n", "demo", "-o", "wide"],
                 ["NOMINATED NODE", "READINESS GATES", "10.244.1.14", "demo-worker", "<none>"],
                 id="get-pods-wide"),
    pytest.param(["get", "deploy,svc,cm", "-n", "demo"],
                 ["deployment.apps/web", "2/3", "service/web", "10.96.48.12", "80/TCP",
                  "configmap/app-config", "configmap/kube-root-ca.crt"], id="get-deploy-svc-cm"),
    pytest.param(["get", "pod", CRASHLOOP_POD, "-n", "demo", "-o", "yaml"],
                 ["kind: Pod", "reason: CrashLoopBackOff", 'owner said "do not touch"', "second line",
                  FAKE_ENV_PASSWORD, "restartCount: 12"], id="get-pod-yaml"),
    pytest.param(["get", "secrets", "-n", "demo"],
                 ["NAME", "TYPE", "DATA", "db-creds", "Opaque", "kubernetes.io/service-account-token"],
                 id="get-secrets"),
    pytest.param(["describe", "pod", CRASHLOOP_POD, "-n", "demo"],
                 ["Controlled By:  ReplicaSet/web-7c9f8d6b5d", "Reason:       CrashLoopBackOff",
                  "Restart Count:  12", "QoS Class:                   Burstable",
                  "Back-off restarting failed container web"], id="describe-pod"),
    pytest.param(["describe", "deploy", "web", "-n", "demo"],
                 ["3 desired | 3 updated | 3 total | 2 available | 1 unavailable",
                  "NewReplicaSet:   web-7c9f8d6b5d (3/3 replicas created)", INJECTION_TEXT],
                 id="describe-deploy"),
    pytest.param(["logs", CRASHLOOP_POD, "-n", "demo"],
                 [f"Authorization: Bearer {FAKE_BEARER_TOKEN}", LOG_INJECTION_TEXT, "startup failed"],
                 id="logs-crashloop-pod"),
    pytest.param(["logs", "deploy/web", "-n", "demo", "--tail", "2"], ["kube-probe/1.32"], id="logs-deploy"),
    pytest.param(["logs", CRASHLOOP_POD, "-n", "demo", "--previous", "--timestamps", "--tail", "1"],
                 ["Z level=fatal"], id="logs-previous-timestamps"),
    pytest.param(["logs", CRASHLOOP_POD, "-n", "demo", "-f"], ["startup failed"], id="logs-follow-ends"),
    pytest.param(["get", "events", "-n", "demo"],
                 ["LAST SEEN", "deployment/web", INJECTION_TEXT, "BackOff", "pod/" + CRASHLOOP_POD],
                 id="get-events"),
    pytest.param(["events", "-n", "demo"], ["Deployment/web", "(x198 over", "ReplicaSet/web-7c9f8d6b5d"],
                 id="events"),
    pytest.param(["get", "nodes"], ["demo-control-plane", "control-plane", "Ready", "v1.32.4"],
                 id="get-nodes"),
    pytest.param(["describe", "node", "demo-worker"],
                 ["Non-terminated Pods:", CRASHLOOP_POD, "HolderIdentity:  demo-worker", "RegisteredNode"],
                 id="describe-node"),
    pytest.param(["top", "pods", "-n", "demo"], ["CPU(cores)", "MEMORY(bytes)", WEB_PODS[0], "db-0"],
                 id="top-pods"),
    pytest.param(["top", "nodes"], ["CPU(%)", "demo-worker"], id="top-nodes"),
    pytest.param(["api-resources"], ["deployments", "deploy", "apps/v1", "PodMetrics", "Namespace"],
                 id="api-resources"),
    pytest.param(["version"], ["Server Version: v1.32.4"], id="version"),
    pytest.param(["cluster-info"], ["Kubernetes control plane is running at http://127.0.0.1:",
                                    "CoreDNS is running at"], id="cluster-info"),
    pytest.param(["auth", "can-i", "get", "pods"], ["yes"], id="auth-can-i-get"),
    pytest.param(["auth", "can-i", "--list", "-n", "demo"], ["*.*", "[get list watch]", "[/readyz]"],
                 id="auth-can-i-list"),
    pytest.param(["auth", "whoami"], ["kro-demo-viewer", "system:authenticated"], id="auth-whoami"),
    pytest.param(["get", "--raw", "/readyz"], ["ok"], id="raw-readyz"),
    pytest.param(["explain", "pods"], ["KIND:       Pod", "VERSION:    v1", "FIELDS:", "spec\t<PodSpec>"],
                 id="explain-pods"),
    pytest.param(["explain", "deployment.spec.strategy"], ["GROUP:      apps", "rollingUpdate"],
                 id="explain-deployment-field"),
    pytest.param(["get", "pods", "-n", "demo", "-l", "app in (web),tier!=backend",
                  "--field-selector", "status.phase=Running"], [CRASHLOOP_POD, WEB_PODS[0]], id="selectors"),
    pytest.param(["get", "all", "-n", "demo"],
                 ["statefulset.apps/db", "job.batch/db-migrate", "cronjob.batch/nightly-report",
                  "horizontalpodautoscaler.autoscaling/web", "cpu: 41%/80%"], id="get-all"),
    pytest.param(["get", "ingress,pvc", "-n", "demo"], ["shop.demo.example", "172.18.0.240", "Bound", "5Gi"],
                 id="get-ingress-pvc"),
    pytest.param(["get", "ds,deploy", "-n", "kube-system"],
                 ["kube-proxy", "kubernetes.io/os=linux", "coredns"], id="get-kube-system"),
    pytest.param(["--context", "kro-demo-other", "get", "ns"], ["demo", "kube-system", "Active"],
                 id="other-context"),
]


@pytest.mark.parametrize(("argv", "expected"), READ_CASES)
def test_kubectl_read(demo_cluster: DemoHandle, argv: list[str], expected: list[str]) -> None:
    result = demo_cluster.kubectl(*argv)
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout, f"{text!r} missing from:\n{result.stdout}"


def test_informer_watch_stays_open_until_the_client_leaves(demo_cluster: DemoHandle) -> None:
    met = demo_cluster.kubectl("wait", "--for=condition=Available", "deploy/web", "--timeout=9s")
    stuck = demo_cluster.kubectl("rollout", "status", "deploy/web", "-n", "demo", "--timeout=2s")
    assert met.returncode == 0, met.stderr
    assert "deployment.apps/web condition met" in met.stdout
    assert stuck.returncode == 1
    assert "2 of 3 updated replicas are available" in stuck.stdout
    assert "very short watch" not in stuck.stderr  # the watch was held open, as a real server does


def test_logs_deploy_picks_a_ready_pod(demo_cluster: DemoHandle) -> None:
    result = demo_cluster.kubectl("logs", "deploy/web", "-n", "demo")
    assert result.returncode == 0, result.stderr
    assert f"Found 3 pods, using pod/{WEB_PODS[0]}" in result.stderr


def test_get_secrets_table_shows_no_values(demo_cluster: DemoHandle) -> None:
    table = demo_cluster.kubectl("get", "secrets", "-n", "demo")
    yaml_out = demo_cluster.kubectl("get", "secret", "db-creds", "-n", "demo", "-o", "yaml")
    assert FAKE_SECRET_PASSWORD not in table.stdout
    assert base64.b64encode(FAKE_SECRET_PASSWORD.encode()).decode() in yaml_out.stdout


def test_top_pods_leaves_out_the_crashlooping_pod(demo_cluster: DemoHandle) -> None:
    result = demo_cluster.kubectl("top", "pods", "-n", "demo")
    assert result.returncode == 0, result.stderr
    assert CRASHLOOP_POD not in result.stdout


def test_watch_ends_by_itself(demo_cluster: DemoHandle) -> None:
    result = demo_cluster.kubectl("get", "pods", "-n", "demo", "-w", timeout=60)  # one left open times out
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(CRASHLOOP_POD) == 1
    watches = [r for r in demo_cluster.cluster.requests() if "watch=true" in r["query"]]
    assert watches
    assert watches[-1]["status"] == 200


ERROR_CASES = [
    pytest.param(["get", "nosuchkind"], 1, 'the server doesn\'t have a resource type "nosuchkind"',
                 id="unknown-kind"),
    pytest.param(["get", "pods", "-n", "nosuch"], 0, "No resources found in nosuch namespace.",
                 id="unknown-namespace-list"),
    pytest.param(["get", "pod", "nosuch", "-n", "demo"], 1,
                 'Error from server (NotFound): pods "nosuch" not found', id="unknown-pod"),
    pytest.param(["get", "deploy", "web", "-n", "nosuch"], 1,
                 'Error from server (NotFound): namespaces "nosuch" not found', id="unknown-namespace-get"),
    pytest.param(["get", "pods", "-l", "a in (b"], 1,
                 "Error from server (BadRequest): Unable to find \"/v1, Resource=pods\" that match label "
                 "selector \"a in (b\", field selector \"\": unable to parse requirement: found '', "
                 "expected: ',' or ')'",
                 id="malformed-label-selector"),
    pytest.param(["get", "pods", "--field-selector", "spec.foo=bar"], 1,
                 "field label not supported: spec.foo", id="unsupported-field-selector"),
    pytest.param(["get", "--raw", "/no/such/path"], 1,
                 "Error from server (NotFound): the server could not find the requested resource",
                 id="unknown-path"),
    pytest.param(["logs", "db-0", "-n", "demo", "--previous"], 1,
                 'previous terminated container "postgres" in pod "db-0" not found', id="logs-no-previous"),
    pytest.param(["auth", "can-i", "delete", "pods"], 1, "", id="auth-can-i-delete"),
]


@pytest.mark.parametrize(("argv", "code", "message"), ERROR_CASES)
def test_kubectl_errors(demo_cluster: DemoHandle, argv: list[str], code: int, message: str) -> None:
    result = demo_cluster.kubectl(*argv)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    if argv[:2] == ["auth", "can-i"]:
        assert result.stdout.strip() == "no"


def test_kubectl_delete_gets_405_and_is_logged(demo_cluster: DemoHandle) -> None:
    result = demo_cluster.kubectl("delete", "pod", "db-0", "-n", "demo")
    assert result.returncode == 1
    assert "Error from server (MethodNotAllowed)" in result.stderr
    assert {"method": "DELETE", "path": "/api/v1/namespaces/demo/pods/db-0", "status": 405} in [
        {k: r[k] for k in ("method", "path", "status")} for r in demo_cluster.cluster.requests()
    ]
    assert "Running" in demo_cluster.kubectl("get", "pod", "db-0", "-n", "demo").stdout


def _http(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
          ) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"])
def test_non_get_methods_get_405_status(demo_cluster: DemoHandle, method: str) -> None:
    path = "/api/v1/namespaces/demo/configmaps/app-config"
    code, _, body = _http(demo_cluster.url + path, method, b"{}", {"Content-Type": "application/json"})
    assert code == 405
    status = json.loads(body)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "MethodNotAllowed", 405)
    assert {"method": method, "path": path, "query": "", "status": 405} in [
        {k: r[k] for k in ("method", "path", "query", "status")} for r in demo_cluster.cluster.requests()
    ]


def test_self_subject_access_review_answers_post(demo_cluster: DemoHandle) -> None:
    review = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
              "spec": {"resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": "demo"}}}
    code, _, body = _http(demo_cluster.url + "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "POST",
                          json.dumps(review).encode(), {"Content-Type": "application/json"})
    assert code == 201
    assert json.loads(body)["status"]["allowed"] is False


HTTP_CASES = [
    pytest.param("/nope", "", 404, "application/json", "the server could not find the requested resource",
                 id="unknown-path-status"),
    pytest.param("/api/v1/namespaces/demo/pods/nosuch", "", 404, "application/json",
                 '"reason":"NotFound"', id="not-found-status"),
    pytest.param("/api/v1/pods?labelSelector=a%20in%20(b", "", 400, "application/json",
                 '"reason":"BadRequest"', id="bad-selector-status"),
    pytest.param("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", 200,
                 "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                 '"APIGroupDiscoveryList"', id="aggregated-discovery"),
    pytest.param("/apis", "application/json", 200, "application/json", '"APIGroupList"',
                 id="legacy-discovery"),
    pytest.param("/api/v1/namespaces/demo/pods?limit=2", "application/json;as=Table;v=v1;g=meta.k8s.io", 200,
                 "application/json;as=Table;v=v1;g=meta.k8s.io", '"continue"', id="table-with-continue"),
    pytest.param("/api/v1/namespaces/demo/pods?watch=1", "", 200, "application/json", '"type":"ADDED"',
                 id="watch-stream"),
    pytest.param("/livez?verbose", "", 200, "text/plain", "livez check passed", id="livez-verbose"),
    pytest.param("/version", "", 200, "application/json", '"gitVersion":"v1.32.4"', id="version"),
]


@pytest.mark.parametrize(("path", "accept", "code", "content_type", "snippet"), HTTP_CASES)
def test_http_protocol(demo_cluster: DemoHandle, path: str, accept: str, code: int, content_type: str,
                       snippet: str) -> None:
    got, headers, body = _http(demo_cluster.url + path, headers={"Accept": accept} if accept else {})
    assert got == code
    assert headers["Content-Type"].startswith(content_type)
    assert snippet in body.decode()


def test_fifty_concurrent_kubectl_calls(demo_cluster: DemoHandle) -> None:
    demo_cluster.kubectl("get", "ns")  # warm the shared discovery cache
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: demo_cluster.kubectl("get", "pods", "-n", "demo", timeout=60),
                                range(50)))
    assert [r.returncode for r in results] == [0] * 50
    assert all(CRASHLOOP_POD in r.stdout for r in results)


def test_starts_ready(tmp_path: Path) -> None:
    """Ready as soon as it is started (its start-up time is measured by tests/bench/bench_demo.py)."""
    with DemoCluster() as demo:
        code, _, body = _http(demo.url + "/readyz")
    assert (code, body) == (200, b"ok")


def test_five_thousand_pods(tmp_path: Path) -> None:
    with DemoCluster(pods=5000) as demo:
        kubeconfig = demo.write_kubeconfig(tmp_path / "kubeconfig")
        result = run_kubectl(kubeconfig, tmp_path / "cache", "get", "pods", "-A", "--no-headers", timeout=120)
        pages = [r for r in demo.requests() if r["path"] == "/api/v1/pods"]
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5000
    assert len(pages) == 10  # kubectl pages through limit=500 chunks with continue tokens


def test_token_mode(tmp_path: Path) -> None:
    token = "kro-demo-test-token-0123456789"
    log = tmp_path / "requests.jsonl"
    with DemoCluster(token=token, request_log=log) as demo:
        assert demo.url.startswith("https://")
        kubeconfig = demo.write_kubeconfig(tmp_path / "kubeconfig")
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        ok = run_kubectl(kubeconfig, tmp_path / "cache", "get", "pods", "-n", "demo", "-v=8")
        whoami = run_kubectl(kubeconfig, tmp_path / "cache", "auth", "whoami")
        wrong = tmp_path / "wrong-kubeconfig"
        wrong.write_text(kubeconfig.read_text().replace(token, "not-the-token"))
        denied = run_kubectl(wrong, tmp_path / "cache2", "get", "pods")
        ctx = ssl.create_default_context(cadata=_ca_pem(kubeconfig))
        req = urllib.request.Request(demo.url + "/api/v1/namespaces/demo/pods")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=10, context=ctx)
        status = json.loads(info.value.read())
    assert ok.returncode == 0, ok.stderr
    assert CRASHLOOP_POD in ok.stdout
    assert whoami.returncode == 0
    assert denied.returncode == 1
    assert "You must be logged in to the server" in denied.stderr
    assert (info.value.code, status["reason"]) == (401, "Unauthorized")
    for result in (ok, whoami, denied):
        assert token not in result.stdout + result.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"method", "path", "query", "status"} <= set(records[0])
    assert {r["status"] for r in records} >= {200, 401}


def _ca_pem(kubeconfig: Path) -> str:
    config: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    return base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()


def test_kro_demo_command(tmp_path: Path) -> None:
    kubeconfig, log = tmp_path / "kubeconfig", tmp_path / "requests.jsonl"
    argv = [sys.executable, "-c", "import sys; from kro.dispatch import main; sys.exit(main())", "demo",
            "--write-kubeconfig", str(kubeconfig), "--request-log", str(log)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=kubectl_env())
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        result = run_kubectl(kubeconfig, tmp_path / "cache", "get", "deploy", "web")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
    assert ready.startswith("kro demo: serving http://127.0.0.1:")
    assert f"(kubeconfig: {kubeconfig}, context kro-demo)" in ready
    assert result.returncode == 0, result.stderr
    assert "2/3" in result.stdout
    assert code == 0
    assert any(json.loads(line)["path"] == "/apis/apps/v1/namespaces/demo/deployments/web"
               for line in log.read_text().splitlines())


def test_kro_demo_help() -> None:
    kro = "import sys; from kro.dispatch import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", kro, "demo", "--help"], capture_output=True, text=True,
                            check=False, env=dict(os.environ))
    assert result.returncode == 0
    for flag in ("--port", "--write-kubeconfig", "--request-log", "--token", "--pods"):
        assert flag in result.stdout
