"""Run the agent as kro-run's child: kro-run stays its parent (it holds the session's API proxy)."""

from __future__ import annotations

import signal
import subprocess
from types import FrameType

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_child(cmd: list[str], program: str, env: dict[str, str]) -> int:
    """Start CMD, forward SIGTERM/SIGINT/SIGHUP to it, wait; its exit code (128+N when killed by signal N)."""
    proc = subprocess.Popen(cmd, executable=program, env=env)

    def forward(signum: int, frame: FrameType | None) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code
