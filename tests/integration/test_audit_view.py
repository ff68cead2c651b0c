"""`kro audit` against a real session: one line per call, the proxy's requests folded, filters, follow."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from kro_testing import BIN, KroSession

from kro.sandbox.session_dir import find_real

KRO = str(BIN / "kro")
_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+Z [✔✘] ")


def _audit(log: Path, *args: str) -> list[str]:
    done = subprocess.run([KRO, "audit", "--file", str(log), *args], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    return done.stdout.splitlines()


@pytest.fixture
def ran(kro_session: KroSession) -> KroSession:
    """Plain mode (exec), envelope mode (an outcome), a blocked call, and kubectl by its real path."""
    real = find_real("kubectl", os.environ.get("PATH", ""))
    assert real
    plain = kro_session.sh("kubectl get pods -n demo >/dev/null; kubectl delete pod x -n demo; true")
    assert plain.returncode == 0, plain.stderr
    script = f"kubectl get deploy -n demo >/dev/null; {real} get ns >/dev/null; {real} delete ns demo; true"
    enveloped = kro_session.run("sh", "-c", script, output="envelope")
    assert enveloped.returncode == 0, enveloped.stderr
    return kro_session


def test_one_line_per_call_with_its_api_requests_folded(ran: KroSession) -> None:
    """Shim calls: one line each, ending in their API request count; no `exit None` anywhere."""
    lines = _audit(ran.audit_log)
    assert all(_LINE.match(line) for line in lines), lines
    assert "exit None" not in "\n".join(lines)
    get_pods = next(x for x in lines if "✔ kubectl get pods -n demo" in x)
    assert "run by exec (plain mode)" in get_pods
    assert re.search(r"last API answer \+\d+ ms \(HTTP 200\); \d+ API requests$", get_pods), get_pods
    assert any("✘ kubectl delete pod x -n demo" in x and "[verb.mutating]" in x for x in lines)
    get_deploy = next(x for x in lines if "✔ kubectl get deploy -n demo" in x)
    assert re.search(r"exit 0, [\d.]+ ms; \d+ API requests$", get_deploy), get_deploy
    # kubectl by its real path skipped the shim: its requests are lines of their own, the refusal shown
    own = [x for x in lines if " api " in x]
    assert any("✘ api DELETE /api/v1/namespaces/demo" in x and "[api.method]" in x for x in own), own
    assert any("✔ api GET /api/v1/namespaces?limit=500" in x for x in own), own
    calls = [r for r in ran.records() if r["tool"] != "api" and r.get("event") == "call"]
    assert len(lines) == len(calls) + len(own)
    assert len(lines) < len(ran.records()) - 2  # the proxy's lines are folded, not listed


def test_api_lists_the_requests_under_each_call(ran: KroSession) -> None:
    lines = _audit(ran.audit_log, "--api")
    at = next(n for n, x in enumerate(lines) if "✔ kubectl get deploy -n demo" in x)
    under = []
    for line in lines[at + 1 :]:
        if not line.startswith("    "):
            break
        under.append(line)
    assert any("GET /apis/apps/v1/namespaces/demo/deployments" in x and "HTTP 200" in x for x in under), under
    folded = int(re.search(r"(\d+) API requests", lines[at]).group(1))  # type: ignore[union-attr]
    assert len(under) == folded


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        pytest.param(("--tool", "api"), r" api (GET|DELETE|POST) ", id="audit.tool-api"),
        pytest.param(("--tool", "kubectl"), r" kubectl ", id="audit.tool-kubectl"),
        pytest.param(("--blocked",), r"^\S+ ✘ ", id="audit.blocked"),
    ],
)
def test_filters(ran: KroSession, args: tuple[str, ...], expect: str) -> None:
    lines = _audit(ran.audit_log, *args)
    assert lines
    assert all(re.search(expect, x) for x in lines), lines


def test_session_filter(ran: KroSession) -> None:
    sessions = sorted({r["session"] for r in ran.records()})
    assert len(sessions) == 2  # two kro-run sessions
    mine = _audit(ran.audit_log, "--session", sessions[0][:6])
    others = _audit(ran.audit_log, "--session", sessions[1])
    assert mine
    assert others
    assert len(mine) + len(others) == len(_audit(ran.audit_log))
    assert _audit(ran.audit_log, "--session", "no-such-session") == []


def test_help_examples_work(ran: KroSession) -> None:
    """Every example in `kro audit --help` runs (against this log) and says something."""
    text = subprocess.run([KRO, "audit", "--help"], capture_output=True, text=True, check=True).stdout
    examples = [line.strip().split("  ")[0] for line in text.split("examples:\n", 1)[1].splitlines()]
    assert len(examples) >= 5, text
    session = ran.records()[0]["session"]
    for example in examples:
        words = shlex.split(example)
        if "-f" in words or ("jq" in words and shutil.which("jq") is None):
            continue  # follow has its own test
        assert example.startswith("kro audit"), example
        head = f"{KRO} audit --file {shlex.quote(str(ran.audit_log))}"
        cmd = head + example.removeprefix("kro audit").replace("41c1", session[:4])
        done = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, (example, done.stderr)
        assert done.stdout.strip(), example


def test_follow_prints_calls_as_they_end(kro_session: KroSession) -> None:
    """-f: a call's line appears once it has ended (its outcome written), with its requests counted."""
    follower = subprocess.Popen([KRO, "audit", "-f", "--file", str(kro_session.audit_log)],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        kro_session.run(
            "sh", "-c", "kubectl get pods -n demo >/dev/null; kubectl delete pod x", output="envelope"
        )
        assert follower.stdout is not None
        os.set_blocking(follower.stdout.fileno(), False)
        seen = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "kubectl delete pod x" not in seen:
            seen += follower.stdout.read() or ""
            time.sleep(0.2)
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    lines = seen.splitlines()
    assert re.search(r"✔ kubectl get pods -n demo .* exit 0, [\d.]+ ms; \d+ API requests$", lines[0]), lines
    assert "✘ kubectl delete pod x" in lines[1], lines


def test_plain_calls_show_their_end_when_kro_stays_the_parent(kro_session: KroSession) -> None:
    """Plain mode with a bound (--call-timeout) keeps the shim as parent: its line has the exit and time."""
    proc = kro_session.run(
        "sh", "-c", "kubectl get pods -n demo >/dev/null", options=("--call-timeout", "60s")
    )
    assert proc.returncode == 0, proc.stderr
    [line] = _audit(kro_session.audit_log)
    assert re.search(
        r"✔ kubectl get pods -n demo  \(kro-demo\)  exit 0, [\d.]+ ms; \d+ API requests$", line
    ), line
