"""The scripted tour `kro-run --demo` gives when no command is named: reads, blocks, the audit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

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
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
        _say(proc.stdout)
        _say(proc.stderr)
        _say(f"(exit {proc.returncode})\n")
        failures += proc.returncode not in (0, 77)
    _say("\n# the audit log, one JSON line per attempt (this session)\n")
    for line in Path(session.audit_log).read_bytes().splitlines():
        record = orjson.loads(line)
        if record.get("session") == session.id:
            _say(line.decode() + "\n")
    return 1 if failures else 0
