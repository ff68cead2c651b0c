"""The --confine broker: the sandbox's shims call it on a unix socket, and its policy decision counts.

Runs in kro-run, outside the sandbox, one thread per call. It admits a connection only when the peer has
our uid (SO_PEERCRED), presents the session token and descends from the sandbox's bwrap process; then it
decides, audits and runs the call through the shim core with the real session, on the client's stdio.
The request's "output" and "cwd" are informational: the session's output mode applies (an agent cannot
ask for unredacted output; "plain" from an envelope session is a KRO_RAW=1 call, served plain and
redacted), and the tool runs in kro-run's directory (no allowed call reads local files).
Refusals are audited as blocked, rule broker.auth or broker.request.

It cannot be worn down: each call closes what it opened (the passed descriptors, its audit descriptor); at
most `max_calls` run at once (fewer under a low descriptor limit), and a call beyond that is answered at
once with "busy, retry" (exit 75, rule broker.busy), as is one that hits a resource limit (EMFILE, ENOMEM):
a resource problem is never reported as a refusal. The accept loop outlives any error, and every call has a
time bound (the session's request/stream bounds in envelope mode, PLAIN_BOUND_S in plain mode).
"""

from __future__ import annotations

import array
import contextlib
import hmac
import json
import os
import resource
import socket
import struct
import threading
import time
from collections.abc import Mapping
from types import TracebackType

from kro.sandbox.platform import bind_unix, parent_pid
from kro.sandbox.shim_entry import blocked_handler
from kro.shims import executor
from kro.shims.audit import AuditLog, Call, new_call_id
from kro.shims.broker_client import MAX_REQUEST, call_bound
from kro.shims.decide import TOOLS
from kro.shims.errors import RESOURCE_ERRNOS, ExitStatus, KroError, guarded
from kro.shims.model import Decision
from kro.shims.raw_output import RAW, raw_call
from kro.shims.session import Session
from kro.shims.shim import serve

# Every module a call can need, imported before the agent starts: nothing is imported (or re-read) later
# from a place the sandbox might have written (kro's install is also read-only inside; see confine.py).
PRELOAD = (
    "json", "re", "selectors", "signal", "subprocess", "time", "yaml", "filelock", "ctypes",
    *(f"kro.shims.{name}" for name in (
        "argv", "policy", "policy_kubetail", "policy_reads", "jsonpath", "envelope", "envelope_output",
        "redact", "cache", "json_codec", "config_view", "kubetail_fallback", "hotpath_stdlib", "pipeline",
        "sinks", "outcome", "durations", "errors", "audit", "lifetime",
    )),
)  # fmt: skip
MAX_CALLS = 64  # calls served at once; more are answered "busy, retry"
FDS_PER_CALL = 16  # a call's peak: connection, 3 passed, audit, pipes, pidfd, epoll, spill file, /proc reads
_RESERVED_FDS = 64  # kro-run's own, the demo cluster's, bwrap's
_MAX_ARGS = 4096
_PEERCRED = struct.Struct("3i")


