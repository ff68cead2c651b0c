"""The kubectl/kubetail shim: load the session beside the script, decide, audit, then run or block."""

from __future__ import annotations

import os
import sys
import time

from kro.shims import executor
from kro.shims.audit import AuditLog, Call
from kro.shims.decide import decide_argv
from kro.shims.errors import EXIT_BLOCKED, EXIT_NOT_FOUND, EXIT_TEMPFAIL, RESOURCE_ERRNOS, KroError
from kro.shims.model import Decision, Pins
from kro.shims.session import SESSION_FILE, Session, load_session


def tool_path(session: Session, tool: str) -> str | None:
    """The real binary the session recorded at launch for `tool`."""
    return session.kubectl if tool == "kubectl" else session.kubetail


def run(
    session: Session, tool: str, argv: list[str], started: float, io: executor.Stdio = executor.DIRECT
) -> int:
    """Decide and run one call in `session`; returns the exit code (or execs and never returns).

    `io` is the executor seam: this process's stdio (the shim), or a broker client's passed descriptors.
    """
    audit = AuditLog.open(session.audit_log)
    try:
        return _run(session, tool, argv, started, io, audit)
    finally:
        audit.close()  # the broker runs many calls in one process: no descriptor may outlive its call


def _run(session: Session, tool: str, argv: list[str], started: float, io: executor.Stdio,
         audit: AuditLog) -> int:  # fmt: skip
    inv, decision = decide_argv(tool, argv, Pins(session.context, session.namespaces))
    call = Call(session.id, tool, argv, session.context)
    if not decision.allowed:
        if session.approvals and decision.rule == "verb.mutating":
            # Approvals call point: queue the mutation, or answer an identical re-run once with the
            # approved run's recorded result (kro/approvals/hook.py writes the audit line and the answer).
            from kro.approvals.hook import answer_blocked

            return answer_blocked(session, inv, decision, audit, call, started, io)
        audit.write(call, decision, EXIT_BLOCKED, started)
        if session.output == "envelope":
            from kro.shims import envelope, json_codec

            error = envelope.error("policy", decision.reason, session.context, session.notice, decision.rule)
            io.out(json_codec.dumps(error) + b"\n")
            return 0
        io.err(f"✘ BLOCKED: {decision.reason}\n")
        return EXIT_BLOCKED
    path = tool_path(session, tool)
    if not path or not os.access(path, os.X_OK):
        if tool == "kubetail":
            # Answered here, through kubectl logs, on this call's stdio: under --confine no fresh kro
            # process is started outside the sandbox.
            from kro.shims.kubetail_fallback import answer

            return answer(session, inv, decision, audit, call, started, io)
        missing = Decision(
            True, decision.rule, f"{tool} not found at {path or '(not recorded)'}", decision.verb
        )
        audit.write(call, missing, EXIT_NOT_FOUND, started)
        io.err(f"kro: {tool} is not installed where kro-run found it ({path}); install it and restart\n")
        return EXIT_NOT_FOUND
    pinned = executor.pinned_argv(inv, session)
    env = executor.session_env(io.env, session)
    if inv.path == ("config", "view") and tool == "kubectl":
        from kro.shims import config_view

        if config_view.renders(inv):  # kubectl prints OIDC and exec credentials in clear: kro masks them
            code = config_view.answer(io, session, inv, path, env)
            audit.write(call, decision, code, started)
            return 0 if session.output == "envelope" else code
    if session.output == "envelope":
        from kro.shims import json_codec
        from kro.shims.envelope_output import read

        out, code = read(session, inv, path, pinned, env)
        io.out(json_codec.dumps(out) + b"\n")
        audit.write(call, decision, code, started)
        return 0
    if session.redact:
        from kro.shims.plain_redact import run_redacted

        code = run_redacted(io, session, inv, path, pinned, env)
        audit.write(call, decision, code, started)
        return code
    audit.write(call, decision, None, started)
    return io.plain(path, pinned, env)


def run_guarded(session: Session, tool: str, argv: list[str], started: float, io: executor.Stdio) -> int:
    """run(), with errors reported on `io` as one line and an exit code (never a traceback)."""
    try:
        return run(session, tool, argv, started, io)
    except KroError as exc:
        io.err(f"kro: {exc}\n")
        return exc.exit_code
    except OSError as exc:
        if exc.errno in RESOURCE_ERRNOS:  # not the tool's fault, and not a refusal: retrying may work
            io.err(f"kro: out of resources, so {tool} was not run ({exc.strerror}); retry in a moment\n")
            return EXIT_TEMPFAIL
        io.err(f"kro: could not run {tool}: {exc}\n")
        return EXIT_NOT_FOUND


def main(tool: str, script: str, argv: list[str]) -> int:
    """Entry point of the bin/kubectl and bin/kubetail scripts a session holds."""
    started = time.monotonic()
    try:
        bin_dir = os.path.dirname(os.path.realpath(script))
        session = load_session(os.path.join(os.path.dirname(bin_dir), SESSION_FILE))
        if session.broker:
            from kro.shims.broker_client import forward, reply_timeout

            timeout = reply_timeout(session._asdict())
            return forward(
                session.broker, session.broker_token, tool, argv, session.output, session.context, timeout
            )
        return run_guarded(session, tool, argv, started, executor.DIRECT)
    except KroError as exc:
        sys.stderr.write(f"kro: {exc}\n")
        return exc.exit_code
    except OSError as exc:
        sys.stderr.write(f"kro: could not run {tool}: {exc}\n")
        return EXIT_NOT_FOUND
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Fail closed with one line, never a traceback to the agent.
        sys.stderr.write(f"kro: internal error in the {tool} shim ({type(exc).__name__}: {exc})\n")
        return 70
