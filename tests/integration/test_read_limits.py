"""The real kubectl through the real shim: local files, plugins, the environment, config view, Secrets."""

from __future__ import annotations

import base64
import json
import os
import shlex
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kro_testing import BIN, KroSession, envelope

from kro.democluster.fixture import FAKE_SECRET_PASSWORD
from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle, kubectl_env

MARKER = "kro-local-file-marker-5b1e"
LEAKS = (FAKE_SECRET_PASSWORD, base64.b64encode(FAKE_SECRET_PASSWORD.encode()).decode())


# --- read.local-file (README, routes table: 18) ----------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(["-o", "go-template-file={path}"], id="go-template-file"),
        pytest.param(["-o", "templatefile", "--template", "{path}"], id="templatefile-template-flag"),
        pytest.param(["-ojsonpath-file={path}"], id="jsonpath-file"),
        pytest.param(["-o", "custom-columns-file={path}"], id="custom-columns-file"),
    ],
)
@pytest.mark.parametrize("output", ["plain", "envelope"])
def test_file_flags_are_blocked(
    kro_session: KroSession, tmp_path: Path, flags: list[str], output: str
) -> None:
    """kubectl never opens a file the caller names: blocked with read.local-file, the file's text unseen."""
    secret_file = tmp_path / "private.tmpl"
    secret_file.write_text(f"{MARKER}\n")
    args = [f.format(path=secret_file) for f in flags]
    proc = kro_session.run("kubectl", "get", "ns", "default", *args, output=output)
    assert MARKER not in proc.stdout + proc.stderr
    if output == "plain":
        assert proc.returncode == 77, proc.stderr
        assert "put the template inline" in proc.stderr
    else:
        answer = envelope(proc.stdout)
        assert answer["status"] == "error"
        assert answer["rule"] == "read.local-file"
    assert kro_session.audit()[-1]["rule"] == "read.local-file"


def test_inline_template_still_works(kro_session: KroSession) -> None:
    """The inline form the reason points to is answered."""
    proc = kro_session.run("kubectl", "get", "ns", "default", "-o", "go-template={{.metadata.name}}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "default"


# --- plugins (README, routes table: 22) ----------------------------------------


@pytest.fixture
def plugin_dir(tmp_path: Path) -> tuple[Path, Path]:
    """A PATH dir with recording kubectl-create-foo, kubectl-foo and kubectl_complete-foo plugins."""
    bin_dir, record = tmp_path / "plugins", tmp_path / "record"
    bin_dir.mkdir()
    for name in ("kubectl-create-foo", "kubectl-foo", "kubectl_complete-foo"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {record}\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir, record


CALLS = [["create", "foo", "--help"], ["__complete", "foo", ""], ["foo", "bar"], ["create", "foo"]]


def test_plugins_never_run_through_kro(kro_session: KroSession, plugin_dir: tuple[Path, Path]) -> None:
    """Real kubectl runs the recorders when called directly; through kro each call is verb.unknown."""
    bin_dir, record = plugin_dir
    env = kro_session.env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    direct = {**kubectl_env(), "PATH": env["PATH"]}
    for argv in CALLS[:3]:
        subprocess.run(["kubectl", *argv], env=direct, capture_output=True, timeout=60, check=False)
    assert record.read_text().splitlines() == [
        "kubectl-create-foo --help", "kubectl_complete-foo ", "kubectl-foo bar"
    ], "the recorders work: kubectl itself dispatches to them"  # fmt: skip
    record.unlink()
    script = "; ".join(f"kubectl {' '.join(shlex.quote(a) for a in argv)}; echo rc=$?" for argv in CALLS)
    proc = kro_session.sh(script, env=env)
    assert proc.stdout.count("rc=77") == len(CALLS), proc.stdout + proc.stderr
    assert not record.exists(), record.read_text()
    assert [r["rule"] for r in kro_session.audit()] == ["verb.unknown"] * len(CALLS)


# --- the environment kubectl gets (README, routes table: 19) ----------------------------------------

LAUNCH_PROXY = "http://launch-proxy.invalid:3128"
HOSTILE = {
    "GODEBUG": "inittrace=1,http2debug=2",
    "GOFLAGS": "-mod=mod",
    "GOTRACEBACK": "crash",
    "SSL_CERT_FILE": "/nonexistent/ca.pem",
    "SSL_CERT_DIR": "/nonexistent",
    "KUBECONFIG": "/etc/passwd",
    "KUBERC": "/tmp/kro-hostile-kuberc",
    "KUBECACHEDIR": "/tmp/kro-hostile-cache",
    "KUBECTL_EXTERNAL_DIFF": "/bin/false",
    "KUBE_EDITOR": "/bin/false",
    "LD_PRELOAD": "/nonexistent/hook.so",
    "HTTPS_PROXY": "http://agent-proxy.invalid:8080",
    "https_proxy": "http://agent-proxy.invalid:8080",
    "NO_PROXY": "*",
    "HOME": "/tmp/kro-hostile-home",
    "XDG_CONFIG_HOME": "/tmp/kro-hostile-config",
    "PAGER": "/bin/false",
    "AGENT_THING": "anything",
}


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str]]:
    """The environment the real kubectl process had (read from /proc) when called with HOSTILE set."""
    tmp = tmp_path_factory.mktemp("hostile-env")
    (tmp / "run").mkdir(mode=0o700)
    with DemoCluster(port=0, watch_seconds=60) as cluster:  # a watch that stays open while /proc is read
        handle = DemoHandle(cluster, cluster.write_kubeconfig(tmp / "kubeconfig"), cluster.url, tmp / "cache")
        yield _received(KroSession(handle, tmp), tmp)


