"""`kubectl-ro`: the shim as a kubectl plugin (`kubectl ro get pods`) pinned to the current context."""

from __future__ import annotations

import os
import sys
import time

from kro.sandbox.pinning import plugin_session
from kro.shims.errors import guarded
from kro.shims.executor import DIRECT
from kro.shims.shim import serve

HELP = """usage: kubectl ro [KUBECTL ARGS...]      (or kubectl-ro [KUBECTL ARGS...]; kubectl-ro --kro-help)

Run one kubectl call through kro's read-only policy, pinned to the current context of your
kubeconfig, with an audit line in $XDG_STATE_HOME/kro/audit.jsonl. Blocked calls print
'✘ BLOCKED: <reason>' and exit 77. Environment: KRO_OUTPUT=envelope for JSON envelopes,
KRO_AUDIT_LOG to choose the audit log.
"""


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
