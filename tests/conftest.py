"""Shared fixtures: the bundled demo cluster, served in-process for the whole session."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kro.sandbox.demo.server import DemoCluster
from kro.sandbox.demo.testing import DemoHandle


@pytest.fixture(scope="session")
def demo_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    """The demo cluster on a free port, its kubeconfig (kro-demo, kro-demo-other) and a kubectl runner."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH (the demo cluster tests drive the real kubectl)")
    base = tmp_path_factory.mktemp("demo-cluster")
    with DemoCluster(port=0, request_log=base / "requests.jsonl") as cluster:
        kubeconfig = cluster.write_kubeconfig(base / "kubeconfig")
        yield DemoHandle(cluster, kubeconfig, cluster.url, base / "kube-cache")


# --- kro sessions against the demo cluster ---------------------------------------------------


BIN = Path(sys.executable).parent
SCHEMA = json.loads((Path(__file__).parents[1] / "shims" / "data" / "envelope.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


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
        from kro.sandbox.demo.testing import kubectl_env

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

    def audit(self) -> list[dict[str, Any]]:
        """The audit records written so far."""
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines()]


@pytest.fixture
def kro_session(demo_cluster: DemoHandle, tmp_path: Path) -> KroSession:
    """A fresh kro session setup (own audit log, cache, runtime dir) on the shared demo cluster."""
    (tmp_path / "run").mkdir(mode=0o700)
    return KroSession(demo_cluster, tmp_path)
