"""The agent tier: the real Claude Code CLI under kro-run, driven offline by a scripted stand-in model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _candidates(name: str) -> list[Path]:
    """Where an agent CLI may be: $KRO_TEST_<NAME>, the npm prefix .ci/run installs into, then PATH."""
    found = [Path(p) for p in (os.environ.get(f"KRO_TEST_{name.upper()}"),) if p]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found.append(cache / "kro-ci" / "npm" / "node_modules" / ".bin" / name)
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return found


def find_agent(name: str, package: str, marker: str) -> Path:
    """The real agent CLI `name` (its --version mentions `marker`), or a skip saying how to get it."""
    for path in _candidates(name):
        if path.is_file() and os.access(path, os.X_OK):
            proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL, check=False)  # fmt: skip
            if proc.returncode == 0 and marker in proc.stdout:
                return path
    if shutil.which("node") is None:
        pytest.skip(f"node is not installed, so {package} cannot be (the agent tier needs it)")
    pytest.skip(f"{package} is not installed: npm install --prefix ~/.cache/kro-ci/npm {package} "
                f"(or set KRO_TEST_{name.upper()})")  # fmt: skip


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The real Claude Code CLI."""
    return find_agent("claude", "@anthropic-ai/claude-code", "Claude Code")


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    """The real Codex CLI."""
    return find_agent("codex", "@openai/codex", "codex-cli")


@pytest.fixture(scope="session")
def gemini_bin() -> Path:
    """The real Gemini CLI."""
    return find_agent("gemini", "@google/gemini-cli", ".")
