"""Shell composition in envelope sessions: a pipe or $(…) gets the envelope; kro says so; KRO_RAW=1 helps."""

from __future__ import annotations

import re
import shutil

import pytest
from kro_testing import KroSession, envelope
from test_confine import needs_bwrap

from kro.democluster.fixture import CRASHLOOP_POD, FAKE_BEARER_TOKEN

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
HINT = re.compile(
    r"^kro: this kubectl call's stdout is a pipe, \$\(…\) or a file.*?: (KRO_RAW=1 kubectl .*)$", re.M
)


@pytest.mark.parametrize(
    "options", [pytest.param((), id="direct"), pytest.param(("--confine",), id="confine", marks=needs_bwrap)]
)
def test_the_first_piped_mistake_names_the_command_that_works(
    kro_session: KroSession, options: tuple[str, ...]
) -> None:
    """`kubectl … -o json | jq '.items[]'` fails in jq; kro's stderr line gives the call that works there."""
    mistake = kro_session.run(
        "bash",
        "-c",
        "kubectl get pods -n demo -o json | jq -r '.items[].metadata.name'",
        output="envelope",
        options=options,
    )
    assert "Cannot iterate over null" in mistake.stderr
    found = HINT.search(mistake.stderr)
    assert found, mistake.stderr
    assert found.group(1) == "KRO_RAW=1 kubectl get pods -n demo -o json"
    fixed = kro_session.run(
        "bash", "-c", f"{found.group(1)} | jq -r '.items[].metadata.name'", output="envelope", options=options
    )
    assert fixed.returncode == 0, fixed.stderr
    assert "db-0" in fixed.stdout.splitlines()
    assert "kro:" not in fixed.stderr
    calls = kro_session.audit()
    assert [c["argv"] for c in calls] == [["get", "pods", "-n", "demo", "-o", "json"]] * 2
    assert all(c["decision"] == "allowed" for c in calls)


def test_command_substitution_captures_the_value_with_kro_raw(kro_session: KroSession) -> None:
    script = """
        x=$(kubectl get pods -n demo -o jsonpath='{.items[0].metadata.name}')
        echo "x=$x"
        y=$(KRO_RAW=1 kubectl get pods -n demo -o jsonpath='{.items[0].metadata.name}')
        echo "y=$y"
    """
    proc = kro_session.run("bash", "-c", script, output="envelope")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith('x={"kro":"1"'), lines
    assert lines[1] == "y=db-0"
    assert "KRO_RAW=1 kubectl get pods -n demo -o 'jsonpath={.items[0].metadata.name}'" in proc.stderr


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("kubectl get pods -n demo", id="exec-by-shell"),
        pytest.param("true; kubectl get pods -n demo", id="shell-parent"),
        pytest.param("cd / && kubectl get pods -n demo 2>&1", id="stderr-merged"),
        pytest.param("{ kubectl get pods -n demo; }", id="group"),
    ],
)
def test_no_hint_when_the_envelope_reaches_the_caller(kro_session: KroSession, script: str) -> None:
    proc = kro_session.run("bash", "-c", script, output="envelope")
    assert envelope(proc.stdout)["status"] == "ok"
    assert "kro:" not in proc.stderr


def test_kro_raw_keeps_policy_audit_and_redaction(kro_session: KroSession) -> None:
    script = f"""
        KRO_RAW=1 kubectl delete pod {CRASHLOOP_POD} -n demo | cat; echo "rc=${{PIPESTATUS[0]}}"
        KRO_RAW=1 kubectl logs {CRASHLOOP_POD} -n demo | grep Authorization
    """
    proc = kro_session.run("bash", "-c", script, output="envelope")
    assert "✘ BLOCKED: 'delete' is a mutating command" in proc.stderr
    assert "rc=77" in proc.stdout
    assert "Authorization: Bearer [REDACTED]" in proc.stdout
    assert FAKE_BEARER_TOKEN not in proc.stdout + proc.stderr
    assert [c["decision"] for c in kro_session.audit()] == ["blocked", "allowed"]
