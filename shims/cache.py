"""The per-context bulk-output cache: $XDG_CACHE_HOME/kro/<sha256(context)[:12]>/<time>-<verb>.<ext>."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

MAX_AGE_S = 7 * 86400
MAX_TOTAL_BYTES = 512 * 1024 * 1024


def cache_root() -> Path:
    """$XDG_CACHE_HOME/kro (XDG default ~/.cache/kro)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kro"


def context_dir(root: Path, context: str) -> Path:
    """The directory of one context's cached outputs."""
    return root / hashlib.sha256(context.encode()).hexdigest()[:12]


def new_file(root: Path, context: str, verb: str, ext: str) -> Path:
    """A fresh file name for one output, created 0600 (the caller writes it)."""
    directory = context_dir(root, context)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1000):03d}Z"
    slug = "".join(c if c.isalnum() or c == "-" else "-" for c in verb)[:40] or "kubectl"
    # pid and a random tag: MCP runs concurrent calls in one process within the same millisecond.
    return directory / f"{stamp}-{slug}-{os.getpid()}-{os.urandom(3).hex()}.{ext}"


def prune(root: Path, *, max_age: float = MAX_AGE_S, max_bytes: int = MAX_TOTAL_BYTES) -> int:
    """Remove files older than max_age, then the oldest until the total fits; under a file lock."""
    from filelock import FileLock

    if not root.is_dir():
        return 0
    removed = 0
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
        cutoff = time.time() - max_age
        for mtime, size, path in files:
            if mtime >= cutoff and total <= max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
    return removed


def clear(root: Path) -> int:
    """Remove every cached output; returns how many files went."""
    removed = 0
    for path in root.glob("*/*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
