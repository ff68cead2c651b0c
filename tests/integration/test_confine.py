"""`kro-run --confine`: the agent in bubblewrap reaches the cluster only through the broker (issue 10)."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kro_testing import BIN, calls_of, wait_for

from kro.audit_command import problems
from kro.democluster.server import DemoCluster
from kro.democluster.testing import kubectl_env
from kro.sandbox.confine_env import withheld

TOKEN = "kro-confine-test-token-4f1d9c2b7a"
AWS_SECRET = "wJalrXUtnFEMI-kro-confine-test"
# The sandbox hides host /tmp, so the test's home and work dirs live where it shows the host read-only.
VISIBLE_TMP = os.environ.get("KRO_TEST_VISIBLE_TMP", "/var/tmp")


def _bwrap_problem() -> str | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "true"]
    proc = subprocess.run(probe, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"bwrap cannot create a sandbox here: {proc.stderr.strip()}"
    return None


_PROBLEM = _bwrap_problem()
needs_bwrap = pytest.mark.skipif(_PROBLEM is not None, reason=str(_PROBLEM))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCluster]:
    """A demo cluster with bearer-token auth (HTTPS) whose watches stay open for a while."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH (the confined session drives the real kubectl)")
    log = tmp_path_factory.mktemp("confine-cluster") / "requests.jsonl"
    with DemoCluster(port=0, token=TOKEN, request_log=log, watch_seconds=30) as demo:
        yield demo


