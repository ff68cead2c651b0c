"""Every OS difference kro-run depends on, chosen by feature detection, each with a portable fallback.

- agent exit: a pidfd in the select; elsewhere SIGCHLD through the signal wakeup fd, then waitpid.
- parent death: PR_SET_PDEATHSIG; elsewhere the agent's own process group, and the next kro-run
  reclaims what a killed one left (by the KRO_SESSION marker in the environment).
- orphans: PR_SET_CHILD_SUBREAPER; elsewhere the agent's process group is ended after it exits.
- process walking: /proc; elsewhere psutil.
- long socket paths: bind through /proc/self/fd; elsewhere a plain bind.
- --confine's engine: bubblewrap on Linux; Seatbelt on macOS (kro.sandbox.seatbelt, profile only).

The parent-death and exit-descriptor primitives live in `kro.shims.lifetime` (stdlib only): the shim's
tool runners need them and kro.shims must not import kro.sandbox; this module re-exports them, so
`kro.shims.lifetime` and this module are the only places that touch prctl, pidfd or /proc.
KRO_PLATFORM=portable (read once, in kro.shims.lifetime) turns every Linux-only primitive off.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator

from kro.shims.lifetime import LINUX, PORTABLE, become_subreaper, exit_fd, tied

__all__ = [
    "LINUX",
    "PORTABLE",
    "agent_exit_fd",
    "become_subreaper",
    "bind_unix",
    "cmdline",
    "confine_engine",
    "descendants",
    "exit_fd",
    "parent_pid",
    "session_processes",
    "start_time",
    "tied",
]

PROC = LINUX and os.path.isdir("/proc/self")


def confine_engine() -> str | None:
    """The sandbox --confine builds on here: bubblewrap on Linux, Seatbelt (sandbox-exec) on macOS."""
    return {"Linux": "bwrap", "Darwin": "seatbelt"}.get(os.uname().sysname)


def agent_exit_fd(proc: subprocess.Popen[bytes]) -> int | None:
    """A pidfd for the supervised agent; None where there is none (SIGCHLD on the wakeup fd stands in)."""
    if LINUX and hasattr(os, "pidfd_open"):
        return os.pidfd_open(proc.pid)
    return None


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(ppid, state, comm) of a process from /proc, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode(errors="replace")
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], comm


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, ppid, name) of every live process, zombies left out."""
    if PROC:
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[1] != "Z":
                yield int(entry), stat[0], stat[2]
        return
    import psutil

    for proc in psutil.process_iter(["pid", "ppid", "name", "status"]):
        info = proc.info
        if info["status"] != psutil.STATUS_ZOMBIE and info["ppid"] is not None:
            yield info["pid"], info["ppid"], info["name"] or ""


def descendants(root: int) -> list[tuple[int, str]]:
    """Live processes below `root` (pid, name), zombies left out."""
    children: dict[int, list[tuple[int, str]]] = {}
    for pid, ppid, name in _processes():
        children.setdefault(ppid, []).append((pid, name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def parent_pid(pid: int) -> int:
    """`pid`'s parent, 0 if it is gone; an OSError that is not about the process (EMFILE…) propagates."""
    if PROC:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                return int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError, IndexError):
            return 0
    import psutil

    try:
        return int(psutil.Process(pid).ppid())
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return 0


def cmdline(pid: int) -> bytes:
    """`pid`'s argv, NUL-separated as in /proc/PID/cmdline; b'' if unknown."""
    if PROC:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                return handle.read()
        except OSError:
            return b""
    import psutil

    try:
        return b"".join(os.fsencode(arg) + b"\0" for arg in psutil.Process(pid).cmdline())
    except (psutil.Error, OSError, ValueError):
        return b""


def start_time(pid: int) -> str:
    """When `pid` started, as an opaque string (so a reused pid is not taken for the same process)."""
    if PROC:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                return handle.read().rsplit(b")", 1)[1].split()[19].decode()
        except (OSError, IndexError):
            return ""
    import psutil

    try:
        return repr(psutil.Process(pid).create_time())
    except (psutil.Error, OSError, ValueError):
        return ""


def _environ(pid: int) -> list[bytes] | None:
    """`pid`'s environment entries if it is this user's process, else None."""
    if PROC:
        try:
            if os.stat(f"/proc/{pid}").st_uid != os.getuid():
                return None
            with open(f"/proc/{pid}/environ", "rb") as handle:
                return handle.read().split(b"\0")
        except OSError:
            return None
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.uids().real != os.getuid():
            return None
        return [os.fsencode(f"{k}={v}") for k, v in proc.environ().items()]
    except (psutil.Error, OSError, ValueError):
        return None


def session_processes(session_dir: str) -> list[int]:
    """This user's processes (kro-run itself left out) started for `session_dir`: KRO_SESSION names it in
    their environment, or their argv names it (the real kubectl a shim exec'd: --kubeconfig=DIR/…)."""
    marker, named = os.fsencode(f"KRO_SESSION={session_dir}"), os.fsencode(session_dir.rstrip("/") + "/")
    if PROC:
        pids = [int(e) for e in os.listdir("/proc") if e.isdigit()]
    else:
        import psutil

        pids = psutil.pids()
    found = []
    for pid in pids:
        env = _environ(pid) if pid != os.getpid() else None
        if env is not None and (marker in env or named in cmdline(pid)):
            found.append(pid)
    return found


def end_group(pgid: int, grace: float) -> bool:
    """SIGTERM the process group `pgid`, SIGKILL it if anything is left after `grace` s; whether it had any.

    Where kro-run cannot be a subreaper this is how the agent's orphans end: they stay in its group.
    """
    import time

    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return True
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    return True


def bind_unix(sock: socket.socket, path: str) -> None:
    """bind() even when the path is longer than sun_path allows (through /proc/self/fd, on Linux)."""
    if len(os.fsencode(path)) < 100 or not PROC:
        sock.bind(path)
        return
    fd = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
    try:
        sock.bind(f"/proc/self/fd/{fd}/{os.path.basename(path)}")
    finally:
        os.close(fd)
