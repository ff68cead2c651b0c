"""The one module that starts processes: exec for plain mode, capture for envelopes (later: broker)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from kro.shims.model import Invocation
from kro.shims.session import Session

# Variables that change what kubectl runs, reads or where it caches; the session decides them.
_SCRUB_PREFIXES = ("KUBECTL_",)
_SCRUB_NAMES = frozenset({"KUBECACHEDIR", "KUBECONFIG", "KUBERC", "KUBECTL_EXTERNAL_DIFF"})


def session_env(base: Mapping[str, str], session: Session) -> dict[str, str]:
    """The environment kubectl runs with: the caller's, scrubbed, then the session's pins."""
    env = {k: v for k, v in base.items() if k not in _SCRUB_NAMES and not k.startswith(_SCRUB_PREFIXES)}
    if session.kubeconfig:
        env["KUBECONFIG"] = session.kubeconfig
    elif "KUBECONFIG" in base:
        env["KUBECONFIG"] = base["KUBECONFIG"]
    env["KUBERC"] = "off"
    for name, value in session.env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def pinned_argv(inv: Invocation, session: Session) -> list[str]:
    """argv with the session's kubeconfig/context (and kube cache) inserted after the verb's words."""
    pins = [f"--kubeconfig={session.kubeconfig}"] if session.kubeconfig else []
    if inv.tool == "kubetail":
        pins.append(f"--kube-context={session.context}")
    else:
        pins.append(f"--context={session.context}")
        if session.kube_cache_dir:
            pins.append(f"--cache-dir={session.kube_cache_dir}")
    argv = list(inv.argv)
    return argv[: inv.pin_at] + pins + argv[inv.pin_at :]


def exec_tool(path: str, argv: list[str], env: dict[str, str]) -> None:
    """Replace this process with the real tool (plain mode); returns only by raising OSError."""
    os.execve(path, [path, *argv], env)