@dataclass
class Confined:
    """A home with credentials, a work dir and private XDG dirs; runs commands under kro-run --confine."""

    base: Path
    cluster: DemoCluster

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def audit_log(self) -> Path:
        return self.base / "state" / "kro" / "audit.jsonl"

    def env(self, **extra: str) -> dict[str, str]:
        env = kubectl_env()
        env.update(
            HOME=str(self.home),
            XDG_STATE_HOME=str(self.base / "state"),
            XDG_CACHE_HOME=str(self.base / "cache"),
            XDG_RUNTIME_DIR=str(self.base / "run"),
            AWS_SECRET_ACCESS_KEY=AWS_SECRET,
            GITHUB_TOKEN=TOKEN,
            ANTHROPIC_API_KEY="sk-ant-kept",
        )
        env.update(extra)
        return env

    def popen(self, script: str, *, output: str = "plain", options: tuple[str, ...] = (),
              env: dict[str, str] | None = None) -> subprocess.Popen[str]:  # fmt: skip
        """Start kro-run --confine on `sh -c script` in the work dir (default kubeconfig: ~/.kube/config)."""
        argv = [str(BIN / "kro-run"), "--confine", "--context", "kro-demo", "--output", output, *options,
                "--", "sh", "-c", script]  # fmt: skip
        return subprocess.Popen(
            argv, cwd=self.work, env=env or self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def run(self, script: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run to completion."""
        proc = self.popen(script, **kwargs)
        out, err = proc.communicate(timeout=120)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def audit(self, api: bool = False) -> list[dict[str, Any]]:
        """The broker's calls, each call record with its outcome folded in (api=True: the API proxy's
        records, one per request)."""
        return calls_of(self.audit_log, api)


@pytest.fixture
def confined(cluster: DemoCluster) -> Iterator[Confined]:
    """A fresh confined-session setup: ~/.kube/config (with the token), ~/.aws, ~/.claude, a git work dir."""
    base = Path(tempfile.mkdtemp(prefix="kro-confine-", dir=VISIBLE_TMP))
    try:
        for sub in ("work/.git/hooks", "home/.aws", "home/.claude", "run"):
            (base / sub).mkdir(parents=True, mode=0o700)
        (base / "work" / ".git" / "config").write_text("[core]\n")
        (base / "home" / ".aws" / "credentials").write_text(f"[default]\naws_secret_access_key={AWS_SECRET}")
        cluster.write_kubeconfig(base / "home" / ".kube" / "config")
        yield Confined(base, cluster)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _lines(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line and line[0].isalpha())


@needs_bwrap
def test_reads_go_through_the_broker(confined: Confined) -> None:
    """kubectl get/blocked calls, plain and envelope, and kubetail, all answered and audited outside."""
    before = len(confined.cluster.requests())
    plain = confined.run("kubectl get pods -n demo; kubectl delete pod x; echo rc=$?")
    assert plain.returncode == 0, plain.stderr
    assert "web-" in plain.stdout
    assert "rc=77" in plain.stdout
    assert "✘ BLOCKED: 'delete' is a mutating command" in plain.stderr
    script = (
        "kubectl get pods -n demo; kubetail logs demo:web-7c9f8d6b5d-4xkqp; kubectl get pods -A -o json; "
        "cat $(ls -t $XDG_CACHE_HOME/kro/*/*.json | head -1) | wc -c | sed 's/^/spill=/'"
    )
    enveloped = confined.run(script, output="envelope")
    first, second, bulk = (json.loads(line) for line in enveloped.stdout.splitlines()[:3])
    assert first["status"] == "ok"
    assert "web-" in first["content"]
    assert second["status"] == "ok", second
    assert "the whole output" in bulk["agent_context"]
    assert int(enveloped.stdout.splitlines()[3].removeprefix("spill=")) > 16 * 1024, "spill readable inside"
    records = confined.audit()
    assert [(r["tool"], r["argv"][0], r["decision"]) for r in records] == [
        ("kubectl", "get", "allowed"), ("kubectl", "delete", "blocked"),
        ("kubectl", "get", "allowed"), ("kubetail", "logs", "allowed"), ("kubectl", "get", "allowed"),
    ]  # fmt: skip
    for line in confined.audit_log.read_bytes().splitlines():
        assert problems(line) == []
    assert {r["method"] for r in confined.cluster.requests()[before:]} == {"GET"}


@needs_bwrap
def test_real_tools_and_credentials_are_out_of_reach(confined: Confined) -> None:
    """Inside: no real kubectl, no kubeconfig, token or cloud secret anywhere; the audit log unwritable."""
    real = shutil.which("kubectl")
    assert real is not None
    sessions = confined.base / "run" / "kro"
    script = f"""
        /usr/bin/kubectl version --client >/dev/null 2>&1; echo usr_bin_kubectl=$?
        {os.path.realpath(real)} version --client >/dev/null 2>&1; echo real_kubectl=$?
        cat ~/.kube/config >/dev/null 2>&1; echo kube_config=$?
        cat ~/.aws/credentials >/dev/null 2>&1; echo aws=$?
        cat {sessions}/session-*/kubeconfig >/dev/null 2>&1; echo minified=$?
        echo forged >> {confined.audit_log} 2>/dev/null; echo audit_write=$?
        ls -A {sessions} | wc -l | sed 's/^/sessions_visible=/'
        echo files=$(grep -rIl -e {TOKEN} -e {AWS_SECRET} /run/kro {confined.base} /tmp 2>/dev/null | wc -l)
        env | grep -c -e {TOKEN} -e {AWS_SECRET} | sed 's/^/env=/'
        cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c -e {TOKEN} | sed 's/^/proc_environ=/'
        echo "anthropic=$ANTHROPIC_API_KEY"
        ls /proc | grep -c '^[0-9]' | sed 's/^/pids=/'
        touch new-file; echo work_write=$?
        echo x >> .git/config 2>/dev/null; echo git_config=$?
        touch .git/hooks/pre-commit 2>/dev/null; echo git_hooks=$?
        touch ~/.bashrc 2>/dev/null; echo home_write=$?
        touch ~/.claude/ok; echo agent_dir=$?
        kubectl get pods -n demo >/dev/null; echo shim=$?
    """
    proc = confined.run(script)
    got = _lines(proc.stdout)
    assert got.pop("anthropic") == "sk-ant-kept"
    assert int(got.pop("pids")) < 10, "the sandbox has its own PID namespace"
    assert {k: v for k, v in got.items() if v == "0"} == {
        "sessions_visible": "0", "files": "0", "env": "0", "proc_environ": "0",
        "work_write": "0", "agent_dir": "0", "shim": "0",
    }, proc.stdout + proc.stderr  # fmt: skip
    assert got["usr_bin_kubectl"] == got["real_kubectl"] == "127", "not found, not merely refused"
    withheld = proc.stderr.split("outside: ", 1)[1].split(" (", 1)[0].split(", ")
    assert {"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"} <= set(withheld), "names are listed, never values"
    assert TOKEN not in proc.stderr + proc.stdout
    assert "forged" not in confined.audit_log.read_text()
    assert TOKEN in (confined.home / ".kube" / "config").read_text(), "hidden, not modified"
    assert (confined.work / "new-file").exists()
    assert (confined.work / ".git" / "config").read_text() == "[core]\n"


@needs_bwrap
def test_files_a_kubeconfig_names_are_out_of_reach(confined: Confined) -> None:
    """A token file the user's kubeconfig names, outside every credential dir, is unreadable inside too: the
    session's own kubeconfig names only the API proxy, so the files come from the kubeconfigs kro-run read."""
    token_file = confined.base / "secrets" / "token"
    token_file.parent.mkdir(mode=0o700)
    token_file.write_text(TOKEN)
    config = confined.base / "kubeconfig"
    doc = yaml.safe_load((confined.home / ".kube" / "config").read_text())
    for entry in doc["users"]:
        entry["user"] = {"tokenFile": "secrets/token"}  # relative to the kubeconfig, as client-go reads it
    config.write_text(yaml.safe_dump(doc))
    script = f"cat {token_file}; echo token_file=$?; kubectl get pods -n demo >/dev/null; echo shim=$?"
    proc = confined.run(script, options=("--kubeconfig", str(config)))
    got = _lines(proc.stdout)
    assert got["token_file"] != "0", proc.stdout + proc.stderr
    assert got["shim"] == "0", proc.stdout + proc.stderr  # the proxy, outside, still reads it
    assert TOKEN not in proc.stdout


@needs_bwrap
def test_forged_requests_are_decided_by_the_broker(confined: Confined) -> None:
    """A request written by hand from inside is still policy-checked and audited; a bad token is refused."""
    forge = confined.work / "forge.py"
    forge.write_text(
        "import json, socket, sys\n"
        "s = json.load(open('/run/kro/session.json'))\n"
        "def call(token, argv):\n"
        "    with socket.socket(socket.AF_UNIX) as c:\n"
        "        c.connect(s['broker'])\n"
        "        socket.send_fds(c, [json.dumps({'token': token, 'tool': 'kubectl', 'argv': argv}).encode()"
        " + b'\\n'], [0, 1, 2])\n"
        "        print(c.recv(4096).decode().strip())\n"
        "call(s['broker_token'], ['delete', 'pod', 'x'])\n"
        "call('guess', ['get', 'pods'])\n"
        "call(s['broker_token'], ['--server=https://evil.example', 'get', 'pods'])\n"
    )
    before = len(confined.cluster.requests())
    proc = confined.run(f"{sys.executable} forge.py")
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["exit_code"] for r in replies] == [77, 77, 77], proc.stdout + proc.stderr
    assert replies[1]["error"] == "wrong or missing session token"
    assert "✘ BLOCKED: 'delete' is a mutating command" in proc.stderr
    records = confined.audit()
    assert [(r["argv"], r["decision"], r["rule"]) for r in records] == [
        (["delete", "pod", "x"], "blocked", "verb.mutating"),
        (["get", "pods"], "blocked", "broker.auth"),
        (["--server=https://evil.example", "get", "pods"], "blocked", "global.identity"),
    ]
    assert confined.cluster.requests()[before:] == []


