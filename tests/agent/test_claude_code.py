"""`kro-run -- claude`: the real Claude Code's Bash tool in a kro session, and what reached the model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from claude_session import HOOK_REFUSAL, ClaudeBench, Run, assert_safe, envelopes_in

from kro.democluster.fixture import CRASHLOOP_POD, FAKE_BEARER_TOKEN
from kro.democluster.testing import DemoHandle
from kro.sandbox.session_dir import find_real

pytestmark = pytest.mark.agent

READ = "kubectl get pods -n demo"
DELETE = "kubectl delete deployment web -n demo"
SECRET = "kubectl get secret db-creds -n demo -o yaml"
LOGS = f"kubectl logs -n demo {CRASHLOOP_POD}"


@pytest.fixture
def bench(claude_bin: Path, demo_cluster: DemoHandle, tmp_path: Path) -> ClaudeBench:
    """A private home and work dir for one Claude Code run on the shared demo cluster."""
    return ClaudeBench(claude_bin, demo_cluster, tmp_path)


def real_kubectl() -> str:
    """The real kubectl binary a bypass would reach."""
    found = find_real("kubectl", os.environ.get("PATH", ""))
    assert found
    return found


def audited(run: Run, argv: list[str], decision: str) -> dict[str, object]:
    """The one audit record of the kubectl call `argv`, with the decision expected."""
    [record] = [r for r in run.kubectl_records() if r["argv"] == argv]
    assert record["decision"] == decision
    return record


def refused_by_hook(run: Run, index: int, command: str, rule: str) -> None:
    """The index-th command was refused by the PreToolUse hook: the model saw why, the audit log has it."""
    assert HOOK_REFUSAL in run.results[index]
    [record] = [r for r in run.hook_records() if r["argv"] == [command]]
    assert (record["decision"], record["rule"]) == ("blocked", rule)


def test_reads_and_blocked_calls(bench: ClaudeBench) -> None:
    """Plain kubectl reaches the shim (envelopes); the hook refuses a delete and a secret read first."""
    raw = "KRO_RAW=1 kubectl get pods -n demo -o json | jq -r '.items[0].metadata.name'"
    run = bench.run([READ, LOGS, DELETE, SECRET, "kubectl get pods -A -o json | head -c 100", raw])
    assert_safe(run)
    [pods] = envelopes_in(run.results[0])
    assert pods["status"] == "ok"
    assert "kro: this kubectl call's stdout" not in run.results[0], "Claude's own pipe is not a redirect"
    # A piped envelope: the model gets kro's stderr line naming the call that works, and that call works.
    assert "put KRO_RAW=1 before the call: KRO_RAW=1 kubectl get pods -A -o json" in run.results[4]
    assert run.results[5].strip() == "db-0", run.results[5]
    assert "web-" in pods["content"]
    [logs] = envelopes_in(run.results[1])
    assert "[REDACTED]" in logs["content"]
    assert FAKE_BEARER_TOKEN.encode() not in run.standin.script.everything()
    refused_by_hook(run, 2, DELETE, "verb.mutating")
    refused_by_hook(run, 3, SECRET, "secret.value-exposure")
    audited(run, READ.split()[1:], "allowed")
    audited(run, LOGS.split()[1:], "allowed")
    audited(run, ["get", "pods", "-A", "-o", "json"], "allowed")
    assert len(run.kubectl_records()) == 4, "the refused commands never ran kubectl"


def test_blocked_delete_through_the_shim(bench: ClaudeBench) -> None:
    """Without the agent setup (no hook), the shim itself blocks the delete: a policy envelope, audited."""
    run = bench.run([READ, DELETE], options=("--no-agent-setup",))
    assert_safe(run)
    [blocked] = envelopes_in(run.results[1])
    assert (blocked["status"], blocked["kind"], blocked["rule"]) == ("error", "policy", "verb.mutating")
    audited(run, DELETE.split()[1:], "blocked")
    audited(run, READ.split()[1:], "allowed")
    assert run.hook_records() == []


def test_system_prompt_and_settings_reach_claude(bench: ClaudeBench) -> None:
    """The appended system prompt is what the model got; the hook is registered from the session dir."""
    run = bench.run(["echo \"$CLAUDE_CODE_SHELL_PREFIX\"; cat \"$KRO_SESSION/agent/claude-settings.json\""])
    assert_safe(run)
    main = [r.body for r in run.standin.script.received if r.body and r.body.get("tools")]
    system = json.dumps(main[0]["system"])
    assert "read-only Kubernetes session through kro (context kro-demo)" in system
    assert "read that file with jq" in system
    prefix, settings = run.results[0].split("\n", 1)
    assert prefix.endswith("/agent/claude-shell-prefix")
    hook = json.loads(settings)["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert hook.endswith("/agent/kro-hook.py claude-code")
    assert " -IS " in hook
    assert not (bench.home / ".claude" / "settings.json").exists(), "nothing written into the user's settings"


def test_slow_start_up_fallback(bench: ClaudeBench) -> None:
    """No shell snapshot (start-up over 10 s): login shells reset PATH; the shell prefix puts bin/ back."""
    bench.slow_start_up()
    probe = "echo PATH=$PATH"
    control = bench.run([probe, READ], options=("--no-agent-setup",))
    assert_safe(control)
    assert "session-" not in control.results[0].split("PATH=")[1].split(":")[0]
    # Without the prefix the fallback runs the real kubectl, unaudited: what the setup is there to fix.
    assert "NAME" in control.results[1]
    assert control.kubectl_records() == []
    run = bench.run([probe, READ, "kubectl get deploy -n demo"])
    assert_safe(run)
    assert run.results[0].split("PATH=")[1].split(":")[0].endswith("/bin"), run.results[0]
    assert "session-" in run.results[0].split("PATH=")[1].split(":")[0]
    [pods] = envelopes_in(run.results[1])
    assert pods["status"] == "ok"
    audited(run, READ.split()[1:], "allowed")
    audited(run, ["get", "deploy", "-n", "demo"], "allowed")
    snapshots = bench.home / ".claude" / "shell-snapshots"
    assert not snapshots.exists() or not any(p.stat().st_size for p in snapshots.iterdir()), (
        "the snapshot must not have been built, or this case tests nothing"
    )


def bypasses() -> list[str]:
    """Commands that would run kubectl without the session's shim."""
    real = real_kubectl()
    return [f"bash -lc '{READ}'", f"{real} get pods -n demo", f"env -i {real} get pods -n demo"]


