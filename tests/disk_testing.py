"""A small tmpfs to fill: full-disk tests (needs root and mount; skipped with the reason otherwise)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of `size` (e.g. "64k") at `where` for the block; skip the test when mount fails."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill ({done.stderr.strip() or 'mount failed'}; needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


PAGE = 4096  # tmpfs hands out space in pages


def fill(path: Path, pages_free: int = 0) -> None:
    """Write `path` until the filesystem is full, then give back `pages_free` pages of it."""
    written = 0
    with open(path, "wb", buffering=0) as handle:
        while True:
            try:
                written += handle.write(b"\0" * PAGE)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    os.truncate(path, max(0, written - pages_free * PAGE))
