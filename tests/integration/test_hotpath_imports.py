"""The shim's plain path imports no `re`, `typing`, `json`, `enum` or `subprocess` (by -X importtime)."""

from __future__ import annotations

import shlex
import sys

from kro_testing import KroSession

from kro.democluster.fixture import WEB_PODS

HEAVY = ("re", "typing", "json", "subprocess", "dataclasses", "enum")


def _imported(stderr: str) -> list[str]:
    """Module names from `python -X importtime` lines (`import time: self | cumulative | name`)."""
    names = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.append(name)
    return names


def test_plain_path_imports_nothing_heavy(kro_session: KroSession) -> None:
    """The real shim, started as its shebang starts it (-IS), decides, audits and execs kubectl."""
    script = f'exec {shlex.quote(sys.executable)} -X importtime -IS "$(command -v kubectl)" get pods'
    result = kro_session.sh(script, output="plain")
    assert result.returncode == 0, result.stderr
    assert WEB_PODS[0] in result.stdout  # the call really ran against the demo cluster
    names = _imported(result.stderr)
    assert "kro.shims.shim" in names  # the measurement saw the shim's own imports
    heavy = sorted({n for n in names if n.split(".")[0] in HEAVY})
    assert heavy == [], f"the plain path imported {heavy}"
    assert [r["decision"] for r in kro_session.audit()] == ["allowed"]
