"""The host side of sandbox/protected_paths.py's PLACEHOLDER and PRIVATE entries, for one confined session.

A stand-in is made on the host before the sandbox starts (bound read-only inside) and removed when the
last session using it ends (or, after a kro-run killed with SIGKILL, when the next one there ends).
Sessions sharing a working dir share its stand-ins: each holds a shared lock on the stand-in's registry
file for its lifetime, and the one that can upgrade to an exclusive lock at the end removes it (removing
a file another session has bound would unmount it there and lift its protection).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kro.sandbox import protected_paths as pp
from kro.shims.errors import UsageError


@dataclass
class Held:
    """The stand-ins this session uses, each with its registry file's locked descriptor."""

    entries: list[tuple[pp.Protected, int, Path]] = field(default_factory=list)


def private_copy(box: Path, path: str) -> str:
    """Where the session's copy of a PRIVATE file lives (beside the box, outside the sandbox's view)."""
    return str(box.parent / "private" / path.strip("/").replace("/", "%"))


def _registry(root: Path, path: str) -> Path:
    return root / hashlib.sha256(path.encode()).hexdigest()[:32]


def _hold(held: Held, entry: pp.Protected, registry: Path, made: bool = False) -> None:
    """Take a shared lock on the registry file; the one that made the stand-in records what it holds."""
    fd = os.open(registry, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    if made:
        os.ftruncate(fd, 0)
        os.write(fd, ("d" if entry.is_dir else "f").encode() + entry.content.encode())
    held.entries.append((entry, fd, registry))


def _recorded(fd: int) -> tuple[bool, str] | None:
    """(is_dir, content) of the stand-in as its maker recorded it, or None."""
    data = os.pread(fd, 1 << 16, 0).decode(errors="replace")
    return (data[0] == "d", data[1:]) if data[:1] in ("d", "f") else None


def make(entries: tuple[pp.Protected, ...], box: Path, root: Path) -> Held:
    """Create the absent protected paths as their stand-ins (a file holding what git reads when it is
    absent, e.g. commondir '.', or an empty directory), join the stand-ins other sessions made, and copy
    the PRIVATE files; UsageError (nothing left behind) when one cannot be made."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    held = Held()
    try:
        for entry in entries:
            registry = _registry(root, entry.path)
            if entry.how == pp.PRIVATE and not entry.is_dir:
                copy = Path(private_copy(box, entry.path))
                copy.parent.mkdir(mode=0o700, exist_ok=True)
                shutil.copyfile(entry.path, copy)
                os.chmod(copy, 0o600)
            elif entry.how == pp.PLACEHOLDER and not os.path.lexists(entry.path):
                _hold(held, entry, registry, made=True)
                if entry.is_dir:
                    os.mkdir(entry.path, 0o755)
                else:
                    fd = os.open(entry.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                    with os.fdopen(fd, "w") as handle:
                        handle.write(entry.content)
            elif entry.how in (pp.READ_ONLY, pp.PLACEHOLDER) and registry.exists():
                _hold(held, entry, registry)  # another session's stand-in (live, or killed before its end)
    except OSError as exc:
        release(held)
        raise UsageError(f"--confine cannot protect {exc.filename}: {exc.strerror}") from exc
    return held


def release(held: Held) -> None:
    """Drop this session's stand-ins; remove each one no other session holds, where it is still as made."""
    for entry, fd, registry in sorted(held.entries, key=lambda e: e[0].path.count("/"), reverse=True):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # another session still uses it
            continue
        recorded = _recorded(fd)
        with contextlib.suppress(OSError):
            if recorded is not None and recorded[0]:
                os.rmdir(entry.path)  # only when empty
            elif recorded is not None and Path(entry.path).read_text() == recorded[1]:
                os.unlink(entry.path)
        with contextlib.suppress(OSError):
            registry.unlink()
        os.close(fd)
    held.entries.clear()
