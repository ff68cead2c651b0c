"""Envelope messages when kro ends a call (a stream at its bound); `wait`/`rollout status` timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kro_testing import KroSession, envelope

from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle


@pytest.fixture(scope="module")
def slow_watch_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    """A demo cluster whose watches stay open 8 s, past a session's 2 s stream bound."""
    base = tmp_path_factory.mktemp("slow-watch")
    with DemoCluster(port=0, watch_seconds=8) as cluster:
        kubeconfig = cluster.write_kubeconfig(base / "kubeconfig")
        yield DemoHandle(cluster, kubeconfig, cluster.url, base / "kube-cache")


@pytest.fixture
def session(slow_watch_demo: DemoHandle, tmp_path: Path) -> KroSession:
    (tmp_path / "run").mkdir(mode=0o700)
    return KroSession(slow_watch_demo, tmp_path)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["get", "pods", "-n", "demo", "-w"], id="stream.stopped-at-seconds"),
        pytest.param(["get", "pods", "-n", "demo", "-w", "-o", "json"], id="stream.stopped-at-lines"),
    ],
)
def test_a_stream_kro_stops_is_an_answer_saying_so(session: KroSession, argv: list[str]) -> None:
    """Not 'kubectl exited with code 1', not 'killed by SIGTERM': kro says it stopped the stream."""
    proc = session.run("kubectl", *argv, output="envelope", options=("--stream-seconds", "2"))
    env = envelope(proc.stdout)
    assert env["status"] == "ok", env
    assert "kro stopped the stream itself" in env["agent_context"]
    assert "exited with code" not in env["agent_context"]
    assert "The stream was stopped after 2 s or 200 lines" in env["notice"]
    assert "db-0" in env["content"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(
            ["rollout", "status", "deploy/web", "-n", "demo", "--timeout=1s"], id="user.rollout-timeout"
        ),
        pytest.param(
            ["wait", "--for=condition=Ready", "pod/web-7c9f8d6b5d-zr2wn", "-n", "demo", "--timeout=1s"],
            id="user.wait-timeout",
        ),
    ],
)
def test_wait_and_rollout_timeouts_are_answers(session: KroSession, argv: list[str]) -> None:
    """kubectl's own --timeout ran out: kind user (the cluster answered), with what to do next."""
    env = envelope(session.run("kubectl", *argv, output="envelope").stdout)
    assert (env["status"], env["kind"]) == ("error", "user"), env
    assert env["message"].startswith("error: timed out waiting for the condition")
    assert "kubectl describe" in env["message"]
    [call] = session.audit()
    assert call["exit_code"] == 1
