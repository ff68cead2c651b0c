"""`kro hook claude-code`: Claude Code's PreToolUse hook, run as Claude Code runs it (JSON on stdin)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kro_testing import BIN, KroSession

ROOT = Path(__file__).resolve().parents[2]
HOOK = [str(BIN / "kro"), "hook", "claude-code"]


def payload(command: str, tool: str = "Bash", cwd: str = "/tmp") -> str:
    """A PreToolUse payload as Claude Code sends it on the hook's stdin."""
    return json.dumps(
        {
            "session_id": "0b7c9e2a-5d1f-4c3e-9a8b-1f2e3d4c5b6a",
            "transcript_path": "/home/user/.claude/projects/demo/0b7c9e2a.jsonl",
            "cwd": cwd,
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": {"command": command, "description": "Inspect the cluster"},
            "tool_use_id": "toolu_01ABCDEFGHJKMNPQRSTVWXYZ",
        }
    )


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG_STATE_HOME: refusals outside a session go to the default audit log, kept here."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("KRO_SESSION", raising=False)
    monkeypatch.delenv("KRO_AUDIT_LOG", raising=False)
    return tmp_path / "state"


def run_hook(stdin: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None, str]:
    """Run the hook; returns (exit code, the decision it printed or None, stderr)."""
    proc = subprocess.run(
        HOOK, input=stdin, capture_output=True, text=True,
        env=env or dict(os.environ), timeout=60, check=False,
    )  # fmt: skip
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else None), proc.stderr


