"""The audit log: JSON lines, each one write() on an O_APPEND descriptor; a call record before anything runs.

A record lands whole or not at all: it is written under an exclusive flock, and a short or failed write
(a full disk) is cut back to where the record began before the error is raised. A torn tail left by a
crash mid-write is cut back to the last whole line when the log is next opened.

Two kinds of record (README "Audit log"): the call record (`"event": "call"`), written once the policy has
decided and before anything runs, and the outcome record (`"event": "outcome"`, the same `call` id), written
when the call has ended and kro was still its parent. The call record's `follows` says which: "outcome",
"exec" (plain mode replaces the shim with the tool: no outcome record) or "none" (blocked, exit 77, or a
step settled in itself, such as an approval's).
"""

from __future__ import annotations

import fcntl
import os
import stat
import time

from kro.shims import json_codec
from kro.shims.errors import AuditError, ExitStatus
from kro.shims.hotpath_stdlib import NamedTuple
from kro.shims.model import Decision

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

MAX_RECORD = 4096
_ARG_CUT = 256
_ERROR_CUT = 512


def default_path() -> str:
    """$XDG_STATE_HOME/kro/audit.jsonl (XDG default ~/.local/state)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "kro", "audit.jsonl")


def _timestamp(now: float) -> str:
    secs = int(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{int((now - secs) * 1000):03d}Z"


def _cut_argv(argv: list[str], budget: int) -> list[str]:
    """Shorten argv so the record fits; long args are cut, the tail is summarized."""
    out: list[str] = []
    used = 0
    for i, arg in enumerate(argv):
        piece = arg if len(arg) <= _ARG_CUT else arg[:_ARG_CUT] + f"…(+{len(arg) - _ARG_CUT} chars)"
        used += len(piece.encode()) * 2 + 4
        if used > budget:
            out.append(f"…(+{len(argv) - i} more args)")
            break
        out.append(piece)
    return out


def new_call_id() -> str:
    """A fresh id joining a call record to its outcome record."""
    return os.urandom(8).hex()


class Call(NamedTuple):
    """Who made which call in which session: the fixed part of both records."""

    session: str
    tool: str
    argv: list[str]
    context: str | None
    id: str = ""


class Ended(NamedTuple):
    """How a call ended, for its outcome record (exit_code as plain mode exits; bytes None when not seen)."""

    exit_code: int
    bytes: int | None = None
    timed_out: bool = False
    signal: int | None = None
    error: str | None = None


class AuditLog(NamedTuple):
    """An open audit log (a context manager: closed on leaving); records are appended whole, under 4 KiB."""

    path: str
    fd: int

    @classmethod
    def open(cls, path: str) -> AuditLog:
        """Open (creating 0600, parent 0700) for appending; AuditError when that is impossible."""
        try:
            os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
            fd = _open(path)
        except OSError as exc:
            raise AuditError(
                f"cannot open the audit log {path}: {exc.strerror}; the call was not run "
                "(fix the path's permissions or choose another with --audit-log)"
            ) from exc
        log = cls(path, fd)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                log._repair()
        except OSError:
            pass  # a log that cannot be repaired now is still written whole from here on
        return log

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    def call(self, call: Call, decision: Decision, started: float, *, execs: bool = False) -> None:
        """The call record, before anything runs; AuditError ("the call was not run") if it does not land.

        An allowed call's outcome record follows, unless `execs`: the shim is about to become the tool.
        """
        follows = "none" if not decision.allowed else "exec" if execs else "outcome"
        code = None if decision.allowed else int(ExitStatus.BLOCKED)
        self._call_record(call, decision, started, follows, code)

    def write(self, call: Call, decision: Decision, exit_code: int | None, started: float,
              extra: dict[str, object] | None = None, follows: str = "none") -> None:  # fmt: skip
        """A call record complete in itself: a step kro settled without a tool left running (approvals),
        or one request of the API proxy (`extra`: its method, path, status and bytes; see API_FIELDS;
        `follows="outcome"` for a request it forwards: status and bytes then come in the outcome)."""
        self._call_record(call, decision, started, follows, exit_code, extra)

    def _call_record(self, call: Call, decision: Decision, started: float, follows: str,
                     exit_code: int | None, extra: dict[str, object] | None = None) -> None:  # fmt: skip
        argv = [json_codec.clean(a) for a in call.argv]
        record: dict[str, object] = {
            **self._head(call._replace(id=call.id or new_call_id()), "call"),
            "tool": call.tool,
            "argv": argv,
            "context": call.context,
            "decision": "allowed" if decision.allowed else "blocked",
            "rule": decision.rule,
            "reason": decision.reason,
            "exit_code": exit_code,
            "duration_ms": _ms(started),
            "follows": follows,
        }
        if extra:
            record.update(extra)
        line = json_codec.dumps(record) + b"\n"
        if len(line) > MAX_RECORD:
            record["reason"] = decision.reason[:_ERROR_CUT]
            fixed = len(line) - len(json_codec.dumps(argv))
            record["argv"] = _cut_argv(argv, MAX_RECORD - fixed - 600)
            line = json_codec.dumps(record) + b"\n"
        self._append(line, "the call was not run")

    def outcome(self, call: Call, ended: Ended, started: float,
                extra: dict[str, object] | None = None) -> None:  # fmt: skip
        """The outcome record (`extra`: the API proxy's status); AuditError saying the call did run if it
        does not land."""
        record: dict[str, object] = {
            **self._head(call, "outcome"),
            "tool": call.tool,
            "exit_code": ended.exit_code,
            "duration_ms": _ms(started),
            "bytes": ended.bytes,
            "timed_out": ended.timed_out,
            "signal": ended.signal,
            "error": None if ended.error is None else json_codec.clean(ended.error)[:_ERROR_CUT],
        }
        if extra:
            record.update(extra)
        ran = f"the call ran (exit {ended.exit_code}) but its outcome is not recorded"
        self._append(json_codec.dumps(record) + b"\n", ran)

    def _head(self, call: Call, event: str) -> dict[str, object]:
        return {"ts": _timestamp(time.time()), "session": call.session, "pid": os.getpid(), "call": call.id,
                "event": event}  # fmt: skip

    def _append(self, line: bytes, consequence: str) -> None:
        """Append one record whole, or raise AuditError with the log as it was before."""
        with _Locked(self.fd):
            try:
                start = os.lseek(self.fd, 0, os.SEEK_END)  # under the lock: where this record begins
            except OSError:
                start = -1  # a pipe: nothing to cut back
            try:
                written = os.write(self.fd, line)
            except OSError as exc:
                reason = f"cannot write the audit log {self.path}: {exc.strerror}"
                raise AuditError(f"{reason}; {consequence}{self._cut_back(start)}") from exc
            if written != len(line):
                reason = f"short write to the audit log {self.path} (disk full?)"
                raise AuditError(f"{reason}; {consequence}{self._cut_back(start)}")

    def _cut_back(self, start: int) -> str:
        """Remove a partial record from `start` on; "" or why it could not be removed."""
        if start < 0:
            return ""
        try:
            if os.fstat(self.fd).st_size > start:
                os.ftruncate(self.fd, start)
        except OSError as exc:
            return f" (the partial record could not be removed: {exc.strerror}; the next open cuts it)"
        return ""

    def _repair(self) -> None:
        """Cut a torn last line (a write cut short by a crash) back to the end of the last whole record."""
        with _Locked(self.fd):
            end = os.fstat(self.fd).st_size
            pos = end
            while pos > 0:
                chunk = os.pread(self.fd, min(pos, 65536), max(0, pos - 65536))
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    pos = pos - len(chunk) + newline + 1
                    break
                pos -= len(chunk)
            if pos < end:
                os.ftruncate(self.fd, pos)

    def close(self) -> None:
        """Close the descriptor."""
        os.close(self.fd)


def _open(path: str) -> int:
    """Open for appending; a regular file readable too when allowed (to find a torn tail)."""
    # A pipe or a device is opened write-only: a reader end of our own would keep a pipe from breaking.
    flags = os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        regular = True
    if regular:
        try:
            return os.open(path, flags | os.O_RDWR, 0o600)
        except PermissionError:
            pass
    return os.open(path, flags | os.O_WRONLY, 0o600)


class _Locked:
    """An exclusive flock on the log for one append or repair (a lock it cannot take does not stop it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __enter__(self) -> None:
        try:  # noqa: SIM105 - contextlib is not on the shim's import path (hotpath_stdlib.py)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError:
            pass  # a filesystem without flock: the single O_APPEND write still keeps records apart

    def __exit__(self, *exc: object) -> None:
        try:  # noqa: SIM105 - as above
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        except OSError:
            pass


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