def _received(session: KroSession, tmp: Path) -> tuple[dict[str, str], str]:
    """Run the probe script in a session; kubectl's environment and stderr."""
    assignments = " ".join(f"{k}='{v}'" for k, v in HOSTILE.items())
    script = f"""
        {assignments} PATH="$PATH:/tmp/kro-hostile-bin" kubectl get pods -n demo -w >{tmp}/out 2>{tmp}/err &
        pid=$!
        i=0
        while [ $i -lt 300 ]; do
          case "$(readlink /proc/$pid/exe)" in *python*|"") sleep 0.1;; *) break;; esac
          i=$((i+1))
        done
        # kubectl printed the pods: its runtime started long before (an inittrace would be in err by now)
        while [ ! -s {tmp}/out ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
        tr '\\0' '\\n' < /proc/$pid/environ > {tmp}/environ
        readlink /proc/$pid/exe > {tmp}/exe
        kill $pid
    """
    proc = session.sh(script, env=session.env(HTTPS_PROXY=LAUNCH_PROXY, LANG="C.UTF-8"))
    assert proc.returncode == 0, proc.stderr
    assert "python" not in (tmp / "exe").read_text(), "the shim exec'd the real kubectl"
    lines = (tmp / "environ").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line), (tmp / "err").read_text()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_variable_does_not_reach_kubectl(received: tuple[dict[str, str], str], name: str) -> None:
    """The caller's value never reaches kubectl; a launch-pinned variable keeps its launch value."""
    env, _ = received
    assert env.get(name) != HOSTILE[name], f"{name} reached kubectl"


def test_kubectl_gets_only_the_allowlist(received: tuple[dict[str, str], str]) -> None:
    """What kubectl had: locale and terminal from the caller, the rest pinned by the session."""
    env, stderr = received
    assert env["HTTPS_PROXY"] == LAUNCH_PROXY
    assert env["KUBERC"] == "off"
    assert env["KUBECONFIG"].endswith("/kubeconfig")
    assert "session-" in env["KUBECONFIG"]
    assert env["LANG"] == "C.UTF-8"
    assert "PATH" not in env, "no credential plugin: kubectl needs no PATH (and finds no plugins)"
    assert set(env) <= {"HOME", "TMPDIR", "HTTPS_PROXY", "KUBECONFIG", "KUBERC", "LANG", "TERM", "LC_ALL"}, (
        env
    )
    assert "init " not in stderr, "GODEBUG=inittrace reached the Go runtime"


# --- config view masks every credential (README, routes table: 21) ----------------------------------------

OIDC = {
    "client-id": "kro-client",
    "client-secret": "oidc-client-secret-value",
    "id-token": "eyJhbGciOiJSUzI1NiJ9.oidc-id-token-value.sig",
    "refresh-token": "oidc-refresh-token-value",
    "idp-issuer-url": "https://issuer.example",
}
EXEC_SECRET = "exec-env-secret-value"


def _credential_kubeconfig(tmp: Path, server: str) -> Path:
    path = tmp / "oidc-kubeconfig"
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "oidc",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "contexts": [{"name": "oidc", "context": {"cluster": "c", "user": "alice"}},
                     {"name": "exec", "context": {"cluster": "c", "user": "bob"}}],
        "users": [
            {"name": "alice", "user": {"auth-provider": {"name": "oidc", "config": OIDC}}},
            {"name": "bob", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/true",
                "args": ["--token", "exec-arg-secret-value", "--region=eu"],
                "env": [{"name": "PLUGIN_SECRET", "value": EXEC_SECRET}], "interactiveMode": "Never"}}},
        ],
    }  # fmt: skip
    path.write_text(json.dumps(doc))
    return path