def denial(decision: dict[str, Any] | None) -> str:
    """The reason of a deny decision (asserting its shape)."""
    assert decision is not None
    out = decision["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse"
    assert out["permissionDecision"] == "deny"
    reason: str = out["permissionDecisionReason"]
    return reason


# The DENY/ALLOW tables are decided in process (tests/unit/test_hook_decide.py); here one of each runs
# through the hook's process, as Claude Code runs it.


def test_hook_denies() -> None:
    """A blocked kubectl call: a deny decision naming the policy's reason, exit 0."""
    code, decision, stderr = run_hook(payload("sh -c 'kubectl delete ns x'"))
    assert code == 0, stderr
    text = denial(decision)
    assert "[verb.mutating]" in text
    assert text.startswith("kro (read-only Kubernetes session) refused this Bash command:")


@pytest.mark.parametrize("command", ["kubectl get pods -n demo -o wide 2>&1 | head -20", "ls -la"])
def test_hook_allows_silently(command: str) -> None:
    """An allowed read and a command without kubectl: no output, exit 0."""
    assert run_hook(payload(command)) == (0, None, "")


def test_hook_direct_binary_denied_even_when_allowed() -> None:
    """A path to the real kubectl is refused although the policy allows the read, and the way out is named."""
    text = denial(run_hook(payload("/usr/bin/kubectl get pods -n demo"))[1])
    assert "[" not in text.split("\n")[1], "the read itself is not blocked by the policy"
    assert "run it as plain `kubectl get pods -n demo`" in text


@pytest.mark.parametrize(
    ("stdin", "blocked"),
    [
        pytest.param(payload("kubectl delete pod x", tool="Read"), False, id="other-tool"),
        pytest.param(
            json.dumps({"tool_name": "Bash", "tool_input": {}}), True, id="hook.bad-input-no-command"
        ),
        pytest.param("not json", True, id="hook.bad-input-garbage"),
        pytest.param(
            '{"tool_name": "Bash", "tool_input": {"command": "kubectl delete',
            True,
            id="hook.bad-input-cut",
        ),
    ],
)
def test_hook_odd_payloads(stdin: str, blocked: bool, state_home: Path) -> None:
    """Another tool's payload passes; one the hook cannot read is refused the blocking way (Claude Code's
    protocol: exit 2, the reason on stderr), and the refusal is audited."""
    code, decision, stderr = run_hook(stdin)
    assert code == (2 if blocked else 0)
    assert (decision is not None) == blocked
    if blocked:
        assert "kro cannot check the call it carries (fail closed)" in denial(decision)
        assert "fail closed" in stderr
        log = state_home / "kro" / "audit.jsonl"
        assert json.loads(log.read_text().splitlines()[-1])["rule"] == "hook.bad-input"


def test_hook_binary_input_is_refused(state_home: Path) -> None:
    """Binary bytes on stdin: refused with exit 2, never a silent pass."""
    proc = subprocess.run(HOOK, input=b"\xff\x00\xfe" * 100, capture_output=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert b"is not JSON" in proc.stderr


def test_hook_limits_decide_at_once() -> None:
    """The hook process answers a 2 MB command and 40 nested $( ) with a refusal naming the limit."""
    for command, limit in (("echo " + "a" * 2_000_000, "65,536"), ("echo $(" * 40 + ")" * 40, "levels deep")):
        started = time.monotonic()
        code, decision, _ = run_hook(payload(command))
        assert code == 0
        assert limit in denial(decision)
        assert time.monotonic() - started < 10, "a process start plus well under a second of work"


def test_hook_fails_closed_on_a_damaged_session(tmp_path: Path) -> None:
    """A session file it cannot read: kubectl commands are refused with the fix, others still pass."""
    (tmp_path / "session.json").write_text("{not json")
    env = dict(os.environ, KRO_SESSION=str(tmp_path))
    assert "restart with kro-run" in denial(run_hook(payload("kubectl get pods"), env)[1])
    assert run_hook(payload("ls"), env) == (0, None, "")


def test_hook_login_shell_denied_even_when_allowed() -> None:
    """`bash -lc 'kubectl get pods'`: the login shell's start-up files reset PATH, so the read is refused."""
    text = denial(run_hook(payload("bash -lc 'kubectl get pods -n demo'"))[1])
    assert "starts a login shell" in text
    assert "run it as plain `kubectl get pods -n demo`" in text
    assert run_hook(payload("bash -c 'kubectl get pods -n demo'")) == (0, None, "")


def test_hook_refusals_audited_outside_a_session(state_home: Path) -> None:
    """Outside a session a refusal goes to the default audit log, with tool "hook" and the command."""
    run_hook(payload("kubectl delete pod x"))
    assert run_hook(payload("kubectl get pods")) == (0, None, "")
    [record] = [json.loads(line) for line in (state_home / "kro" / "audit.jsonl").read_text().splitlines()]
    assert record["tool"] == "hook"
    assert record["argv"] == ["kubectl delete pod x"]
    assert (record["decision"], record["rule"]) == ("blocked", "verb.mutating")
    assert record["session"] == "claude-code-hook"


def test_hook_inside_a_session(kro_session: KroSession, tmp_path: Path) -> None:
    """In a session: decisions pinned to its context, the shim by path is fine, refusals in its audit log."""
    real = shutil.which("kubectl") or "/usr/bin/kubectl"
    cases = {
        "pinned": ("kubectl --context kro-demo-other get pods", "pinned to context 'kro-demo'"),
        "same-context": ("kubectl --context kro-demo get pods", None),
        "read": ("kubectl get pods", None),
        "shim-by-path": ('"$KRO_SESSION/bin/kubectl" get pods', None),
        "real-binary": (f"{real} get pods", "runs a kubectl binary by path"),
    }
    lines = []
    for name, (command, _) in cases.items():
        (tmp_path / f"{name}.json").write_text(payload(command))
        lines.append(f"{HOOK[0]} hook claude-code < {tmp_path}/{name}.json > {tmp_path}/{name}.out")
    proc = kro_session.sh("\n".join(lines))
    assert proc.returncode == 0, proc.stderr
    for name, (_, reason) in cases.items():
        out = (tmp_path / f"{name}.out").read_text()
        if reason is None:
            assert out == "", (name, out)
        else:
            assert reason in denial(json.loads(out)), name
    records = kro_session.audit()
    assert [r["tool"] for r in records] == ["hook", "hook"], "only the two refusals; no kubectl ran"
    assert [r["rule"] for r in records] == ["global.context-pinned", "hook.shim-bypass"]
    assert {r["context"] for r in records} == {"kro-demo"}
    assert records[1]["argv"] == [f"{real} get pods"]


def test_claude_settings_snippet() -> None:
    """contrib's settings.json registers `kro hook claude-code` for the Bash tool under hooks.PreToolUse."""
    settings = json.loads((ROOT / "contrib" / "claude-code" / "settings.json").read_text())
    [entry] = settings["hooks"]["PreToolUse"]
    assert entry["matcher"] == "Bash"
    [hook] = entry["hooks"]
    assert hook["type"] == "command"
    assert hook["command"] == "kro hook claude-code"


def gemini_payload(command: str, tool: str = "run_shell_command") -> str:
    """A BeforeTool payload as Gemini CLI 0.61 sends it (recorded from the real CLI)."""
    return json.dumps(
        {
            "session_id": "4d274d46-c31c-4a33-b06a-bc331ad8a962",
            "transcript_path": "/home/user/.gemini/tmp/work/chats/session-2026-12-01T21-37-4d274d46.jsonl",
            "cwd": "/tmp", "hook_event_name": "BeforeTool", "timestamp": "2026-12-01T21:37:30.116Z",
            "tool_name": tool, "tool_input": {"command": command, "description": "probe"},
        }
    )  # fmt: skip


def test_gemini_hook_protocol(state_home: Path) -> None:
    """`kro hook gemini`: the same decisions, in Gemini CLI's answer shape; other tools pass."""
    proc = subprocess.run([HOOK[0], "hook", "gemini"], input=gemini_payload("kubectl delete pod x"),
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    answer = json.loads(proc.stdout)
    assert answer["decision"] == "deny"
    assert "[verb.mutating]" in answer["reason"]
    passing = (gemini_payload("kubectl get pods"), gemini_payload("kubectl delete pod x", tool="read_file"))
    for stdin in passing:
        quiet = subprocess.run([HOOK[0], "hook", "gemini"], input=stdin, capture_output=True, text=True,
                               timeout=60, check=False)  # fmt: skip
        assert (quiet.returncode, quiet.stdout) == (0, "")
    [record] = [json.loads(line) for line in (state_home / "kro" / "audit.jsonl").read_text().splitlines()]
    assert (record["tool"], record["rule"]) == ("hook", "verb.mutating")


def test_hook_usage() -> None:
    """An unknown agent is a usage error (exit 2) naming the ones there are."""
    proc = subprocess.run([HOOK[0], "hook", "cursor"], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert proc.returncode == 2
    assert "kro hook gemini" in proc.stderr


def test_hook_from_a_plain_install(tmp_path: Path) -> None:
    """`pip install .` (no checkout on sys.path, run from elsewhere): `kro hook claude-code` works."""
    target = tmp_path / "site"
    install = subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-compile",
         "--disable-pip-version-check", "--target", str(target), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    script = (
        "import sys, kro.hooks.claude_code as hook, kro.dispatch\n"
        f"assert hook.__file__.startswith({str(target)!r}), hook.__file__\n"
        "raise SystemExit(kro.dispatch.main(['hook', 'claude-code']))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(target), XDG_STATE_HOME=str(tmp_path / "state"))
    proc = subprocess.run(
        [str(BIN / "python"), "-c", script], input=payload("kubectl delete pod x"), capture_output=True,
        text=True, timeout=60, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[verb.mutating]" in denial(json.loads(proc.stdout))
    assert (tmp_path / "state" / "kro" / "audit.jsonl").exists()
