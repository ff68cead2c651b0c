"""The one module that starts processes: exec (plain), capture (envelopes), attached runs (broker)."""

from __future__ import annotations

import os
import sys

from kro.shims.hotpath_stdlib import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping

    from kro.shims.model import Invocation
    from kro.shims.session import Session

# subprocess, selectors and signal are imported where a process is captured or attached: plain mode
# only execs, and the shim's start-up is part of every kubectl call (see hotpath_stdlib.py).

# Variables that change what kubectl runs, reads or where it caches; the session decides them.
_SCRUB_PREFIXES = ("KUBECTL_",)
_SCRUB_NAMES = frozenset({"KUBECACHEDIR", "KUBECONFIG", "KUBERC", "KUBECTL_EXTERNAL_DIFF"})

# The only variables a real kubectl/kubetail takes from its caller: how to print (locale, terminal, colour).
_CALLER_NAMES = frozenset({"LANG", "LANGUAGE", "TZ", "TERM", "NO_COLOR"})
_CALLER_PREFIXES = ("LC_",)
# Pinned at launch, never taken from the caller: kubectl's home and temp dir, the route to the server
# (the proxy variables, [2:], come from the caller only in the agent's own sandbox: Session.agent_sandbox).
LAUNCH_NAMES = (
    "HOME", "TMPDIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
)  # fmt: skip
# Never passed on, not even from the launcher: Go runtime and TLS settings (GODEBUG=http2debug=1 prints
# the Authorization header), kubectl's own settings, and loader hooks. GOOGLE_* is cloud configuration.
_NEVER_PREFIXES = ("GO", "KUBE", "SSL_", "LD_", "DYLD_")


def scrubbed(name: str) -> bool:
    """Whether a variable is one the session decides (removed from what kubectl and the agent inherit)."""
    return name in _SCRUB_NAMES or name.startswith(_SCRUB_PREFIXES)


def _never(name: str) -> bool:
    return name.upper().startswith(_NEVER_PREFIXES) and not name.upper().startswith("GOOGLE_")


def launch_env(base: Mapping[str, str], *, credential_plugin: bool) -> dict[str, str | None]:
    """What a session pins at launch for every tool it starts (None: unset).

    A kubeconfig user with an exec (or auth-provider) credential plugin also gets the launcher's other
    variables, as they were at launch: the plugin is configured by them (PATH, AWS_PROFILE, CLOUDSDK_*...).
    """
    pinned: dict[str, str | None] = {name: base.get(name) for name in LAUNCH_NAMES}
    if credential_plugin:
        for name, value in base.items():
            if name not in pinned and not _never(name) and not _from_caller(name):
                pinned[name] = value
    return pinned


def _from_caller(name: str) -> bool:
    return name in _CALLER_NAMES or name.startswith(_CALLER_PREFIXES)


def session_env(base: Mapping[str, str], session: Session) -> dict[str, str]:
    """The environment every real kubectl/kubetail runs with: an allowlist, never the caller's whole env.

    From `base` (the caller) only locale, TERM and NO_COLOR (and, in the agent's own sandbox, the proxy
    variables it sets); the rest is what the session pinned at launch, then KUBECONFIG and KUBERC=off.
    """
    env = {k: v for k, v in base.items() if _from_caller(k)}
    for name, value in session.env.items():
        if value is not None:
            env[name] = value
    if session.agent_sandbox:  # the agent's own sandbox: its HTTP proxy is the only way to the API proxy
        env.update({k: v for k, v in base.items() if k in LAUNCH_NAMES[2:]})
    if session.kubeconfig:
        env["KUBECONFIG"] = session.kubeconfig
    env["KUBERC"] = "off"
    return env


def standalone_env(base: Mapping[str, str]) -> dict[str, str]:
    """The same allowlist for a kubectl started outside a session (kro doctor), pinned from `base` now."""
    pinned = launch_env(base, credential_plugin=True)
    env = {k: v for k, v in base.items() if _from_caller(k)}
    env.update({k: v for k, v in pinned.items() if v is not None})
    if base.get("KUBECONFIG"):
        env["KUBECONFIG"] = base["KUBECONFIG"]
    env["KUBERC"] = "off"
    return env


def pinned_argv(inv: Invocation, session: Session) -> list[str]:
    """argv with the session's kubeconfig/context (and kube cache) inserted after the verb's words."""
    pins = [f"--kubeconfig={session.kubeconfig}"] if session.kubeconfig else []
    if inv.tool == "kubetail":
        if inv.path == ("logs",) or inv.path[:1] == ("cluster",):
            pins.append(f"--kube-context={session.context}")
    else:
        pins.append(f"--context={session.context}")
        if session.kube_cache_dir:
            pins.append(f"--cache-dir={session.kube_cache_dir}")
    argv = list(inv.argv)
    return argv[: inv.pin_at] + pins + argv[inv.pin_at :]


