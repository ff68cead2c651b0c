"""Session directories: create one (0700) with its shims and session.json; reclaim dead ones."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import filelock
import orjson

import kro
from kro.shims.errors import KroError
from kro.shims.session import SESSION_FILE, Session, load_session, write_session

SHIM_MARKER = "kro.shims.shim"
MAPPED_PACKAGES = ("kro.shims", "kro.sandbox", "kro.democluster")
SHIM_TEMPLATE = """#!{python} -IS
# kro {tool} shim: every call is decided by the read-only policy, pinned and audited.
import sys
sys.path[:0] = {paths!r}
import kro
kro.__path__ += {package_paths!r}
from kro.shims.shim import main
{handler}raise SystemExit(main({tool!r}, __file__, sys.argv[1:]{handler_arg}))
"""
_SH_TEMPLATE = """#!/bin/sh
# kro {tool} shim: every call is decided by the read-only policy, pinned and audited.
exec '{python}' -IS -c 'import sys; sys.path[:0] = {paths!r}
import kro
kro.__path__ += {package_paths!r}
from kro.shims.shim import main
{handler}raise SystemExit(main({tool!r}, sys.argv[1], sys.argv[2:]{handler_arg}))' "$0" "$@"
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


def reclaim(root: Path) -> list[Path]:
    """Remove session dirs whose launcher is gone, ending the processes still running for them."""
    from kro.sandbox.supervise import end_session_processes

    removed = []
    for entry in root.glob("session-*"):
        try:
            pid = load_session(str(entry / SESSION_FILE)).launcher_pid
        except (KroError, OSError):
            pid = 0
        if pid and _alive(pid):
            continue
        end_session_processes(str(entry))
        shutil.rmtree(entry, ignore_errors=True)
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


# An approvals session's shims hand the pipeline the approvals handler (the core imports no kro.approvals).
_APPROVALS_HANDLER = "from kro.approvals import answer_blocked\n"


def shim_script(tool: str, approvals: bool = False) -> str:
    """The text of one shim: a direct shebang to this Python, or a sh wrapper when the path is long."""
    python = sys.executable
    template = SHIM_TEMPLATE if len(python) < _MAX_SHEBANG and " " not in python else _SH_TEMPLATE
    handler, handler_arg = (_APPROVALS_HANDLER, ", answer_blocked") if approvals else ("", "")
    return template.format(python=python, paths=import_paths(), package_paths=package_paths(), tool=tool,
                           handler=handler, handler_arg=handler_arg)  # fmt: skip


def new_session_dir(root: Path) -> Path:
    """A fresh 0700 session directory with an empty bin/."""
    path = Path(tempfile.mkdtemp(prefix="session-", dir=root))
    (path / "bin").mkdir(mode=0o700)
    return path


def install(session: Session) -> None:
    """Write session.json and the kubectl/kubetail shims into the session dir."""
    path = Path(session.dir)
    write_session(session, str(path / SESSION_FILE))
    for tool in ("kubectl", "kubetail"):
        target = path / "bin" / tool
        target.write_text(shim_script(tool, bool(session.approvals)))
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
