"""Session directories: create one (0700) with its shims and session.json; reclaim dead ones.

A session dir is staged under a name reclaim leaves alone and renamed into place complete, with its
owner.lock already held (flock) by the process that made it, for that process's whole life. Reclaim
removes a dir only when its lock is free and the pid written in it is gone: the owner is provably dead.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import filelock
import orjson

import kro
from kro.shims.session import SESSION_FILE, Session, write_session

SHIM_MARKER = "kro.shims.shim"  # every shim script names the core shim in its first lines
MAPPED_PACKAGES = ("kro.shims", "kro.sandbox", "kro.democluster")
SHIM_TEMPLATE = """#!{python} -IS
# kro {tool} shim (kro.shims.shim): every call is decided by the read-only policy, pinned and audited.
{prelude}from kro.sandbox.shim_entry import main
raise SystemExit(main({tool!r}, __file__, sys.argv[1:]))
"""
_SH_TEMPLATE = """#!/bin/sh
# kro {tool} shim (kro.shims.shim): every call is decided by the read-only policy, pinned and audited.
exec '{python}' -IS -c '{prelude}from kro.sandbox.shim_entry import main
raise SystemExit(main({tool!r}, sys.argv[1], sys.argv[2:]))' "$0" "$@"
"""
_MAX_SHEBANG = 200


def sessions_root() -> Path:
    """Where session dirs live: $XDG_RUNTIME_DIR/kro, else a per-user dir in the temp dir."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    root = Path(runtime) / "kro" if runtime else Path(tempfile.gettempdir()) / f"kro-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.stat().st_uid != os.getuid():
        raise PermissionError(f"{root} belongs to another user")
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


LOCK_FILE = "owner.lock"  # flock held by the owning process; its pid inside
STAGING = ".staging-"  # a session dir being built: renamed to session-* once complete
_ORPHAN_AGE_S = 600.0  # a dir without a lock file (made by an older kro, or its maker died at once)


def _pid_in(fd: int) -> int:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _owner_gone(entry: Path) -> tuple[bool, int | None]:
    """Whether `entry`'s owner is provably gone; then the lock descriptor held while it is removed."""
    try:
        fd = os.open(entry / LOCK_FILE, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return _unlocked_gone(entry), None
    except OSError:
        return False, None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: the owner is alive (or another start is removing it right now)
        os.close(fd)
        return False, None
    pid = _pid_in(fd)
    if _alive(pid) if pid else not _old(entry):  # no pid yet: its maker is between open and flock
        os.close(fd)
        return False, None
    return True, fd


def _unlocked_gone(entry: Path) -> bool:
    """A dir with no lock file: gone when its session.json names a dead launcher, or it is long abandoned."""
    try:
        raw = orjson.loads((entry / SESSION_FILE).read_bytes())
        pid = raw.get("launcher_pid") if isinstance(raw, dict) else 0
    except (OSError, orjson.JSONDecodeError):
        pid = 0
    return not _alive(pid) if isinstance(pid, int) and pid > 0 else _old(entry)


def _old(entry: Path) -> bool:
    try:
        return time.time() - entry.stat().st_mtime > _ORPHAN_AGE_S
    except OSError:
        return False


def reclaim(root: Path) -> list[Path]:
    """Remove session dirs whose owner is provably gone, ending the processes still running for them."""
    from kro.sandbox.supervise import end_session_processes

    removed = []
    for entry in [*root.glob("session-*"), *root.glob(f"{STAGING}*")]:
        gone, lock = _owner_gone(entry)
        if not gone:
            continue
        try:
            end_session_processes(str(entry))
            shutil.rmtree(entry, ignore_errors=True)
        finally:
            if lock is not None:
                os.close(lock)
        removed.append(entry)
    return removed


def import_paths() -> list[str]:
    """sys.path entries the shim needs without site: kro itself, orjson and filelock (approvals)."""
    paths: list[str] = []
    for module_file in (kro.__file__, orjson.__file__, filelock.__file__):
        assert module_file
        parent = str(Path(module_file).parent.parent)
        if parent not in paths:
            paths.append(parent)
    return paths


def _mapped_dirs() -> list[str]:
    """The folders of the kro.* packages that pyproject maps from top-level folders."""
    dirs: list[str] = []
    for name in MAPPED_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.submodule_search_locations is not None
        dirs += [d for d in spec.submodule_search_locations if d not in dirs]
    return dirs


def package_dirs() -> list[str]:
    """The folders kro's packages load from: kro/ and the mapped shims/, sandbox/, democluster/."""
    return list(dict.fromkeys([*kro.__path__, *_mapped_dirs()]))


def package_paths() -> list[str]:
    """kro.__path__ entries the shim needs without site: where an editable install keeps mapped folders."""
    parents = dict.fromkeys(os.path.dirname(d) for d in _mapped_dirs())
    return [p for p in parents if p not in kro.__path__]


def prelude() -> str:
    """The first lines of every Python script kro writes for a `python -IS` start (shims, the agent hook).

    The one place the layout needs a workaround: -I -S loads no site, so neither the venv's site-packages
    nor an editable install's import hook (which maps shims/, sandbox/, democluster/ into kro) is there;
    the script puts kro's, orjson's and filelock's parents on sys.path and the mapped folders' parent on
    kro.__path__ itself. A regular install needs only the first line's paths (package_paths() is empty).
    """
    return f"import sys\nsys.path[:0] = {import_paths()!r}\nimport kro\nkro.__path__ += {package_paths()!r}\n"


def shim_script(tool: str) -> str:
    """The text of one shim: a direct shebang to this Python, or a sh wrapper when the path is long."""
    python = sys.executable
    template = SHIM_TEMPLATE if len(python) < _MAX_SHEBANG and " " not in python else _SH_TEMPLATE
    return template.format(python=python, prelude=prelude(), tool=tool)


def new_session_dir(root: Path) -> Path:
    """A fresh 0700 session dir with an empty bin/, whose lock this process holds until it exits."""
    # Built under a staging name and renamed into place, so no other start ever sees it half made. The
    # lock's descriptor is deliberately left open (close-on-exec): the process's exit releases it.
    staged = Path(tempfile.mkdtemp(prefix=STAGING, dir=root))
    fd = -1
    try:
        fd = os.open(staged / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # a reclaim may hold it a moment: it finds no pid and lets go
        os.write(fd, f"{os.getpid()}\n".encode())
        (staged / "bin").mkdir(mode=0o700)
        while True:
            target = root / f"session-{os.urandom(6).hex()}"
            if not os.path.lexists(target):  # rename would replace an empty dir of that name
                break
        os.rename(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        if fd >= 0:
            os.close(fd)
        raise
    return target


def install(session: Session) -> None:
    """Write session.json and the kubectl/kubetail shims into the session dir."""
    path = Path(session.dir)
    write_session(session, str(path / SESSION_FILE))
    for tool in ("kubectl", "kubetail"):
        target = path / "bin" / tool
        target.write_text(shim_script(tool))
        os.chmod(target, 0o700)


def is_shim(path: str) -> bool:
    """Whether the executable at `path` is a kro shim (never record a shim as the real tool)."""
    try:
        with open(path, "rb") as handle:
            return SHIM_MARKER.encode() in handle.read(512)
    except OSError:
        return False


def find_real(tool: str, path_var: str) -> str | None:
    """The first `tool` on PATH that is not a kro shim."""
    for directory in path_var.split(os.pathsep):
        if not directory:
            continue
        candidate = shutil.which(tool, path=directory)
        if candidate and not is_shim(candidate):
            return candidate
    return None
