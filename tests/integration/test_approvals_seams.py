"""kro-run --approvals against an agent that names its own server or kubeconfig: nothing it names is reached.

The agent's listener is a real TLS server on 127.0.0.1 and its kubeconfig runs a real exec plugin that
leaves a marker. Such calls are refused at queue time (approval.identity); a request the agent forged in
the queue itself (in a seatbelt session it runs as the user and can write there) is refused by kro approve
— when the user looks, approves with --yes, or approves at a terminal — before anything is sent.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from approvals_testing import (
    audit_lines,
    kro,
    pending,
    start_agent,
    stop_agents,  # noqa: F401 - the autouse fixture ending leftover agents
)
from kro_testing import BIN, KroSession

from kro.approvals import runner
from kro.approvals.store import Queue
from kro.sandbox.proxy.tls import self_signed, server_context


class Listener:
    """The agent's TLS listener: it counts connections and keeps what each sent after the handshake."""

    def __init__(self) -> None:
        cert, key = self_signed()
        self.ctx = server_context(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    self.received.append(tls.recv(65536))
            except (OSError, ssl.SSLError):
                conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def _evil_kubeconfig(where: Path, port: int, marker: Path) -> Path:
    """A kubeconfig whose user is an exec plugin that leaves `marker` (and copies nothing, here)."""
    plugin = where / "plugin.sh"
    plugin.write_text(
        f"#!/bin/sh\ntouch {marker}\n"
        'echo \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
        '"status":{"token":"agent"}}\'\n'
    )
    plugin.chmod(0o755)
    path = where / "evil.kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: evil\n"
        f"clusters: [{{name: evil, cluster: {{server: 'https://127.0.0.1:{port}', "
        "insecure-skip-tls-verify: true}}]\n"
        "contexts: [{name: evil, context: {cluster: evil, user: evil}}]\n"
        f"users: [{{name: evil, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1, "
        f"command: {plugin}, interactiveMode: Never}}}}}}]\n"
    )
    return path


def _kro_run(session: KroSession) -> list[str]:
    return [
        str(BIN / "kro-run"), "--kubeconfig", str(session.demo.kubeconfig), "--context", "kro-demo",
        "--audit-log", str(session.audit_log), "--output", "plain", "--approvals",
    ]  # fmt: skip


def _calls(port: int, evil: Path) -> list[list[str]]:
    return [
        ["label", "pod", "web-1", "a=b", "-n", "demo", f"--server=https://127.0.0.1:{port}",
         "--insecure-skip-tls-verify"],
        ["annotate", "pod", "web-1", "a=b", "-n", "demo", f"--kubeconfig={evil}"],
        ["-s", f"https://127.0.0.1:{port}", "scale", "deploy/web", "--replicas=2"],
        ["label", "pod", "web-1", "a=b", "--context=kro-demo", f"--kubeconfig={evil}"],
    ]  # fmt: skip


def test_agent_named_servers_and_kubeconfigs_are_never_reached(
    kro_session: KroSession, listener: Listener, tmp_path: Path
) -> None:
    """Queue time refuses them; forged requests are refused when looked at, with --yes and at a terminal."""
    marker = tmp_path / "plugin-ran"
    evil = _evil_kubeconfig(tmp_path, listener.port, marker)
    calls = _calls(listener.port, evil)
    cluster = kro_session.demo.cluster
    env = kro_session.env()
    agent = start_agent(
        _kro_run(kro_session),
        [f"kubectl {shlex.join(c)}" for c in calls] + ["true"],
        kro_session.tmp / "agent",
        env,
    )
    for n in range(2, len(calls) + 1):
        agent.go(n)
        agent.wait_ready(n + 1)
    for n in range(1, len(calls) + 1):
        code, _, err = agent.result(n)
        assert code == 77, err
        assert "changes who kubectl is or which server it talks to" in err
        assert "queued" not in err.replace("not queued", "")
    assert pending(env) == [], "nothing was queued"
    session_id = audit_lines(kro_session.audit_log)[0]["session"]
    rules = [r["rule"] for r in audit_lines(kro_session.audit_log, session_id)]
    assert rules == ["approval.identity"] * len(calls)

    # The agent writes the requests into the queue itself, as a seatbelt agent running as the user can.
    queue = Queue(Path(env["XDG_STATE_HOME"]) / "kro" / "approvals")
    [entry] = queue.sessions()
    forged = [queue.submit(entry, "kubectl", argv, "demo", time.time())[1].id for argv in calls]
    assert [r["id"] for r in pending(env)] == forged
    before = len(cluster.requests())
    for n in forged:
        looked = kro(env, "approve", str(n))
        assert looked.returncode == 1
        assert f"request {n} cannot be approved" in looked.stderr
        assert "changes who kubectl is or which server it talks to" in looked.stderr
        assert kro(env, "approve", str(n), "--yes").returncode == 1
        if shutil.which("script"):
            command = f"{BIN / 'kro'} approve {n}"
            at_terminal = subprocess.run(
                ["script", "-qec", command, "/dev/null"], input="y\ny\n", env=env,
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert "cannot be approved" in at_terminal.stdout
            assert "ran (exit" not in at_terminal.stdout
    agent.go(len(calls) + 1)
    agent.finish()
    assert listener.connections == 0, listener.received
    assert not marker.exists(), "the agent's exec plugin ran"
    assert cluster.requests()[before:] == [], "the approver's kubectl sent nothing at all"
    refused = [r for r in audit_lines(kro_session.audit_log, session_id) if r["tool"] == "kro approve"]
    assert {r["rule"] for r in refused} == {"approval.refused"}
    assert len(refused) == len(forged) * (3 if shutil.which("script") else 2)

    # The harness sees contact: the user's own kubectl with the agent's kubeconfig reaches both.
    kubectl = runner.kubectl_path(env)
    subprocess.run([kubectl, f"--kubeconfig={evil}", "get", "pods", "--request-timeout=3s"], env=env,
                   capture_output=True, timeout=60, check=False)  # fmt: skip
    assert marker.exists()
    assert listener.connections >= 1


def test_a_forged_context_is_refused(kro_session: KroSession) -> None:
    """A request file whose context is not the session's pinned one is not run."""
    env = kro_session.env()
    agent = start_agent(_kro_run(kro_session), ["true", "true"], kro_session.tmp / "agent", env)
    queue = Queue(Path(env["XDG_STATE_HOME"]) / "kro" / "approvals")
    [entry] = queue.sessions()
    _, request = queue.submit(replace(entry, context="other"), "kubectl", ["scale", "deploy/web",
                              "--replicas=2"], "demo", time.time())  # fmt: skip
    done = kro(env, "approve", str(request.id), "--yes")
    assert done.returncode == 1
    assert "its context is not the session's" in done.stderr
    agent.go(2)
    agent.finish()