@needs_bwrap
def test_only_the_sandbox_may_use_the_broker(confined: Confined) -> None:
    """A process outside the sandbox (same user, right token) is refused: the peer must descend from bwrap."""
    ready = confined.work / "ready"
    proc = confined.popen(f"touch {ready}; while [ ! -e go ]; do sleep 0.05; done")
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, "the confined session did not start"
            time.sleep(0.05)
        (box,) = (confined.base / "run" / "kro").glob("session-*/box")
        token = json.loads((box / "session.json").read_text())["broker_token"]
        request = json.dumps({"token": token, "tool": "kubectl", "argv": ["get", "pods"]}).encode() + b"\n"
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(box / "broker.sock"))
            socket.send_fds(client, [request], [1, 2, 2])
            reply = json.loads(client.recv(4096))
    finally:
        (confined.work / "go").touch()
        proc.communicate(timeout=60)
    assert reply["exit_code"] == 77
    assert "is not inside this session's sandbox" in reply["error"]
    assert confined.audit()[-1]["rule"] == "broker.auth"


def _watchers(confined: Confined) -> list[int]:
    """Outside kubectl processes of this test's sessions that are watching pods."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-w" in cmdline and any(str(confined.base / "run").encode() in arg for arg in cmdline):
            found.append(int(entry.name))
    return found




@needs_bwrap
def test_hangup_stops_the_tool(confined: Confined) -> None:
    """When a shim inside dies (Ctrl-C, timeout, kill), the broker stops the kubectl it runs outside."""
    script = (
        "kubectl get pods -n demo -w >/dev/null & "
        "while [ ! -e stop ]; do sleep 0.05; done; kill $!; wait; touch stopped; "
        "while [ ! -e done ]; do sleep 0.05; done"
    )
    proc = confined.popen(script, output="plain")
    try:
        wait_for(lambda: _watchers(confined), "the watch outside", 15)  # the real kubectl, for the shim
        (confined.work / "stop").touch()
        wait_for(lambda: (confined.work / "stopped").exists(), "the shim to stop", 15)
        wait_for(lambda: not _watchers(confined), "the watch to end", 5)
    finally:
        (confined.work / "done").touch()
        proc.communicate(timeout=60)
    assert proc.returncode == 0


@needs_bwrap
def test_terminal_injection_is_blocked(confined: Confined) -> None:
    """TIOCSTI (typing into the user's terminal, run after the agent exits) is refused by seccomp."""
    script = f"{sys.executable} -c 'import fcntl, termios; fcntl.ioctl(0, termios.TIOCSTI, b\"x\")'"
    proc = confined.run(script)
    assert "Operation not permitted" in proc.stderr


def test_missing_bwrap_is_a_clear_error(confined: Confined) -> None:
    """Without bwrap on PATH: exit 69 and the install hint, before anything else is set up."""
    proc = confined.run("true", env=confined.env(PATH="/nonexistent"))
    assert proc.returncode == 69
    assert "apt-get install bubblewrap" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        pytest.param("ANTHROPIC_API_KEY", True, id="agent-key"),
        pytest.param("CLAUDE_CODE_OAUTH_TOKEN", True, id="agent-token"),
        pytest.param("OPENAI_API_KEY", True, id="openai"),
        pytest.param("GOOGLE_API_KEY", True, id="gemini-key"),
        pytest.param("AZURE_OPENAI_API_KEY", True, id="azure-openai"),
        pytest.param("PATH", True, id="path"),
        pytest.param("HTTPS_PROXY", True, id="proxy"),
        pytest.param("AWS_PROFILE", False, id="aws"),
        pytest.param("GOOGLE_APPLICATION_CREDENTIALS", False, id="gcp"),
        pytest.param("AZURE_CLIENT_SECRET", False, id="azure"),
        pytest.param("KUBECONFIG", False, id="kubeconfig"),
        pytest.param("HELM_KUBETOKEN", False, id="helm"),
        pytest.param("GITHUB_TOKEN", False, id="token-word"),
        pytest.param("DB_PASSWORD", False, id="password-word"),
        pytest.param("STRIPE_SECRET_KEY", False, id="secret-word"),
        pytest.param("SSH_AUTH_SOCK", False, id="ssh-agent"),
        pytest.param("DBUS_SESSION_BUS_ADDRESS", False, id="session-bus"),
        pytest.param("DISPLAY", False, id="x11"),
    ],
)
def test_environment_rule(name: str, kept: bool) -> None:
    """Agents keep their own API keys; cloud, cluster and credential-shaped variables stay outside."""
    assert withheld(name) is not kept
    assert withheld(name, passed=[name]) is False, "--pass-env always wins"


