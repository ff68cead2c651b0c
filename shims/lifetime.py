"""The Linux process primitives the tool runners need (PR_SET_PDEATHSIG, pidfd), each with a fallback.

This is the stdlib-only floor of `kro.sandbox.platform`, which owns every OS difference and re-exports
these: the shim's tool runners (kro.shims.executor) need them, and kro.shims never imports kro.sandbox.
`PORTABLE` (KRO_PLATFORM=portable, read once here so both layers agree) turns the Linux-only primitives
off, so the fallbacks that macOS runs can be exercised on Linux.
"""

from __future__ import annotations

import os
import signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from subprocess import Popen

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

PORTABLE = os.environ.get("KRO_PLATFORM") == "portable"
LINUX = not PORTABLE and os.uname().sysname == "Linux"


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, None where there is none (macOS) or the Linux primitives are switched off."""
    if not LINUX:
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return prctl


def tied(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A preexec_fn for Popen: the child gets `sig` when the thread that started it ends.

    The libc function is looked up here, before the fork: the child only calls it. None without
    PR_SET_PDEATHSIG: the child then lives on in its process group, which its starter ends (kro-run's
    supervisor, a tool runner's bound) or the next kro-run reclaims.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl: no signal will come
            os._exit(1)

    return preexec


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER); False if refused."""
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def exit_fd(proc: Popen[bytes]) -> int:
    """A descriptor that turns readable when `proc` exits; the caller closes it.

    A pidfd on Linux; elsewhere a pipe whose write end a waiter thread closes once `proc` has exited.
    """
    if LINUX and hasattr(os, "pidfd_open"):
        return os.pidfd_open(proc.pid)
    import threading

    read, write = os.pipe()

    def wait() -> None:
        try:
            proc.wait()
        finally:
            os.close(write)

    threading.Thread(target=wait, name=f"wait-{proc.pid}", daemon=True).start()
    return read


def activity(pid: int) -> tuple[int, float] | None:
    """Bytes process `pid` has read so far (sockets included) and its CPU seconds; None where unknown."""
    # kubectl prints -o json only once the whole list has arrived and been decoded: its stdout alone
    # cannot tell a big list still downloading or decoding from a hung call; these can (Linux: /proc).
    if not LINUX:
        return None  # elsewhere only output counts as progress
    try:
        with open(f"/proc/{pid}/io", "rb") as handle:
            read = int(handle.read().split(b"\n", 1)[0].split()[1])
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return read, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def stdout_of(pid: int) -> tuple[str, int, int] | None:
    """Process `pid`'s command name and its stdout's (st_dev, st_ino); None where unknown."""
    if not LINUX:
        return None  # elsewhere no pipe hint is given (the envelope still says where the data is)
    try:
        with open(f"/proc/{pid}/comm") as handle:
            name = handle.read().strip()
        theirs = os.stat(f"/proc/{pid}/fd/1")
    except OSError:
        return None
    return name, theirs.st_dev, theirs.st_ino
