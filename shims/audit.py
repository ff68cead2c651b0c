"""The audit log: one JSON line per attempt, one write() on an O_APPEND descriptor, fail closed."""

from __future__ import annotations

import os
import time

from kro.shims import json_codec
from kro.shims.errors import AuditError
from kro.shims.hotpath_stdlib import NamedTuple
from kro.shims.model import Decision

MAX_RECORD = 4096
_ARG_CUT = 256


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


class Call(NamedTuple):
    """Who made which call in which session: the fixed part of an audit record."""

    session: str
    tool: str
    argv: list[str]
    context: str | None


class AuditLog(NamedTuple):
    """An open audit log; records are appended atomically, each under 4 KiB."""

    path: str
    fd: int

    @classmethod
    def open(cls, path: str) -> AuditLog:
        """Open (creating 0600, parent 0700) for appending; AuditError when that is impossible."""
        try:
            os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise AuditError(
                f"cannot open the audit log {path}: {exc.strerror}; the call was not run "
                "(fix the path's permissions or choose another with --audit-log)"
            ) from exc
        return cls(path, fd)

    def write(
        self,
        call: Call,
        decision: Decision,
        exit_code: int | None,
        started: float,
        extra: dict[str, object] | None = None,
    ) -> None:
        """Append one record with a single write(); AuditError if it does not land whole.

        `extra`: the API proxy's fields (method, path, status, bytes), see API_FIELDS.
        """
        now = time.time()
        record: dict[str, object] = {
            "ts": _timestamp(now),
            "session": call.session,
            "pid": os.getpid(),
            "tool": call.tool,
            "argv": [json_codec.clean(a) for a in call.argv],
            "context": call.context,
            "decision": "allowed" if decision.allowed else "blocked",
            "rule": decision.rule,
            "reason": decision.reason,
            "exit_code": exit_code,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
        if extra:
            record.update(extra)
        line = json_codec.dumps(record) + b"\n"
        if len(line) > MAX_RECORD:
            record["reason"] = decision.reason[:512]
            fixed = len(line) - len(json_codec.dumps(record["argv"]))
            record["argv"] = _cut_argv([json_codec.clean(a) for a in call.argv], MAX_RECORD - fixed - 600)
            line = json_codec.dumps(record) + b"\n"
        try:
            written = os.write(self.fd, line)
        except OSError as exc:
            raise AuditError(
                f"cannot write the audit log {self.path}: {exc.strerror}; the call was not run"
            ) from exc
        if written != len(line):
            raise AuditError(f"short write to the audit log {self.path}; the call was not run")

    def close(self) -> None:
        """Close the descriptor."""
        os.close(self.fd)
