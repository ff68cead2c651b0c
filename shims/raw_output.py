"""Envelope sessions and shell composition: KRO_RAW=1 on one call, and the hint when an envelope is piped.

An envelope is for the caller (the agent); in `kubectl … | jq` or `x=$(kubectl …)` it goes to another
program instead. kro cannot tell a pipe to jq from an agent reading the call's output through a pipe of its
own, but it can tell when the shell gave the call a stdout other than its own: it then says on stderr (which
the agent does see) to put KRO_RAW=1 before the call, which runs it plain, redacted, under the same policy.
"""

from __future__ import annotations

import os

from kro.shims.session import Session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

RAW = "KRO_RAW"  # KRO_RAW=1 on one call of an envelope session: the tool's own output, still redacted


def raw_call(session: Session, env: Mapping[str, str]) -> Session:
    """The session a call runs under: KRO_RAW=1 makes an envelope session's call redacted plain output."""
    if session.output == "envelope" and env.get(RAW, "") not in ("", "0"):
        return session._replace(output="plain", redact=True)
    return session


def redirected_stdout() -> bool:
    """Whether the shell gave this call a stdout of its own (a pipe, $(…), a file), not the one it was given.

    In `kubectl … | jq` or `x=$(kubectl …)` the envelope goes to another program, not to the agent; the
    parent shell's own stdout is still the agent's. A terminal, or no shell parent, is never redirected.
    """
    import stat

    from kro.shims import lifetime  # envelope sessions only: the plain path imports no signal/enum

    try:
        mine = os.fstat(1)
        if stat.S_ISCHR(mine.st_mode):
            return False
        parent = lifetime.stdout_of(os.getppid())
    except OSError:
        return False
    if parent is None or parent[0] not in _SHELLS:
        return False
    return (mine.st_dev, mine.st_ino) != parent[1:]


_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish"})


def pipe_hint(tool: str, argv: list[str]) -> str:
    """What to run instead when an envelope went down a pipe or into a file (stderr, so the agent sees it)."""
    import shlex

    return (
        f"kro: this {tool} call's stdout is a pipe, $(…) or a file, so it got kro's JSON envelope (the "
        f"output is its .content), not {tool}'s own output; for that (redacted, same policy) put {RAW}=1 "
        f"before the call: {RAW}=1 {shlex.join([tool, *argv])}\n"
    )


def for_call(session: Session, tool: str, argv: list[str]) -> Session:
    """The session this call runs under (KRO_RAW=1 honoured); the hint first when its envelope is piped."""
    session = raw_call(session, os.environ)
    if session.output == "envelope" and redirected_stdout():
        os.write(2, pipe_hint(tool, argv).encode())
    return session