@needs_bwrap
@pytest.mark.parametrize("output", ["plain", "envelope"])
def test_file_flags_cannot_read_outside(confined: Confined, output: str) -> None:
    """kubectl runs outside, in the broker: a template file it would open there is refused, never printed."""
    script = "kubectl get ns default -o go-template-file=$HOME/.kube/config; echo rc=$?"
    proc = confined.run(script, output=output)
    assert TOKEN not in proc.stdout + proc.stderr
    if output == "plain":
        assert "rc=77" in proc.stdout
    else:
        assert json.loads(proc.stdout.splitlines()[0])["rule"] == "read.local-file"
    assert confined.audit()[-1]["rule"] == "read.local-file"


def _venv_with_kro(where: Path) -> Path:
    """A venv under `where` holding a copy of kro (its dependencies from this test's environment)."""
    import kro

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(
        subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    )
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(Path(kro.__file__).parent, site / "kro", ignore=skip)
    for sub in ("shims", "sandbox", "democluster", "mcp"):  # mapped from top-level folders (pyproject)
        src = Path(importlib.import_module(f"kro.{sub}").__file__ or "").parent
        shutil.copytree(src, site / "kro" / sub, ignore=skip, dirs_exist_ok=True)
    deps = next(p for p in map(Path, sys.path) if (p / "orjson").is_dir() and (p / "yaml").is_dir())
    (site / "zz-deps.pth").write_text(f"{deps}\n")
    launcher = where / "bin" / "kro-run"
    launcher.write_text(f"#!{python}\nimport sys\nfrom kro.sandbox.launcher import main\nsys.exit(main())\n")
    launcher.chmod(0o755)
    found = subprocess.run([python, "-c", "import kro; print(kro.__file__)"], capture_output=True, text=True,
                           cwd=where, check=False)  # fmt: skip
    assert found.stdout.startswith(str(site)), "the venv's own copy of kro is the one imported"
    return site


