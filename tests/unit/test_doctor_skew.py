"""kro doctor's version skew arithmetic (kubectl supports one minor version either side of the server)."""

from __future__ import annotations

import pytest

from kro.doctor import minor_skew


@pytest.mark.parametrize(
    ("client", "server", "skew"),
    [
        pytest.param("v1.32.4", "v1.32.4", 0, id="skew.same"),
        pytest.param("v1.32.4-dispatcher", "v1.33.0", 1, id="skew.one-minor"),
        pytest.param("v1.33.1", "v1.36.0+k3s1", 3, id="skew.three-minors"),
        pytest.param("v1.36.0", "v1.32.2-eks-1", 4, id="skew.client-newer"),
        pytest.param("v2.0.0", "v1.32.0", None, id="skew.major-differs"),
        pytest.param("unknown", "v1.32.0", None, id="skew.unreadable"),
    ],
)
def test_minor_skew(client: str, server: str, skew: int | None) -> None:
    assert minor_skew(client, server) == skew
