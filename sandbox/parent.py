"""Run the agent as kro-run's child: kro-run stays its parent (it holds the session's API proxy)."""

from __future__ import annotations

import signal
import subprocess
from types import FrameType

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_child(cmd: list[str], program: str, env: dict[str, str]) -> int:
    """Start CMD, forward SIGTERM/SIGINT/SIGHUP to it, wait; its exit code (128+N when killed by signal N)."""
    child: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if not child:
            pending.append(signum)  # arrived while starting: delivered once the child exists
        elif child[0].poll() is None:
            child[0].send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        child.append(subprocess.Popen(cmd, executable=program, env=env))
        for signum in pending:
            child[0].send_signal(signum)
        code = child[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code
