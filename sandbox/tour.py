"""The scripted tour `kro-run --demo` gives when no command is named: reads, blocks, the audit."""

from __future__ import annotations

import sys
from pathlib import Path

from kro.audit_view import Filters, calls, fold_api, records_of, render
from kro.shims.executor import run_to_end
from kro.shims.session import Session

STEPS = [
    ("an allowed read", ["kubectl", "get", "pods", "-n", "demo"]),
    ("a mutation, blocked", ["kubectl", "delete", "deployment", "web", "-n", "demo"]),
    ("a secret's values, blocked", ["kubectl", "get", "secret", "db-creds", "-n", "demo", "-o", "yaml"]),
    ("secret names are fine", ["kubectl", "get", "secrets", "-n", "demo"]),
    ("another context, blocked", ["kubectl", "--context", "kro-demo-other", "get", "pods"]),
    ("a flag value hiding the verb, blocked", ["kubectl", "-n", "get", "delete", "pod", "x"]),
]


def _say(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def run_tour(session: Session, env: dict[str, str]) -> int:
    """Run each step through the session's shims and show what the agent would see."""
    _say(
        f"kro demo session: context {session.context!r}, output {session.output}, audit {session.audit_log}\n"
    )
    failures = 0
    for title, argv in STEPS:
        _say(f"\n# {title}\n$ {' '.join(argv)}\n")
        ran = run_to_end(argv, env, 60)  # the session's shim, as an agent would call it
        _say(ran.stdout.decode(errors="replace"))
        _say(ran.stderr.decode(errors="replace"))
        _say(f"(exit {ran.exit_code})\n")
        failures += ran.exit_code not in (0, 77)
    _say(f"\n# the audit log, as 'kro audit --session {session.id}' shows it (one line per call)\n")
    views = fold_api(calls(records_of(Path(session.audit_log))))
    _say(render(views, Filters(session=session.id)))
    _say("(kro audit --api lists the API requests under each call; --json gives the records)\n")
    return 1 if failures else 0
