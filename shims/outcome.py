"""What one call came to, as data: the run's result and the call's outcome, and the pure rules over them.

The envelope (envelope.from_outcome), plain mode's exit code and messages, the MCP results and the audit's
outcome record are all read from these fields; none of them parses another's text.
"""

from __future__ import annotations

from kro.shims.errors import ExitStatus
from kro.shims.hotpath_stdlib import NamedTuple
from kro.shims.model import Decision

MESSAGE_CAP = 4000


class RunResult(NamedTuple):
    """What ran and what it printed, after redaction and bounding."""

    content: str  # the preview the envelope shows ("" when the tool wrote straight to the caller)
    render: str  # "verbatim" (kubectl's human output, whole) or "agent" (machine data or a preview)
    spill: str | None  # the file holding the whole (redacted) output when content is not all of it
    shown: int  # lines in content
    lines: int
    bytes: int | None  # None when the tool wrote straight to the caller
    redactions: int
    stderr: str  # redacted, valid Unicode
    exit_code: int  # the tool's; 128+N when signal N killed it
    signal: int | None
    timed_out: bool
    stopped: bool  # a stream ended at its bound (a normal end)
    bound: float | None  # seconds the call was allowed
    bound_by: str  # which setting set that bound, for messages
    json: bool = False  # the output is JSON (a jq hint applies)
    tool: str = "kubectl"
    stalled: bool = False  # timed out because nothing arrived for `bound` s (not the total bound)


class Failure(NamedTuple):
    """Why a call gave no answer: kind policy, user or infra, the message, and plain mode's exit code."""

    kind: str
    message: str
    exit_code: int
    rule: str | None = None
    own: bool = False  # kro's own message (plain mode prints it), not the tool's stderr


class Outcome(NamedTuple):
    """A call's typed outcome: the decision, what ran (if anything), and the failure (if any)."""

    decision: Decision
    context: str
    notice: str | None
    result: RunResult | None = None
    failure: Failure | None = None
    exit_code: int = 0  # what the front end exits with
    audit_problem: str | None = None  # the outcome record could not be written (the call did run)

    @property
    def ran(self) -> bool:
        """Whether the tool ran."""
        return self.result is not None


def join_notice(*parts: str | None) -> str | None:
    """The operator's banner and kro's own notice, in one string (None when both are empty)."""
    text = " ".join(p for p in parts if p)
    return text or None


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _crash(stderr: str) -> str | None:
    """The first line of a Go runtime crash report (SIGSEGV: …, panic: …, fatal error: …), if it is one."""
    first, _, rest = stderr.lstrip().partition("\n")
    crashed = first.startswith(("panic: ", "fatal error: ")) or (first[:3] == "SIG" and ": " in first[:12])
    return first.strip() if crashed and "goroutine " in rest else None


def _without_klog(stderr: str) -> str:
    """stderr without client-go's log lines (`E1206 15:30:27.168518 2651 memcache.go:265] ...`, which
    repeat the error kubectl prints last), unless they are all there is."""
    lines = stderr.strip().splitlines()
    kept = [
        line
        for line in lines
        if not (line[:1] in "EWIF" and line[1:5].isdigit() and ".go:" in line.partition("] ")[0])
    ]
    return "\n".join(kept or lines)


# The bound_by of a call stopped at kro's total cap (pipeline._bound): not a stall, not a setting of its own.
TOTAL_CAP_BY = "kro's total cap; --call-timeout sets another"


def _timeout_message(result: RunResult) -> str:
    """Why kro stopped the call: no data for a while (the cluster may be slow), or its total bound."""
    tool, bound, by = result.tool, result.bound, result.bound_by
    if result.stalled:
        return (
            f"kro stopped {tool}: no data for {bound:g} s ({by}); the cluster or a credential plugin may be "
            "slow or hanging (retry, or narrow the request with -n, -l or --limit)" + _kept(result)
        )
    if by == TOTAL_CAP_BY:
        return (
            f"kro stopped {tool} at its total bound of {bound:g} s ({by}) although data was still arriving; "
            "narrow the request with -n, -l or --limit, or allow longer with --call-timeout" + _kept(result)
        )
    return (
        f"{tool} did not finish within {bound:g} s ({by}), so kro stopped it; the cluster or a credential "
        "plugin may be slow or hanging (retry, or narrow the request with -n, -l or --limit)" + _kept(result)
    )


def _kept(result: RunResult) -> str:
    if result.bytes is None:  # the tool wrote straight to the caller
        return ""
    if result.spill:
        return f"; its partial output ({result.lines} lines) is in {result.spill}"
    return "; it printed nothing" if not result.lines else ""


def judge(result: RunResult) -> Failure | None:
    """The failure a finished run amounts to, or None when it is an answer (even with a non-zero exit)."""
    from kro.shims.envelope import classify

    tool = result.tool
    if result.timed_out:
        return Failure("infra", _timeout_message(result), ExitStatus.TIMED_OUT, own=True)
    if result.signal is not None and not result.stopped:  # kro's own stop of a stream is its normal end
        message = f"{tool} was killed by {_signal_name(result.signal)}{_kept(result)}"
        return Failure("infra", message, result.exit_code, own=True)
    crash = _crash(result.stderr)
    if crash is not None and result.exit_code != 0:
        message = f"{tool} crashed ({crash}; exit code {result.exit_code}){_kept(result)}"
        return Failure("infra", message, result.exit_code, own=True)
    code = result.exit_code
    if code != 0 and not result.stopped and (result.stderr.strip() or not result.lines):
        message = _without_klog(result.stderr)[:MESSAGE_CAP] or f"{tool} exited with code {code}"
        if WAIT_TIMEOUT in message:  # `wait`/`rollout status`: the cluster answered, the condition is unmet
            return Failure("user", f"{message}{WAIT_ADVICE}", code)
        return Failure(classify(message), message, code)
    return None


# kubectl's words when `wait` or `rollout status` reaches its own --timeout (not a network timeout).
WAIT_TIMEOUT = "timed out waiting for the condition"
WAIT_ADVICE = (
    " (kubectl's own --timeout ran out: the cluster answered and the condition is not met yet; look at why "
    "with 'kubectl describe' or 'kubectl get events', or wait longer with a larger --timeout)"
)


def notes(result: RunResult, *, spill: bool = True) -> list[str]:
    """What kro says about an answer (agent_context): where the rest is, redactions, warnings, the exit."""
    out = []
    if spill and result.spill:
        where = f"the whole output ({result.lines} lines, {result.bytes} bytes) is in {result.spill}"
        out.append(f"content holds the first {result.shown} of {result.lines} lines; {where}.")
        if result.json:
            out.append(f"Query it with jq, e.g. jq -r '.items[].metadata.name' {result.spill}")
        else:
            out.append(f"Search it with grep or page it with sed -n '200,400p' {result.spill}")
    if result.redactions:
        out.append(f"{result.redactions} secret-shaped value(s) were replaced with [REDACTED].")
    if result.stderr.strip() and result.exit_code == 0:
        out.append(f"{result.tool} also said: {result.stderr.strip()[:500]}")
    if result.stopped:
        # kro ended the stream at its bound; the tool's exit code then only says it was stopped.
        out.append(
            f"kro stopped the stream itself (the notice says how to read more); {result.tool} did not fail."
        )
    elif result.exit_code != 0:
        # A non-zero exit with an answer and no error text is an answer (`auth can-i` says "no").
        out.append(f"{result.tool} exited with code {result.exit_code}.")
    return out
