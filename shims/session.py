"""The session a launcher pins every shim call to: session.json beside the shims, its one reader/writer."""

from __future__ import annotations

import os

from kro.shims import json_codec
from kro.shims.errors import ConfigError
from kro.shims.hotpath_stdlib import NamedTuple

SESSION_FILE = "session.json"
SCHEMA = 1
# Envelope calls end when they make no progress for --request-timeout s; this caps a call still making
# progress (a huge list over a slow link), unless --call-timeout sets the cap (the pipeline, the broker).
TOTAL_CAP_S = 600.0


class Session(NamedTuple):
    """Everything a shim needs to decide, run and record one call."""

    id: str
    dir: str
    context: str
    kubeconfig: str
    kubectl: str
    kubetail: str | None = None
    namespaces: tuple[str, ...] = ()
    output: str = "plain"
    audit_log: str = ""
    launcher_pid: int = 0
    notice: str | None = None
    redact: bool = False
    stream_seconds: float = 10.0
    stream_lines: int = 200
    request_timeout: float = 30.0
    call_timeout: float = 0.0  # kro-run --call-timeout: every call's bound in every mode (0: none)
    cache_dir: str = ""
    kube_cache_dir: str = ""
    env: dict[str, str | None] = {}  # noqa: RUF012 - a frozen record's default, never mutated
    # --confine: the shims inside send every call to this unix socket (the broker), with this token.
    broker: str = ""
    broker_token: str = ""
    # kro-run --approvals: the approval queue's directory (outside any sandbox); "" when off.
    approvals: str = ""
    # the session's API proxy (kro-run's, holding the real credentials); "" with --direct
    proxy: str = ""
    # the agent's own sandbox is on (kro.sandbox.agent_sandbox): kubectl reaches the proxy through the
    # sandbox's HTTP proxy, so it takes the proxy variables from its caller
    agent_sandbox: bool = False
    schema: int = SCHEMA


def write_session(session: Session, path: str) -> None:
    """Write session.json (0600) atomically: a reader sees the old file or the whole new one, never part."""
    data = json_codec.dumps(session._asdict()) + b"\n"
    staged = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(staged, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib is not on the shim's import path (hotpath_stdlib.py)
            os.unlink(staged)
        except OSError:
            pass
        raise


def load_session(path: str) -> Session:
    """Read session.json; a missing or damaged file is a ConfigError (the shim fails closed)."""
    try:
        with open(path, "rb") as handle:
            raw = json_codec.loads(handle.read())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        raw["namespaces"] = tuple(raw.get("namespaces") or ())
        if raw.get("schema") != SCHEMA:
            raise ValueError(f"schema {raw.get('schema')!r} is not {SCHEMA}")
        return Session(**raw)
    except FileNotFoundError as exc:
        raise ConfigError(f"no kro session at {path}: start the agent with kro-run") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"damaged session file {path}: {exc}; restart with kro-run") from exc