SECRETS = (
    OIDC["client-secret"],
    OIDC["id-token"],
    OIDC["refresh-token"],
    EXEC_SECRET,
    "exec-arg-secret-value",
)


@pytest.mark.parametrize("context", ["oidc", "exec"])
@pytest.mark.parametrize(
    "argv",
    [["config", "view"], ["config", "view", "-o", "json"], ["config", "view", "--minify", "-o", "yaml"]],
    ids=["default", "json", "minify-yaml"],
)  # fmt: skip
@pytest.mark.parametrize("output", ["plain", "envelope"])
def test_config_view_masks_credentials(
    kro_session: KroSession, tmp_path: Path, context: str, argv: list[str], output: str
) -> None:
    """An OIDC user's id-token/refresh-token/client-secret and an exec plugin's values are masked.

    --direct: only then does the agent's kubeconfig hold the user's credentials at all (with the API
    proxy it names only the proxy; tests/integration/test_api_proxy.py greps it for every credential).
    """
    config = _credential_kubeconfig(tmp_path, kro_session.demo.url)
    run = subprocess.run(
        [str(BIN / "kro-run"), "--direct", "--kubeconfig", str(config), "--context", context, "--audit-log",
         str(kro_session.audit_log), "--output", output, "--", "kubectl", *argv],
        capture_output=True, text=True, timeout=120, env=kro_session.env(), stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip
    text = run.stdout if output == "plain" else envelope(run.stdout)["content"]
    assert run.returncode == 0, run.stderr
    for value in SECRETS:
        assert value not in run.stdout + run.stderr
    assert "REDACTED" in text
    if context == "oidc":
        assert "kro-client" in text, "non-secret settings stay"
        assert "https://issuer.example" in text
    else:
        assert "PLUGIN_SECRET" in text
        assert "--region=eu" in text
    if "json" in argv and output == "plain":
        doc = json.loads(text)
        assert doc["kind"] == "Config"


def test_config_view_credential_paths_stay_blocked(kro_session: KroSession) -> None:
    """--raw, and a jsonpath into users' credentials, are blocked; a jsonpath elsewhere is answered."""
    proc = kro_session.sh(
        "kubectl config view --raw; echo rc=$?; "
        "kubectl config view -o 'jsonpath={.users[0].user.token}'; echo rc=$?; "
        "kubectl config view -o 'jsonpath={.current-context}'; echo; echo rc=$?"
    )
    assert proc.stdout.splitlines() == ["rc=77", "rc=77", "kro-demo", "rc=0"], proc.stdout + proc.stderr


# --- Secrets: metadata outputs answered, values never (POLICY 6) -------------------------------------


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        pytest.param(["-o", "jsonpath={.items[*].metadata.name}"], "db-creds", id="jsonpath-names"),
        pytest.param(["db-creds", "-o", "jsonpath={.type}"], "Opaque", id="jsonpath-type"),
        pytest.param(["-o", "custom-columns=NAME:.metadata.name,TYPE:.type"],
                     "kubernetes.io/service-account-token", id="custom-columns"),
        pytest.param(["--sort-by=.metadata.creationTimestamp"], "db-creds", id="sort-by"),
        pytest.param(["-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'], "web-token",
                     id="range"),
    ],
)  # fmt: skip
def test_secret_metadata_outputs(kro_session: KroSession, argv: list[str], expect: str) -> None:
    """Names and types through jsonpath, custom-columns and sort-by are answered by the real kubectl."""
    proc = kro_session.run("kubectl", "get", "secrets", "-n", "demo", *argv)
    assert proc.returncode == 0, proc.stderr
    assert expect in proc.stdout
    for leak in LEAKS:
        assert leak not in proc.stdout


def test_raw_query_is_percent_decoded(kro_session: KroSession) -> None:
    """`?labelSelector=app%3Dweb` is judged decoded, and kubectl sends it on as written."""
    proc = kro_session.run("kubectl", "get", "--raw", "/api/v1/namespaces/demo/pods?labelSelector=app%3Dweb")
    assert proc.returncode == 0, proc.stderr
    names = [item["metadata"]["name"] for item in json.loads(proc.stdout)["items"]]
    assert names
    assert all(n.startswith("web-") for n in names)
