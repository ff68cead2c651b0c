"""The session a launcher pins every shim call to, as read from session.json beside the shims."""

from __future__ import annotations

from kro.shims import json_codec
from kro.shims.errors import ConfigError
from kro.shims.hotpath_stdlib import NamedTuple

SESSION_FILE = "session.json"
SCHEMA = 1


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
    schema: int = SCHEMA

    def to_json(self) -> bytes:
        """session.json's bytes."""
        import json

        return json.dumps(self._asdict(), indent=2).encode()


def load_session(path: str) -> Session:
    """Read session.json; a missing or damaged file is a ConfigError (the shim fails closed)."""
    try:
        with open(path, "rb") as handle:
            raw = json_codec.loads(handle.read())
        raw["namespaces"] = tuple(raw.get("namespaces") or ())
        if raw.get("schema") != SCHEMA:
            raise ValueError(f"schema {raw.get('schema')!r} is not {SCHEMA}")
        return Session(**raw)
    except FileNotFoundError as exc:
        raise ConfigError(f"no kro session at {path}: start the agent with kro-run") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"damaged session file {path}: {exc}; restart with kro-run") from exc
