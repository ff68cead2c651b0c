"""Bounds and crashes with real processes: a hanging exec credential plugin, a kubectl killed by a signal.

The demo cluster serves HTTPS with a bearer token here, and the kubeconfig's user gets its token from an
exec credential plugin (a shell script): one that never answers, or one that answers and then kills its
parent kubectl once it is watching (SIGKILL, or SIGSEGV — Go's runtime turns a SIGSEGV into a crash report).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kro_testing import BIN, KroSession, envelope, wait_for

from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle

TOKEN = "kro-test-plugin-token-0123456789"
# kubectl runs the exec plugin only in --direct sessions; with the API proxy the proxy runs it
# (tests/integration/test_api_proxy_upstream.py), so these cases bound kubectl's own plugin.
DIRECT = ("--direct",)
HANGING = """#!/bin/sh
echo $$ >> "{pids}"
exec sleep 600
"""
KILLING = """#!/bin/sh
echo $$ >> "{pids}"
(i=0; while [ ! -e "{go}" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; kill -{signal} $PPID) \
  >/dev/null 2>&1 </dev/null &
printf '%s' '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
echo '"status":{{"token":"{token}"}}}}'
"""


@pytest.fixture(scope="module")
def token_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCluster]:
    """A demo cluster that wants a bearer token (HTTPS), streaming watches for 60 s."""
    with DemoCluster(port=0, token=TOKEN, watch_seconds=60) as cluster:
        yield cluster


def _plugin_session(cluster: DemoCluster, tmp: Path, script: str) -> tuple[KroSession, Path]:
    """A KroSession whose kubeconfig's user runs `script` as its exec credential plugin; and the pid file."""
    pids = tmp / "plugin-pids"
    plugin = tmp / "plugin.sh"
    plugin.write_text(script.format(pids=pids, token=TOKEN, signal="KILL", go=tmp / "kill-now"))
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    config = cluster.kubeconfig()
    exec_user = {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                 "interactiveMode": "Never"}  # fmt: skip
    for user in config["users"]:
        user["user"] = {"exec": exec_user}
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    (tmp / "run").mkdir(mode=0o700, exist_ok=True)
    handle = DemoHandle(cluster, kubeconfig, cluster.url, tmp / "kube-cache")
    return KroSession(handle, tmp), pids


def _kill_once_watching(cluster: DemoCluster, tmp: Path) -> threading.Thread:
    """Let the KILLING plugin kill kubectl once its watch reached the server (it printed the list before)."""
    before = len(cluster.requests())

    def watching() -> None:
        wait_for(lambda: any("watch=true" in r["query"] for r in cluster.requests()[before:]), "the watch")
        (tmp / "kill-now").touch()

    thread = threading.Thread(target=watching, daemon=True)
    thread.start()
    return thread


def _gone(pids: Path) -> bool:
    """Whether every plugin process that ran has ended (none left behind, hanging)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [p for p in pids.read_text().split() if os.path.exists(f"/proc/{p}")]
        if not alive:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    ("output", "options", "argv", "bound"),
    [
        pytest.param("envelope", ("--request-timeout", "3"), [], 3, id="bound.envelope-request-timeout"),
        pytest.param("plain", ("--call-timeout", "3s"), [], 3, id="bound.plain-call-timeout"),
        pytest.param("plain", ("--redact", "--call-timeout", "3s"), [], 3, id="bound.redact-call-timeout"),
        pytest.param("plain", (), ["--request-timeout=1s"], 6, id="bound.plain-own-request-timeout"),
    ],
)
def test_hanging_credential_plugin_is_bounded(
    token_cluster: DemoCluster, tmp_path: Path, output: str, options: tuple[str, ...], argv: list[str],
    bound: float,
) -> None:  # fmt: skip
    """A plugin that never answers: the call ends at its bound, the plugin with it, and the agent is told."""
    kro, pids = _plugin_session(token_cluster, tmp_path, HANGING)
    started = time.monotonic()
    proc = kro.run("kubectl", *argv, "get", "pods", "-n", "demo", output=output, options=(*DIRECT, *options),
                   timeout=60)  # fmt: skip
    elapsed = time.monotonic() - started
    assert elapsed >= bound, elapsed  # ended by its bound, not before (the 60 s above is the hang guard)
    if output == "envelope":
        env = envelope(proc.stdout)
        assert (env["status"], env["kind"]) == ("error", "infra")
        assert f"kro stopped kubectl: no data for {bound:g} s" in env["message"]
    else:
        assert proc.returncode == 124, proc.stderr
        assert f"kro: kubectl did not finish within {bound:g} s" in proc.stderr
    assert _gone(pids), "the hanging plugin was stopped with kubectl"
    [call] = kro.audit()
    assert (call["state"], call["timed_out"], call["exit_code"]) == ("done", True, 124)


@pytest.mark.parametrize(
    ("signal", "said"),
    [
        pytest.param("KILL", "kubectl was killed by SIGKILL", id="signal.kill"),
        pytest.param(
            "SEGV", "kubectl crashed (SIGSEGV: segmentation violation; exit code 2)", id="signal.segv"
        ),
    ],
)
def test_kubectl_killed_mid_stream_is_infra_with_partial_output(
    token_cluster: DemoCluster, tmp_path: Path, signal: str, said: str
) -> None:
    """kubectl dies during a watch: an infra error, and the rows it printed are kept in a named file."""
    kro, _ = _plugin_session(token_cluster, tmp_path, KILLING.replace("{signal}", signal))
    killer = _kill_once_watching(token_cluster, tmp_path)
    proc = kro.run("kubectl", "get", "pods", "-n", "demo", "-w", output="envelope",
                   options=(*DIRECT, "--stream-seconds", "30"), timeout=60)  # fmt: skip
    killer.join()
    env = envelope(proc.stdout)
    assert (env["status"], env["kind"]) == ("error", "infra"), env
    assert said in env["message"]
    kept = Path(env["message"].rsplit(" is in ", 1)[1])
    assert "web-7c9f8d6b5d-zr2wn" in kept.read_text()
    assert kept.stat().st_mode & 0o777 == 0o600
    [call] = kro.audit()
    assert call["state"] == "done"
    assert call["signal"] == (9 if signal == "KILL" else None)


def test_plain_parent_reports_the_signal(token_cluster: DemoCluster, tmp_path: Path) -> None:
    """Plain mode with a bound (the shim stays kubectl's parent): 128+N, the partial output, one line."""
    kro, _ = _plugin_session(token_cluster, tmp_path, KILLING.replace("{signal}", "KILL"))
    killer = _kill_once_watching(token_cluster, tmp_path)
    proc = kro.run(
        "kubectl", "get", "pods", "-n", "demo", "-w", options=(*DIRECT, "--call-timeout", "30s"), timeout=60
    )
    killer.join()
    assert proc.returncode == 137, proc.stderr
    assert "web-7c9f8d6b5d-zr2wn" in proc.stdout
    assert "kro: kubectl was killed by SIGKILL" in proc.stderr


def test_sigterm_to_a_bounded_shim_stops_its_kubectl(token_cluster: DemoCluster, tmp_path: Path) -> None:
    """The shim that stays kubectl's parent passes SIGTERM on: kubectl and its plugin end with it (143)."""
    kro, pids = _plugin_session(token_cluster, tmp_path, HANGING)
    argv = [
        str(BIN / "kro-run"), *DIRECT, "--kubeconfig", str(kro.demo.kubeconfig), "--context", "kro-demo",
        "--audit-log", str(kro.audit_log), "--output", "plain", "--call-timeout", "120s",
        "--", "kubectl", "get", "pods",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=kro.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)  # kro-run exec'd the shim, which started kubectl, which started the plugin
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert _gone(pids), "the plugin did not outlive the shim"
    [call] = kro.audit()
    assert call["state"] == "started", "killed before its outcome: the log says so, not 'not run'"
