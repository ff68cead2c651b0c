"""The per-context bulk-output cache: $XDG_CACHE_HOME/kro/<sha256(context)[:12]>/<time>-<verb>-….<ext>.

Files are pruned only when no envelope can still be about to name them: never the pruning session's own,
never one younger than the longest call bound (MIN_AGE_S, or the session's own bound if longer), so a
session pruning the shared cache cannot delete a file another session is writing or has just named.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

MAX_AGE_S = 7 * 86400
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MIN_AGE_S = 600.0  # longer than any call's default bound (30 s request, 10 s stream), with room to read


def cache_root() -> Path:
    """$XDG_CACHE_HOME/kro (XDG default ~/.cache/kro)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kro"


def context_dir(root: Path, context: str) -> Path:
    """The directory of one context's cached outputs."""
    return root / hashlib.sha256(context.encode()).hexdigest()[:12]


def new_file(root: Path, context: str, verb: str, ext: str, session: str = "") -> Path:
    """A fresh file name for one output of `session` (the caller makes its folder and writes it, 0600)."""
    directory = context_dir(root, context)
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1000):03d}Z"
    slug = "".join(c if c.isalnum() or c == "-" else "-" for c in verb)[:40] or "kubectl"
    # pid and a random tag: MCP runs concurrent calls in one process within the same millisecond.
    owner = f"{session}-" if session.isalnum() else ""
    return directory / f"{stamp}-{slug}-{owner}{os.getpid()}-{os.urandom(3).hex()}.{ext}"


class SpillFile:
    """One output's cache file, written as it comes; a refused write removes it and sets `error`."""

    # A full or unwritable cache must end in a clear message, never a half-written (or empty) file.

    def __init__(self, path: Path) -> None:
        self.path = path
        self.error: str | None = None
        self.handle: BinaryIO | None = None
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            self.handle = os.fdopen(fd, "wb")
        except OSError as exc:
            self._fail(exc)

    def write(self, data: bytes) -> None:
        """Append `data` (dropped once a write has failed)."""
        if self.handle is not None:
            try:
                self.handle.write(data)
            except OSError as exc:
                self._fail(exc)

    def writelines(self, lines: Iterable[bytes]) -> None:
        """Append each of `lines`."""
        for line in lines:
            self.write(line)

    def close(self) -> None:
        """Flush and close (a flush the disk refuses removes the file too)."""
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError as exc:
                self._fail(exc)
            self.handle = None

    def _fail(self, exc: OSError) -> None:
        self.error = self.error or f"cannot write {self.path.parent}: {exc.strerror or exc}"
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.close()  # closes the descriptor even when its flush fails again
            self.handle = None
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


def _owned(path: Path, session: str | None) -> bool:
    return bool(session) and f"-{session}-" in path.name


def prune(
    root: Path,
    *,
    max_age: float = MAX_AGE_S,
    max_bytes: int = MAX_TOTAL_BYTES,
    keep_session: str | None = None,
    min_age: float = MIN_AGE_S,
) -> int:
    """Remove files older than max_age, then the oldest until the total fits; under a file lock.

    Files of `keep_session` and files modified within `min_age` seconds are never removed (they count
    towards the total all the same). A lock held elsewhere for 10 s means another prune is running: skip.
    """
    from filelock import FileLock, Timeout

    if not root.is_dir():
        return 0
    removed = 0
    try:
        with FileLock(str(root / ".prune.lock"), timeout=10):
            files = []
            for path in root.glob("*/*"):
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                files.append((stat.st_mtime, stat.st_size, path))
            files.sort()
            total = sum(size for _, size, _ in files)
            now = time.time()
            cutoff, young = now - max_age, now - max(min_age, 0.0)
            for mtime, size, path in files:
                if mtime >= young or (mtime >= cutoff and total <= max_bytes):
                    break
                if _owned(path, keep_session):
                    continue
                path.unlink(missing_ok=True)
                total -= size
                removed += 1
    except Timeout:
        return 0
    return removed


def clear(root: Path) -> int:
    """Remove every cached output; returns how many files went."""
    removed = 0
    for path in root.glob("*/*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
