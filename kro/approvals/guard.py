"""Refuse the approval side inside a kro session: the markers a session leaves on its processes.

These are the honest agent's tripwires, not a boundary: in a seatbelt session the agent runs as the user
and can clear its environment or detach from its parent. Under --confine the queue, the user's
kubeconfig and the real kubectl are not visible inside at all, which is what actually stops it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from kro.sandbox.confine_env import BOX
from kro.sandbox.platform import cmdline, parent_pid
from kro.sandbox.session_dir import is_shim

_LAUNCHERS = ("kro-run", "kro.sandbox.launcher")


def ancestors(pid: int) -> list[int]:
    """`pid`'s parent, its parent, … up to (not including) pid 1."""
    found: list[int] = []
    pid = parent_pid(pid)
    while pid > 1 and pid not in found and len(found) < 256:
        found.append(pid)
        pid = parent_pid(pid)
    return found


def markers(env: Mapping[str, str], launchers: Iterable[int], pid: int | None = None) -> list[str]:
    """Signs that this process runs inside a kro session (empty when none is found).

    `launchers` are the live sessions' launcher pids (with an exec'd agent, the agent's own pid).
    """
    found = []
    if env.get("KRO_SESSION"):
        found.append(f"KRO_SESSION is set ({env['KRO_SESSION']})")
    for directory in env.get("PATH", "").split(os.pathsep):
        if directory and is_shim(os.path.join(directory, "kubectl")):
            found.append(f"PATH holds a kro shim ({directory})")
            break
    if os.path.exists(os.path.join(BOX, "session.json")):
        found.append(f"this is a --confine sandbox ({BOX} holds a session)")
    me = os.getpid() if pid is None else pid
    live = set(launchers)
    for ancestor in [me, *ancestors(me)]:
        if ancestor in live:
            found.append(f"process {ancestor}, an ancestor, is a kro session's launcher")
            break
        command = cmdline(ancestor).replace(b"\0", b" ").decode(errors="replace").strip()
        if any(name in command for name in _LAUNCHERS):
            found.append(f"process {ancestor}, an ancestor, runs {command[:120]}")
            break
    return found
