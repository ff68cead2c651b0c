"""`kubectl-ro`: the shim as a kubectl plugin (`kubectl ro get pods`) pinned to the current context."""

from __future__ import annotations

import os
import sys
import time

from kro.shims.audit import default_path
from kro.shims.errors import ConfigError, ToolNotFound, guarded
from kro.shims.executor import DIRECT
from kro.shims.session import Session
from kro.shims.shim import serve

HELP = """usage: kubectl ro [KUBECTL ARGS...]      (or kubectl-ro [KUBECTL ARGS...]; kubectl-ro --kro-help)

Run one kubectl call through kro's read-only policy, pinned to the current context of your
kubeconfig, with an audit line in $XDG_STATE_HOME/kro/audit.jsonl. Blocked calls print
'✘ BLOCKED: <reason>' and exit 77. Environment: KRO_OUTPUT=envelope for JSON envelopes,
KRO_AUDIT_LOG to choose the audit log.
"""


def plugin_session(env: dict[str, str]) -> Session:
    """A session built on the fly: the user's kubeconfig, its current context, the real kubectl."""
    from kro.sandbox import kubeconfig as kc
    from kro.sandbox.session_dir import find_real

    kubectl = find_real("kubectl", env.get("PATH", ""))
    if kubectl is None:
        raise ToolNotFound("kubectl not found on PATH; install it and retry")
    config = kc.load(kc.kubeconfig_files(None, env), explicit=False)
    context = kc.choose_context(config, None)
    output = env.get("KRO_OUTPUT", "plain")
    if output not in ("plain", "envelope"):
        raise ConfigError("KRO_OUTPUT must be 'plain' or 'envelope'")
    from kro.shims.executor import launch_env

    pinned = launch_env(env, credential_plugin=kc.uses_credential_plugin(config, context))
    pinned["KUBECONFIG"] = env.get("KUBECONFIG")
    return Session(
        id="kubectl-ro",
        env=pinned,
        dir="",
        context=context,
        kubeconfig="",
        kubectl=kubectl,
        output=output,
        audit_log=env.get("KRO_AUDIT_LOG") or default_path(),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of `kubectl-ro`."""
    started = time.monotonic()
    args = sys.argv[1:] if argv is None else argv
    if args == ["--kro-help"]:
        sys.stdout.write(HELP)
        return 0
    def body() -> int:
        return serve(plugin_session(dict(os.environ)), "kubectl", args, DIRECT, started)

    return guarded("kubectl-ro", body)
