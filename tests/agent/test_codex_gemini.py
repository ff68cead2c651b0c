"""`kro-run -- codex` and `kro-run -- gemini`: the real CLIs' shell tools in a kro session, driven offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from claude_session import BIN, HOOK_REFUSAL, ClaudeBench, Run, assert_safe, envelopes_in
from other_standins import GeminiScript, Standin, run_codex

from kro.democluster.testing import DemoHandle

pytestmark = pytest.mark.agent

READ = "kubectl get pods -n demo"
DELETE = "kubectl delete deployment web -n demo"
PROBE = "echo PATH=$PATH"
OWN_SANDBOX_OFF = ("-s", "danger-full-access")  # codex's own sandbox denies network: these tests test kro's


@pytest.fixture
def bench(demo_cluster: DemoHandle, tmp_path: Path) -> ClaudeBench:
    """A private home and work dir for one agent run on the shared demo cluster."""
    return ClaudeBench(None, demo_cluster, tmp_path)


def first_path_entry(result: str) -> list[str]:
    """The PATH the command saw, as a list."""
    line = next(x for x in result.splitlines() if "PATH=" in x)
    return line.split("PATH=", 1)[1].split(":")


def test_codex(bench: ClaudeBench, codex_bin: Path) -> None:
    """Codex's exec tool drops the session's bin/ from PATH; the profile puts it back, calls are audited."""
    control = run_codex(bench, codex_bin, [PROBE, READ], ("--no-agent-setup",), OWN_SANDBOX_OFF)
    assert_safe(control)
    assert not any(p.endswith("/bin") and "session-" in p for p in first_path_entry(control.results[0]))
    assert "NAME" in control.results[1]
    assert control.kubectl_records() == [], "without the profile the real kubectl ran, unaudited"
    run = run_codex(bench, codex_bin, [PROBE, READ, DELETE], codex_args=OWN_SANDBOX_OFF)
    assert_safe(run)
    assert any(p.endswith("/bin") and "session-" in p for p in first_path_entry(run.results[0]))
    [pods] = envelopes_in(run.results[1].split("Output:\n", 1)[1])
    assert pods["status"] == "ok"
    assert "kro: this kubectl call's stdout" not in run.results[1], "Codex's own pipe is not a redirect"
    [blocked] = envelopes_in(run.results[2].split("Output:\n", 1)[1])
    assert (blocked["kind"], blocked["rule"]) == ("policy", "verb.mutating")
    assert [(r["argv"], r["decision"]) for r in run.kubectl_records()] == [
        (READ.split()[1:], "allowed"), (DELETE.split()[1:], "blocked")]  # fmt: skip
    developer = json.dumps([r.body for r in run.standin.script.received if r.body])
    assert "read-only Kubernetes session through kro" in developer


def run_gemini(bench: ClaudeBench, gemini: Path, commands: list[str], hook: bool) -> Run:
    """`kro-run … -- gemini -p` with a scripted Gemini API; `hook`: kro's hook in ~/.gemini/settings.json."""

    def launch(url: str) -> tuple[list[str], dict[str, str]]:
        env = bench.env(url)
        env.update(GEMINI_API_KEY="standin-key", GOOGLE_GEMINI_BASE_URL=url,
                   GEMINI_CLI_TRUST_WORKSPACE="true", GEMINI_CLI_NO_RELAUNCH="1")  # fmt: skip
        settings: dict[str, Any] = {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False},
        }  # fmt: skip
        if hook:
            contrib = Path(__file__).parents[2] / "contrib" / "gemini" / "settings.json"
            settings["hooks"] = json.loads(contrib.read_text())["hooks"]
            settings["hooks"]["BeforeTool"][0]["hooks"][0]["command"] = f"{BIN / 'kro'} hook gemini"
        (bench.home / ".gemini").mkdir(exist_ok=True)
        (bench.home / ".gemini" / "settings.json").write_text(json.dumps(settings))
        return [str(gemini), "-p", "Look at the cluster.", "--yolo", "-m", "gemini-2.5-flash"], env

    return bench.run_agent(Standin(GeminiScript(commands)), launch)


def test_gemini(bench: ClaudeBench, gemini_bin: Path) -> None:
    """Gemini CLI's shell keeps the session's PATH; with contrib's hook a delete is refused and audited."""
    run = run_gemini(bench, gemini_bin, [PROBE, READ, DELETE], hook=True)
    assert_safe(run)
    assert "session-" in first_path_entry(run.results[0])[0]
    [pods] = envelopes_in(run.results[1].split("Output: ", 1)[1].rsplit("\nProcess Group", 1)[0])
    assert pods["status"] == "ok"
    assert "kro: this kubectl call's stdout" not in run.results[1], "Gemini's own pipe is not a redirect"
    assert HOOK_REFUSAL in run.results[2]
    [refusal] = run.hook_records()
    assert (refusal["argv"], refusal["rule"]) == ([DELETE], "verb.mutating")
    assert [r["argv"] for r in run.kubectl_records()] == [READ.split()[1:]]
