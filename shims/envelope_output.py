"""Envelope mode: run the tool, redact and bound its output, cache bulk data, print one envelope."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import IO

from kro.shims import envelope, executor, json_codec
from kro.shims.audit import AuditLog, Call
from kro.shims.cache import MIN_AGE_S, cache_root, new_file, prune
from kro.shims.model import Decision, Invocation
from kro.shims.redact import LONG_LINE, LongLine, Redactor, redact_text
from kro.shims.session import Session

MAX_LINES = 200
MAX_BYTES = 16 * 1024
_MESSAGE_CAP = 4000


class Collector:
    """Splits output into lines, redacts them, keeps a bounded preview and spills the rest to a file."""

    def __init__(
        self, spill: Path | None, stream_lines: int | None, grep: re.Pattern[str] | None = None
    ) -> None:
        self.redactor = Redactor()
        self.long_line = LongLine(self.redactor)
        self.preview: list[str] = []
        self.preview_bytes = 0
        self.truncated = False
        self.lines = 0
        self.bytes = 0
        self.path = spill
        self.file: IO[bytes] | None = None
        self.partial = bytearray()
        self.final_newline = True
        self.stream_lines = stream_lines
        self.grep = grep
        self.arrived = 0  # values the session's API proxy had already replaced before kubectl printed them

    def feed(self, chunk: bytes) -> bool:
        """Take a chunk of stdout; False once a stream has given enough lines."""
        self.bytes += len(chunk)
        if self.long_line.active and b"\n" in chunk:  # the end of a line taken in pieces
            end = chunk.index(b"\n")
            self._fragment(self.long_line.end(bytes(self.partial) + chunk[:end]) + b"\n")
            self.lines += 1
            self.partial = bytearray()
            chunk = chunk[end + 1 :]
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            self.partial += chunk  # a long line grows in place: no quadratic re-joining
            if len(self.partial) >= LONG_LINE and self.grep is None:
                out, carry = self.long_line.feed(bytes(self.partial))  # memory stays bounded
                self.partial = bytearray(carry)
                self._fragment(out)
            return True
        if self.partial:
            self.partial += chunk[:cut]
            block = bytes(self.partial)
        else:
            block = chunk[:cut] if cut < len(chunk) else chunk
        self.partial = bytearray(chunk[cut:])
        self.arrived += block.count(b"[REDACTED]")
        self._lines(self.redactor.feed_block(block))
        return self.stream_lines is None or self.lines < self.stream_lines

    def _lines(self, data: bytes) -> None:
        """Take redacted whole lines: into the preview one by one, then straight on to the spill file."""
        if self.grep is not None:
            for raw in data.split(b"\n")[:-1]:
                text = raw.decode("utf-8", "surrogateescape")
                if self.grep.search(text):
                    self._emit(text)
            return
        pos = 0
        while pos < len(data) and self.file is None and not self.truncated:
            stop = data.index(b"\n", pos)
            self._emit(data[pos:stop].decode("utf-8", "surrogateescape"))
            pos = stop + 1
        if pos < len(data):
            rest = data[pos:] if pos else data
            self.lines += rest.count(b"\n")
            if self.file is not None:
                self.file.write(rest)

    def _fragment(self, data: bytes) -> None:
        """Take the redacted start of a line too long to hold: its head is the preview, the rest spilled."""
        if self.file is None and not self.truncated:
            self.truncated = True
            held = list(self.preview)
            if not self.preview:
                self.preview.append(data[: MAX_BYTES // 4].decode("utf-8", "surrogateescape"))
            if self.path is not None:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                self.file = os.fdopen(fd, "wb")
                self.file.writelines(h.encode("utf-8", "surrogateescape") + b"\n" for h in held)
        if self.file is not None:
            self.file.write(data)

    def _emit(self, text: str) -> None:
        self.lines += 1
        data = text.encode("utf-8", "surrogateescape") + b"\n"
        if self.file is None and not self.truncated:
            if len(self.preview) < MAX_LINES and self.preview_bytes + len(data) <= MAX_BYTES:
                self.preview.append(text)
                self.preview_bytes += len(data)
                return
            self.truncated = True
            held = list(self.preview)
            if not self.preview:
                self.preview.append(text[: MAX_BYTES // 4])
            if self.path is not None:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                self.file = os.fdopen(fd, "wb")
                self.file.writelines(h.encode("utf-8", "surrogateescape") + b"\n" for h in held)
        if self.file is not None:
            self.file.write(data)

    def finish(self) -> None:
        """Flush the last partial line and anything the redactor still holds."""
        if self.long_line.active:
            self.final_newline = False
            self._fragment(self.long_line.end(bytes(self.partial)) + b"\n")
            self.lines += 1
            self.partial = bytearray()
        elif self.partial:
            self.final_newline = False
            self.arrived += self.partial.count(b"[REDACTED]")
            self._lines(self.redactor.feed_block(bytes(self.partial) + b"\n"))
            self.partial = bytearray()
        for text in self.redactor.flush():
            self._emit(text)  # not filtered by grep, as before
        if self.file is not None:
            self.file.close()

    def content(self) -> str:
        """The preview as one string."""
        text = "\n".join(self.preview)
        if self.preview and (self.truncated or self.final_newline):
            text += "\n"
        return json_codec.clean(text)


def _output_kind(inv: Invocation) -> str:
    return (inv.last("output") or "").strip().lower()


def is_stream(inv: Invocation) -> bool:
    """Whether the call streams until stopped (watch or follow)."""
    if inv.tool == "kubetail":
        return inv.is_true("follow")
    if inv.path in (("get",), ("events",)):
        return inv.is_true("watch") or inv.is_true("watch-only")
    return inv.path == ("logs",) and inv.is_true("follow")


def _notes(collector: Collector, inv: Invocation, stderr: str) -> list[str]:
    notes = []
    if collector.truncated:
        where = f"the whole output ({collector.lines} lines, {collector.bytes} bytes) is in {collector.path}"
        notes.append(f"content holds the first {len(collector.preview)} of {collector.lines} lines; {where}.")
        if _output_kind(inv).startswith("json") and collector.path is not None:
            notes.append(f"Query it with jq, e.g. jq -r '.items[].metadata.name' {collector.path}")
        elif collector.path is not None:
            notes.append(f"Search it with grep or page it with sed -n '200,400p' {collector.path}")
    if collector.redactor.count + collector.arrived:
        count = collector.redactor.count + collector.arrived
        notes.append(f"{count} secret-shaped value(s) were replaced with [REDACTED].")
    if stderr.strip():
        notes.append(f"kubectl also said: {stderr.strip()[:500]}")
    return notes


def emit(env: dict[str, object]) -> None:
    """Write exactly one envelope object to stdout."""
    sys.stdout.buffer.write(json_codec.dumps(env) + b"\n")
    sys.stdout.buffer.flush()


def new_collector(session: Session, inv: Invocation, grep: re.Pattern[str] | None = None) -> Collector:
    """A collector whose spill file is a fresh name in the session's per-context cache."""
    ext = "json" if _output_kind(inv).startswith("json") else "txt"
    spill = new_file(_cache(session), session.context, inv.verb or inv.tool, ext, session.id)
    return Collector(spill, session.stream_lines if is_stream(inv) else None, grep)


