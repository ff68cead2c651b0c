"""Shared fixtures: the bundled demo cluster, served in-process for the whole session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from kro_testing import KroSession, missing_shared

from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle

# No per-example deadline: Hypothesis's 200 ms default is a wall-clock bound that fails under load.
settings.register_profile("kro", deadline=None)
settings.load_profile("kro")


@pytest.fixture(scope="session")
def demo_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    """The demo cluster on a free port, its kubeconfig (kro-demo, kro-demo-other) and a kubectl runner."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH (the demo cluster tests drive the real kubectl)")
    base = tmp_path_factory.mktemp("demo-cluster")
    with DemoCluster(port=0, request_log=base / "requests.jsonl") as cluster:
        kubeconfig = cluster.write_kubeconfig(base / "kubeconfig")
        yield DemoHandle(cluster, kubeconfig, cluster.url, base / "kube-cache")


@pytest.fixture
def kro_session(demo_cluster: DemoHandle, tmp_path: Path) -> KroSession:
    """A fresh kro session setup (own audit log, cache, runtime dir) on the shared demo cluster."""
    (tmp_path / "run").mkdir(mode=0o700)
    return KroSession(demo_cluster, tmp_path)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A table read from ../shared that is missing fails loudly, unless KRO_ALLOW_MISSING_SHARED=1."""
    for mark in item.iter_markers("shared_missing"):
        missing_shared(Path(mark.args[0]))