@needs_bwrap
def test_code_under_the_working_dir_cannot_be_changed_from_inside(confined: Confined) -> None:
    """kro in ./.venv (the quick start): the sandbox cannot change what the broker or a shim outside runs."""
    site = _venv_with_kro(confined.work / ".venv")
    marker = confined.base / "payload-ran"
    payload = f"open({str(marker)!r}, 'a').write('payload ran\\n')\n"
    (confined.work / "payload.py").write_text(payload)
    targets = ["shims/envelope_output.py", "shims/redact.py", "shims/kubetail_fallback.py", "shims/shim.py",
               "shims/config_view.py", "__init__.py"]  # fmt: skip
    script = "".join(f"cat payload.py >> {site / 'kro' / t} 2>/dev/null; echo append=$?\n" for t in targets)
    script += f"""
        cp payload.py {site}/sitecustomize.py 2>/dev/null; echo sitecustomize=$?
        echo 'import os' > {site}/evil.pth 2>/dev/null; echo pth=$?
        mkdir -p {site}/kro/shims/__pycache__ 2>/dev/null; echo pycache=$?
        touch {confined.work}/.venv/bin/kubectl-foo 2>/dev/null; echo venv_bin=$?
        touch {confined.work}/new-file; echo work=$?
        kubectl get pods -n demo >/dev/null; echo get=$?
        kubetail logs demo:pods/db-0 --tail=1 >/dev/null; echo kubetail=$?
        kubectl config view >/dev/null; echo view=$?
    """
    argv = [str(confined.work / ".venv" / "bin" / "kro-run"), "--confine", "--context", "kro-demo",
            "--output", "envelope", "--", "sh", "-c", script]  # fmt: skip
    proc = subprocess.run(argv, cwd=confined.work, env=confined.env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if "=" in line and not line.startswith("{")]
    got = [line.split("=", 1) for line in lines]
    refused = [name for name, code in got if code != "0"]
    assert refused == ["append"] * len(targets) + ["sitecustomize", "pth", "pycache", "venv_bin"], proc.stdout
    assert [name for name, code in got if code == "0"] == ["work", "get", "kubetail", "view"], proc.stderr
    assert not marker.exists(), marker.read_text()
    for target in targets:
        assert "payload ran" not in (site / "kro" / target).read_text()
    records = confined.audit()
    assert [r["tool"] for r in records] == ["kubectl", "kubetail", "kubectl"]


