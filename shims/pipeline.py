"""The one call pipeline: decide → audit the call → run it (an executor) into a sink → audit the outcome.

Every front end calls `run_call` and nothing else: the kubectl/kubetail shims, the --confine broker, kro
serve (MCP) and kubectl ro. The rule for the audit log (README "Audit log"): the call record is written once
the policy has decided and before anything runs — when it cannot be written nothing runs and the caller is
told why; the outcome record is written when the call has ended, whenever kro is still the tool's parent
(plain mode without a bound execs the tool, and its call record says so).
"""

from __future__ import annotations

import os
import time

from kro.shims import executor
from kro.shims.audit import AuditLog, Call, Ended, new_call_id
from kro.shims.decide import decide_argv
from kro.shims.errors import RESOURCE_ERRNOS, AuditError, ExitStatus
from kro.shims.hotpath_stdlib import NamedTuple
from kro.shims.model import Decision, Invocation, Pins
from kro.shims.outcome import TOTAL_CAP_BY, Failure, Outcome, RunResult
from kro.shims.session import TOTAL_CAP_S

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Sequence

    from kro.shims.session import Session
    from kro.shims.sinks import Feed, Sink

    # A blocked-call handler (the approvals seam, passed in by the front end that wires approvals): it may
    # answer a refused call itself, writing the call's one audit record and its answer, and return the exit
    # code; None leaves the call to the sink as an ordinary refusal.
    BlockedHandler = Callable[[Session, Invocation, Decision, AuditLog, Call, float, Sink], int | None]
    # The executor seam: how a captured call runs (executor.run_captured's signature); tests pass a fake.
    Capture = Callable[..., executor.Captured]

# Plain mode honours a call's own --request-timeout for the whole call (kubectl applies it to each request,
# not to an exec credential plugin); kubectl gets this long to report its own timeout first.
REQUEST_TIMEOUT_GRACE = 5.0


class Plan(NamedTuple):
    """What will run for one decided call (pure: nothing has run yet), or why nothing will."""

    decision: Decision
    failure: Failure | None = None
    tool: str = "kubectl"  # the call's tool (kubetail answered by kubectl stays kubetail in messages)
    path: str = ""
    invocations: tuple[Invocation, ...] = ()
    grep: re.Pattern[str] | None = None
    notice: str | None = None  # kro's own notice (the kubetail fallback)
    bound: float | None = None
    bound_by: str = ""
    stream: bool = False  # reaching the bound is the normal end of a stream (envelope sinks)
    attach: bool = False  # plain: the tool writes straight to the caller's stdio
    masked_config: bool = False  # `config view`: kro runs it as JSON and prints it with credentials masked
    idle: float | None = None  # envelope: stopped after this long without progress (--request-timeout)


def run_call(
    session: Session,
    tool: str,
    argv: Sequence[str],
    sink: Sink,
    *,
    started: float | None = None,
    audit_as: str | None = None,
    blocked: BlockedHandler | None = None,
    capture: Capture | None = None,
) -> Outcome:
    """Decide, audit, run and deliver one call; the typed outcome (or exec the tool: plain, unbounded).

    `audit_as` names the front end in the audit log (e.g. "mcp"); the policy is the tool's own. `blocked`
    may answer a refused call (approvals); `capture` runs captured calls (default: the executor's).
    """
    began = time.monotonic() if started is None else started
    args = list(argv)
    inv, decision = decide_argv(tool, args, Pins(session.context, session.namespaces))
    plan = make_plan(session, inv, decision, sink)
    execs = plan.attach and plan.bound is None and isinstance(sink.io, executor.Direct)
    call = Call(session.id, audit_as or tool, args, session.context, new_call_id())
    try:
        with AuditLog.open(session.audit_log) as log:
            code = None
            if blocked is not None and not plan.decision.allowed:
                code = blocked(session, inv, plan.decision, log, call, began, sink)
            if code is not None:  # the handler wrote the audit record and the answer
                refused = Outcome(plan.decision, session.context, session.notice, failure=plan.failure)
                return refused._replace(exit_code=code)
            log.call(call, plan.decision, began, execs=execs)
            outcome = _carry_out(session, plan, sink, log, call, began, capture or executor.run_captured)
    except AuditError as exc:  # the call record did not land: nothing ran
        failure = Failure("infra", str(exc), ExitStatus.CONFIG, own=True)
        outcome = Outcome(plan.decision, session.context, session.notice, failure=failure)
    return outcome._replace(exit_code=sink.deliver(outcome))


