"""The approval queue on disk: live sessions' registry, requests, ids, argv hashes, expiry, single use.

Layout under the user's state dir (`$XDG_STATE_HOME/kro/approvals`, 0700), outside any --confine
sandbox: `lock` (every change holds it), `next-id` (request ids are unique across sessions),
`<session>/session.json` (the registry entry kro-run writes at launch) and `<session>/<id>.json`
(one request each, replaced atomically). A request is pending until approved (running, then
approved with its recorded result), denied or expired; an approved or denied request answers the
agent's identical call once (`delivered`), after which the same call is a new request.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson
from filelock import FileLock

from kro.shims.errors import ExitStatus, KroError

DEFAULT_TTL = 15 * 60.0
OUTPUT_CAP = 256 * 1024  # bytes of stdout kept as the recorded result (stderr: 64 KiB, the executor's cap)
_LOCK_TIMEOUT = 30.0


class ApprovalError(KroError):
    """An approval command cannot do what was asked (unknown, expired, used or denied request)."""

    exit_code = 1


class QueueUnwritable(KroError):
    """The queue's directory refused a write (disk full, read-only): nothing was changed."""

    exit_code = ExitStatus.TEMPFAIL


class InsideSession(KroError):
    """An approval command was started from inside a kro session."""

    exit_code = 77


def default_root() -> Path:
    """$XDG_STATE_HOME/kro/approvals (XDG default ~/.local/state)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "kro" / "approvals"


def argv_hash(tool: str, argv: Sequence[str], context: str, namespace: str) -> str:
    """sha256 over what the approval is bound to: tool, the exact argv, context and namespace."""
    blob = orjson.dumps([tool, list(argv), context, namespace])
    return hashlib.sha256(blob).hexdigest()


def rfc3339(when: float) -> str:
    """An RFC 3339 UTC timestamp, seconds precision."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


@dataclass(frozen=True)
class Result:
    """What the approved run printed and how it ended."""

    exit_code: int
    stdout: str
    stderr: str
    ran: float
    truncated: bool = False


@dataclass(frozen=True)
class Request:
    """One queued mutation."""

    id: int
    session: str
    tool: str
    argv: tuple[str, ...]
    hash: str
    context: str
    namespace: str
    created: float
    expires: float
    status: str = "pending"  # pending | running | approved | denied
    approver: str | None = None
    decided: float | None = None
    reason: str | None = None
    result: Result | None = None
    delivered: bool = False

    def state(self, now: float) -> str:
        """The status as of `now`: a pending request past its expiry is 'expired'."""
        return "expired" if self.status == "pending" and now >= self.expires else self.status

    def summary(self) -> dict[str, object]:
        """The envelope's `approval` object."""
        out: dict[str, object] = {"id": self.id, "status": self.status, "expires": rfc3339(self.expires)}
        if self.approver:
            out["approver"] = self.approver
        if self.decided is not None:
            out["decided"] = rfc3339(self.decided)
        if self.result is not None:
            out["exit_code"] = self.result.exit_code
        return out

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Request:
        """The record read back from its file."""
        data = dict(raw)
        data["argv"] = tuple(data["argv"])  # type: ignore[arg-type]
        result = data.get("result")
        data["result"] = Result(**result) if isinstance(result, dict) else None
        return cls(**data)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Registered:
    """A session's registry entry: who launched it and what `kro approve` runs with."""

    session: str
    launcher_pid: int
    launcher_start: str
    context: str
    namespace: str
    kubeconfig: tuple[str, ...]
    audit_log: str
    confined: bool
    started: float
    request_timeout: float = 30.0
    ttl: float = DEFAULT_TTL

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Registered:
        """The entry read back from session.json."""
        data = dict(raw)
        files = data.get("kubeconfig")
        data["kubeconfig"] = tuple(str(f) for f in files) if isinstance(files, list) else ()
        return cls(**data)  # type: ignore[arg-type]


def process_start(pid: int) -> str:
    """The start time of `pid` (so a reused pid is not taken for a live launcher); '' if unknown."""
    from kro.sandbox.platform import start_time

    return start_time(pid)