def max_calls(limit: int | None = None) -> int:
    """How many calls the broker runs at once under the descriptor limit `limit` (default: this process's)."""
    if limit is None:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit == resource.RLIM_INFINITY:
        return MAX_CALLS
    return max(1, min(MAX_CALLS, (limit - _RESERVED_FDS) // FDS_PER_CALL))


class Busy(Exception):
    """The broker cannot take this call now (too many at once, or out of descriptors or memory)."""


class Refused(Exception):
    """A connection the broker does not serve; `rule` names why in the audit log."""

    def __init__(self, rule: str, reason: str, tool: str = "broker", argv: list[str] | None = None) -> None:
        super().__init__(reason)
        self.rule, self.reason, self.tool, self.argv = rule, reason, tool, argv or []


class Broker:
    """The broker for one confined session; use as a context manager around the sandbox's lifetime."""

    def __init__(self, session: Session, env: Mapping[str, str], path: str, token: str) -> None:
        self.session, self.env, self.path, self.token = session, dict(env), path, token
        self.blocked = blocked_handler(session)  # approvals, when the session has them
        self.max_calls = max_calls()
        self.bound = call_bound(session)
        self._sandbox = 0
        self._admitted = threading.Event()
        self._closing = threading.Event()
        self._slots = threading.BoundedSemaphore(self.max_calls)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._accept, name="kro-broker", daemon=True)
        self._calls: set[threading.Thread] = set()
        self._spare = -1  # a descriptor held back so that an EMFILE'd connection can still be told "busy"
        self._audit: AuditLog | None = None

    def __enter__(self) -> Broker:
        preload()
        bind_unix(self._sock, self.path)
        os.chmod(self.path, 0o600)
        self._sock.listen(128)
        self._spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        with contextlib.suppress(KroError):
            self._audit = AuditLog.open(self.session.audit_log)  # refusals are written on this one descriptor
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self._closing.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=2)
        deadline = time.monotonic() + 5  # the sandbox is gone, so its calls' tools are being stopped
        for call in list(self._calls):
            call.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._audit is not None:
            self._audit.close()
        if self._spare >= 0:
            os.close(self._spare)

    def admit(self, sandbox_pid: int) -> None:
        """Serve processes descending from `sandbox_pid` (the bwrap process) from now on."""
        self._sandbox = sandbox_pid
        self._admitted.set()

    def _accept(self) -> None:
        """Accept calls until closed; no error ends the loop (a dead accept loop would hang every call)."""
        while not self._closing.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError as exc:
                if self._closing.is_set():
                    return
                if exc.errno in RESOURCE_ERRNOS:
                    self._shed()
                else:
                    time.sleep(0.01)  # ECONNABORTED and the like: the next connection is fine
                continue
            try:
                self._dispatch(conn)
            except Exception:
                conn.close()

    def _dispatch(self, conn: socket.socket) -> None:
        if not self._slots.acquire(blocking=False):
            self._busy(conn, f"the broker is already running {self.max_calls} calls")
            return
        try:
            call = threading.Thread(target=self._serve, args=(conn,), name="kro-broker-call", daemon=True)
            self._calls.add(call)
            call.start()
        except BaseException:
            self._calls.discard(call)
            self._slots.release()
            raise

    def _shed(self) -> None:
        """Out of descriptors: use the spare one to accept the waiting connection and tell it "busy"."""
        if self._spare < 0:
            time.sleep(0.05)
            return
        os.close(self._spare)
        self._spare = -1
        try:
            conn, _ = self._sock.accept()
            self._busy(conn, "kro-run is out of file descriptors")
        except OSError:
            time.sleep(0.05)
        finally:
            with contextlib.suppress(OSError):
                self._spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    def _busy(self, conn: socket.socket, why: str) -> None:
        """Answer a call that was not run because of load, and audit it (rule broker.busy)."""
        with conn:
            conn.settimeout(1)
            reply = {"exit_code": ExitStatus.TEMPFAIL, "kind": "infra", "retry": True,
                     "error": f"{why}; nothing was run: retry in a moment"}  # fmt: skip
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")
        self._audit_refusal(Refused("broker.busy", why), time.monotonic(), ExitStatus.TEMPFAIL)

    def _serve(self, conn: socket.socket) -> None:
        started = time.monotonic()
        fds: list[int] = []
        try:
            with conn:
                try:
                    tool, argv, output = self._admit(conn, fds)
                    stdio = _stdio(fds)
                    io = executor.Passed(*stdio, hangup=conn.fileno(), env=self.env, seconds=self.bound)
                    session = raw_call(self.session, {RAW: "1"} if output == "plain" else {})
                    blocked = self.blocked
                    code = guarded("kro", lambda: serve(session, tool, argv, io, started, blocked), io.err)
                    reply: dict[str, object] = {"exit_code": code}
                except Refused as refused:
                    reply = {"exit_code": ExitStatus.BLOCKED, "error": refused.reason}
                    self._audit_refusal(refused, started)
                except (Busy, OSError) as exc:
                    if isinstance(exc, OSError) and exc.errno not in RESOURCE_ERRNOS:
                        raise
                    why = f"kro-run is out of resources ({exc})"
                    reply = {"exit_code": ExitStatus.TEMPFAIL, "kind": "infra", "retry": True,
                             "error": f"{why}; nothing was run: retry in a moment"}  # fmt: skip
                    self._audit_refusal(Refused("broker.busy", why), started, ExitStatus.TEMPFAIL)
                except Exception as exc:  # a bug must not take the launcher down; the client gets told
                    reply = {"exit_code": ExitStatus.INTERNAL, "kind": "infra",
                             "error": f"the broker failed on this call: {exc!r}"}  # fmt: skip
                with contextlib.suppress(OSError):
                    conn.settimeout(5)
                    conn.sendall(json.dumps(reply).encode() + b"\n")
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._calls.discard(threading.current_thread())
            self._slots.release()

    def _admit(self, conn: socket.socket, fds: list[int]) -> tuple[str, list[str], object]:
        """Check the peer and read its request; (tool, argv, the output it asks for) or Refused."""
        pid, uid, _ = _PEERCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
        if uid != os.getuid():
            raise Refused("broker.auth", f"connection from uid {uid}, not this session's user")
        request = _read_request(conn, fds)
        tool, argv = _call(request)
        token = request.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self.token.encode()):
            raise Refused("broker.auth", "wrong or missing session token", tool or "broker", argv or [])
        if not (self._admitted.wait(timeout=10) and _descends(pid, self._sandbox)):
            reason = f"process {pid} is not inside this session's sandbox"
            raise Refused("broker.auth", reason, tool or "broker", argv or [])
        if tool is None:
            raise Refused("broker.request", f"tool must be one of {', '.join(TOOLS)}")
        if argv is None:
            raise Refused("broker.request", f"argv must be a list of at most {_MAX_ARGS} strings", tool)
        return tool, argv, request.get("output")

    def _audit_refusal(self, refused: Refused, started: float, code: int = ExitStatus.BLOCKED) -> None:
        if self._audit is None:
            return
        call = Call(self.session.id, refused.tool, refused.argv, self.session.context, new_call_id())
        with contextlib.suppress(KroError):
            self._audit.write(call, Decision(False, refused.rule, refused.reason, None), code, started)


