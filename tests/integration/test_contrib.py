"""contrib/: the Claude Code PreToolUse hook, and the CI examples run against the demo cluster (issue 9)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kro_testing import BIN, KroSession

from kro.audit_command import problems
from kro.democluster.fixture import CRASHLOOP_POD

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "contrib" / "claude-code" / "kro-pretooluse.py"
CI = ROOT / "contrib" / "ci"


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


def hook_env(path: str | None = None) -> dict[str, str]:
    """The hook's environment outside a kro session, with the venv's `kro` on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "KRO_SESSION"}
    env["PATH"] = path if path is not None else f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_hook(stdin: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None, str]:
    """Run the hook; returns (exit code, the decision it printed or None, stderr)."""
    proc = subprocess.run(
        [sys.executable, str(HOOK)], input=stdin, capture_output=True, text=True,
        env=env or hook_env(), timeout=60, check=False,
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


DENY = [
    pytest.param("/usr/bin/kubectl get pods", "runs a kubectl binary by path", id="direct-binary"),
    pytest.param("./bin/kubectl get pods", "runs a kubectl binary by path", id="relative-binary"),
    pytest.param("kubectl.1.32 get pods", "runs a real kubectl binary directly", id="versioned-binary"),
    pytest.param("command kubectl delete pod x", "[verb.mutating]", id="command"),
    pytest.param("command -p kubectl get pods", "searches a default PATH", id="command-p"),
    pytest.param("env FOO=1 kubectl delete pod x", "[verb.mutating]", id="env"),
    pytest.param("env -i kubectl get pods", "clears the environment", id="env-i"),
    pytest.param("PATH=/usr/bin kubectl get pods", "changes PATH", id="path-assignment"),
    pytest.param("export PATH=/usr/bin; kubectl get pods", "changes PATH", id="path-export"),
    pytest.param("KUBECONFIG=/tmp/other kubectl get pods", "sets KUBECONFIG", id="kubeconfig-assignment"),
    pytest.param("kubectl get pods -o name | xargs kubectl delete", "[verb.mutating]", id="xargs"),
    pytest.param("cat pods.txt | xargs kubectl", "takes kubectl's command from stdin", id="xargs-no-verb"),
    pytest.param("sh -c 'kubectl delete ns x'", "[verb.mutating]", id="sh-c"),
    pytest.param('bash -lc "kubectl -n get delete pod x"', "[verb.mutating]", id="bash-c-flag-value"),
    pytest.param("bash <<< 'kubectl delete pod x'", "[verb.mutating]", id="here-string"),
    pytest.param("bash <<EOF\nkubectl delete pod x\nEOF", "[verb.mutating]", id="here-doc-to-shell"),
    pytest.param("echo 'kubectl delete pod x' | sh", "runs a script from stdin", id="pipe-to-sh"),
    pytest.param("eval 'kubectl delete pod x'", "[verb.mutating]", id="eval"),
    pytest.param("exec kubectl delete pod x", "[verb.mutating]", id="exec"),
    pytest.param("sudo kubectl get pods", "as another user", id="sudo"),
    pytest.param("timeout 5 kubectl delete pod x", "[verb.mutating]", id="timeout"),
    pytest.param("watch -n 5 kubectl delete pod x", "[verb.mutating]", id="watch"),
    pytest.param("find . -name '*.yaml' -exec kubectl apply -f {} \\;", "[verb.mutating]", id="find-exec"),
    pytest.param(
        "kubectl get pods && kubectl delete pod x", "`kubectl delete pod x` is blocked", id="and-list"
    ),
    pytest.param("kubectl version; kubectl delete pod x", "`kubectl delete pod x` is blocked", id="sequence"),
    pytest.param("(cd /tmp && kubectl delete pod x)", "[verb.mutating]", id="subshell"),
    pytest.param('echo "$(kubectl delete pod x)"', "[verb.mutating]", id="command-substitution"),
    pytest.param("echo `kubectl delete pod x`", "[verb.mutating]", id="backticks"),
    pytest.param("ku''bectl delete pod x", "[verb.mutating]", id="quoted-name"),
    pytest.param("echo a#b; kubectl delete pod x", "[verb.mutating]", id="hash-inside-word"),
    pytest.param("kubectl get secrets -o yaml", "[secret.value-exposure]", id="secret-values"),
    pytest.param("kubectl --context other get pods", "[global.context-pinned]", id="context-unpinned"),
    pytest.param("kubectl logs $POD", "shell expansions", id="expansion"),
    pytest.param(
        "python3 -c \"import os; os.system('kubectl delete pod x')\"", "runs code kro cannot see", id="python"
    ),
    pytest.param("docker run bitnami/kubectl delete pod x", "runs kubectl somewhere else", id="container"),
    pytest.param("alias k=kubectl", "hides kubectl behind an alias", id="alias"),
    pytest.param('kubectl() { command kubectl "$@"; }', "redefines kubectl", id="function"),
    pytest.param("kubectl-neat get pod x", "kubectl plugin binary", id="plugin-binary"),
    pytest.param("kubectl get pods 'unbalanced", "could not parse this command", id="unbalanced-quotes"),
]

ALLOW = [
    pytest.param("kubectl get pods", id="bare-read"),
    pytest.param("kubectl get pods -n demo -o wide 2>&1 | head -20", id="read-in-pipeline"),
    pytest.param("kubectl logs web --tail 10 > /tmp/web.log", id="redirect-keeps-flag-value"),
    pytest.param("kubectl get pods -o name | xargs kubectl describe", id="xargs-read"),
    pytest.param("env FOO=1 timeout 10 kubectl get pods", id="wrapped-read"),
    pytest.param("kubectl get pods # then kubectl delete pod x", id="comment"),
    pytest.param("kubectl get pods -o jsonpath='{.items[*].metadata.name}'", id="jsonpath"),
    pytest.param("kubectl-ro get pods", id="kubectl-ro"),
    pytest.param("ls -la", id="unrelated"),
    pytest.param("echo kubectl", id="echo-word"),
    pytest.param("grep -rn 'kubectl delete' docs/", id="grep"),
    pytest.param("command -v kubectl", id="command-v"),
    pytest.param("git commit -m 'document kubectl usage'", id="commit-message"),
    pytest.param("cat > notes.md <<'EOF'\nkubectl delete pod x\nEOF", id="here-doc-data"),
    pytest.param("bash ./build.sh", id="script-without-kubectl"),
]


@pytest.mark.parametrize(("command", "reason"), DENY)
def test_hook_denies(command: str, reason: str) -> None:
    """Blocked or shim-skipping kubectl calls: a deny decision naming the reason, exit 0."""
    code, decision, stderr = run_hook(payload(command))
    assert code == 0, stderr
    text = denial(decision)
    assert reason in text
    assert text.startswith("kro (read-only Kubernetes session) refused this Bash command:")


@pytest.mark.parametrize("command", ALLOW)
def test_hook_allows_silently(command: str) -> None:
    """Allowed reads and commands without kubectl: no output, exit 0."""
    assert run_hook(payload(command)) == (0, None, "")


def test_hook_direct_binary_denied_even_when_allowed() -> None:
    """A path to the real kubectl is refused although the policy allows the read, and the way out is named."""
    text = denial(run_hook(payload("/usr/bin/kubectl get pods -n demo"))[1])
    assert "[" not in text.split("\n")[1], "the read itself is not blocked by the policy"
    assert "run it as plain `kubectl get pods -n demo`" in text


@pytest.mark.parametrize(
    ("stdin", "denied"),
    [
        pytest.param(payload("kubectl delete pod x", tool="Read"), False, id="other-tool"),
        pytest.param(json.dumps({"tool_name": "Bash", "tool_input": {}}), False, id="no-command"),
        pytest.param("not json", False, id="garbage"),
        pytest.param(
            '{"tool_name": "Bash", "tool_input": {"command": "kubectl delete',
            True,
            id="cut-mentioning-kubectl",
        ),
    ],
)
def test_hook_odd_payloads(stdin: str, denied: bool) -> None:
    """Payloads it cannot use pass, unless they mention kubectl (a broken hook must not fail open)."""
    code, decision, _ = run_hook(stdin)
    assert code == 0
    assert (decision is not None) == denied
    if denied:
        assert "kro's hook failed" in denial(decision)


def test_hook_fails_closed_without_kro(tmp_path: Path) -> None:
    """No `kro` to ask: kubectl commands are refused with the fix, others still pass."""
    env = hook_env(path=str(tmp_path))
    assert "install kro or set KRO_BIN" in denial(run_hook(payload("kubectl get pods"), env)[1])
    assert run_hook(payload("ls"), env) == (0, None, "")


def test_hook_inside_a_session(kro_session: KroSession, tmp_path: Path) -> None:
    """In a kro session the hook pins decisions to the session's context; the shim by path is fine."""
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
        lines.append(f"{sys.executable} {HOOK} < {tmp_path}/{name}.json > {tmp_path}/{name}.out")
    env = kro_session.env(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = kro_session.sh("\n".join(lines), env=env)
    assert proc.returncode == 0, proc.stderr
    for name, (_, reason) in cases.items():
        out = (tmp_path / f"{name}.out").read_text()
        if reason is None:
            assert out == "", (name, out)
        else:
            assert reason in denial(json.loads(out)), name
    assert kro_session.audit() == [], "the hook decides without running kubectl"


def test_claude_settings_snippet() -> None:
    """settings.json registers the hook for the Bash tool under hooks.PreToolUse."""
    settings = json.loads((ROOT / "contrib" / "claude-code" / "settings.json").read_text())
    [entry] = settings["hooks"]["PreToolUse"]
    assert entry["matcher"] == "Bash"
    [hook] = entry["hooks"]
    assert hook["type"] == "command"
    assert hook["command"].endswith('kro-pretooluse.py"')
    assert os.access(HOOK, os.X_OK)


# --- CI examples --------------------------------------------------------------------------------


def _workflow_steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load((CI / "github-actions.yml").read_text())
    assert doc.get("on", doc.get(True)), "the workflow has triggers"  # YAML 1.1 reads `on` as True
    [job] = doc["jobs"].values()
    assert job["runs-on"]
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_github_actions_workflow() -> None:
    """Valid YAML: checkout, setup-python, pip install kro, kro-run plain with an audit log, the artifact."""
    steps = _workflow_steps()
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses.index("actions/checkout") < uses.index("actions/setup-python")
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "pip install kro" in runs
    diagnose = [s for s in steps if "kro-run" in s.get("run", "")]
    assert [s["run"] for s in diagnose] == [
        "kro-run --output plain --redact --audit-log audit.jsonl -- contrib/ci/diagnose.sh"
    ]
    [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "audit.jsonl"
    assert steps.index(upload) > steps.index(diagnose[0])


def test_gitlab_ci_job() -> None:
    """Valid YAML: one job running the script under kro-run, the audit log kept as an artifact always."""
    doc = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    [job] = doc.values()
    assert any("pip install kro" in line for line in job["before_script"])
    command = "--output plain --redact --audit-log audit.jsonl -- contrib/ci/diagnose.sh"
    assert any("kro-run" in line and command in line for line in job["script"])
    assert job["artifacts"]["paths"] == ["audit.jsonl"]
    assert job["artifacts"]["when"] == "always"


def _run_workflow_command(
    tmp_path: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """The workflow's kro-run line, with --demo and the audit log in tmp_path; returns the audit too."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH")
    [step] = [s for s in _workflow_steps() if "kro-run" in s.get("run", "")]
    argv = shlex.split(step["run"])
    audit = tmp_path / "audit.jsonl"
    argv[argv.index("--audit-log") + 1] = str(audit)
    argv = [str(BIN / "kro-run"), "--demo", *extra, *argv[1:]]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KRO_", "KUBECTL_"))}
    environ.update(
        XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_RUNTIME_DIR=str(tmp_path / "run"), **(env or {}),
    )  # fmt: skip
    (tmp_path / "run").mkdir(mode=0o700)
    proc = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, env=environ, timeout=300,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    lines = audit.read_bytes().splitlines() if audit.exists() else []
    for line in lines:
        assert problems(line) == []
    return proc, [json.loads(line) for line in lines]


def test_diagnose_script_under_kro_run_demo(tmp_path: Path) -> None:
    """The workflow's command with --demo: exit 0, nodes/pods/unhealthy pod shown, every read allowed."""
    proc, records = _run_workflow_command(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "demo-control-plane" in out
    assert "demo-worker" in out
    assert f"demo {CRASHLOOP_POD} crash" in out
    assert f"=== previous logs of demo/{CRASHLOOP_POD}" in out
    assert "startup failed" in out
    assert "BLOCKED" not in proc.stderr
    assert out.rstrip().endswith("10 read(s) ok, 0 failed, 0 blocked by kro")
    assert len(records) == 10
    assert {r["decision"] for r in records} == {"allowed"}
    assert {r["context"] for r in records} == {"kro-demo"}
    assert ["logs", CRASHLOOP_POD, "--namespace=demo", "--previous", "--all-containers", "--tail=200"] in [
        r["argv"][1:] for r in records
    ]


@pytest.mark.parametrize(
    ("extra", "env", "summary"),
    [
        pytest.param(("-n", "demo"), {}, "4 read(s) ok, 0 failed, 4 blocked by kro", id="namespace-blocks-A"),
        pytest.param(
            ("-n", "demo"),
            {"DIAGNOSE_NAMESPACE": "demo"},
            "10 read(s) ok, 0 failed, 0 blocked by kro",
            id="namespace-scoped",
        ),
        pytest.param(
            (),
            {"DIAGNOSE_NAMESPACE": "no-such-namespace"},
            "8 read(s) ok, 0 failed, 0 blocked by kro",
            id="namespace-missing",
        ),
    ],
)
def test_diagnose_script_never_fails_the_job(
    tmp_path: Path, extra: tuple[str, ...], env: dict[str, str], summary: str
) -> None:
    """Blocked reads (exit 77) and missing resources are reported, and the script still exits 0."""
    proc, records = _run_workflow_command(tmp_path, *extra, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith(summary)
    blocked = [r for r in records if r["decision"] == "blocked"]
    assert len(blocked) == int(summary.split(", ")[-1].split()[0])
    assert proc.stdout.count("(blocked by kro's read-only policy; skipped)") + proc.stdout.count(
        "(listing pods was blocked"
    ) == len(blocked)
