"""Where a call's answer goes: plain (kubectl's own output), plain redacted, an envelope, or kept as data.

A sink gives the pipeline a feed for the tool's stdout (or lets the tool write straight to the caller:
plain mode) and delivers the outcome at the end: the envelope, plain mode's messages and exit code.
"""

from __future__ import annotations

from kro.shims import json_codec
from kro.shims.errors import ExitStatus
from kro.shims.executor import DIRECT

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

    from kro.shims.executor import Stdio
    from kro.shims.model import Invocation
    from kro.shims.outcome import Outcome
    from kro.shims.redact import Lines, Redactor
    from kro.shims.session import Session

class Feed:
    """The tool's stdout passed on to the caller as it comes (whole lines when redacting or filtering)."""

    render = "verbatim"
    spill: str | None = None
    spill_error: str | None = None  # plain mode spills nothing
    shown = 0
    json = False

    def __init__(self, io: Stdio, redact: bool, grep: re.Pattern[str] | None) -> None:
        self.io, self.grep = io, grep
        self.redactor: Redactor | None = None
        self.cutter: Lines | None = None
        if redact or grep is not None:  # whole lines: the one streaming line redactor cuts them
            from kro.shims.redact import Lines, Redactor

            self.redactor = Redactor() if redact else None
            self.cutter = Lines(self._write, self._piece, self.redactor, pieces=grep is None)
        self.lines = 0
        self.bytes = 0

    @property
    def redactions(self) -> int:
        """Values replaced so far."""
        return self.redactor.count if self.redactor else 0

    def feed(self, chunk: bytes) -> bool:
        """Take a chunk of stdout; its whole lines are redacted, filtered and written at once."""
        self.bytes += len(chunk)
        if self.cutter is None:
            self.lines += chunk.count(b"\n")
            self.io.out(chunk)
        else:
            self.cutter.feed(chunk)
        return True

    def _piece(self, data: bytes, ended: bool = False) -> None:
        self.lines += data.count(b"\n")
        if data:
            self.io.out(data)

    def _write(self, block: bytes) -> None:
        if self.grep is not None:
            pattern = self.grep
            kept = [line for line in block.split(b"\n")[:-1]
                    if pattern.search(line.decode("utf-8", "surrogateescape"))]  # fmt: skip
            block = b"".join(line + b"\n" for line in kept)
        self.lines += block.count(b"\n")
        if block:
            self.io.out(block)

    def content(self) -> str:
        """Nothing is kept: the output went to the caller."""
        return ""

    def finish(self) -> None:
        """Write the last partial line and anything the redactor still holds."""
        if self.cutter is None:
            return
        if self.cutter.in_long_line:
            assert self.redactor is not None
            self._piece(self.cutter.end_long_line() + self.redactor.flush_block())
            return
        tail = self.cutter.tail()
        block = self.cutter.redacted(tail + b"\n") if tail else b""
        if self.redactor is not None:
            block += self.redactor.flush_block()
        if self.grep is None and tail and block.endswith(b"\n"):
            block = block[:-1]  # the tool's last line had no newline: neither has ours
        if self.grep is not None:
            self._write(block)
        elif block:
            self.lines += block.count(b"\n")
            self.io.out(block)

    def keep(self) -> None:
        """Nothing to keep: what the tool printed is with the caller already."""

    def discard(self) -> None:
        """No file to remove: nothing was spilled."""

    def stderr(self, data: bytes) -> str:
        """The tool's stderr as the caller sees it (redacted when stdout is)."""
        text = data.decode("utf-8", "surrogateescape")
        if self.redactor is None:
            return text
        from kro.shims.redact import redact_text

        text, count = redact_text(text)
        self.redactor.count += count
        return text


class Sink:
    """Plain mode: the tool's own output and exit code; kro's messages on stderr."""

    name = "plain"
    redact = False
    bounded = False  # envelope sinks bound every call by the session's --request-timeout / --stream-seconds

    def __init__(self, io: Stdio = DIRECT) -> None:
        self.io = io

    @property
    def attaches(self) -> bool:
        """Whether the tool may write straight to the caller's stdio (nothing to filter or redact)."""
        return not self.redact

    def open(self, session: Session, inv: Invocation, grep: re.Pattern[str] | None) -> Feed:
        """A feed for one call's stdout."""
        return Feed(self.io, self.redact, grep)

    def starting(self, notice: str | None) -> None:
        """kro's own notice for this call (e.g. the kubetail fallback), before any output."""
        if notice:
            self.io.err(f"kro: {notice}\n")

    def deliver(self, outcome: Outcome) -> int:
        """Say what kro has to say on stderr; the exit code a plain-mode caller sees."""
        failure, result = outcome.failure, outcome.result
        if result is not None and result.stderr:
            self.io.err(result.stderr)
        if outcome.audit_problem:
            self.io.err(f"kro: {outcome.audit_problem}\n")
        if failure is None:
            return result.exit_code if result is not None else ExitStatus.OK
        if failure.kind == "policy":
            self.io.err(f"✘ BLOCKED: {failure.message}\n")
        elif failure.own:
            self.io.err(f"kro: {failure.message}\n")
        return failure.exit_code


class RedactedSink(Sink):
    """Plain mode with --redact: the tool's output and exit code, secret-shaped values replaced."""

    name = "plain-redacted"
    redact = True


class DataSink(Sink):
    """The outcome kept as data for a front end that renders it itself (kro serve); prints nothing."""

    name = "data"
    redact = True
    bounded = True

    def open(self, session: Session, inv: Invocation, grep: re.Pattern[str] | None) -> Feed:
        """A collector: redacted, a bounded preview, the rest spilled to the session's cache."""
        from kro.shims.envelope_output import Preview

        return Preview(session, inv, grep)  # type: ignore[return-value]  # a Feed in all but name

    def starting(self, notice: str | None) -> None:
        """Nothing to print: the notice is in the outcome."""

    def deliver(self, outcome: Outcome) -> int:
        """Nothing to print; the exit code a plain-mode caller would see."""
        if outcome.failure is not None:
            return outcome.failure.exit_code
        return outcome.result.exit_code if outcome.result is not None else ExitStatus.OK


class EnvelopeSink(DataSink):
    """Envelope mode: exactly one JSON envelope per call on stdout; exit 0 whenever it was printed."""

    name = "envelope"

    def deliver(self, outcome: Outcome) -> int:
        """Print the envelope (and an audit problem on stderr)."""
        from kro.shims.envelope import from_outcome

        if outcome.audit_problem:
            self.io.err(f"kro: {outcome.audit_problem}\n")
        self.io.out(json_codec.dumps(from_outcome(outcome)) + b"\n")
        return ExitStatus.OK


def for_session(session: Session, io: Stdio = DIRECT) -> Sink:
    """The sink the session's output settings choose."""
    if session.output == "envelope":
        return EnvelopeSink(io)
    return RedactedSink(io) if session.redact else Sink(io)