def preload() -> None:
    """Import every module and read every data file a call can need (before the sandbox starts)."""
    import importlib

    from kro.shims.flag_tables import load

    for name in PRELOAD:
        importlib.import_module(name)
    for tool in TOOLS:
        load(tool)


def _read_request(conn: socket.socket, fds: list[int]) -> dict[str, object]:
    """The request line; descriptors that came with it are appended to `fds` (the caller closes them)."""
    conn.settimeout(5)
    buf = b""
    try:
        while b"\n" not in buf:
            data, ancdata, flags, _ = conn.recvmsg(65536, socket.CMSG_SPACE(3 * 4), socket.MSG_CMSG_CLOEXEC)
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
            if flags & socket.MSG_CTRUNC:
                if len(fds) < 3:  # room for three was given: the kernel could not install them (EMFILE)
                    raise Busy("out of file descriptors while receiving the call's stdio")
                raise Refused("broker.request", "more than three descriptors passed")
            if not data or len(buf) + len(data) > MAX_REQUEST:
                raise Refused("broker.request", "incomplete or oversized request")
            buf += data
    except TimeoutError:
        raise Refused("broker.request", "no request within 5 s") from None
    finally:
        conn.settimeout(None)
    try:
        request = json.loads(buf.split(b"\n", 1)[0])
    except ValueError:
        raise Refused("broker.request", "the request is not JSON") from None
    if not isinstance(request, dict):
        raise Refused("broker.request", "the request is not a JSON object")
    return request


def _call(request: dict[str, object]) -> tuple[str | None, list[str] | None]:
    """The request's tool and argv, each None when malformed."""
    tool, argv = request.get("tool"), request.get("argv")
    good_tool = tool if isinstance(tool, str) and tool in TOOLS else None
    if isinstance(argv, list) and len(argv) <= _MAX_ARGS and all(isinstance(a, str) for a in argv):
        return good_tool, [str(a) for a in argv]
    return good_tool, None


def _stdio(fds: list[int]) -> tuple[int, int, int]:
    """The client's stdin, stdout, stderr; /dev/null stands in for any it did not pass."""
    while len(fds) < 3:
        fds.append(os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC))
    return fds[0], fds[1], fds[2]


def _descends(pid: int, ancestor: int) -> bool:
    """Whether process `pid` is `ancestor` or one of its descendants (walking up its parents)."""
    for _ in range(1024):
        if pid == ancestor:
            return True
        if pid <= 1 or ancestor <= 0:
            return False
        try:
            pid = parent_pid(pid)
        except OSError as exc:
            if exc.errno in RESOURCE_ERRNOS:  # not an answer about the process: say so, not "outside"
                raise Busy(f"cannot read the parent of process {pid} ({exc.strerror})") from exc
            return False
    return False
