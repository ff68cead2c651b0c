"""contrib/: the CI examples, run against the demo cluster."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kro_testing import BIN

from kro.audit_command import calls, problems
from kro.democluster.fixture import CRASHLOOP_POD

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "contrib" / "ci"


# --- CI examples --------------------------------------------------------------------------------


def _workflow_steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load((CI / "github-actions.yml").read_text())
    assert doc.get("on", doc.get(True)), "the workflow has triggers"  # YAML 1.1 reads `on` as True
    [job] = doc["jobs"].values()
    assert job["runs-on"]
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_github_actions_workflow() -> None:
    """Valid YAML: checkout, setup-python, pip install ., kro-run plain with an audit log, the artifact."""
    steps = _workflow_steps()
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses.index("actions/checkout") < uses.index("actions/setup-python")
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "pip install ." in runs
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
    assert any("pip install ." in line for line in job["before_script"])
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
    # the shims' calls (the API proxy adds one record per request it answered)
    return proc, [r for r in calls(json.loads(line) for line in lines) if r["tool"] != "api"]


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


# --- README's first example ---------------------------------------------------------------------


def _readme_example() -> tuple[str, list[str]]:
    """The first console block of README: its command and the transcript under it."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```console\n", 1)[1].split("```", 1)[0]
    first, *rest = block.splitlines()
    return first.removeprefix("$ "), rest


def _no_ages(lines: list[str]) -> list[str]:
    """The transcript without the restart's age, which moves with the demo's clock."""
    return [re.sub(r"\(\d+m\d+s ago\)", "(… ago)", line) for line in lines]


def test_readme_first_example_is_in_the_repository(tmp_path: Path) -> None:
    """README's `sh -x contrib/examples/agent.sh` transcript is what the script prints."""
    command, transcript = _readme_example()
    assert command == "kro-run --demo --output plain -- sh -x contrib/examples/agent.sh"
    assert (ROOT / "contrib" / "examples" / "agent.sh").is_file()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path),
           "XDG_RUNTIME_DIR": str(tmp_path)}  # fmt: skip
    argv = shlex.split(command)
    proc = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert proc.returncode == 77, proc.stdout  # the last line is blocked
    assert _no_ages(proc.stdout.splitlines()) == _no_ages(transcript)