def exec_tool(path: str, argv: list[str], env: dict[str, str]) -> None:
    """Replace this process with the real tool (plain mode); returns only by raising OSError."""
    os.execve(path, [path, *argv], env)


class Captured(NamedTuple):
    """How a captured run ended (exit_code negative: killed by that signal; stalled: no progress in time)."""

    exit_code: int
    stderr: bytes
    timed_out: bool
    stopped: bool
    stalled: bool = False


class Attached(NamedTuple):
    """How a run on the caller's own stdio ended (exit_code 128+N when signal N killed the tool)."""

    exit_code: int
    timed_out: bool = False
    signal: int | None = None


def _attached(code: int, timed_out: bool) -> Attached:
    return Attached(128 - code, timed_out, -code) if code < 0 else Attached(code, timed_out)


_STDERR_CAP = 64 * 1024
_UNBOUNDED = 86400.0 * 20  # poll() takes at most 2**31 ms
_PROBE_S = 1.0  # how often a silent tool's received bytes are looked at


_BUSY = 0.01  # a tool using more than 1% of a CPU is working (an idle, waiting kubectl uses about 0.01%)


def _progressed(before: tuple[int, float] | None, now: tuple[int, float] | None, seconds: float) -> bool:
    """Whether the tool read more, or worked (CPU over _BUSY of the `seconds` between the two looks)."""
    if before is None or now is None:
        return False
    return now[0] != before[0] or now[1] - before[1] > max(_BUSY * seconds, 0.02)


