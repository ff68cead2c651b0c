"""Helpers for tests and benchmarks that drive the real kubectl against a demo cluster."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kro.democluster.server import DemoCluster


def kubectl_env() -> dict[str, str]:
    """The environment for kubectl: no kuberc, no stray kubeconfig, cache dir or kubectl settings."""
    drop = ("KUBECONFIG", "KUBECTL_", "KUBECACHEDIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["KUBERC"] = "off"
    return env


def run_kubectl(
    kubeconfig: Path, cache_dir: Path, *args: str, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run the real kubectl with a kubeconfig, keeping its discovery cache under cache_dir."""
    argv = ["kubectl", f"--kubeconfig={kubeconfig}", f"--cache-dir={cache_dir}", *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=kubectl_env(),
        stdin=subprocess.DEVNULL, check=False,
    )


@dataclass(frozen=True)
class DemoHandle:
    """A running demo cluster, the kubeconfig pointing at it, and a kubectl runner."""

    cluster: DemoCluster
    kubeconfig: Path
    url: str
    cache_dir: Path

    def kubectl(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this demo cluster."""
        return run_kubectl(self.kubeconfig, self.cache_dir, *args, timeout=timeout)
