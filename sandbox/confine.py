"""`kro-run --confine`: the agent runs under bubblewrap and reaches kubectl only through the broker.

Inside the sandbox: the host filesystem read-only; writable are the working directory, the agents' own
dirs under $HOME (AGENT_DIRS, those that exist) and --rw paths, except what runs later outside
(sandbox/protected_paths.py: git dirs pinned, their config, commondir, config.worktree, hooks/ and info/
read-only, for linked worktrees and submodules too; the agents' settings, hook and plugin dirs
read-only; stand-ins where such a file is absent; npx's cache private); /tmp, /run and $XDG_RUNTIME_DIR
are fresh, private tmpfs (nothing of the host's /tmp or of its daemons' sockets); /dev is a minimal
devtmpfs, /proc the sandbox's own (PID namespace) with /proc/sys read-only. Not visible: the real
kubectl/kubetail (their bundle directory, or the binary itself in a shared bin dir), credential
locations (HOME_CREDENTIALS, SYSTEM_CREDENTIALS, /run/secrets), every kubeconfig kro-run read and the
files its user entry names, kro's session directories, the audit log's directory and the approval queue
(--approvals). The network is shared.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kro.sandbox import kubeconfig as kc
from kro.sandbox import protected_paths as pp
from kro.sandbox import seccomp, session_dir, stand_ins
from kro.sandbox.broker import Broker
from kro.sandbox.confine_env import BOX, sandbox_env
from kro.sandbox.platform import confine_engine, descendants
from kro.sandbox.supervise import Supervisor
from kro.shims.cache import cache_root
from kro.shims.errors import ToolNotFound, UsageError
from kro.shims.session import SESSION_FILE, Session, write_session

INSTALL_HINT = (
    "--confine needs bubblewrap (bwrap), which is not on PATH: install it (apt-get install bubblewrap; "
    "dnf install bubblewrap; pacman -S bubblewrap) or run without --confine"
)
SEATBELT_NOT_YET = (
    "--confine is not available on macOS yet: its Seatbelt profile is generated from the same plan "
    "(kro.sandbox.seatbelt) but kro-run does not run it; see README (Platforms). Without --confine, "
    "kro-run claude turns on Claude Code's own sandbox, which keeps your kubeconfig unreadable"
)
AGENT_DIRS = (
    ".claude", ".claude.json", ".codex", ".gemini", ".copilot", ".cursor", ".config/opencode",
    ".local/share/opencode", ".cache", ".npm",
)  # fmt: skip
HOME_CREDENTIALS = (
    ".kube", ".aws", ".azure", ".config/gcloud", ".minikube", ".oci", ".config/doctl", ".Xauthority",
)  # fmt: skip
SYSTEM_CREDENTIALS = (
    "/etc/kubernetes", "/etc/rancher", "/var/lib/kubelet", "/var/lib/rancher", "/var/lib/k0s",
    "/var/snap/microk8s",
)  # fmt: skip
SHARED_BIN = frozenset({
    "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/snap/bin",
    "/opt/homebrew/bin", "/home/linuxbrew/.linuxbrew/bin",
})  # fmt: skip
_PROC_RO = ("sys", "sysrq-trigger", "irq", "bus")
_FRESH_MODES = {"/tmp": "1777", "/run": "0755"}  # anything else fresh is $XDG_RUNTIME_DIR: 0700


@dataclass(frozen=True)
class ConfineOptions:
    """What --confine was asked for: bwrap, the working dir, extra writable paths and passed variables."""

    bwrap: str
    cwd: str
    rw: tuple[str, ...] = ()
    pass_env: tuple[str, ...] = ()
    kubeconfig: str | None = None


@dataclass(frozen=True)
class Layout:
    """The sandbox's mounts, applied in this order (later ones on top)."""

    cwd: str
    fresh: tuple[str, ...]
    rw: tuple[str, ...]
    hidden_dirs: tuple[str, ...]
    hidden_files: tuple[str, ...]
    shown: tuple[tuple[str, str], ...]
    ro_code: tuple[str, ...] = ()  # code run outside (kro, its Python, the broker's PATH) under a rw path
    protected: tuple[pp.Protected, ...] = ()  # what runs later outside, under a rw path (outermost first)


