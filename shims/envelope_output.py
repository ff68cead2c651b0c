"""Envelope output: redact and bound a tool's output into a preview, spilling the whole to the cache."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from kro.shims import json_codec
from kro.shims.cache import MIN_AGE_S, SpillFile, cache_root, new_file, prune
from kro.shims.model import Invocation
from kro.shims.redact import Lines, Redactor, redact_text
from kro.shims.session import Session

MAX_LINES = 200
MAX_BYTES = 16 * 1024


class Collector:
    """Splits output into lines, redacts them, keeps a bounded preview and spills the rest to a file."""

    def __init__(
        self, spill: Path | None, stream_lines: int | None, grep: re.Pattern[str] | None = None
    ) -> None:
        self.redactor = Redactor()
        # the one streaming line redactor; a line too long to hold is taken in pieces unless filtering
        self.cutter = Lines(self._lines, self._piece, self.redactor, pieces=grep is None)
        self.preview: list[str] = []
        self.preview_bytes = 0
        self.truncated = False
        self.lines = 0
        self.bytes = 0
        self.path = spill
        self.file: SpillFile | None = None
        self.final_newline = True
        self.stream_lines = stream_lines
        self.grep = grep

    def feed(self, chunk: bytes) -> bool:
        """Take a chunk of stdout; False once a stream has given enough lines."""
        self.bytes += len(chunk)
        self.cutter.feed(chunk)
        if self.spill_error is not None:
            return False  # the cache refused the output: stop the tool, the call fails with the reason
        return self.stream_lines is None or self.lines < self.stream_lines

    @property
    def spill_error(self) -> str | None:
        """Why the output could not be written to the cache (full, unwritable), if it could not."""
        return self.file.error if self.file is not None else None

    def _piece(self, data: bytes, ended: bool) -> None:
        self._fragment(data)
        self.lines += ended

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
            self._spill(data[: MAX_BYTES // 4].decode("utf-8", "surrogateescape"))
        if self.file is not None:
            self.file.write(data)

    def _spill(self, head: str) -> None:
        """The preview is full: open the spill file with what the preview holds (or `head` if nothing)."""
        self.truncated = True
        held = list(self.preview)
        if not self.preview:
            self.preview.append(head)
        if self.path is not None:
            self.file = SpillFile(self.path)
            self.file.writelines(h.encode("utf-8", "surrogateescape") + b"\n" for h in held)

    def _emit(self, text: str) -> None:
        self.lines += 1
        data = text.encode("utf-8", "surrogateescape") + b"\n"
        if self.file is None and not self.truncated:
            if len(self.preview) < MAX_LINES and self.preview_bytes + len(data) <= MAX_BYTES:
                self.preview.append(text)
                self.preview_bytes += len(data)
                return
            self._spill(text[: MAX_BYTES // 4])
        if self.file is not None:
            self.file.write(data)

    def finish(self) -> None:
        """Flush the last partial line and anything the redactor still holds."""
        if self.cutter.in_long_line:
            self.final_newline = False
            self._piece(self.cutter.end_long_line() + b"\n", True)
        elif self.cutter.partial:
            self.final_newline = False
            self._lines(self.cutter.redacted(self.cutter.tail() + b"\n"))
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


def output_kind(inv: Invocation) -> str:
    """The call's -o/--output, lower-cased ("" when none)."""
    return (inv.last("output") or "").strip().lower()


class Preview(Collector):
    """A collector for one call in the session's cache, with what the pipeline reads off a feed."""

    def __init__(self, session: Session, inv: Invocation, grep: re.Pattern[str] | None = None) -> None:
        from kro.shims.pipeline import is_stream

        self.kind = output_kind(inv)
        self.json = self.kind.startswith("json")
        self.cache = Path(session.cache_dir) if session.cache_dir else cache_root()
        self.kept = False
        ext = "json" if self.json else "txt"
        spill = new_file(self.cache, session.context, inv.verb or inv.tool, ext, session.id)
        self.session_id = session.id
        # no other session's file younger than the longest call bound is pruned: its envelope may name it
        self.min_age = max(MIN_AGE_S, session.request_timeout, session.stream_seconds, session.call_timeout)
        super().__init__(spill, session.stream_lines if is_stream(inv) else None, grep)

    @property
    def spill(self) -> str | None:
        """The file holding the whole output, when content is not all of it."""
        if self.path is None or self.spill_error is not None:
            return None
        return str(self.path) if self.truncated or self.kept else None

    @property
    def shown(self) -> int:
        """Lines in the preview."""
        return len(self.preview)

    @property
    def redactions(self) -> int:
        """Values replaced so far, by kro here or already by the session's API proxy."""
        return self.redactor.count + self.redactor.arrived

    @property
    def render(self) -> str:
        """verbatim for kubectl's whole human output; agent for machine data or a preview."""
        return "agent" if self.truncated or self.kind not in ("", "wide") else "verbatim"

    def finish(self) -> None:
        """Flush what is held; prune the cache when this output spilled into it."""
        super().finish()
        if self.truncated:
            with contextlib.suppress(OSError):  # housekeeping: a later call prunes what this one cannot
                prune(self.cache, keep_session=self.session_id, min_age=self.min_age)

    def discard(self) -> None:
        """An error that names no file leaves none behind: the spill file goes."""
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.path is not None:
            with contextlib.suppress(OSError):  # e.g. the cache path is not a directory: nothing there
                self.path.unlink(missing_ok=True)
        self.truncated = self.kept = False

    def keep(self) -> None:
        """A failed run's partial output goes to the spill file too, so the error can name it."""
        if self.file is None and self.path is not None and self.preview and not self.truncated:
            kept = SpillFile(self.path)
            kept.write(self.content().encode("utf-8", "surrogateescape"))
            kept.close()
            self.kept = kept.error is None

    def stderr(self, data: bytes) -> str:
        """The tool's stderr, redacted (counted with stdout's) and valid Unicode."""
        text, count = redact_text(data.decode("utf-8", "surrogateescape"))
        self.redactor.count += count
        return json_codec.clean(text)