def run_captured(
    path: str,
    argv: list[str],
    env: dict[str, str],
    on_stdout: Callable[[bytes], bool],
    *,
    seconds: float | None,
    stream: bool,
    idle: float | None = None,
) -> Captured:
    """Run the tool, feeding stdout chunks to `on_stdout` (False = enough) until exit or the bound.

    For a stream the bound is the normal end (stopped=True); otherwise it is a timeout. With `idle`, the
    tool is also stopped when it makes no progress for that long (stalled=True): nothing on stdout or
    stderr and nothing more read (a big list still arriving is progress). The tool runs in its own
    process group, stopped as a whole (an exec credential plugin it started goes with it).
    """
    import selectors
    import subprocess
    import time

    from kro.shims import lifetime
    from kro.shims.lifetime import tied

    proc = subprocess.Popen(
        [path, *argv], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        process_group=0, preexec_fn=tied(),
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    last = probed = time.monotonic()  # the last progress; the last look at what the tool has done
    deadline = last + (_UNBOUNDED if seconds is None else seconds)
    seen = lifetime.activity(proc.pid) if idle is not None else None
    stderr = bytearray()
    stopped = timed_out = stalled = False
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        while sel.get_map():
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                stopped, timed_out = stream, not stream
                break
            if idle is not None:
                if now - probed >= _PROBE_S or now - last >= idle:
                    got = lifetime.activity(proc.pid)
                    if _progressed(seen, got, now - probed):
                        last = now
                    probed, seen = now, got
                if now - last >= idle:
                    timed_out = stalled = True
                    break
                left = min(left, _PROBE_S, last + idle - now)
            for key, _ in sel.select(timeout=left):
                last = time.monotonic()
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.data == "err":
                    stderr += chunk[: max(0, _STDERR_CAP - len(stderr))]
                elif not on_stdout(chunk):
                    stopped = True
                    sel.close()
                    break
            else:
                continue
            break
    if not (stopped or timed_out):
        try:
            proc.wait(timeout=max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stopped, timed_out = stream, not stream
    if proc.poll() is None:
        _stop(proc)
    code = proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return Captured(code, bytes(stderr), timed_out, stopped, stalled)


class Direct(NamedTuple):
    """This process's own stdio and environment: plain mode execs the tool (the shim outside --confine)."""

    env: Mapping[str, str] = os.environ

    def out(self, data: bytes) -> None:
        """Write payload bytes to stdout."""
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    def err(self, text: str) -> None:
        """Write a diagnostic to stderr."""
        sys.stderr.write(text)
        sys.stderr.flush()

    def plain(
        self, path: str, argv: list[str], env: dict[str, str], seconds: float | None = None
    ) -> Attached:
        """Exec the tool (never returns; OSError if the exec fails), or with a bound run it as our child."""
        if seconds is None:
            exec_tool(path, argv, env)
        return run_bounded(path, argv, env, seconds or _UNBOUNDED)


class Passed(NamedTuple):
    """A broker client's stdio, passed as descriptors, and the launcher's environment for the tool.

    `hangup` (the client's connection) becomes readable when the client goes; a running tool is then stopped,
    as it is after `seconds` (the broker's bound on every call).
    """

    stdin: int
    stdout: int
    stderr: int
    hangup: int
    env: Mapping[str, str]
    seconds: float = 3600.0

    def out(self, data: bytes) -> None:
        """Write payload bytes to the client's stdout (dropped if the client is gone)."""
        _write_all(self.stdout, data)

    def err(self, text: str) -> None:
        """Write a diagnostic to the client's stderr (dropped if the client is gone)."""
        _write_all(self.stderr, text.encode("utf-8", "surrogateescape"))

    def plain(
        self, path: str, argv: list[str], env: dict[str, str], seconds: float | None = None
    ) -> Attached:
        """Run the tool on the client's stdio until it exits, the client hangs up or the bound passes.

        The bound is the call's own (--call-timeout), never longer than the broker's `seconds`.
        """
        bound = self.seconds if seconds is None else min(seconds, self.seconds)
        return run_attached(path, argv, env, (self.stdin, self.stdout, self.stderr), self.hangup, bound)


Stdio = Direct | Passed
DIRECT = Direct()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except (BrokenPipeError, ConnectionResetError):
        pass


def run_attached(path: str, argv: list[str], env: Mapping[str, str], stdio: tuple[int, int, int],
                 hangup: int, seconds: float | None = None) -> Attached:  # fmt: skip
    """Run the tool on these stdio descriptors in its own session, until exit, `hangup` or the bound.

    It dies with the calling thread where the platform can tie it (kro.shims.lifetime.tied).
    """
    import selectors
    import subprocess

    from kro.shims.lifetime import exit_fd, tied

    proc = subprocess.Popen(
        [path, *argv], env=env, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2], start_new_session=True,
        preexec_fn=tied(),
    )  # fmt: skip
    try:
        exited = exit_fd(proc)
    except OSError:
        _stop(proc)
        raise
    timed_out = False
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(exited, selectors.EVENT_READ, "exit")
            sel.register(hangup, selectors.EVENT_READ, "hangup")
            ready = sel.select(timeout=seconds)
            timed_out = not ready
            if all(key.data == "hangup" for key, _ in ready):
                _stop(proc)
    except BaseException:
        _stop(proc)
        raise
    finally:
        os.close(exited)
    return _attached(proc.wait(), timed_out)


def run_bounded(path: str, argv: list[str], env: Mapping[str, str], seconds: float) -> Attached:
    """Run the tool on this process's stdio in its own process group, stopped as a whole at the bound.

    Plain mode with a bound: the shim stays the parent instead of exec'ing. ^C, SIGTERM or SIGHUP to the
    shim stop the tool's group too (it is not in ours), then the shim ends as the signal would end it.
    """
    import signal
    import subprocess

    def ended_by(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, ended_by) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        from kro.shims.lifetime import tied

        proc = subprocess.Popen([path, *argv], env=env, process_group=0, preexec_fn=tied())
        try:
            return _attached(proc.wait(timeout=seconds), False)
        except subprocess.TimeoutExpired:
            _stop(proc)
            return _attached(proc.wait(), True)
        except BaseException:
            _stop(proc)
            raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the tool's process group, SIGKILL it if it lingers."""
    import signal
    import subprocess

    for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_plugin(argv: list[str], env: Mapping[str, str], timeout: float) -> tuple[int, bytes, bytes]:
    """Run a credential plugin to completion: exit code, stdout, stderr; OSError if it fails to start."""
    done = run_to_end(argv, env, timeout)
    if done.timed_out:
        raise OSError(f"{argv[0]} did not finish within {timeout:.0f} s")
    return done.exit_code, done.stdout, done.stderr


class Finished(NamedTuple):
    """How a short command run to completion ended (timed_out: it was killed at its bound)."""

    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


def run_to_end(argv: list[str], env: Mapping[str, str], timeout: float) -> Finished:
    """Run a short command to completion (a credential plugin, kro doctor's kubectl probes), stdin closed,
    output captured, killed after `timeout` s; OSError if it fails to start."""
    import subprocess

    try:
        done = subprocess.run(argv, env=dict(env), capture_output=True, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        return Finished(-1, _bytes(exc.stdout), _bytes(exc.stderr), True)
    return Finished(done.returncode, done.stdout, done.stderr)


def _bytes(data: bytes | str | None) -> bytes:
    return data.encode() if isinstance(data, str) else data or b""