def find_bwrap(env: dict[str, str]) -> str:
    """The bwrap binary on PATH; ToolNotFound (exit 69) with the install hint otherwise."""
    if confine_engine() == "seatbelt":
        raise ToolNotFound(SEATBELT_NOT_YET)
    found = shutil.which("bwrap", path=env.get("PATH") or os.defpath)
    if found is None:
        raise ToolNotFound(INSTALL_HINT)
    return found


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _real(path: str | Path) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def tool_paths(path_var: str, recorded: tuple[str | None, ...] = ()) -> tuple[set[str], set[str]]:
    """Directories and files that hide the real kubectl/kubetail: a tool's own bundle dir, else the binary."""
    dirs: set[str] = set()
    files: set[str] = set()
    entries = [d for d in path_var.split(os.pathsep) if d]
    on_path = {_real(d) for d in entries}
    found = [shutil.which(tool, path=d) for tool in ("kubectl", "kubetail") for d in entries]
    for candidate in [*found, *recorded]:
        if not candidate or not os.path.exists(candidate) or session_dir.is_shim(candidate):
            continue
        real = _real(candidate)
        parent = os.path.dirname(real)
        (files.add(real) if parent in on_path or parent in SHARED_BIN else dirs.add(parent))
    return dirs, files


def _kubeconfig_files(session: Session, opts: ConfineOptions, env: dict[str, str]) -> set[str]:
    """Every kubeconfig kro-run could have read, and the key, cert and token files their users name (the
    session's own kubeconfig names none when the API proxy holds the credentials: read the sources)."""
    sources = kc.kubeconfig_files(opts.kubeconfig, env)
    found = {_real(p) for p in sources if p.exists()}
    return found | kc.user_files([*sources, Path(session.kubeconfig)])


def _own_install() -> list[str]:
    """The directories kro's shims run from: this Python, kro's package folders, orjson's."""
    packages = [_real(p) for p in session_dir.package_dirs()]
    found = {_real(sys.prefix), _real(sys.base_prefix), _real(os.path.dirname(sys.executable)), *packages}
    found |= {p for p in map(_real, session_dir.import_paths()) if p != os.path.dirname(packages[0])}
    return sorted(p for p in found if os.path.exists(p))


def code_paths(session: Session, env: dict[str, str]) -> list[str]:
    """Everything the broker outside runs or imports: kro, its Python and site-packages, the PATH dirs."""
    import sysconfig

    found = set(_own_install())
    found |= {_real(p) for p in sys.path if p and os.path.isdir(p)}
    found |= {_real(p) for p in sysconfig.get_paths().values() if os.path.isdir(p)}
    for path_var in (session.env.get("PATH") or "", env.get("PATH", "")):
        found |= {_real(d) for d in path_var.split(os.pathsep) if os.path.isabs(d) and os.path.isdir(d)}
    return sorted(found)


def broker_path(path_var: str, rw: tuple[str, ...]) -> str:
    """The broker's PATH without what the sandbox can write into: relative entries and writable dirs."""
    keep = [d for d in path_var.split(os.pathsep) if os.path.isabs(d) and _real(d) not in rw]
    return os.pathsep.join(keep)