def make_plan(session: Session, inv: Invocation, decision: Decision, sink: Sink) -> Plan:
    """Choose the executor for a decided call: the real tool, the kubetail fallback, or nothing."""
    if not decision.allowed:
        return Plan(decision, Failure("policy", decision.reason, ExitStatus.BLOCKED, decision.rule), inv.tool)
    path = session.kubectl if inv.tool == "kubectl" else session.kubetail
    if inv.tool == "kubetail" and not _runnable(path):
        return _fallback(session, inv, decision, sink)
    if not _runnable(path):
        return Plan(decision, _not_installed(inv.tool, path))
    bound, by, stream = _bound(session, inv, sink, is_stream(inv))
    masked = inv.tool == "kubectl" and inv.path == ("config", "view") and _renders_config(inv)
    attach = sink.attaches and not masked
    idle = _idle(session, sink, stream)
    return Plan(decision, None, inv.tool, path or "", (inv,), None, None, bound, by, stream, attach, masked,
                idle)  # fmt: skip


def _renders_config(inv: Invocation) -> bool:
    from kro.shims import config_view

    return config_view.renders(inv)


def is_stream(inv: Invocation) -> bool:
    """Whether the call streams until stopped (watch or follow)."""
    if inv.tool == "kubetail":
        return inv.is_true("follow")
    if inv.path in (("get",), ("events",)):
        return inv.is_true("watch") or inv.is_true("watch-only")
    return inv.path == ("logs",) and inv.is_true("follow")


def _runnable(path: str | None) -> bool:
    return bool(path) and os.access(path or "", os.X_OK)


def _not_installed(tool: str, path: str | None) -> Failure:
    where = f"at {path}, where this session found it at start" if path else "(none was found at start)"
    message = f"{tool} is not installed {where}; install it and restart the session"
    return Failure("infra", message, ExitStatus.NOT_FOUND, own=True)


def _fallback(session: Session, inv: Invocation, decision: Decision, sink: Sink) -> Plan:
    """kubetail is not installed: answer simple `kubetail logs` calls through kubectl logs, same policy."""
    import re

    from kro.shims import kubetail_fallback as fallback

    try:
        calls, grep = fallback.translate(inv)
        pattern = re.compile(grep) if grep else None
    except (fallback.NotSimple, re.error) as exc:
        failure = Failure("infra", f"{exc}; {fallback.INSTALL_HINT}", ExitStatus.NOT_FOUND, own=True)
        return Plan(decision, failure)
    pins = Pins(session.context, session.namespaces)
    decided = [decide_argv("kubectl", argv, pins) for argv in calls]
    refused = next((d for _, d in decided if not d.allowed), None)
    if refused is not None:
        blocked = Decision(False, refused.rule, refused.reason, decision.verb)
        return Plan(blocked, Failure("policy", refused.reason, ExitStatus.BLOCKED, refused.rule))
    if not _runnable(session.kubectl):
        return Plan(decision, _not_installed("kubectl", session.kubectl))
    bound, by, stream = _bound(session, inv, sink, is_stream(inv))
    invocations = tuple(sub for sub, _ in decided)
    return Plan(
        decision, None, "kubetail", session.kubectl, invocations, pattern, fallback.NOTICE, bound, by, stream,
        idle=_idle(session, sink, stream),
    )  # fmt: skip


def _bound(session: Session, inv: Invocation, sink: Sink, stream: bool) -> tuple[float | None, str, bool]:
    """The call's time bound, which setting set it, and whether reaching it is a stream's normal end."""
    bound: float | None = None
    by = ""
    if sink.bounded:  # a call still making progress runs on to the total cap (its stall bound: _idle)
        if not stream and session.call_timeout:
            return session.call_timeout, "--call-timeout", stream  # the cap, shorter or longer
        bound, by = (session.stream_seconds, "--stream-seconds") if stream else (
            max(TOTAL_CAP_S, session.request_timeout), TOTAL_CAP_BY)  # fmt: skip
    else:
        stream = False  # plain mode: a bound is always a timeout
        own = _own_request_timeout(inv)
        if own:
            bound, by = own + REQUEST_TIMEOUT_GRACE, "its --request-timeout plus 5 s"
    if session.call_timeout and (bound is None or session.call_timeout < bound):
        bound, by = session.call_timeout, "--call-timeout"
    return bound, by, stream


def _idle(session: Session, sink: Sink, stream: bool) -> float | None:
    """Envelope calls (not streams) are stopped after --request-timeout s without progress."""
    return session.request_timeout if sink.bounded and not stream and session.request_timeout > 0 else None


def _own_request_timeout(inv: Invocation) -> float:
    """kubectl's --request-timeout on the call, in seconds (0: none, or not a duration)."""
    value = inv.last("request-timeout") if inv.tool == "kubectl" else None
    if not value:
        return 0.0
    from kro.shims.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError:
        return 0.0


