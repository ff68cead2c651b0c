"""The call pipeline through the Stdio seam: each sink × allowed / blocked / missing tool / audit failure.

Real parts: the session kro-run builds, the real kubectl against the demo cluster, real descriptors for the
caller's stdio (files the test reads back), the audit log on disk (or /dev/full, which refuses every write).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kro_testing import envelope

from kro.audit_command import calls, problems
from kro.democluster.testing import DemoHandle, kubectl_env
from kro.sandbox.pinning import PinOptions, build_session
from kro.shims.executor import Passed
from kro.shims.outcome import Outcome
from kro.shims.pipeline import run_call
from kro.shims.session import Session
from kro.shims.sinks import DataSink, EnvelopeSink, RedactedSink, Sink

SINKS: dict[str, type[Sink]] = {
    "envelope": EnvelopeSink,
    "plain": Sink,
    "redacted": RedactedSink,
    "data": DataSink,
}


@dataclass
class Caller:
    """A caller's stdio as real descriptors (files for stdout and stderr), handed to the pipeline."""

    tmp: Path
    env: dict[str, str]

    def __post_init__(self) -> None:
        self.out_path, self.err_path = self.tmp / "stdout", self.tmp / "stderr"
        self.fds = [
            os.open(os.devnull, os.O_RDONLY),
            os.open(self.out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            os.open(self.err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        ]
        self.hangup, self._keep = os.pipe()  # never readable: the caller stays

    def io(self) -> Passed:
        """The Stdio seam the broker uses, on these descriptors."""
        return Passed(self.fds[0], self.fds[1], self.fds[2], self.hangup, self.env)

    def close(self) -> None:
        """Close every descriptor."""
        for fd in (*self.fds, self.hangup, self._keep):
            os.close(fd)

    @property
    def stdout(self) -> str:
        """What the caller got on stdout."""
        return self.out_path.read_text()

    @property
    def stderr(self) -> str:
        """What the caller got on stderr."""
        return self.err_path.read_text()


@pytest.fixture
def session(demo_cluster: DemoHandle, tmp_path: Path) -> Session:
    """A session built the way kro-run builds it, pinned to kro-demo, with its own audit log and cache."""
    workdir = tmp_path / "session"
    (workdir / "bin").mkdir(parents=True, mode=0o700)
    opts = PinOptions(context="kro-demo", audit_log=tmp_path / "audit.jsonl", request_timeout=60)
    built = build_session(opts, kubectl_env(), workdir, demo_cluster.kubeconfig)
    return built._replace(cache_dir=str(tmp_path / "cache"))


@pytest.fixture
def caller(tmp_path: Path) -> Iterator[Caller]:
    """The caller's stdio."""
    found = Caller(tmp_path, {**kubectl_env(), "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    yield found
    found.close()


CASES = {
    "allowed": ["get", "pods", "-n", "demo"],
    "blocked": ["delete", "pod", "web-0", "-n", "demo"],
    "missing-tool": ["get", "pods", "-n", "demo"],
    "audit-failure": ["get", "pods", "-n", "demo"],
    "audit-failure-blocked": ["delete", "pod", "web-0", "-n", "demo"],
}
# (exit code, envelope/failure kind or None for an answer, text on stdout or in the answer, text on stderr)
EXPECT: dict[tuple[str, str], tuple[int, str | None, str, str]] = {
    ("envelope", "allowed"): (0, None, "web-7c9f8d6b5d-zr2wn", ""),
    ("plain", "allowed"): (0, None, "web-7c9f8d6b5d-zr2wn", ""),
    ("redacted", "allowed"): (0, None, "web-7c9f8d6b5d-zr2wn", ""),
    ("data", "allowed"): (0, None, "web-7c9f8d6b5d-zr2wn", ""),
    ("envelope", "blocked"): (0, "policy", "'delete' is a mutating command", ""),
    ("plain", "blocked"): (77, "policy", "", "✘ BLOCKED: 'delete' is a mutating command"),
    ("redacted", "blocked"): (77, "policy", "", "✘ BLOCKED: 'delete' is a mutating command"),
    ("data", "blocked"): (77, "policy", "'delete' is a mutating command", ""),
    ("envelope", "missing-tool"): (0, "infra", "kubectl is not installed at", ""),
    ("plain", "missing-tool"): (69, "infra", "", "kro: kubectl is not installed at"),
    ("redacted", "missing-tool"): (69, "infra", "", "kro: kubectl is not installed at"),
    ("data", "missing-tool"): (69, "infra", "kubectl is not installed at", ""),
}
for _mode in SINKS:
    for _case in ("audit-failure", "audit-failure-blocked"):
        _said = "cannot write the audit log /dev/full: No space left on device; the call was not run"
        EXPECT[(_mode, _case)] = (
            (0, "infra", _said, "") if _mode == "envelope" else
            (78, "infra", _said, "") if _mode == "data" else (78, "infra", "", f"kro: {_said}")
        )  # fmt: skip


def _prepare(session: Session, case: str, tmp: Path) -> Session:
    if case == "missing-tool":
        return session._replace(kubectl=str(tmp / "uninstalled" / "kubectl"))
    if case.startswith("audit-failure"):
        return session._replace(audit_log="/dev/full")
    return session


def _failure_text(outcome: Outcome, mode: str, caller: Caller) -> tuple[str | None, str]:
    """The failure kind and the answer text, read the way each front end reads them."""
    if mode == "envelope":
        env = envelope(caller.stdout)
        if env["status"] == "ok":
            return None, str(env["content"])
        return str(env["kind"]), str(env["message"])
    if mode == "data":
        if outcome.failure is not None:
            return outcome.failure.kind, outcome.failure.message
        assert outcome.result is not None
        return None, outcome.result.content
    return (outcome.failure.kind if outcome.failure else None), caller.stdout


@pytest.mark.parametrize("mode", list(SINKS))
@pytest.mark.parametrize("case", list(CASES))
def test_pipeline(
    demo_cluster: DemoHandle, session: Session, caller: Caller, tmp_path: Path, mode: str, case: str
) -> None:
    """Every sink gives the same outcome for the same call; the audit log holds what really happened."""
    sess = _prepare(session, case, tmp_path)
    before = len(demo_cluster.cluster.requests())
    outcome = run_call(sess, "kubectl", CASES[case], SINKS[mode](caller.io()))
    code, kind, text, err = EXPECT[(mode, case)]
    assert outcome.exit_code == code, caller.stderr
    got_kind, got_text = _failure_text(outcome, mode, caller)
    assert got_kind == kind
    assert text in got_text
    assert err in caller.stderr
    if mode in ("envelope", "data"):
        assert caller.stdout.count("\n") == (mode == "envelope"), "one envelope per call, or none (data)"
    reached = len(demo_cluster.cluster.requests()) > before
    assert reached == (case == "allowed"), "only an allowed, audited call with a kubectl reaches the server"
    if case.startswith("audit-failure"):
        return
    raw = Path(sess.audit_log).read_bytes().splitlines()
    assert all(problems(line) == [] for line in raw)
    records = [json.loads(line) for line in raw]
    assert [r["event"] for r in records] == (["call"] if case == "blocked" else ["call", "outcome"])
    [view] = calls(records)
    assert view["state"] == ("blocked" if case == "blocked" else "done")
    assert view["exit_code"] == {"allowed": 0, "blocked": 77, "missing-tool": 69}[case]
    if case == "missing-tool":
        assert "kubectl is not installed at" in view["error"]


def test_outcome_record_lost_after_the_call_ran(session: Session, caller: Caller, tmp_path: Path) -> None:
    """The call record lands, the outcome record cannot: the caller gets the output and a true message."""
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    import threading

    first: list[bytes] = []

    def read_one_record() -> None:  # a reader that takes the call record, then goes away
        with open(fifo, "rb") as reader:
            first.append(reader.readline())

    thread = threading.Thread(target=read_one_record)
    thread.start()
    sess = session._replace(output="envelope", audit_log=str(fifo))
    outcome = run_call(sess, "kubectl", ["get", "pods", "-n", "demo"], EnvelopeSink(caller.io()))
    thread.join(timeout=30)
    assert json.loads(first[0])["event"] == "call"
    env = envelope(caller.stdout)
    assert env["status"] == "ok"
    assert "web-7c9f8d6b5d-zr2wn" in env["content"]
    assert "the call ran (exit 0) but its outcome is not recorded" in caller.stderr
    assert "was not run" not in caller.stderr
    assert outcome.audit_problem is not None