def plan(session: Session, env: dict[str, str], opts: ConfineOptions) -> Layout:
    """What the sandbox shows, hides and lets the agent write; UsageError when that cannot be honoured."""
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    cwd = _real(opts.cwd)
    if cwd == "/":
        raise UsageError("--confine needs a working directory other than / (it becomes writable)")
    fresh = ["/tmp", "/run"]
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and not any(_under(_real(runtime), f) for f in fresh):
        fresh.append(_real(runtime))
    for path in opts.rw:
        if not os.path.exists(path):
            raise UsageError(f"--rw {path}: no such file or directory")
    rw = [cwd, *(_real(home / d) for d in AGENT_DIRS if (home / d).exists()), *(_real(p) for p in opts.rw)]
    protected = pp.protected(list(dict.fromkeys(rw)), _real(home))
    tool_dirs, tool_files = tool_paths(env.get("PATH", ""), (session.kubectl, session.kubetail))
    dirs = {_real(home / d) for d in HOME_CREDENTIALS if (home / d).is_dir()}
    dirs |= {_real(d) for d in SYSTEM_CREDENTIALS if os.path.isdir(d)} | tool_dirs
    dirs.add(_real(Path(session.dir).parent))  # every kro session dir: kubeconfigs, session.json, demo logs
    if session.approvals:
        dirs.add(_real(session.approvals))  # the approval queue: only the broker and the user reach it
    files = {_real(home / d) for d in HOME_CREDENTIALS if (home / d).is_file()} | tool_files
    files |= _kubeconfig_files(session, opts, env)
    audit = _real(session.audit_log)
    if any(_under(p, os.path.dirname(audit)) for p in rw):
        files.add(audit)  # its directory holds the working dir: hide the log itself
    else:
        dirs.add(os.path.dirname(audit))
    for hidden in dirs:
        for path in rw:
            if _under(path, hidden):
                raise UsageError(f"--confine hides {hidden}, so {path} cannot be writable inside; "
                                 "run kro-run from (and --rw) directories outside it")  # fmt: skip

    def needed(path: str) -> bool:  # a fresh tmpfs hides it already unless a writable bind re-exposes it
        return not any(_under(path, f) for f in fresh) or any(_under(path, p) for p in rw)

    cache = cache_root()
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    shown = [(_real(cache), _real(cache))]
    # kro itself and its Python must stay visible even when installed under /tmp (a fresh tmpfs inside).
    shown += [
        (p, p)
        for p in _own_install()
        if any(_under(p, f) for f in fresh) and not any(_under(p, r) for r in rw)
    ]
    # Bound read-only after the writable binds: code that runs outside must not be writable inside.
    ro_code = [
        p for p in code_paths(session, env)
        if any(_under(p, r) and p != r for r in rw) and not any(_under(p, d) for d in dirs)
    ]  # fmt: skip
    resolv = _real("/etc/resolv.conf")
    shown += [(p, p) for p in {resolv, "/run/systemd/resolve"} if _under(p, "/run") and os.path.exists(p)]
    return Layout(
        cwd=cwd,
        fresh=tuple(fresh),
        rw=tuple(dict.fromkeys(rw)),
        hidden_dirs=tuple(sorted(d for d in dirs if needed(d))),
        hidden_files=tuple(sorted(f for f in files if needed(f) and not any(_under(f, d) for d in dirs))),
        shown=tuple(shown),
        ro_code=tuple(ro_code),
        protected=tuple(protected),
    )


def bwrap_args(bwrap: str, layout: Layout, box: Path, empty: Path) -> list[str]:
    """bwrap's options for `layout` (the command and the terminal guard come after)."""
    args = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-cgroup-try",
            "--cap-drop", "ALL", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]  # fmt: skip
    for name in _PROC_RO:
        args += ["--ro-bind-try", f"/proc/{name}", f"/proc/{name}"]
    for path in layout.fresh:
        args += ["--perms", _FRESH_MODES.get(path, "0700"), "--tmpfs", path]
    for path in layout.rw:
        args += ["--bind", path, path]
    for entry in layout.protected:  # outermost first: a pinned git dir, then the read-only files in it
        if entry.how == pp.PIN:
            args += ["--bind", entry.path, entry.path]
        elif entry.how == pp.PRIVATE and entry.is_dir:
            args += ["--tmpfs", entry.path]
        elif entry.how == pp.PRIVATE:  # the session's copy (stand_ins.make)
            args += ["--bind", stand_ins.private_copy(box, entry.path), entry.path]
        else:  # read-only; a placeholder exists on the host by now (stand_ins.make)
            args += ["--ro-bind", entry.path, entry.path]
    for path in layout.ro_code:
        args += ["--ro-bind", path, path]
    for path in layout.hidden_dirs:
        args += ["--tmpfs", path]
    for path in layout.hidden_files:
        args += ["--ro-bind", str(empty), path]
    for src, dest in [*layout.shown, (str(box), BOX)]:
        args += ["--ro-bind", src, dest]
    for path in layout.hidden_dirs:
        args += ["--remount-ro", path]
    return [*args, "--chdir", layout.cwd]