def _cache(session: Session) -> Path:
    return Path(session.cache_dir) if session.cache_dir else cache_root()


def capture(session: Session, inv: Invocation, collector: Collector, path: str, argv: list[str],
            env: dict[str, str]) -> executor.Captured:  # fmt: skip
    """Run one tool call into `collector` under the session's time bounds."""
    stream = is_stream(inv)
    seconds = session.stream_seconds if stream else session.request_timeout
    return executor.run_captured(path, argv, env, collector.feed, seconds=seconds, stream=stream)


def finish(session: Session, inv: Invocation, collector: Collector, results: list[executor.Captured],
           notice: str | None) -> tuple[dict[str, object], int]:  # fmt: skip
    """The one envelope for the captured run(s), and the exit code for the audit."""
    collector.finish()
    stderr_text, _ = _redacted(b"".join(r.stderr for r in results))
    code = next((r.exit_code for r in results if r.exit_code != 0), 0)
    if any(r.timed_out for r in results):
        out = envelope.error(
            "infra",
            f"{inv.tool} did not finish within {session.request_timeout:g} s and was stopped; the cluster "
            "may be slow or unreachable (retry, or narrow the request with -n, -l or --limit)",
            session.context,
            notice,
        )
    elif code != 0 and not any(r.stopped for r in results) and (stderr_text.strip() or not collector.lines):
        message = stderr_text.strip()[:_MESSAGE_CAP] or f"{inv.tool} exited with code {code}"
        out = envelope.error(envelope.classify(message), message, session.context, notice)
    else:
        if any(r.stopped for r in results):
            notice = envelope.join_notice(
                notice,
                f"The stream was stopped after {session.stream_seconds:g} s or {session.stream_lines} lines; "
                "to read more, rerun without -w/-f, or with --since/--tail to choose the window.",
            )
        machine = _output_kind(inv) not in ("", "wide")
        render = "agent" if collector.truncated or machine else "verbatim"
        notes = _notes(collector, inv, stderr_text if code == 0 else "")
        if code != 0:
            # A non-zero exit with an answer and no error text is an answer (`auth can-i` says "no").
            notes.append(f"{inv.tool} exited with code {code}.")
        out = envelope.ok(envelope.Output(collector.content(), render, tuple(notes)), session.context, notice)
    if out["status"] == "error" and collector.path is not None:
        collector.path.unlink(missing_ok=True)  # an error envelope names no file: leave none behind
    elif collector.truncated:
        bound = max(MIN_AGE_S, session.request_timeout, session.stream_seconds)
        prune(_cache(session), keep_session=session.id, min_age=bound)
    return out, code


def run_enveloped(
    session: Session,
    inv: Invocation,
    decision: Decision,
    path: str,
    pinned: list[str],
    env: dict[str, str],
    audit: AuditLog,
    call: Call,
    started: float,
) -> int:
    """Run an allowed call, print its envelope, then audit it with the tool's exit code."""
    out, code = read(session, inv, path, pinned, env)
    emit(out)
    audit.write(call, decision, code, started)
    return 0


def read(
    session: Session, inv: Invocation, path: str, pinned: list[str], env: dict[str, str]
) -> tuple[dict[str, object], int]:
    """Run one allowed call and build its envelope (no printing, no audit): shared with MCP."""
    collector = new_collector(session, inv)
    result = capture(session, inv, collector, path, pinned, env)
    return finish(session, inv, collector, [result], session.notice)


def _redacted(data: bytes) -> tuple[str, int]:
    text, count = redact_text(data.decode("utf-8", "surrogateescape"))
    return json_codec.clean(text), count
