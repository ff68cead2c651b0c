"""Run the agent as kro-run's child: forward signals, bound the shutdown, leave no process behind.

`Supervisor.run` starts the agent in its own process group (handed the terminal when kro-run has it),
forwards SIGTERM, SIGINT and SIGHUP to it, and `grace` seconds after the first one kills the group. When
the agent is gone it ends every process kro-run still has below it (kro-run is a subreaper, so orphans of
the agent count; so do the tools the --confine broker runs), then runs the cleanups registered with
`on_exit` (last registered first), on every exit path. The exit code is the agent's, 128+N when signal N
ended it. If kro-run itself is killed outright, the agent dies with it (PR_SET_PDEATHSIG) and the next
kro-run ends what is left of the session (`end_session_processes`). Where kro-run cannot be a subreaper
or tie the agent to itself (kro.sandbox.platform: macOS), the agent's process group is ended after it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType

from kro.sandbox.platform import (
    agent_exit_fd,
    become_subreaper,
    descendants,
    end_group,
    session_processes,
    tied,
)

GRACE_S = 5.0
SWEEP_S = 2.0
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

Start = Callable[..., "subprocess.Popen[bytes]"]
Forward = Callable[["subprocess.Popen[bytes]", int], None]


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send `sig` to the agent's process group (the default way to forward)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def end_descendants(root: int, wait: float = SWEEP_S) -> int:
    """SIGTERM every live process below `root`, SIGKILL what is left after `wait` s; how many there were."""
    first = descendants(root)
    for sig, grace in ((signal.SIGTERM, wait), (signal.SIGKILL, wait)):
        left = descendants(root)
        if not left:
            break
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while descendants(root) and time.monotonic() < deadline:
            time.sleep(0.02)
    return len(first)


def end_session_processes(session_dir: str) -> int:
    """SIGKILL this user's processes started for `session_dir` (their environment or argv names it)."""
    killed = 0
    for pid in session_processes(session_dir):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def exit_on_signals() -> None:
    """Until a Supervisor runs, SIGTERM/SIGHUP end kro-run through SystemExit(128+N): cleanups still run."""

    def leave(sig: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + sig)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, leave)


class Supervisor:
    """One agent run under kro-run: signals forwarded, shutdown bounded, cleanups run on every exit path."""

    def __init__(self, grace: float = GRACE_S, session_dir: str | None = None) -> None:
        self.grace = grace
        self.session_dir = session_dir  # where kro-run is no subreaper: what to sweep by marker at the end
        self._cleanups: list[Callable[[], object]] = []
        self._pending: list[int] = []

    def on_exit(self, cleanup: Callable[[], object]) -> None:
        """Run `cleanup` after the agent and its processes are gone (last registered runs first)."""
        self._cleanups.append(cleanup)

    def _note(self, sig: int, frame: FrameType | None) -> None:
        self._pending.append(sig)

    def run(self, start: Start, forward: Forward = signal_group) -> int:
        """Start the agent with `start(**popen_options)`, supervise it; its exit code (128+N for signal N)."""
        reaper = become_subreaper()
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        handlers = {sig: signal.signal(sig, self._note) for sig in (*FORWARDED, signal.SIGCHLD)}
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        try:
            with _terminal() as tty:
                proc = start(process_group=0, preexec_fn=_child_setup())
                tty.give(proc.pid)
                try:
                    return self._wait(proc, forward, wake_r, tty)
                finally:
                    if proc.returncode is None:
                        signal_group(proc, signal.SIGKILL)
                        proc.wait()
                    if not reaper:  # its orphans went to init: they are in its group or carry its marker
                        end_group(proc.pid, SWEEP_S)
                        if self.session_dir is not None:
                            end_session_processes(self.session_dir)
                    end_descendants(os.getpid())
        finally:
            try:
                for cleanup in reversed(self._cleanups):
                    with contextlib.suppress(Exception):
                        cleanup()
            finally:
                signal.set_wakeup_fd(old_wakeup)
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)
                wake_r.close()
                wake_w.close()

    def _wait(self, proc: subprocess.Popen[bytes], forward: Forward, wake: socket.socket, tty: _Tty) -> int:
        exited = agent_exit_fd(proc)  # None: SIGCHLD wakes the select through the wakeup fd instead
        watched = [wake.fileno()] if exited is None else [exited, wake.fileno()]
        deadline: float | None = None
        try:
            while True:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                select.select(watched, [], [], timeout)
                with contextlib.suppress(BlockingIOError):
                    while wake.recv(512):
                        pass
                pending, self._pending = self._pending, []
                for sig in pending:
                    if sig != signal.SIGCHLD:
                        forward(proc, sig)
                        if deadline is None:
                            deadline = time.monotonic() + self.grace
                pid, status = os.waitpid(proc.pid, os.WNOHANG | os.WUNTRACED)
                if pid and os.WIFSTOPPED(status):
                    tty.stopped(proc.pid)
                    continue
                if pid:
                    code = os.waitstatus_to_exitcode(status)
                    proc.returncode = code
                    return 128 - code if code < 0 else code
                if deadline is not None and time.monotonic() >= deadline:
                    signal_group(proc, signal.SIGKILL)
                    code = proc.wait()
                    return 128 - code if code < 0 else code
        finally:
            if exited is not None:
                os.close(exited)


def _child_setup() -> Callable[[], None]:
    """The agent's preexec: dies with kro-run, and gets SIGTTOU's default back (kro-run ignores it)."""
    tie = tied()

    def setup() -> None:
        if tie is not None:
            tie()
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)

    return setup


class _Tty:
    """The controlling terminal, when kro-run is its foreground job: handed to the agent's group."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def give(self, pgid: int) -> None:
        """Make `pgid` the foreground group (and wake it, in case it stopped reading the terminal first)."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.tcsetpgrp(self.fd, pgid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGCONT)

    def stopped(self, pgid: int) -> None:
        """The agent was stopped (^Z): stop kro-run too, as a shell job, then resume both."""
        if self.fd is None:
            return  # no job control here: whoever stopped it resumes it
        with contextlib.suppress(OSError):
            os.tcsetpgrp(self.fd, os.getpgrp())
        os.kill(os.getpid(), signal.SIGSTOP)
        self.give(pgid)


@contextlib.contextmanager
def _terminal() -> Iterator[_Tty]:
    """The terminal kro-run runs in the foreground of, if any; given back to kro-run's group at the end."""
    fd = sys.stdin.fileno() if sys.stdin is not None else -1
    try:
        foreground = os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        foreground = False
    if not foreground:
        yield _Tty(None)
        return
    ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may set the foreground then
    try:
        yield _Tty(fd)
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, os.getpgrp())
        signal.signal(signal.SIGTTOU, ttou)