INSIDE_CLIENT = """
import json, os
from kubernetes import client, config
config.load_kube_config()
v1 = client.CoreV1Api()
out = {"kubeconfig": os.environ["KUBECONFIG"]}
try:
    v1.delete_namespaced_pod("web-7c9f8d6b5d-4xkqp", "demo")
    out["delete"] = "deleted"
except client.ApiException as exc:
    out["delete"] = json.loads(exc.body)
out["secret"] = v1.read_namespaced_secret("db-creds", "demo").data
out["pods"] = len(v1.list_namespaced_pod("demo").items)
print(json.dumps(out))
"""


@needs_bwrap
def test_clients_inside_see_only_the_proxy(confined: Confined) -> None:
    """Inside, KUBECONFIG names the API proxy: a client library reads, and meets kro's policy on a write."""
    (confined.work / "client.py").write_text(INSIDE_CLIENT)
    before = len(confined.cluster.requests())
    proc = confined.run(f"{sys.executable} client.py")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["kubeconfig"].endswith("/kubeconfig")
    assert out["delete"]["code"] == 403
    assert out["delete"]["message"].startswith("kro: ")
    assert set(out["secret"]) == {"username", "password"}
    assert set(out["secret"].values()) == {""}
    assert out["pods"] >= 3
    assert {r["method"] for r in confined.cluster.requests()[before:]} == {"GET"}
    assert [r["rule"] for r in confined.audit(api=True) if r["decision"] == "blocked"] == ["api.method"]
    assert TOKEN not in proc.stdout + proc.stderr


# ------------------------------------------------------------------- nothing written inside runs later