def prepare_box(session: Session) -> tuple[Path, str, Path]:
    """Write the sandbox's view of the session (shims, session.json naming the broker); box, token, empty."""
    workdir = Path(session.dir)
    box = workdir / "box"
    (box / "bin").mkdir(mode=0o700, parents=True)
    token = secrets.token_hex(32)
    inside = session._replace(
        dir=BOX, kubeconfig="", kubectl="", kubetail=None, audit_log="", kube_cache_dir="", env={},
        broker=f"{BOX}/broker.sock", broker_token=token, approvals="",
    )  # fmt: skip
    write_session(inside, str(box / SESSION_FILE))
    for tool in ("kubectl", "kubetail"):
        (box / "bin" / tool).write_text(client_script(tool))
        os.chmod(box / "bin" / tool, 0o700)
    empty = workdir / "hidden"
    empty.touch(mode=0o000)
    return box, token, empty


def client_script(tool: str) -> str:
    """A shim script that forwards to the broker (kro.shims.shim's marker kept for is_shim)."""
    text = session_dir.shim_script(tool).replace(
        "from kro.sandbox.shim_entry import main", "from kro.shims.broker_client import main"
    )
    first, rest = text.split("\n", 1)
    return f"{first}\n# confined: {session_dir.SHIM_MARKER} calls go to the broker outside\n{rest}"


def _spawn(args: list[str], cmd: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    """Start bwrap with the terminal guard: the TIOCSTI seccomp filter, else a new session."""
    bpf = seccomp.program()
    if bpf is None:
        return subprocess.Popen([*args, "--new-session", "--", *cmd], env=env, **kwargs)  # type: ignore[call-overload, no-any-return]
    read, write = os.pipe()
    try:
        os.write(write, bpf)
        os.close(write)
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            [*args, "--seccomp", str(read), "--", *cmd], env=env, pass_fds=(read,), **kwargs
        )
    finally:
        os.close(read)


def probe(args: list[str], env: dict[str, str]) -> None:
    """Create the sandbox once with `true`; ToolNotFound (69) with bwrap's reason when it cannot."""
    proc = _spawn(args, ["true"], env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                  stderr=subprocess.PIPE)  # fmt: skip
    _, err = proc.communicate(timeout=30)
    if proc.returncode != 0:
        reason = err.decode(errors="replace").strip().splitlines()
        raise ToolNotFound(
            f"bubblewrap cannot create the sandbox here: {reason[-1] if reason else proc.returncode} "
            "(are unprivileged user namespaces disabled? see the bubblewrap docs) or run without --confine"
        )


def forward_inside(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Forward `sig` to the processes in the sandbox, sparing bwrap's own: a signalled bwrap would tear the
    sandbox down at once, with no grace for the agent."""
    for pid, comm in descendants(proc.pid):
        if comm != "bwrap":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def run_confined(session: Session, env: dict[str, str], tool_env: dict[str, str], cmd: list[str],
                 opts: ConfineOptions, supervisor: Supervisor) -> int:  # fmt: skip
    """Run `cmd` in the sandbox with the broker serving it; the sandbox's exit code."""
    box, token, empty = prepare_box(session)
    inside, dropped = sandbox_env(env, opts.pass_env)
    if session.proxy:  # helm, client libraries and curl inside see only the API proxy (read-only)
        shutil.copyfile(session.kubeconfig, box / "kubeconfig")
        inside["KUBECONFIG"] = f"{BOX}/kubeconfig"
    if dropped:
        names = ", ".join(dropped)
        sys.stderr.write(
            f"kro-run: --confine keeps these variables outside: {names} (--pass-env NAME lets one in)\n"
        )
    layout = plan(session, env, opts)
    args = bwrap_args(opts.bwrap, layout, box, empty)
    held = stand_ins.make(layout.protected, box, cache_root() / "stand-ins")
    try:
        probe(args, inside)
        if session.env.get("PATH"):
            session = session._replace(
                env={**session.env, "PATH": broker_path(session.env["PATH"] or "", layout.rw)}
            )
        with Broker(session, tool_env, str(box / "broker.sock"), token) as broker:

            def start(**options: Any) -> subprocess.Popen[bytes]:
                proc = _spawn(args, cmd, inside, **options)
                broker.admit(proc.pid)
                return proc

            return supervisor.run(start, forward_inside)
    finally:
        stand_ins.release(held)