def _carry_out(session: Session, plan: Plan, sink: Sink, log: AuditLog, call: Call, began: float,
               capture: Capture) -> Outcome:  # fmt: skip
    """Run the plan (its call record is written), then write the outcome record."""
    outcome = Outcome(plan.decision, session.context, session.notice, failure=plan.failure)
    if plan.failure is None:
        outcome = _execute(session, plan, sink, capture)
    if plan.decision.allowed:
        try:
            log.outcome(call, _ended(outcome), began)
        except AuditError as exc:
            outcome = outcome._replace(audit_problem=str(exc))
    return outcome


def _ended(outcome: Outcome) -> Ended:
    result, failure = outcome.result, outcome.failure
    if result is None:
        assert failure is not None
        return Ended(failure.exit_code, error=failure.message)
    code = failure.exit_code if failure is not None else result.exit_code
    error = failure.message if failure is not None and failure.own else None
    return Ended(code, result.bytes, result.timed_out, result.signal, error)


def _execute(session: Session, plan: Plan, sink: Sink, capture: Capture) -> Outcome:
    """Run the plan's invocation(s) into the sink; the outcome (the tool may have been exec'd instead)."""
    from kro.shims.outcome import join_notice, judge

    env = executor.session_env(sink.io.env, session)
    notice = join_notice(session.notice, plan.notice)
    sink.starting(plan.notice)
    if plan.attach and plan.grep is None and len(plan.invocations) == 1:
        argv = executor.pinned_argv(plan.invocations[0], session)
        try:
            ran = sink.io.plain(plan.path, argv, env, plan.bound)
        except OSError as exc:
            if exc.errno in RESOURCE_ERRNOS:  # not the tool's fault and not a refusal: a retry may work
                message = f"out of resources, so {plan.tool} was not run ({exc.strerror}); retry in a moment"
                failed = Failure("infra", message, ExitStatus.TEMPFAIL, own=True)
            else:
                message = f"could not start {plan.tool} ({plan.path}): {exc.strerror or exc}"
                failed = Failure("infra", message, ExitStatus.NOT_FOUND, own=True)
            return Outcome(plan.decision, session.context, notice, failure=failed)
        result = RunResult("", "verbatim", None, 0, 0, None, 0, "", ran.exit_code, ran.signal, ran.timed_out,
                           False, plan.bound, plan.bound_by, tool=plan.tool)  # fmt: skip
        return Outcome(plan.decision, session.context, notice, result, judge(result))
    feed = sink.open(session, plan.invocations[0], plan.grep)
    runs = [_captured(session, plan, feed, sub, env, capture) for sub in plan.invocations]
    feed.finish()
    stderr = feed.stderr(b"".join(r.stderr for r in runs))
    code = next((r.exit_code for r in runs if r.exit_code != 0), 0)
    signal = next((-r.exit_code for r in runs if r.exit_code < 0), None)
    timed_out, stopped = any(r.timed_out for r in runs), any(r.stopped for r in runs)
    stalled = any(r.stalled for r in runs)
    bound, bound_by = (plan.idle, "--request-timeout") if stalled else (plan.bound, plan.bound_by)
    result = RunResult(
        feed.content(), feed.render, feed.spill, feed.shown, feed.lines, feed.bytes, feed.redactions, stderr,
        128 + signal if signal else code, signal, timed_out, stopped, bound, bound_by, feed.json,
        plan.tool, stalled,
    )  # fmt: skip
    failure = judge(result)
    refused = feed.spill_error
    if refused is not None:  # the cache is full or unwritable: a clear failure, no file left
        feed.discard()  # result.spill is None already: a feed names no file it could not write
        message = (
            f"{plan.tool}'s output was too big to show and kro could not keep it: {refused}; "
            "free space there (kro cache prune) or narrow the request (-n, -l, --limit)"
        )
        failure = Failure("infra", message, ExitStatus.TEMPFAIL, own=True)
    elif failure is not None:  # one rule: a spill file stays only when the error names it
        if failure.own and feed.lines:
            feed.keep()  # timed out, killed or crashed: the partial output stays readable, the error names it
            result = result._replace(spill=feed.spill)
        else:
            feed.discard()
            result = result._replace(spill=None)
        failure = judge(result)
    if stopped and failure is None:
        notice = join_notice(notice, (
            f"The stream was stopped after {plan.bound:g} s or {session.stream_lines} lines; to read more, "
            "rerun without -w/-f, or with --since/--tail to choose the window."))  # fmt: skip
    return Outcome(plan.decision, session.context, notice, result, failure)


def _captured(
    session: Session, plan: Plan, feed: Feed, inv: Invocation, env: dict[str, str], capture: Capture
) -> executor.Captured:
    if plan.masked_config:  # kubectl prints OIDC and exec credentials in clear: kro masks them
        from kro.shims import config_view

        return config_view.run(session, inv, plan.path, env, feed.feed, capture)
    argv = executor.pinned_argv(inv, session)
    return capture(plan.path, argv, env, feed.feed, seconds=plan.bound, stream=plan.stream, idle=plan.idle)