GIT_ENV = {"GIT_AUTHOR_NAME": "u", "GIT_AUTHOR_EMAIL": "u@example.com", "GIT_COMMITTER_NAME": "u",
           "GIT_COMMITTER_EMAIL": "u@example.com", "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip


def _git(where: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "HOME": str(home)}
    return subprocess.run(["git", "-C", str(where), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def _repo(where: Path, home: Path) -> None:
    shutil.rmtree(where / ".git", ignore_errors=True)
    where.mkdir(parents=True, exist_ok=True)
    assert _git(where, "init", "-q", home=home).returncode == 0
    (where / "README").write_text("x\n")
    _git(where, "add", "README", home=home)
    assert _git(where, "commit", "-qm", "first", home=home).returncode == 0


def _attempts(marker: Path) -> dict[str, str]:
    """Each redirection an agent could try (name -> shell), every payload touching `marker` when run."""
    hook = f"#!/bin/sh\\ntouch {marker}\\n"
    return {
        "rename": f"mv .git .git-old && mkdir -p .git/hooks && printf '{hook}' > .git/hooks/pre-commit",
        "hook": f"printf '{hook}' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit",
        "hook-swap": "mv .git/hooks .git/hooks-old",
        "fsmonitor": f"printf '[core]\\n\\tfsmonitor = touch {marker}\\n' >> .git/config",
        "config-swap": "cp .git/config c && mv c .git/config",
        "commondir": f"mkdir -p evil/hooks && printf '{hook}' > evil/hooks/pre-commit && "
                     "chmod +x evil/hooks/pre-commit && echo \"$PWD/evil\" > .git/commondir",
        "config-worktree": f"printf '[core]\\n\\tfsmonitor = touch {marker}\\n' > .git/config.worktree",
        "info": "printf '* filter=evil\\n' > .git/info/attributes",
    }  # fmt: skip


@needs_bwrap
def test_git_metadata_cannot_be_redirected_from_inside(confined: Confined) -> None:
    """Rename .git, hooks, core.fsmonitor, commondir, config.worktree, info/: all refused inside; the
    user's `git status` and `git commit` outside afterwards run nothing the agent wrote."""
    work, home = confined.work, confined.home
    _repo(work, home)
    before = {p.relative_to(work).as_posix() for p in (work / ".git").rglob("*")}
    marker = confined.base / "agent-code-ran"
    attempts = _attempts(marker)
    script = "".join(f"( {cmd} ) 2>/dev/null; echo {name}=$?\n" for name, cmd in attempts.items())
    script += "ls .git/commondir .git/config.worktree >/dev/null 2>&1; echo standins=$?\n"
    script += "git status --short >/dev/null 2>&1; echo git_inside=$?\n"
    done = confined.run(script)
    got = _lines(done.stdout)
    assert {name: got[name] != "0" for name in attempts} == dict.fromkeys(attempts, True), done.stdout
    assert got["standins"] == "0", "stand-ins are there inside"
    # Afterwards, outside: the stand-ins are gone, git works and runs none of it.
    after = {p.relative_to(work).as_posix() for p in (work / ".git").rglob("*")}
    assert after - before == set(), after - before
    assert not (work / ".git" / "commondir").exists()
    assert not (work / ".git-old").exists()
    status = _git(work, "status", home=home)
    assert status.returncode == 0, status.stderr
    (work / "README").write_text("changed\n")
    commit = _git(work, "commit", "-qam", "after", home=home)
    assert commit.returncode == 0, commit.stderr
    assert not marker.exists(), "the agent's code ran on the host"


@needs_bwrap
def test_a_linked_worktrees_gitdir_file_cannot_be_redirected(confined: Confined) -> None:
    """The working dir is a linked worktree: its .git file and the git dirs it names stay as they are."""
    home = confined.home
    main = confined.base / "main"
    _repo(main, home)
    shutil.rmtree(confined.work)
    assert _git(main, "worktree", "add", "-q", str(confined.work), home=home).returncode == 0
    pointer = (confined.work / ".git").read_text()
    marker = confined.base / "agent-code-ran"
    hook = f"#!/bin/sh\\ntouch {marker}\\n"
    script = f"""
        mkdir -p evil/hooks evil/objects evil/refs && printf '{hook}' > evil/hooks/post-checkout
        chmod +x evil/hooks/post-checkout; echo HEAD > evil/HEAD
        echo "gitdir: $PWD/evil" > .git 2>/dev/null; echo pointer=$?
        rm -f .git 2>/dev/null; echo remove=$?
        gitdir=$(sed 's/^gitdir: //' .git)
        printf '{hook}' > "$gitdir/hooks/pre-commit" 2>/dev/null; echo hook=$?
        echo "$PWD/evil" > "$gitdir/commondir" 2>/dev/null; echo commondir=$?
    """
    done = confined.run(script)
    got = _lines(done.stdout)
    assert [got[k] != "0" for k in ("pointer", "remove", "hook", "commondir")] == [True] * 4, done.stdout
    assert (confined.work / ".git").read_text() == pointer
    (confined.work / "README").write_text("changed\n")
    assert _git(confined.work, "commit", "-qam", "after", home=home).returncode == 0
    assert _git(confined.work, "checkout", "-q", "-b", "other", home=home).returncode == 0
    assert not marker.exists(), "the agent's code ran on the host"


@needs_bwrap
def test_the_main_repositorys_worktree_and_submodule_git_dirs_stay(confined: Confined) -> None:
    """The working dir holds the main repository: .git/worktrees/NAME and .git/modules/NAME are protected."""
    home, work = confined.home, confined.work
    _repo(work, home)
    linked = confined.base / "linked"
    assert _git(work, "worktree", "add", "-q", str(linked), home=home).returncode == 0
    source = confined.base / "subsrc"
    _repo(source, home)
    added = _git(work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(source), "sub",
                 home=home)  # fmt: skip
    assert added.returncode == 0, added.stderr
    marker = confined.base / "agent-code-ran"
    hook = f"#!/bin/sh\\ntouch {marker}\\n"
    name = linked.name
    script = f"""
        echo "$PWD/evil" > .git/worktrees/{name}/commondir 2>/dev/null; echo wt_commondir=$?
        printf '[core]\\n\\tfsmonitor = touch {marker}\\n' > .git/worktrees/{name}/config.worktree 2>/dev/null
        echo wt_config_worktree=$?
        echo /tmp > .git/worktrees/{name}/gitdir 2>/dev/null; echo wt_gitdir=$?
        mv .git/worktrees/{name} .git/worktrees/x 2>/dev/null; echo wt_rename=$?
        printf '{hook}' > .git/modules/sub/hooks/pre-commit 2>/dev/null; echo sub_hook=$?
        printf '[core]\\n\\tfsmonitor = touch {marker}\\n' >> .git/modules/sub/config 2>/dev/null
        echo sub_config=$?
        mv .git/modules/sub .git/modules/old 2>/dev/null; echo sub_rename=$?
    """
    done = confined.run(script)
    got = _lines(done.stdout)
    names = ["wt_commondir", "wt_config_worktree", "wt_gitdir", "wt_rename", "sub_hook", "sub_config",
             "sub_rename"]  # fmt: skip
    assert [got[k] != "0" for k in names] == [True] * len(names), done.stdout
    for where in (linked, work / "sub"):
        assert _git(where, "status", home=home).returncode == 0
        (where / "README").write_text("changed\n")
        assert _git(where, "commit", "-qam", "after", home=home).returncode == 0
    assert not marker.exists(), "the agent's code ran on the host"


CLAUDE_HOOK = '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch M"}]}]}}'
AGENT_SETTINGS = {
    ".claude/settings.json": CLAUDE_HOOK,
    ".claude/settings.local.json": CLAUDE_HOOK,
    ".claude/hooks/start.sh": "touch M",
    ".claude/plugins/evil/plugin.json": "{}",
    ".codex/config.toml": 'notify = ["sh", "-c", "touch M"]',
    ".gemini/settings.json": '{"hooks":{"SessionStart":[{"command":"touch M"}]}}',
    ".npm/_npx/0/node_modules/.bin/x": "touch M",
}


@needs_bwrap
def test_agent_settings_and_caches_written_inside_do_not_reach_the_host(confined: Confined) -> None:
    """Hooks in ~/.claude, notify in ~/.codex, hooks in ~/.gemini, npx's cache, ~/.claude.json's MCP servers,
    the project's existing .mcp.json and .claude/settings.json: refused inside (or private to it); the
    host's files unchanged."""
    home, work = confined.home, confined.work
    for sub in (".codex", ".gemini", ".npm/_npx"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / ".codex" / "config.toml").write_text('model = "o3"\n')
    (home / ".claude.json").write_text('{"numStartups": 1}\n')
    (work / ".claude").mkdir()
    (work / ".claude" / "settings.json").write_text("{}\n")
    (work / ".mcp.json").write_text("{}\n")
    host_before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    targets = {**{f"~/{k}": v for k, v in AGENT_SETTINGS.items()},
               "~/.claude.json": '{"mcpServers":{"x":{"command":"sh","args":["-c","touch M"]}}}',
               "./.mcp.json": '{"mcpServers":{"x":{"command":"sh","args":["-c","touch M"]}}}',
               "./.claude/settings.json": '{"hooks":{}}'}  # fmt: skip
    script = ""
    for n, (path, text) in enumerate(targets.items()):
        target = path.replace("~", "$HOME", 1)
        script += (f"mkdir -p \"$(dirname {target})\" 2>/dev/null; "
                   f"printf '%s' '{text}' > {target} 2>/dev/null; echo t{n}=$?\n")  # fmt: skip
    script += "cat ~/.codex/config.toml; echo\n"
    done = confined.run(script)
    got = _lines(done.stdout)
    private = {"~/.npm/_npx/0/node_modules/.bin/x", "~/.claude.json"}  # written inside, never on the host
    refused = {path: got[f"t{n}"] != "0" for n, path in enumerate(targets)}
    assert refused == {path: path not in private for path in targets}, done.stdout
    assert 'model = "o3"' in done.stdout
    host_after = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    assert host_after == host_before, "nothing written inside reached the host's home"
    assert not (home / ".npm" / "_npx" / "0").exists()
    assert (work / ".mcp.json").read_text() == "{}\n"
    assert (work / ".claude" / "settings.json").read_text() == "{}\n"
