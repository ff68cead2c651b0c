"""The agent tier: the real Claude Code CLI under kro-run, driven offline by a scripted stand-in model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _candidates() -> list[Path]:
    """Where a `claude` may be: $KRO_TEST_CLAUDE, the npm prefix .ci/run installs into, then PATH."""
    found = [Path(p) for p in (os.environ.get("KRO_TEST_CLAUDE"),) if p]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found.append(cache / "kro-ci" / "npm" / "node_modules" / ".bin" / "claude")
    on_path = shutil.which("claude")
    if on_path:
        found.append(Path(on_path))
    return found


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The real Claude Code CLI, or a skip saying how to get it."""
    for path in _candidates():
        if path.is_file() and os.access(path, os.X_OK):
            proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL, check=False)  # fmt: skip
            if proc.returncode == 0 and "Claude Code" in proc.stdout:
                return path
    if shutil.which("node") is None:
        pytest.skip("node is not installed, so the Claude Code CLI cannot be (the agent tier needs it)")
    pytest.skip(
        "the Claude Code CLI is not installed: npm install --prefix ~/.cache/kro-ci/npm "
        "@anthropic-ai/claude-code (or set KRO_TEST_CLAUDE)"
    )
