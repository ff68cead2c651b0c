"""Run the real Claude Code under kro-run against the demo cluster, with a scripted stand-in model."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kro_testing import calls_of
from model_standin import ModelStandin

from kro.democluster.fixture import FAKE_SECRET_PASSWORD
from kro.democluster.testing import DemoHandle, kubectl_env

BIN = Path(sys.executable).parent
HOOK_REFUSAL = "kro (read-only Kubernetes session) refused this Bash command:"
# Slow only while Claude Code builds its shell snapshot (the snapshot script sets SNAPSHOT_FILE), longer
# than its 10 s limit; then, like a ~/.profile, rebuild PATH, which every login shell after it reads.
SLOW_BASHRC = 'case "${BASH_EXECUTION_STRING:-}" in *SNAPSHOT_FILE=*) sleep 14 ;; esac\n'
RESET_PROFILE = (
    'PATH="$HOME/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; export PATH\n'
    '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n'
)


@dataclass
class Run:
    """One `kro-run … -- claude -p` run: the process, what the model was sent, the audit log, the cluster."""

    proc: subprocess.CompletedProcess[str]
    standin: ModelStandin
    audit: list[dict[str, Any]]
    writes: list[tuple[str, str]]

    @property
    def results(self) -> list[str]:
        """What each scripted Bash command returned to the model, in order."""
        return self.standin.script.tool_results()

    def kubectl_records(self) -> list[dict[str, Any]]:
        """Audit records of kubectl calls (shim or broker)."""
        return [r for r in self.audit if r["tool"] == "kubectl"]

    def hook_records(self) -> list[dict[str, Any]]:
        """Audit records of commands the PreToolUse hook refused."""
        return [r for r in self.audit if r["tool"] == "hook"]


def envelopes_in(text: str) -> list[dict[str, Any]]:
    """The envelopes in a tool result (every non-empty line must be one)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class ClaudeBench:
    """A home, a work dir and private XDG dirs for one agent CLI run (Claude Code by default)."""

    claude: Path | None
    demo: DemoHandle
    base: Path

    def __post_init__(self) -> None:
        for name in ("home/.claude", "work", "state", "cache", "run"):
            (self.base / name).mkdir(parents=True, exist_ok=True)
        os.chmod(self.base / "run", 0o700)
        (self.home / ".claude.json").write_text("{}\n")

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def audit_log(self) -> Path:
        return self.base / "audit" / "audit.jsonl"

    def slow_start_up(self) -> None:
        """Give the home shell start-up files that are slow only while the snapshot is built."""
        (self.home / ".bashrc").write_text(SLOW_BASHRC)
        (self.home / ".bash_profile").write_text(RESET_PROFILE)

    def env(self, model_url: str) -> dict[str, str]:
        """kro-run's environment: the stand-in model, no traffic elsewhere, nothing of the real home."""
        env = kubectl_env()
        env.update(
            HOME=str(self.home), SHELL="/bin/bash",
            XDG_STATE_HOME=str(self.base / "state"), XDG_CACHE_HOME=str(self.base / "cache"),
            XDG_RUNTIME_DIR=str(self.base / "run"), XDG_CONFIG_HOME=str(self.home / ".config"),
            ANTHROPIC_BASE_URL=model_url, ANTHROPIC_API_KEY="sk-ant-standin-0000",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1", DISABLE_TELEMETRY="1",
            DISABLE_ERROR_REPORTING="1", CLAUDE_CODE_DISABLE_TERMINAL_TITLE="1",
        )  # fmt: skip
        for name in ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SHELL_PREFIX", "KRO_SESSION"):
            env.pop(name, None)
        return env

    def run(self, commands: list[str], *, options: tuple[str, ...] = (), output: str = "envelope",
            timeout: float = 240) -> Run:  # fmt: skip
        """Run `kro-run [options] -- claude -p …` with the model scripted to run `commands` with Bash."""
        assert self.claude is not None
        agent = [str(self.claude), "-p", "Look at the demo namespace.", "--allowedTools", "Bash",
                 "--output-format", "json"]  # fmt: skip
        return self.run_agent(ModelStandin(commands), lambda url: (agent, self.env(url)), options=options,
                              output=output, timeout=timeout)  # fmt: skip

    def run_agent(self, standin: Any, launch: Any, *, options: tuple[str, ...] = (), output: str = "envelope",
                  timeout: float = 240) -> Run:  # fmt: skip
        """Run `kro-run [options] -- AGENT…`; `launch(url)` gives the agent's argv and environment."""
        before = len(self.demo.cluster.requests())
        if self.audit_log.exists():
            self.audit_log.unlink()
        with standin:
            agent, env = launch(standin.url)
            argv = [
                str(BIN / "kro-run"), "--kubeconfig", str(self.demo.kubeconfig), "--context", "kro-demo",
                "--audit-log", str(self.audit_log), "--output", output, *options, "--", *agent,
            ]  # fmt: skip
            proc = subprocess.run(
                argv, cwd=self.base / "work", env=env, capture_output=True, text=True,
                stdin=subprocess.DEVNULL, timeout=timeout, check=False,
            )  # fmt: skip
        audit = calls_of(self.audit_log)  # each call record with its outcome folded in
        requests = self.demo.cluster.requests()[before:]
        writes = [(r["method"], r["path"]) for r in requests
                  if r["method"] not in ("GET", "HEAD") and "selfsubject" not in r["path"]]  # fmt: skip
        return Run(proc, standin, audit, writes)


def assert_safe(run: Run) -> None:
    """Every case: Claude Code finished, no write reached the cluster, no Secret value reached the model."""
    assert run.proc.returncode == 0, (run.proc.stdout[-2000:], run.proc.stderr[-2000:])
    assert len(run.results) == len(run.standin.script.commands), (run.results, run.proc.stdout[-2000:])
    assert run.writes == []
    sent = run.standin.script.everything()
    for secret in (FAKE_SECRET_PASSWORD, base64.b64encode(FAKE_SECRET_PASSWORD.encode()).decode()):
        assert secret.encode() not in sent
