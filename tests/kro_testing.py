"""Helpers shared by the test tiers: running kro-run against a demo cluster, checking envelopes."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import jsonschema
import pytest

from kro.audit_command import calls
from kro.democluster.testing import DemoHandle, kubectl_env

BIN = Path(sys.executable).parent
SCHEMA = json.loads((Path(__file__).parents[1] / "shims" / "data" / "envelope.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

T = TypeVar("T")


def wait_for(check: Callable[[], T], what: str, timeout: float = 60) -> T:
    """Poll `check` until it returns something truthy (the event waited for); `timeout` only bounds a hang."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


# ../shared beside the checkout: the policy corpus and the real kube-apiserver's answers and traces.
SHARED = Path(__file__).resolve().parents[2] / "shared"
ALLOW_MISSING_SHARED = "KRO_ALLOW_MISSING_SHARED"


def shared_path(*parts: str) -> Path:
    """A path under ../shared (a test needing it calls require_shared, or lists shared_missing_case)."""
    return SHARED.joinpath(*parts)


def missing_shared(path: Path) -> NoReturn:
    """Fail the test needing `path`; skip it instead when KRO_ALLOW_MISSING_SHARED=1 (a local opt-out)."""
    why = (
        f"{path} not found: ../shared beside the checkout holds the policy corpus and the kube-apiserver "
        f"fixtures and traces"
    )
    if os.environ.get(ALLOW_MISSING_SHARED) == "1":
        pytest.skip(f"{why} ({ALLOW_MISSING_SHARED}=1)")
    pytest.fail(f"{why}; set {ALLOW_MISSING_SHARED}=1 to skip the tests that need it", pytrace=False)


def require_shared(*parts: str) -> Path:
    """A file or directory under ../shared, or the test fails (skips with KRO_ALLOW_MISSING_SHARED=1)."""
    path = shared_path(*parts)
    if not path.exists():
        missing_shared(path)
    return path


def shared_missing_case(path: Path) -> Any:
    """The one case of a table read from ../shared when it is missing: it fails (or skips) when run."""
    return pytest.param(None, id=f"{path.name}-missing", marks=pytest.mark.shared_missing(str(path)))


def envelopes(stdout: str) -> list[dict[str, Any]]:
    """Every envelope a shim printed, each checked against the shipped schema (one JSON object a line)."""
    found = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        _VALIDATOR.validate(obj)
        found.append(obj)
    return found


def envelope(stdout: str) -> dict[str, Any]:
    """The one envelope a single call printed."""
    found = envelopes(stdout)
    assert len(found) == 1, stdout
    return found[0]


def calls_of(audit_log: Path, api: bool | None = None) -> list[dict[str, Any]]:
    """The calls an audit log holds: each call record with its outcome folded in (as `kro audit --json`);
    api=True: only the API proxy's requests, api=False: only the tools' calls (shims, MCP, hook)."""
    if not audit_log.exists():
        return []
    found = calls(json.loads(line) for line in audit_log.read_text().splitlines())
    return found if api is None else [r for r in found if (r["tool"] == "api") is api]


@dataclass
class KroSession:
    """Runs commands under kro-run pinned to the demo cluster, with a private audit log and cache."""

    demo: DemoHandle
    tmp: Path
    audit_log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.audit_log = self.tmp / "audit.jsonl"

    def env(self, **extra: str) -> dict[str, str]:
        """The launcher's environment: test-local XDG dirs so nothing touches the real home."""
        env = kubectl_env()
        env.update(
            XDG_CACHE_HOME=str(self.tmp / "cache"),
            XDG_STATE_HOME=str(self.tmp / "state"),
            XDG_RUNTIME_DIR=str(self.tmp / "run"),
        )
        env.update(extra)
        return env

    def run(
        self,
        *cmd: str,
        output: str = "plain",
        options: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """kro-run [options] -- CMD..., pinned to context kro-demo of the demo cluster."""
        argv = [
            str(BIN / "kro-run"), "--kubeconfig", str(self.demo.kubeconfig), "--context", "kro-demo",
            "--audit-log", str(self.audit_log), "--output", output, *options, "--", *cmd,
        ]  # fmt: skip
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env or self.env(),
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip

    def sh(self, script: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run a shell script inside the session."""
        return self.run("sh", "-c", script, **kwargs)

    def records(self) -> list[dict[str, Any]]:
        """The audit records written so far (call and outcome records, as written)."""
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines()]

    def audit(self, api: bool = False) -> list[dict[str, Any]]:
        """The calls audited so far, each call record with its outcome folded in (as `kro audit --json`);
        api=True: the API proxy's requests instead, one per request it answered (outcome folded in)."""
        return calls_of(self.audit_log, api)


def drop_after_head(url: str, ca_pem: bytes, token: str, path: str, tmp: Path, timeout: float = 30) -> None:
    """GET `path` from the session API proxy at `url` (https://HOST:PORT, its CA `ca_pem`, the session's
    token), read the answer's first byte, and go away without a word: a client that abandons a stream."""
    ca = tmp / "proxy-ca.crt"
    ca.write_bytes(ca_pem)
    host, port = url.removeprefix("https://").split(":")
    tls = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection((host, int(port)), timeout=timeout) as raw,
        tls.wrap_socket(raw, server_hostname=host) as conn,
    ):
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        assert conn.recv(1)
