"""`kro doctor` against the demo cluster, inside and outside a kro session (issue 9)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from kro_testing import BIN, KroSession

KRO = str(BIN / "kro")


def _doctor(kro_session: KroSession, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """kro doctor outside any session, with the test's private XDG dirs."""
    environ = kro_session.env(**env)
    environ.pop("KRO_SESSION", None)
    return subprocess.run(
        [KRO, "doctor", *args], capture_output=True, text=True, env=environ, timeout=120,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def _lines(stdout: str) -> dict[str, str]:
    """The report's check lines by name: {'kubectl': '✔ kubectl: /usr/bin/kubectl v1.32…', …}."""
    found = {}
    for line in stdout.splitlines():
        if line[:2] in ("✔ ", "✘ ", "· ") and ":" in line:
            found[line[2:].split(":", 1)[0]] = line
    return found


def test_healthy_session(kro_session: KroSession) -> None:
    """Inside a demo session: exit 0, the pinned context kro-demo reachable, the shim first on PATH."""
    proc = kro_session.sh(f"{KRO} doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = _lines(proc.stdout)
    assert lines["session"].startswith("✔ session: inside kro session")
    assert lines["shim"].startswith("✔ shim: kubectl on PATH is the session's shim")
    assert lines["kubectl"].startswith("✔ kubectl: /")
    assert lines["kubetail"][0] in "✔·", "kubetail is optional"
    assert lines["contexts"] == "✔ contexts: 1: kro-demo*"
    assert lines["context"].startswith("✔ context: kro-demo (pinned by the session")
    assert lines["reachable"].startswith("✔ reachable: kro-demo is reachable (/readyz: ok")
    assert lines["skew"].startswith("✔ skew: kubectl v1.32"), lines["skew"]  # the demo says v1.32.4
    assert lines["audit-log"].startswith(f"✔ audit-log: {kro_session.audit_log}")
    assert proc.stdout.rstrip().endswith("kro is ready.")
    assert kro_session.audit() == [], "doctor writes no audit record"


def test_healthy_session_json(kro_session: KroSession) -> None:
    """--json: one object, ok true, every check with name/ok/detail and no fix when it passed."""
    proc = kro_session.sh(f"{KRO} doctor --json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert set(report) == {"ok", "checks"}
    assert report["ok"] is True
    names = [c["name"] for c in report["checks"]]
    assert names == [
        "kro", "session", "shim", "agent", "proxy", "kubectl", "kubetail", "kubeconfig", "contexts",
        "context", "reachable", "skew",
        "audit-log", "cache",
    ]  # fmt: skip
    for check in report["checks"]:
        assert set(check) <= {"name", "ok", "detail", "fix"}
        assert check["ok"] is True, check
        assert "fix" not in check
    reachable = next(c for c in report["checks"] if c["name"] == "reachable")
    assert reachable["detail"].startswith("kro-demo is reachable")


def test_healthy_outside_a_session(kro_session: KroSession) -> None:
    """Outside a session, with the demo kubeconfig: both contexts listed, the chosen one reachable."""
    proc = _doctor(
        kro_session, "--kubeconfig", str(kro_session.demo.kubeconfig), "--context", "kro-demo-other"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = _lines(proc.stdout)
    assert lines["session"] == "· session: not inside a kro session (start agents with kro-run)"
    assert "shim" not in lines
    assert lines["contexts"] == "✔ contexts: 2: kro-demo*, kro-demo-other"
    assert lines["context"].startswith("✔ context: kro-demo-other (--context;")
    assert lines["reachable"].startswith("✔ reachable: kro-demo-other is reachable")


def _unreachable_kubeconfig(tmp: Path) -> str:
    path = tmp / "unreachable.kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        "clusters: [{name: gone, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: gone, user: {}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: gone}}]\n"
    )
    return str(path)


@pytest.mark.parametrize(
    ("args", "env", "failing", "fix"),
    [
        pytest.param(
            ("--context", "kro-demo"),
            {"PATH": f"/nonexistent{os.pathsep}{BIN}"},
            "kubectl",
            "install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH",
            id="kubectl-missing",
        ),
        pytest.param(
            ("--context", "nope"),
            {},
            "context",
            "pass --context with one of: kro-demo, kro-demo-other",
            id="unknown-context",
        ),
        pytest.param(
            ("--kubeconfig", "/nonexistent/kubeconfig"),
            {},
            "kubeconfig",
            "pass --kubeconfig PATH",
            id="kubeconfig-missing",
        ),
        pytest.param(
            ("--context", "kro-demo", "--audit-log", "/dev/null/audit.jsonl"),
            {},
            "audit-log",
            "choose another file with --audit-log",
            id="audit-log-unwritable",
        ),
        pytest.param(("UNREACHABLE",), {}, "reachable", "check that the cluster is up", id="unreachable"),
    ],
)
def test_problems_exit_1_with_the_fix(
    kro_session: KroSession,
    tmp_path: Path,
    args: tuple[str, ...],
    env: dict[str, str],
    failing: str,
    fix: str,
) -> None:
    """Each blocking problem: exit 1, a ✘ line for it, the fix below it, the same in --json."""
    kubeconfig = str(kro_session.demo.kubeconfig)
    if args == ("UNREACHABLE",):
        kubeconfig, args = _unreachable_kubeconfig(tmp_path), ("--timeout", "2")
    if "--kubeconfig" not in args:
        args = ("--kubeconfig", kubeconfig, *args)
    proc = _doctor(kro_session, *args, **env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    failed = [n for n, line in enumerate(lines) if line.startswith(f"✘ {failing}:")]
    assert failed, proc.stdout
    assert lines[failed[0] + 1] == f"    fix: {lines[failed[0] + 1].split('fix: ', 1)[1]}"
    assert fix in lines[failed[0] + 1]
    assert lines[-1].startswith("kro cannot be used here yet: fix ")
    report = json.loads(_doctor(kro_session, *args, "--json", **env).stdout)
    assert report["ok"] is False
    check = next(c for c in report["checks"] if c["name"] == failing)
    assert check["ok"] is False
    assert fix in check["fix"]


@pytest.mark.parametrize(
    ("script", "failing", "text"),
    [
        pytest.param(
            f"PATH=/usr/bin:/bin:$PATH {KRO} doctor", "shim", "not the session's shim", id="path-reset"
        ),
        pytest.param(
            f"{KRO} doctor --context kro-demo-other",
            "context",
            "this session is pinned to 'kro-demo'",
            id="other-context",
        ),
    ],
)
def test_problems_inside_a_session(kro_session: KroSession, script: str, failing: str, text: str) -> None:
    """Inside a session: a PATH that no longer starts with the shims, or another context, is a problem."""
    proc = kro_session.sh(f"{script}; echo rc=$?")
    assert "rc=1" in proc.stdout
    line = _lines(proc.stdout)[failing]
    assert line.startswith(f"✘ {failing}: ")
    assert text in line


def test_help_reads_like_a_man_page(kro_session: KroSession) -> None:
    """--help names every check and the exit statuses."""
    proc = _doctor(kro_session, "--help")
    assert proc.returncode == 0
    for word in ("usage: kro doctor", "reachable", "audit-log", "exit status:", "--json", "examples:"):
        assert word in proc.stdout
