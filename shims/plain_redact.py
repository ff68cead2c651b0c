"""Plain mode with --redact: kubectl's own output and exit code, secret-shaped values replaced."""

from __future__ import annotations

from kro.shims import executor
from kro.shims.redact import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kro.shims.model import Invocation
    from kro.shims.session import Session

# Plain mode keeps kubectl's semantics: no kro time bound (kubectl's own --request-timeout applies).
_UNBOUNDED = 86400.0 * 20  # poll() takes at most 2**31 ms


class _LineWriter:
    """Redacts stdout line by line and writes it on as it comes."""

    def __init__(self, io: executor.Stdio) -> None:
        self.io = io
        self.redactor = Redactor()
        self.partial = bytearray()

    def feed(self, chunk: bytes) -> bool:
        """Take a chunk of stdout; whole lines are redacted and written at once."""
        if b"\n" not in chunk:
            self.partial += chunk
            return True
        head, *lines = chunk.split(b"\n")
        self.partial += head
        rest = lines.pop()
        self._write([bytes(self.partial), *lines])
        self.partial = bytearray(rest)
        return True

    def _write(self, lines: list[bytes]) -> None:
        out: list[str] = []
        for raw in lines:
            out.extend(self.redactor.feed(raw.decode("utf-8", "surrogateescape")))
        if out:
            self.io.out("".join(f"{text}\n" for text in out).encode("utf-8", "surrogateescape"))

    def finish(self) -> None:
        """Write the last partial line and anything the redactor still holds."""
        tail = bytes(self.partial)
        out = [*self.redactor.feed(tail.decode("utf-8", "surrogateescape"))] if tail else []
        out.extend(self.redactor.flush())
        if out:
            text = "\n".join(out) + ("" if tail else "\n")
            self.io.out(text.encode("utf-8", "surrogateescape"))


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