def test_bypass_routes_refused_by_the_hook(bench: ClaudeBench) -> None:
    """`bash -lc`, the real binary by path, `env -i`: with the hook installed each is refused, audited."""
    commands = bypasses()
    run = bench.run(commands)
    assert_safe(run)
    for i, command in enumerate(commands):
        refused_by_hook(run, i, command, "hook.shim-bypass")
    assert run.kubectl_records() == []


def test_bypass_routes_without_the_hook(bench: ClaudeBench) -> None:
    """Without the hook, a bypass reaches only the API proxy: reads audited there, deletes refused."""
    real = real_kubectl()
    commands = [*bypasses(), "bash -lc 'kubectl delete pod x -n demo'", f"{real} delete pod x -n demo"]
    run = bench.run(commands, options=("--no-agent-setup",))
    assert_safe(run)
    reads = commands[:3]
    reached = [c for c, result in zip(reads, run.results[:3], strict=True) if "web-7c9f8d6b5d" in result]
    # `env -i` drops KUBECONFIG too, so kubectl finds no cluster at all; the other two reach the proxy.
    assert set(reads[:2]) <= set(reached), "the login shell and the real binary reached the cluster"
    api = [r for r in run.audit if r["tool"] == "api"]
    pod_lists = [r for r in api if r["decision"] == "allowed" and "/namespaces/demo/pods" in json.dumps(r)]
    assert len(pod_lists) >= len(reached), f"every read went through the proxy's audit: {api}"
    for result in run.results[3:]:
        assert "kro:" in result, result
        assert "Forbidden" in result, result
    assert any(r["decision"] == "blocked" for r in api)


def test_plain_output(bench: ClaudeBench) -> None:
    """--output plain: kubectl's own table reaches the model; the hook still refuses the delete."""
    run = bench.run([READ, DELETE], output="plain")
    assert_safe(run)
    assert run.results[0].lstrip().startswith("NAME")
    assert "web-" in run.results[0]
    refused_by_hook(run, 1, DELETE, "verb.mutating")
    audited(run, READ.split()[1:], "allowed")
    main = [r.body for r in run.standin.script.received if r.body and r.body.get("tools")]
    assert "✘ BLOCKED" in json.dumps(main[0]["system"], ensure_ascii=False)


def _bwrap_problem() -> str | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "true"]
    proc = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    return None if proc.returncode == 0 else f"bwrap cannot create a sandbox here: {proc.stderr.strip()}"


def test_confine(bench: ClaudeBench) -> None:
    """--confine: kubectl goes through the broker (audited outside); the real binary is not even there."""
    if problem := _bwrap_problem():
        pytest.skip(problem)
    real = real_kubectl()
    hidden = f'test -e "$(readlink -f {real})" && echo seen'  # the real binary's own directory is hidden
    run = bench.run([READ, f"{real} get pods -n demo", DELETE, hidden],
                    options=("--confine",))  # fmt: skip
    assert_safe(run)
    [pods] = envelopes_in(run.results[0])
    assert pods["status"] == "ok"
    audited(run, READ.split()[1:], "allowed")
    assert HOOK_REFUSAL in run.results[1]
    assert HOOK_REFUSAL in run.results[2]
    assert "seen" not in run.results[3]
    # Inside the sandbox the audit log is out of reach: the hook says so, the broker's records stay whole.
    assert "could not be audited" in run.results[1]
    assert run.hook_records() == []
    assert len(run.kubectl_records()) == 1
    # Claude Code rewrote ~/.claude.json as it ran (a copy inside): the host's file is as it was.
    assert (bench.home / ".claude.json").read_text() == "{}\n"
