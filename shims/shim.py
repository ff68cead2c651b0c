"""The kubectl/kubetail shim: load the session beside the script, decide, audit, then run or block."""

from __future__ import annotations

import os
import sys
import time

from kro.shims import executor
from kro.shims.audit import AuditLog, Call
from kro.shims.decide import decide_argv
from kro.shims.errors import EXIT_BLOCKED, EXIT_NOT_FOUND, KroError
from kro.shims.model import Decision, Pins
from kro.shims.session import SESSION_FILE, Session, load_session


def tool_path(session: Session, tool: str) -> str | None:
    """The real binary the session recorded at launch for `tool`."""
    return session.kubectl if tool == "kubectl" else session.kubetail


def run(session: Session, tool: str, argv: list[str], started: float) -> int:
    """Decide and run one call in `session`; returns the exit code (or execs and never returns)."""
    inv, decision = decide_argv(tool, argv, Pins(session.context, session.namespaces))
    audit = AuditLog.open(session.audit_log)
    call = Call(session.id, tool, argv, session.context)
    if not decision.allowed:
        audit.write(call, decision, EXIT_BLOCKED, started)
        if session.output == "envelope":
            from kro.shims.envelope_mode import print_policy_error

            print_policy_error(session, decision)
            return 0
        sys.stderr.write(f"✘ BLOCKED: {decision.reason}\n")
        return EXIT_BLOCKED
    path = tool_path(session, tool)
    if not path or not os.access(path, os.X_OK):
        if tool == "kubetail":
            from kro.shims.kubetail_fallback import answer

            return answer(session, inv, decision, audit, call, started)
        missing = Decision(
            True, decision.rule, f"{tool} not found at {path or '(not recorded)'}", decision.verb
        )
        audit.write(call, missing, EXIT_NOT_FOUND, started)
        sys.stderr.write(
            f"kro: {tool} is not installed where kro-run found it ({path}); install it and restart\n"
        )
        return EXIT_NOT_FOUND
    pinned = executor.pinned_argv(inv, session)
    env = executor.session_env(os.environ, session)
    if session.output == "envelope":
        from kro.shims.envelope_mode import run_enveloped

        return run_enveloped(session, inv, decision, path, pinned, env, audit, call, started)
    audit.write(call, decision, None, started)
    executor.exec_tool(path, pinned, env)
    return 0  # unreachable: exec replaced the process


def main(tool: str, script: str, argv: list[str]) -> int:
    """Entry point of the bin/kubectl and bin/kubetail scripts a session holds."""
    started = time.monotonic()
    try:
        bin_dir = os.path.dirname(os.path.realpath(script))
        session = load_session(os.path.join(os.path.dirname(bin_dir), SESSION_FILE))
        return run(session, tool, argv, started)
    except KroError as exc:
        sys.stderr.write(f"kro: {exc}\n")
        return exc.exit_code
    except OSError as exc:
        sys.stderr.write(f"kro: could not run {tool}: {exc}\n")
        return EXIT_NOT_FOUND
    except KeyboardInterrupt:
        return 130