def alive(entry: Registered) -> bool:
    """Whether the session's launcher is still the process that registered it."""
    try:
        os.kill(entry.launcher_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = process_start(entry.launcher_pid)
    return not (start and entry.launcher_start and start != entry.launcher_start)


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` whole, or raise QueueUnwritable leaving the old file and no temp file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise QueueUnwritable(
            f"cannot write the approval queue in {path.parent}: {exc.strerror or exc}; nothing was queued "
            "or changed (free space there and retry)"
        ) from exc


class Queue:
    """The approval queue under `root`; every method that changes it takes the lock itself."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _lock(self) -> FileLock:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return FileLock(str(self.root / "lock"), timeout=_LOCK_TIMEOUT, mode=0o600)

    # ---------------------------------------------------------------- the registry

    def register(self, entry: Registered) -> None:
        """Add a live session (kro-run at launch); dead sessions are pruned on the way."""
        with self._lock():
            self._prune()
            directory = self.root / entry.session
            directory.mkdir(mode=0o700, exist_ok=True)
            _write_atomic(directory / "session.json", orjson.dumps(asdict(entry)))

    def unregister(self, session: str) -> None:
        """Remove a session and its requests (kro-run at exit, when it outlives the agent)."""
        with self._lock():
            shutil.rmtree(self.root / session, ignore_errors=True)

    def entry(self, session: str) -> Registered | None:
        """A session's registry entry, or None."""
        try:
            return Registered.from_json(orjson.loads((self.root / session / "session.json").read_bytes()))
        except (OSError, ValueError, TypeError):
            return None

    def sessions(self) -> list[Registered]:
        """The registered sessions whose launcher is alive."""
        found = []
        for path in sorted(self.root.glob("*/session.json")):
            entry = self.entry(path.parent.name)
            if entry is not None and alive(entry):
                found.append(entry)
        return found

    def prune(self) -> list[str]:
        """Remove dead sessions (their launcher is gone) with their requests; returns their ids."""
        with self._lock():
            return self._prune()

    def _prune(self) -> list[str]:
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        for directory in self.root.iterdir():
            if not directory.is_dir():
                continue
            entry = self.entry(directory.name)
            if entry is None or not alive(entry):
                shutil.rmtree(directory, ignore_errors=True)
                removed.append(directory.name)
        return removed

    # ---------------------------------------------------------------- requests

    def _requests(self, session: str) -> Iterator[Request]:
        for path in (self.root / session).glob("[0-9]*.json"):
            try:
                yield Request.from_json(orjson.loads(path.read_bytes()))
            except (OSError, ValueError, TypeError, KeyError):
                continue

    def requests(self, session: str) -> list[Request]:
        """A session's requests, oldest first."""
        return sorted(self._requests(session), key=lambda r: r.id)

    def find(self, request_id: int) -> tuple[Registered, Request]:
        """Request `request_id` of a live session, with its session; ApprovalError otherwise."""
        for entry in self.sessions():
            path = self.root / entry.session / f"{request_id}.json"
            if path.exists():
                try:
                    return entry, Request.from_json(orjson.loads(path.read_bytes()))
                except (ValueError, TypeError, KeyError) as exc:
                    raise ApprovalError(f"request {request_id} is damaged ({exc}); deny it") from exc
        raise ApprovalError(
            f"no request {request_id} in a live session (see 'kro approvals'; a session's requests "
            "go when its kro-run ends)"
        )

    def save(self, request: Request) -> None:
        """Write a request (the caller holds the lock)."""
        data = asdict(request)
        _write_atomic(self.root / request.session / f"{request.id}.json", orjson.dumps(data))

    def _next_id(self) -> int:
        path = self.root / "next-id"
        try:
            current = int(path.read_text().strip() or "1")
        except (OSError, ValueError):
            current = 1
        _write_atomic(path, f"{current + 1}\n".encode())
        return current

    def submit(self, entry: Registered, tool: str, argv: Sequence[str], namespace: str,
               now: float) -> tuple[str, Request]:  # fmt: skip
        """The agent's blocked mutation: ('queued', new or identical pending request), or
        ('result', the approved/denied request answering this identical call once), or
        ('running', an approved request whose run has not finished)."""
        digest = argv_hash(tool, argv, entry.context, namespace)
        with self._lock():
            same = [r for r in self._requests(entry.session) if r.hash == digest and not r.delivered]
            for request in sorted(same, key=lambda r: r.id, reverse=True):
                state = request.state(now)
                if state == "pending":
                    return "queued", request
                if state == "running":
                    return "running", request
                if state in ("approved", "denied"):
                    done = replace(request, delivered=True)
                    self.save(done)
                    return "result", done
            request = Request(
                id=self._next_id(), session=entry.session, tool=tool, argv=tuple(argv), hash=digest,
                context=entry.context, namespace=namespace, created=now, expires=now + entry.ttl,
            )  # fmt: skip
            self.save(request)
            return "queued", request

    def claim(self, request: Request, approver: str, now: float) -> Request:
        """Mark a shown request as running for `approver`: single use, bound to the hash that was shown."""
        with self._lock():
            current = self._reload(request)
            _check_pending(current, now)
            if current.hash != request.hash or current.argv != request.argv:
                raise ApprovalError(f"request {request.id} changed since it was shown; nothing was run")
            claimed = replace(current, status="running", approver=approver, decided=now)
            self.save(claimed)
            return claimed

    def record(self, request: Request, result: Result) -> Request:
        """Store the run's result: the request is approved and answers the agent's next identical call."""
        with self._lock():
            done = replace(self._reload(request), status="approved", result=result)
            self.save(done)
            return done

    def deny(self, request: Request, approver: str, reason: str | None, now: float) -> Request:
        """Deny a pending request; it never runs."""
        with self._lock():
            current = self._reload(request)
            _check_pending(current, now)
            denied = replace(current, status="denied", approver=approver, decided=now, reason=reason)
            self.save(denied)
            return denied

    def _reload(self, request: Request) -> Request:
        path = self.root / request.session / f"{request.id}.json"
        try:
            return Request.from_json(orjson.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ApprovalError(f"request {request.id} is gone ({exc}); nothing was run") from exc


def _check_pending(request: Request, now: float) -> None:
    state = request.state(now)
    if state == "pending":
        return
    if state == "expired":
        raise ApprovalError(
            f"request {request.id} expired at {rfc3339(request.expires)}; it will not run "
            "(the agent can ask again)"
        )
    by = f" by {request.approver}" if request.approver else ""
    raise ApprovalError(f"request {request.id} was already {state}{by}; an approval is used once")
