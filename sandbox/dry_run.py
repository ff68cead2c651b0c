"""`kro-run --dry-run`: print what would be run and set, and run nothing."""

from __future__ import annotations

import shlex

from kro.sandbox.agents import TITLES, Setup
from kro.shims.session import Session

SESSION_VARS = ("PATH", "KUBECONFIG", "KUBERC", "KRO_SESSION")


def describe(session: Session, cmd: list[str], base: dict[str, str], child: dict[str, str], agent: Setup,
             *, confined: bool, agent_setup: bool) -> str:  # fmt: skip
    """The dry run's report: session, command, agent profile, environment changes."""
    ns = ", ".join(session.namespaces) or "all"
    lines = [
        "kro-run --dry-run: nothing was run; the session dir below is removed again.",
        f"session     {session.dir}",
        f"context     {session.context} (namespaces: {ns}; output: {session.output})",
        f"audit log   {session.audit_log}",
        f"command     {shlex.join(cmd) if cmd else '(the tour, then your shell)'}",
    ]
    if confined:
        lines.append("confine     under bubblewrap; kubectl calls go to the broker in kro-run")
    if agent.agent:
        lines.append(f"agent       {TITLES[agent.agent]} (turn this off with --no-agent-setup)")
        lines += [f"  {what}\n      {why}" for what, why in agent.items]
        lines += [f"  note: {note}" for note in agent.notes]
    elif not agent_setup:
        lines.append("agent       no agent setup (--no-agent-setup)")
    else:
        lines.append("agent       not one kro knows (claude, codex, gemini): the session environment only")
    lines.append("environment")
    for name in (*SESSION_VARS, *agent.env):
        if not confined or name != "KUBECONFIG":
            lines.append(f"  {name}={child.get(name, '')}")
    removed = sorted(k for k in base if k not in child)
    if removed:
        lines.append(f"  removed: {' '.join(removed)}")
    return "\n".join(lines) + "\n"
