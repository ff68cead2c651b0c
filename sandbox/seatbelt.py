"""`--confine` on macOS: a Seatbelt profile (sandbox-exec) from the same plan as the bubblewrap sandbox.

`confine.plan` decides what the sandbox hides, shows and lets the agent write (a Layout); `bwrap_args`
turns it into mounts on Linux, `profile` here into SBPL rules (the last matching rule wins):

- every read allowed, then the hidden dirs and files (kubeconfigs, the files they name, credential
  dirs, kro's session dirs, the audit log, the real kubectl) denied to reads and writes;
- every write denied, then allowed under the working dir, the agents' dirs, --rw paths and the box's
  private temp dir, then denied again under .git/hooks, .git/config and code run outside;
- the host's temp dirs (bubblewrap's fresh tmpfs) denied to reads and writes: the agent gets TMPDIR in
  the box instead; kro's own install and the box stay readable (bubblewrap's `shown` binds).

What bubblewrap gives and Seatbelt does not: a PID namespace (the agent can see and signal the user's
other processes), a private /run and IPC namespace, the TIOCSTI terminal guard. Not yet run on a Mac.
"""

from __future__ import annotations

import os

from kro.sandbox import protected_paths as pp
from kro.sandbox.confine import Layout

_DEVICES = ('(literal "/dev/null")', '(literal "/dev/zero")', '(literal "/dev/dtracehelper")',
            '(regex #"^/dev/tty")', '(regex #"^/dev/fd/")', '(regex #"^/dev/ptmx$")',
            '(regex #"^/dev/ttys[0-9]+$")')  # fmt: skip


def _quote(path: str) -> str:
    """An SBPL string literal."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rule(action: str, ops: str, filters: list[str]) -> list[str]:
    if not filters:
        return []
    return [f"({action} {ops}", *(f"    {f}" for f in filters), ")"]


def _subpaths(paths: tuple[str, ...] | list[str]) -> list[str]:
    return [f"(subpath {_quote(p)})" for p in paths]


def profile(layout: Layout, box: str, tmp: str, host_tmp: tuple[str, ...] = ()) -> str:
    """The SBPL profile for `layout`; `box` is the session's box (shims, session.json), `tmp` the agent's
    TMPDIR in it, `host_tmp` the host's per-user temp dirs (macOS's $TMPDIR) hidden as /tmp is."""
    lines = [
        "(version 1)",
        ";; kro-run --confine: generated from the same plan as the bubblewrap sandbox (kro.sandbox.seatbelt)",
        "(allow default)",
    ]
    fresh = [os.path.realpath(p) for p in (*layout.fresh, *host_tmp)]  # Seatbelt sees /private/tmp
    hidden = [*_subpaths(fresh), *_subpaths(layout.hidden_dirs)]
    hidden += [f"(literal {_quote(p)})" for p in layout.hidden_files]
    lines += _rule("deny", "file-read* file-write*", hidden)
    lines += _rule("allow", "file-read*", _subpaths([*(src for src, _ in layout.shown), box]))
    lines += ["(deny file-write*)"]
    lines += _rule("allow", "file-write*", [*_subpaths([*layout.rw, tmp]), *_DEVICES])
    # what runs later outside (git metadata, the agents' settings): no write, no rename, no creation
    # a pinned dir (a git dir) keeps its name, its contents stay writable; the rest is read-only as a whole
    pinned = [f"(literal {_quote(p.path)})" for p in layout.protected if p.how == pp.PIN]
    protected = [p.path for p in layout.protected if p.how != pp.PIN]
    read_only = _subpaths([*layout.ro_code, *protected, box])
    lines += _rule("deny", "file-write*", [*read_only, *pinned])
    lines += _rule("allow", "file-read* file-write*", _subpaths([tmp]))
    return "\n".join(lines) + "\n"
