"""The shim's plain path through the pipeline stays lean: no re, typing, json, enum or subprocess imported."""

from __future__ import annotations

import pytest
from kro_testing import KroSession

HEAVY = ("re", "typing", "json", "enum", "subprocess", "selectors", "signal")
SCRIPT = """
py=$(head -1 "$KRO_SESSION/bin/kubectl" | sed 's/^#!//; s/ -IS$//')
"$py" -IS -X importtime "$KRO_SESSION/bin/kubectl" {args} 2>&1 >/dev/null | grep '^import time:' | cut -d'|' -f3
"""


@pytest.mark.parametrize(
    "args",
    [
        pytest.param("get pods -n demo", id="hot.allowed-exec"),
        pytest.param("delete pod x", id="hot.blocked"),
        pytest.param("--context other get pods", id="hot.blocked-global"),
    ],
)
def test_plain_path_imports_nothing_heavy(kro_session: KroSession, args: str) -> None:
    """Every module the shim imported before exec'ing kubectl (or refusing), by -X importtime."""
    proc = kro_session.sh(SCRIPT.format(args=args))
    modules = {line.strip() for line in proc.stdout.splitlines()}
    assert "kro.shims.pipeline" in modules, proc.stdout + proc.stderr
    assert sorted(modules & set(HEAVY)) == []
