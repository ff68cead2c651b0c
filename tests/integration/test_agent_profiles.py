"""Agent profiles in kro-run: detection, --dry-run, --no-agent-setup, and what `kro doctor` shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kro_testing import BIN, KroSession

from kro.sandbox.agents import agent_of


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        pytest.param(["claude", "-p", "hi"], ("claude-code", 0), id="claude"),
        pytest.param(["/opt/bin/claude"], ("claude-code", 0), id="claude-full-path"),
        pytest.param(["npx", "-y", "@anthropic-ai/claude-code@2", "-p", "x"], ("claude-code", 2), id="npx"),
        pytest.param(["pnpm", "dlx", "@openai/codex"], ("codex", 2), id="pnpm-dlx-codex"),
        pytest.param(["gemini"], ("gemini", 0), id="gemini"),
        pytest.param(["npx", "cowsay", "claude"], (None, 0), id="npx-other-package"),
        pytest.param(["claude-helper"], (None, 0), id="other-program"),
        pytest.param([], (None, 0), id="nothing"),
    ],
)
def test_agent_detection(cmd: list[str], expected: tuple[str | None, int]) -> None:
    """The agent is found by the basename of the program, or of the package npx/pnpm dlx runs."""
    assert agent_of(cmd) == expected


def test_dry_run_shows_the_claude_setup_and_runs_nothing(kro_session: KroSession) -> None:
    """--dry-run prints the prefix, the settings file and the system prompt; the session dir is gone after."""
    proc = kro_session.run("claude", "-p", "hi", output="envelope", options=("--dry-run",))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Claude Code (turn this off with --no-agent-setup)" in out
    assert "CLAUDE_CODE_SHELL_PREFIX=" in out
    assert "--settings " in out
    assert "claude-settings.json" in out
    assert "read-only Kubernetes session through kro (context kro-demo)" in out
    session = next(line.split()[1] for line in out.splitlines() if line.startswith("session "))
    assert not Path(session).exists()
    assert kro_session.audit() == []


def test_no_agent_setup(kro_session: KroSession) -> None:
    """--no-agent-setup: the command is run as given, with only the session environment."""
    proc = kro_session.run("claude", "-p", "hi", options=("--dry-run", "--no-agent-setup"))
    assert "no agent setup (--no-agent-setup)" in proc.stdout
    assert "CLAUDE_CODE_SHELL_PREFIX" not in proc.stdout
    assert "command     claude -p hi\n" in proc.stdout


def test_user_prefix_chained(kro_session: KroSession, tmp_path: Path) -> None:
    """A CLAUDE_CODE_SHELL_PREFIX of the user's is run by kro's, with the session's PATH set inside."""
    log = tmp_path / "prefix.log"
    mine = tmp_path / "my-prefix"
    mine.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec /bin/bash -c "$1"\n')
    mine.chmod(0o755)
    claude = tmp_path / "claude"  # stands in for the agent: runs one command the way Claude Code does
    run = "\"'$CLAUDE_CODE_SHELL_PREFIX' 'kubectl get pods -n demo'\""
    claude.write_text(f"#!/bin/sh\nexec /bin/bash -c -l {run}\n")
    claude.chmod(0o755)
    env = kro_session.env(CLAUDE_CODE_SHELL_PREFIX=str(mine), HOME=str(tmp_path))
    proc = kro_session.run(str(claude), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "web-" in proc.stdout
    assert "PATH=" in log.read_text()
    [record] = kro_session.audit()
    assert record["argv"] == ["get", "pods", "-n", "demo"]


def test_doctor_shows_the_agent_setup(kro_session: KroSession, tmp_path: Path) -> None:
    """Inside a session set up for Claude Code, `kro doctor` names what was set up."""
    claude = tmp_path / "claude"
    claude.write_text(f"#!/bin/sh\nexec {BIN / 'kro'} doctor\n")
    claude.chmod(0o755)
    env = kro_session.env(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = kro_session.run(str(claude), env=env)
    line = next(x for x in proc.stdout.splitlines() if "agent:" in x)
    assert "Claude Code: CLAUDE_CODE_SHELL_PREFIX=" in line
    assert "--settings" in line
    assert "--no-agent-setup" in line
