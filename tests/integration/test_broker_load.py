"""The --confine broker under load: descriptors stay flat, a low descriptor limit is survived."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kro_testing import wait_for
from test_confine import TOKEN, Confined, confined, needs_bwrap

from kro.democluster.server import DemoCluster
from kro.sandbox.broker import max_calls

__all__ = ["confined"]  # a fixture, used by name

pytestmark = pytest.mark.load

LOAD = Path(__file__).with_name("broker_load.py")
BLOCKED = ("delete", "pod", "x")  # decided and audited by the broker, nothing started: the cheapest call


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCluster]:
    """test_confine's cluster, but a watch stays open until its client leaves: the twelve watches that fill
    the broker must all be open at once, however long a loaded machine takes to start them."""
    log = tmp_path_factory.mktemp("broker-load-cluster") / "requests.jsonl"
    with DemoCluster(port=0, token=TOKEN, request_log=log, watch_seconds=3600) as demo:
        yield demo


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _settled_fds(pid: int, seconds: float = 10.0) -> int:
    """kro-run's descriptor count once no call is in flight: a round's last calls have answered the client
    but the broker may still be closing them, which only adds descriptors; the lowest count seen until the
    count has held still for half a second (or `seconds` have passed)."""
    last = lowest = _fds(pid)
    steady = 0
    deadline = time.monotonic() + seconds
    while steady < 25 and time.monotonic() < deadline:
        time.sleep(0.02)
        now = _fds(pid)
        steady = steady + 1 if now == last else 0
        last, lowest = now, min(lowest, now)
    return lowest


Rounds = tuple[list[str], list[int], subprocess.CompletedProcess[str]]


def _run_rounds(confined: Confined, calls: int, rounds: int, threads: int, argv: tuple[str, ...],
                nofile: int | None = None) -> Rounds:  # fmt: skip
    """Run broker_load.py in the sandbox; the round lines and kro-run's descriptor count after each round."""
    shutil.copy(LOAD, confined.work / LOAD.name)
    for done in confined.work.glob("go-*"):  # an earlier run's: each round must wait for its own
        done.unlink()

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    argv_all = [str(Path(sys.executable).parent / "kro-run"), "--confine", "--context", "kro-demo",
                "--output", "plain", "--", sys.executable, LOAD.name, str(calls), str(rounds), str(threads),
                *argv]  # fmt: skip
    proc = subprocess.Popen(
        argv_all, cwd=confined.work, env=confined.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=limit,
    )  # fmt: skip
    assert proc.stdout is not None
    lines, fds = [], []
    try:
        for i in range(rounds):
            line = proc.stdout.readline()
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            assert line.startswith(f"round {i}"), line + err
            lines.append(line.strip())
            fds.append(_settled_fds(proc.pid))
            (confined.work / f"go-{i}").touch()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return lines, fds, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@needs_bwrap
def test_ten_thousand_calls_keep_descriptors_flat(confined: Confined) -> None:
    """10,000 blocked calls (decided and audited, no kubectl: the cheapest brokered call) in 10 rounds, then
    100 allowed `kubectl version --client` calls: kro-run's descriptor count does not grow with the calls."""
    lines, fds, proc = _run_rounds(confined, 1000, 10, 4, BLOCKED)
    assert proc.returncode == 0, proc.stderr
    assert lines == [f"round {i} 77=1000" for i in range(10)]
    assert max(fds) - fds[0] <= 4, f"descriptors after each 1,000 calls: {fds}"
    records = confined.audit()
    assert len(records) == 10_000
    assert {r["rule"] for r in records} == {"verb.mutating"}
    lines, allowed_fds, proc = _run_rounds(confined, 50, 2, 2, ("version", "--client"))
    assert lines == ["round 0 0=50", "round 1 0=50"], proc.stderr
    assert allowed_fds[1] - allowed_fds[0] <= 4, f"descriptors after each 50 kubectl calls: {allowed_fds}"


@needs_bwrap
def test_a_low_descriptor_limit_is_survived(confined: Confined) -> None:
    """With `ulimit -n 256`, 1,000 calls from 32 threads at once: each is decided (77) or told the broker is
    busy (75, retry); none hangs, none gets a policy-looking refusal, and every attempt is audited."""
    lines, _, proc = _run_rounds(confined, 1000, 1, 32, BLOCKED, nofile=256)
    assert proc.returncode == 0, proc.stderr
    codes = dict(item.split("=") for item in lines[0].split()[2:])
    assert set(codes) <= {"77", "75"}, lines
    assert int(codes.get("77", 0)) >= 500, lines
    records = confined.audit()
    assert len(records) == 1000
    assert {r["rule"] for r in records} <= {"verb.mutating", "broker.busy"}
    lines, _, proc = _run_rounds(confined, 1000, 1, 1, BLOCKED, nofile=256)
    assert lines == ["round 0 77=1000"], proc.stderr


@needs_bwrap
def test_a_full_broker_says_busy(confined: Confined) -> None:
    """Under `ulimit -n 256` the broker runs 12 calls at once; with 12 watches holding them, the next call is
    answered at once with "busy, retry" (exit 75, audited broker.busy), and served once a watch ends."""
    assert max_calls(256) == 12
    script = (
        "for i in $(seq 12); do kubectl get pods -n demo -w >/dev/null 2>&1 & watches=\"$watches $!\"; done; "
        # the next call only once all twelve watch: a call made while they start could take a slot first
        "i=0; while [ ! -e all-watching ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; "
        "kubectl delete pod x 2>busy.txt; echo busy_rc=$?; "
        # $(jobs -p) would be empty: sh runs a command substitution in a subshell, which has no jobs
        "kill $watches; wait; kubectl delete pod x; echo after_rc=$?"
    )
    argv = [str(Path(sys.executable).parent / "kro-run"), "--confine", "--context", "kro-demo",
            "--output", "plain", "--", "sh", "-c", script]  # fmt: skip
    before = len(confined.cluster.requests())
    proc = subprocess.Popen(
        argv, cwd=confined.work, env=confined.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)),
    )  # fmt: skip


    def all_watching() -> bool:
        """Twelve watch requests reached the demo cluster (or kro-run ended: its output says why)."""
        watches = sum("watch=true" in r["query"] for r in confined.cluster.requests()[before:])
        return watches >= 12 or proc.poll() is not None

    try:
        wait_for(all_watching, "twelve watches at the demo cluster", timeout=120)
        (confined.work / "all-watching").touch()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "busy_rc=75" in out, out + err
    assert "after_rc=77" in out
    busy = (confined.work / "busy.txt").read_text()
    assert "already running 12 calls; nothing was run: retry in a moment" in busy
    assert "broker.busy" in {r["rule"] for r in confined.audit()}
