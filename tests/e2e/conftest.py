"""The e2e tier: a real kube-apiserver + etcd (envtest convention, ``KUBEBUILDER_ASSETS``).

Run it with ``eval "$(bash tests/e2e/setup_envtest.sh)" && pytest tests/e2e -m e2e``. Tests ask for
the session-scoped ``real_cluster`` fixture; without usable assets it skips them with the reason.
The machinery lives in ``envtest_cluster.py`` (importable from tests under its unique name).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from envtest_cluster import (
    SEEDED_SECRET_VALUE,
    RealCluster,
    audit_events,
    missing_assets_reason,
    start_cluster,
)

__all__ = ["SEEDED_SECRET_VALUE", "RealCluster", "audit_events", "real_cluster"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end against a real kube-apiserver + etcd (needs KUBEBUILDER_ASSETS)",
    )


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    reason = missing_assets_reason(assets)
    if reason is not None:
        pytest.skip(reason)
    assert assets is not None
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH (the e2e tier drives the real kubectl)")
    pytest.importorskip(
        "cryptography", reason="the e2e tier generates its certificates with `cryptography`"
    )
    with start_cluster(Path(assets), tmp_path_factory.mktemp("envtest")) as cluster:
        yield cluster
