"""The executor is the one module that starts processes: doctor, approvals, MCP and hooks start none."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_STARTERS = {"subprocess", "multiprocessing", "pty"}
_OS_STARTERS = {"system", "popen", "execv", "execve", "execvp", "execvpe", "spawnv", "spawnve", "fork",
                "posix_spawn", "posix_spawnp"}  # fmt: skip


def _starts_processes(path: Path) -> list[str]:
    """Imports of process-starting modules and calls of os's process starters in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in _STARTERS]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _STARTERS:
            found.append(node.module or "")
        elif (isinstance(node, ast.Attribute) and node.attr in _OS_STARTERS
              and isinstance(node.value, ast.Name) and node.value.id == "os"):  # fmt: skip
            found.append(f"os.{node.attr}")
    return found


@pytest.mark.parametrize(
    "where", ["kro/doctor.py", "kro/approvals", "kro/mcp", "kro/hooks"], ids=lambda w: f"layers.{w}"
)
def test_starts_no_process_itself(where: str) -> None:
    """kubectl and kubetail start only in shims/executor.py; these parts ask it."""
    target = ROOT / where
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    found = {str(f.relative_to(ROOT)): s for f in files if (s := _starts_processes(f))}
    assert found == {}
