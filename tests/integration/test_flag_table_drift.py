"""The committed kubectl flag table is what the generator reads from every kubectl installed here.

It runs each installed kubectl's help for every command (tens of seconds), so it lives in this tier.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # about a minute: every kubectl's help for every command

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "shims" / "data"
GENERATOR = ROOT / "tools" / "gen_flag_tables.py"


def _generator() -> ModuleType:
    """Import tools/gen_flag_tables.py by path (tools/ is not a package)."""
    name = "gen_flag_tables"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, GENERATOR)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses resolve their module while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


def _table(tool: str) -> dict[str, Any]:
    """The committed table of `tool`."""
    return dict(json.loads((DATA / f"{tool}_flags.json").read_text(encoding="utf-8")))


def test_kubectl_table_matches_installed_kubectl() -> None:
    """shims/data/kubectl_flags.json is what the generator reads from every kubectl installed here."""
    gen = _generator()
    binaries = gen.discover_kubectl()
    if not binaries:
        pytest.skip("no kubectl on PATH: the kubectl flag table cannot be checked for drift")
    fresh = gen.generate(binaries)
    committed = _table("kubectl")
    diff = gen.diff_summary(committed, fresh)
    assert not diff, (
        f"kubectl_flags.json is out of date for {fresh['source']['kubectl']} "
        f"(regenerate: python tools/gen_flag_tables.py):\n" + "\n".join(diff)
    )
