"""Plain mode with --redact: kubectl's own output and exit code, secret-shaped values replaced."""

from __future__ import annotations

from kro.shims import executor
from kro.shims.redact import LONG_LINE, LongLine, Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kro.shims.model import Invocation
    from kro.shims.session import Session

# Plain mode keeps kubectl's semantics: no kro time bound (kubectl's own --request-timeout applies).
_UNBOUNDED = 86400.0 * 20  # poll() takes at most 2**31 ms


class _LineWriter:
    """Redacts stdout a block of whole lines at a time and writes it on as it comes."""

    def __init__(self, io: executor.Stdio) -> None:
        self.io = io
        self.redactor = Redactor()
        self.long_line = LongLine(self.redactor)
        self.partial = bytearray()

    def feed(self, chunk: bytes) -> bool:
        """Take a chunk of stdout; its whole lines are redacted and written at once."""
        if self.long_line.active and b"\n" in chunk:  # the end of a line taken in pieces
            end = chunk.index(b"\n")
            self.io.out(self.long_line.end(bytes(self.partial) + chunk[:end]) + b"\n")
            self.partial = bytearray()
            chunk = chunk[end + 1 :]
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            self.partial += chunk
            if len(self.partial) >= LONG_LINE:  # one line too long to hold: redact and write it in pieces
                out, carry = self.long_line.feed(bytes(self.partial))
                self.partial = bytearray(carry)
                if out:
                    self.io.out(out)
            return True
        self.partial += chunk[:cut]
        out = self.redactor.feed_block(bytes(self.partial))
        self.partial = bytearray(chunk[cut:])
        if out:
            self.io.out(out)
        return True

    def finish(self) -> None:
        """Write the last partial line and anything the redactor still holds."""
        tail = bytes(self.partial)
        if self.long_line.active:
            self.partial = bytearray()
            self.io.out(self.long_line.end(tail) + self.redactor.flush_block())
            return
        out = self.redactor.feed_block(tail + b"\n") if tail else b""
        out += self.redactor.flush_block()
        if out:
            self.io.out(out[:-1] if tail else out)


def run_redacted(io: executor.Stdio, session: Session, inv: Invocation, path: str, pinned: list[str],
                 env: dict[str, str]) -> int:  # fmt: skip
    """Run the tool, print its redacted stdout and stderr, and return its exit code."""
    from kro.shims.redact import redact_text

    writer = _LineWriter(io)
    result = executor.run_captured(path, pinned, env, writer.feed, seconds=_UNBOUNDED, stream=True)
    writer.finish()
    if result.stderr:
        io.err(redact_text(result.stderr.decode("utf-8", "surrogateescape"))[0])
    return result.exit_code
