"""Drive an approvals session: an agent script that waits between calls, and the user's kro commands."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kro_testing import BIN

SCALE = "kubectl scale deploy/web --replicas=3"
_STARTED: list[subprocess.Popen[str]] = []  # agents a failing test would otherwise leave waiting


def agent_script(calls: Sequence[str], work: Path) -> str:
    """A script that runs each call (output to N.out/N.err/N.code), and before call N>1 waits for go-N."""
    lines = []
    for n, call in enumerate(calls, 1):
        if n > 1:
            lines.append(f"touch {work}/ready-{n}; while [ ! -e {work}/go-{n} ]; do sleep 0.2; done")
        lines.append(f"{{ {call}\n}} > {work}/{n}.out 2> {work}/{n}.err; echo $? > {work}/{n}.code")
    return "\n".join(lines) + "\n"


@dataclass
class Agent:
    """A running agent script under kro-run; step() lets it make its next call and waits for it."""

    proc: subprocess.Popen[str]
    work: Path

    def wait_ready(self, n: int, timeout: float = 90) -> None:
        """Wait until call n-1 finished (the script waits before call n)."""
        deadline = time.monotonic() + timeout
        while not (self.work / f"ready-{n}").exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"agent ended early: {self.proc.communicate()}")
            assert time.monotonic() < deadline, f"agent did not get to call {n}"
            time.sleep(0.1)

    def go(self, n: int) -> None:
        """Let the agent make call n."""
        (self.work / f"go-{n}").touch()

    def result(self, n: int) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of call n."""
        return (
            int((self.work / f"{n}.code").read_text()),
            (self.work / f"{n}.out").read_text(),
            (self.work / f"{n}.err").read_text(),
        )

    def finish(self, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Wait for kro-run to end."""
        out, err = self.proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)


def start_agent(
    argv: Sequence[str], calls: Sequence[str], work: Path, env: Mapping[str, str], cwd: Path | None = None
) -> Agent:
    """Start `kro-run ARGV... -- sh -c SCRIPT` and wait for its first call to finish."""
    work.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [*argv, "--", "sh", "-c", agent_script(calls, work)],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _STARTED.append(proc)
    agent = Agent(proc, work)
    if len(calls) > 1:
        agent.wait_ready(2)
    return agent


def kro(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The user's `kro ARGS` (outside any session)."""
    return subprocess.run(
        [str(BIN / "kro"), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


class Terminal:
    """`kro ARGS` on a pseudo-terminal of its own (its /dev/tty), answered prompt by prompt."""

    def __init__(self, env: Mapping[str, str], *args: str) -> None:
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: exec kro on the pty
            os.execve(str(BIN / "kro"), [str(BIN / "kro"), *args], dict(env))
        self.text = ""

    def expect(self, snippet: str, timeout: float = 60) -> str:
        """Read until `snippet` has been printed (after what was read before); the text so far."""
        deadline = time.monotonic() + timeout
        start = len(self.text)
        while snippet not in self.text[start:]:
            left = deadline - time.monotonic()
            assert left > 0, f"{snippet!r} not printed; got {self.text!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"kro ended before printing {snippet!r}; got {self.text!r}"
                self.text += chunk.decode(errors="replace")
        return self.text

    def answer(self, line: str) -> None:
        """Type `line` and Enter."""
        os.write(self.fd, line.encode() + b"\n")

    def finish(self, timeout: float = 120) -> int:
        """Read to the end; kro's exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 1)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.text += chunk.decode(errors="replace")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def pending(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """`kro approvals --json`, parsed."""
    done = kro(env, "approvals", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def audit_lines(path: Path, session: str | None = None) -> list[dict[str, Any]]:
    """The audit records (of one session)."""
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [r for r in records if session is None or r["session"] == session]


def writes(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The demo's non-GET/HEAD requests (self-subject reviews aside)."""
    return [r for r in requests if r["method"] not in ("GET", "HEAD") and "selfsubject" not in r["path"]]


@pytest.fixture(autouse=True)
def stop_agents() -> Iterator[None]:
    """After each test, end every agent it started that still runs (a failed test leaves them waiting)."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
