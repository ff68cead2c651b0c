"""The shim's approvals call point: a blocked mutation is queued, or answered once with its approved result.

Passed to the call pipeline as its blocked-call handler (shims/pipeline.py `run_call(blocked=...)`; the
shims of an approvals session and the --confine broker, outside the sandbox, pass it) and called for a
verb.mutating block. It writes the call's one audit line and the answer, and returns the exit code. A
mutation kro would not rebuild as asked (identity, target, file-reading or other flags; kubeconfig edits)
is refused at once with its approval.* rule (kro/approvals/scope.py), and nothing is queued.
"""

from __future__ import annotations

import time

from kro.approvals import scope
from kro.approvals.store import Queue, QueueUnwritable, Request, rfc3339
from kro.shims import envelope, json_codec
from kro.shims import rules as R
from kro.shims.audit import AuditLog, Call
from kro.shims.errors import ExitStatus
from kro.shims.executor import Stdio
from kro.shims.model import Decision, Invocation
from kro.shims.session import Session

CONTENT_CAP = 16 * 1024


def answer_blocked(session: Session, inv: Invocation, decision: Decision, audit: AuditLog, call: Call,
                   started: float, io: Stdio) -> int:  # fmt: skip
    """Queue or answer the blocked call `inv` (or block it saying why it is not queued); its exit code.

    The pipeline's blocked-call handler (shims/pipeline.py `run_call(blocked=...)`) for approvals sessions.
    """
    refused = scope.not_queued(inv, decision)
    if refused is not None:
        return _blocked(session, io, audit, call, refused, started)
    queue = Queue(session.approvals)
    entry = queue.entry(session.id)
    clause = R.mutation(decision.verb or "kubectl")
    if entry is None:
        gone = f"{clause}; this session's approval queue is gone, so nothing was queued"
        gone += "; ask the user to run it"
        return _blocked(session, io, audit, call, decision._replace(reason=gone), started)
    try:
        kind, request = queue.submit(entry, inv.tool, list(inv.argv),
                                     scope.namespace_of(inv, entry.namespace), time.time())  # fmt: skip
    except QueueUnwritable as exc:  # blocked all the same, saying why it was not queued
        return _blocked(session, io, audit, call, decision._replace(reason=f"{clause}; {exc}"), started)
    if kind == "result" and request.status == "approved":
        return _deliver(session, io, audit, call, request, started)
    if kind == "result":
        by = f" by {request.approver} at {rfc3339(request.decided or 0)}"
        text = f": {request.reason}" if request.reason else ""
        reason = (
            f"request {request.id} was denied{by}{text}; do not retry it unless the user asks "
            "(an identical call now would be queued as a new request)"
        )
        return _blocked(session, io, audit, call, Decision(False, "approval.denied", reason, decision.verb),
                        started, request)  # fmt: skip
    if kind == "running":
        reason = (
            f"{clause}; request {request.id} was approved and is running now; run the identical "
            "command again in a few seconds to get its result"
        )
    else:
        reason = (
            f"{clause}; queued as request {request.id}; ask the user to approve it with "
            f"`kro approve {request.id}` (it expires at {rfc3339(request.expires)}), then run the "
            "identical command again to get its result"
        )
    return _blocked(session, io, audit, call, decision._replace(reason=reason), started, request)


def _blocked(session: Session, io: Stdio, audit: AuditLog, call: Call, decision: Decision, started: float,
             request: Request | None = None) -> int:  # fmt: skip
    audit.write(call, decision, ExitStatus.BLOCKED, started)
    if session.output == "envelope":
        out = envelope.error("policy", decision.reason, session.context, session.notice, decision.rule)
        if request is not None:
            out["approval"] = request.summary()
        io.out(json_codec.dumps(out) + b"\n")
        return 0
    io.err(f"✘ BLOCKED: {decision.reason}\n")
    return ExitStatus.BLOCKED


def _deliver(session: Session, io: Stdio, audit: AuditLog, call: Call, request: Request,
             started: float) -> int:  # fmt: skip
    """The recorded result of the approved run, marked as such; the audit line says it was not run again."""
    result = request.result
    assert result is not None
    note = (
        f"request {request.id} was approved by {request.approver} at {rfc3339(request.decided or 0)} and "
        f"run once with the user's credentials (exit {result.exit_code}); this is its recorded result, "
        "returned once (an identical call now would be queued as a new request)"
    )
    audit.write(call, Decision(True, "approval.result", note, None), result.exit_code, started)
    stdout, stderr = result.stdout, result.stderr
    count = 0
    if session.output == "envelope" or session.redact:
        from kro.shims.redact import redact_text

        stdout, n_out = redact_text(stdout)
        stderr, n_err = redact_text(stderr)
        count = n_out + n_err
    if session.output != "envelope":
        io.out(stdout.encode("utf-8", "surrogateescape"))
        io.err(stderr + f"kro: {note}\n")
        return result.exit_code
    notes = [note]
    if count:
        notes.append(f"{count} secret-shaped value(s) were replaced with [REDACTED].")
    if result.exit_code == 0:
        content = stdout
        if len(content) > CONTENT_CAP or result.truncated:
            content = content[:CONTENT_CAP]
            notes.append(f"content holds the first {len(content)} characters of the recorded output.")
        out = envelope.ok(envelope.Output(content, "verbatim", tuple(notes)), session.context, session.notice)
    else:
        message = (stderr.strip() or f"kubectl exited {result.exit_code}")[:CONTENT_CAP] + " (" + note + ")"
        out = envelope.error(envelope.classify(stderr), message, session.context, session.notice)
    out["approval"] = request.summary()
    io.out(json_codec.dumps(out) + b"\n")
    return 0
