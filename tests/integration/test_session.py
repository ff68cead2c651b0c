"""kro-run and the kubectl shim against the demo cluster, with the real kubectl (issue: shim & kro-run)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kro_testing import BIN, KroSession, require_shared, shared_path

from kro.audit_command import problems

CORPUS = shared_path("corpus", "policy.jsonl")
# The corpus is written for a session pinned to "prod" with a second context "staging".
RENAME = {"prod": "kro-demo", "staging": "kro-demo-other"}


def _rename(arg: str) -> str:
    head, eq, value = arg.rpartition("=")
    return f"{head}{eq}{RENAME.get(value, value)}" if eq else RENAME.get(arg, arg)


def _corpus() -> list[dict[str, object]]:
    require_shared("corpus", "policy.jsonl")
    cases = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    for case in cases:
        case["argv"] = [_rename(a) for a in case["argv"]]  # type: ignore[union-attr]
    return cases


def test_corpus_through_the_shim(kro_session: KroSession, tmp_path: Path) -> None:
    """Every corpus line, run by a script as an agent would: blocks exit 77, reads run for real."""
    cases = _corpus()
    out = tmp_path / "out"
    out.mkdir()
    lines = []
    for n, case in enumerate(cases):
        words = " ".join(shlex.quote(a) for a in case["argv"])  # type: ignore[union-attr]
        lines.append(
            f"timeout 30 {case['tool']} {words} >{out}/{n}.out 2>{out}/{n}.err </dev/null;"
            f" echo $? >{out}/{n}.rc"
        )
    script = tmp_path / "agent.sh"
    script.write_text("\n".join(lines) + "\n")
    before = len(kro_session.demo.cluster.requests())
    proc = kro_session.run("sh", str(script), timeout=600)
    assert proc.returncode == 0, proc.stderr
    for n, case in enumerate(cases):
        code = int((out / f"{n}.rc").read_text())
        err = (out / f"{n}.err").read_text()
        if case["expect"] == "block":
            assert code == 77, (case, err)
            assert err.startswith("✘ BLOCKED: "), err
        else:
            assert code != 77, (case, err)
            assert "BLOCKED" not in err
    records = kro_session.audit()
    assert len(records) == len(cases)
    for case, record in zip(cases, records, strict=True):
        assert record["argv"] == case["argv"]
        assert record["tool"] == case["tool"]
        assert record["context"] == "kro-demo"
        assert record["decision"] == ("blocked" if case["expect"] == "block" else "allowed")
        if case["expect"] == "block":
            assert record["rule"] == case["rule"]
            assert record["exit_code"] == 77
            assert record["reason"]
    for line in kro_session.audit_log.read_bytes().splitlines():
        assert problems(line) == []
    methods = {(r["method"], r["path"]) for r in kro_session.demo.cluster.requests()[before:]}
    writes = {m for m in methods if m[0] not in ("GET", "HEAD") and "selfsubject" not in m[1]}
    assert writes == set()
    assert any(m[0] == "GET" for m in methods)


def test_session_environment_is_pinned(kro_session: KroSession) -> None:
    """Inside: current-context is the pinned one, KUBERC=off, KUBECTL_* gone, the shim first on PATH."""
    env = kro_session.env(KUBECTL_EXTERNAL_DIFF="/bin/evil", KUBECACHEDIR="/tmp/evil", KUBECTL_KUBERC="true")
    proc = kro_session.sh(
        'kubectl config current-context; echo "KUBERC=$KUBERC"; env | grep -c "^KUBECTL_\\|^KUBECACHEDIR" ;'
        ' command -v kubectl; kubectl config get-contexts -o name; echo "SESSION=$KRO_SESSION"',
        env=env,
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "kro-demo"
    assert lines[1] == "KUBERC=off"
    assert lines[2] == "0"
    assert lines[3].endswith("/bin/kubectl")
    assert lines[3] != shutil.which("kubectl")
    assert lines[4:5] == ["kro-demo"], "the minified kubeconfig holds only the pinned context"
    session_dir = lines[5].removeprefix("SESSION=")
    assert lines[3] == f"{session_dir}/bin/kubectl"


def test_minified_kubeconfig_is_private(kro_session: KroSession) -> None:
    """The session dir is 0700, the pinned kubeconfig and session.json 0600."""
    proc = kro_session.sh('stat -c "%a %n" "$KRO_SESSION" "$KUBECONFIG" "$KRO_SESSION/session.json"')
    modes = [line.split()[0] for line in proc.stdout.splitlines()]
    assert modes == ["700", "600", "600"], proc.stdout


def test_other_context_blocked_and_plain_output(kro_session: KroSession) -> None:
    """--context to another context is blocked with exit 77; allowed calls print kubectl's own output."""
    proc = kro_session.sh("kubectl --context=kro-demo-other get pods; echo rc=$?; kubectl get ns")
    assert "✘ BLOCKED: this session is pinned to context 'kro-demo'" in proc.stderr
    assert "rc=77" in proc.stdout
    assert "kube-system" in proc.stdout
    assert "NAME" in proc.stdout


def test_namespace_allowlist(kro_session: KroSession) -> None:
    """--namespace limits reads: the default namespace becomes the allowed one, others and -A block."""
    proc = kro_session.run(
        "sh",
        "-c",
        "kubectl get pods | grep -c web-; kubectl get pods -n kube-system; echo rc=$?;"
        " kubectl get pods -A; echo rc=$?",
        options=("--namespace", "demo"),
    )
    assert proc.stdout.splitlines()[0] == "3"
    assert proc.stdout.count("rc=77") == 2
    assert "may only read namespaces demo" in proc.stderr


@pytest.mark.load
def test_concurrent_shims_never_interleave(kro_session: KroSession) -> None:
    """200 concurrent shim calls leave 200 whole audit lines, each valid JSON."""
    long_arg = "x" * 3000
    script = (
        f"for i in $(seq 1 180); do kubectl delete pod p$i {long_arg} 2>/dev/null & done; "
        "for i in $(seq 1 20); do kubectl version --client >/dev/null & done; wait"
    )
    proc = kro_session.sh(script, timeout=300)
    assert proc.returncode == 0, proc.stderr
    raw = kro_session.audit_log.read_bytes().splitlines()
    for line in raw:
        assert problems(line) == []
    # the proxy's lines (the kubectl dispatcher asks /version) come on top of the shims' 200
    assert len([line for line in raw if b'"tool":"api"' not in line]) == 200
    records = kro_session.audit()
    assert sum(r["decision"] == "blocked" for r in records) == 180
    assert len({r["pid"] for r in records}) == 200


def test_audit_cli_reads_and_verifies(kro_session: KroSession) -> None:
    """kro audit shows, filters and verifies the log."""
    kro_session.sh("kubectl get ns >/dev/null; kubectl delete ns demo 2>/dev/null; true")
    kro = str(BIN / "kro")
    shown = subprocess.run(
        [kro, "audit", "--audit-log", str(kro_session.audit_log)], capture_output=True, text=True, check=True
    )
    assert "✔ kubectl get ns" in shown.stdout
    assert "✘ kubectl delete ns demo" in shown.stdout
    blocked = subprocess.run(
        [kro, "audit", "--file", str(kro_session.audit_log), "--blocked", "--json", "--since", "1h"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [json.loads(x)["rule"] for x in blocked.stdout.splitlines()] == ["verb.mutating"]
    ok = subprocess.run(
        [kro, "audit", "verify", "--file", str(kro_session.audit_log)], capture_output=True, text=True
    )
    assert ok.returncode == 0
    # the shims' two, and the proxy's: a call and an outcome record per request it forwarded
    total = 2 + sum(1 if r["state"] == "blocked" else 2 for r in kro_session.audit(api=True))
    assert ok.stdout.startswith(f"OK: {total} ")
    with kro_session.audit_log.open("a") as log:
        log.write('{"ts": "yesterday"}\nnot json\n')
    bad = subprocess.run(
        [kro, "audit", "verify", "--file", str(kro_session.audit_log)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert f":{total + 1}: missing session" in bad.stdout
    assert f":{total + 2}: not JSON" in bad.stdout


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        pytest.param(
            ("--kubeconfig", "/nonexistent/kubeconfig"), 78, "does not exist", id="config.kubeconfig-missing"
        ),
        pytest.param(("--kubeconfig", "/"), 78, "cannot read kubeconfig", id="config.kubeconfig-unreadable"),
        pytest.param(
            ("--context", "nope"), 78, "contexts there: kro-demo, kro-demo-other", id="config.unknown-context"
        ),
        pytest.param(
            ("--audit-log", "/dev/null/audit.jsonl"), 78, "cannot open the audit log", id="audit.unwritable"
        ),
    ],
)
def test_launcher_bad_input(
    kro_session: KroSession, options: tuple[str, ...], code: int, message: str
) -> None:
    """Each problem is one actionable line and the right exit code, never a traceback."""
    proc = kro_session.run("true", options=options)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_launcher_missing_kubectl_and_command(kro_session: KroSession) -> None:
    """kubectl not on PATH → 69 with the fix; an unknown CMD → 127."""
    no_kubectl = kro_session.run("true", env=kro_session.env(PATH="/nonexistent"))
    assert no_kubectl.returncode == 69
    assert "kubectl not found on PATH" in no_kubectl.stderr
    missing = kro_session.run("no-such-agent-cli")
    assert missing.returncode == 127
    assert "command not found: no-such-agent-cli" in missing.stderr


def test_shim_fails_closed_when_audit_unwritable(kro_session: KroSession) -> None:
    """If the audit record cannot be written the call does not run, and the reason is printed."""
    before = len(kro_session.demo.cluster.requests())
    proc = kro_session.sh(
        f"rm -f {kro_session.audit_log} && mkdir {kro_session.audit_log}"
        " && kubectl get pods -n demo; echo rc=$?"
    )
    assert "rc=78" in proc.stdout
    assert "cannot open the audit log" in proc.stderr
    assert "the call was not run" in proc.stderr
    assert len(kro_session.demo.cluster.requests()) == before


def test_shim_ignores_environment_overrides(kro_session: KroSession, tmp_path: Path) -> None:
    """An agent's KUBECONFIG/KUBECTL_* in a single call do not reach kubectl: the session decides."""
    other = tmp_path / "other-kubeconfig"
    other.write_text("apiVersion: v1\nkind: Config\ncontexts: []\n")
    proc = kro_session.sh(f"KUBECONFIG={other} kubectl config current-context")
    assert proc.stdout.strip() == "kro-demo"


def test_stale_sessions_are_reclaimed(kro_session: KroSession) -> None:
    """kro-run removes its session dir when it exits; one whose launcher died goes at the next start."""
    first = kro_session.sh('echo "$KRO_SESSION"').stdout.strip()
    assert first
    assert not Path(first).exists(), "kro-run stays the agent's parent and removes the dir at the end"
    stale = Path(first).parent / "session-stale"
    (stale / "bin").mkdir(parents=True)
    (stale / "session.json").write_text(json.dumps({"launcher_pid": 2**22 + 1}))  # above any pid_max
    second = kro_session.sh('echo "$KRO_SESSION"').stdout.strip()
    assert second != first
    assert not stale.exists()


def test_kubectl_ro_plugin(demo_cluster: object, kro_session: KroSession) -> None:
    """`kubectl ro` runs through the same policy, pinned to the kubeconfig's current context."""
    env = kro_session.env(
        KUBECONFIG=str(kro_session.demo.kubeconfig), KRO_AUDIT_LOG=str(kro_session.audit_log)
    )
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "ro", *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    ok = kubectl("get", "pods", "-n", "demo")
    assert ok.returncode == 0, ok.stderr
    assert "web-" in ok.stdout
    blocked = kubectl("delete", "pod", "x")
    assert blocked.returncode == 77
    assert "'delete' is a mutating command" in blocked.stderr
    other = kubectl("--context", "kro-demo-other", "get", "pods")
    assert other.returncode == 77
    assert [r["session"] for r in kro_session.audit()] == ["kubectl-ro"] * 3


def test_demo_tour_runs_without_a_terminal(tmp_path: Path) -> None:
    """`kro-run --demo` with no command and no terminal runs the scripted tour and exits."""
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    proc = subprocess.run(
        [str(BIN / "kro-run"), "--demo", "--output", "plain"], capture_output=True, text=True,
        stdin=subprocess.DEVNULL, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "web-" in proc.stdout
    assert proc.stdout.count("✘ BLOCKED") == 4
    tail = proc.stdout.split("# the audit log, as 'kro audit --session ", 1)[1].splitlines()[1:]
    assert "✘ kubectl --context kro-demo-other get pods  (kro-demo)  [global.context-pinned]" in proc.stdout
    assert len([x for x in tail if x.startswith("20")]) == 6, tail  # one line per call, no API lines
    assert '"tool"' not in proc.stdout
    audit = [json.loads(x) for x in (tmp_path / "kro" / "audit.jsonl").read_text().splitlines()]
    assert len([r for r in audit if r["tool"] != "api"]) == 6
    assert sys.executable


def test_plain_redact(kro_session: KroSession) -> None:
    """--output plain --redact: kubectl's own output and exit codes, secret-shaped values replaced."""
    from kro.democluster.fixture import CRASHLOOP_POD, FAKE_BEARER_TOKEN, FAKE_ENV_PASSWORD

    proc = kro_session.run(
        "sh", "-c",
        f"kubectl describe pod -n demo {CRASHLOOP_POD}; kubectl logs -n demo {CRASHLOOP_POD};"
        " kubectl get pod nosuch -n demo; echo rc=$?",
        options=("--redact",),
    )  # fmt: skip
    assert "DB_PASSWORD:  [REDACTED]" in proc.stdout
    assert "Authorization: Bearer [REDACTED]" in proc.stdout
    assert FAKE_ENV_PASSWORD not in proc.stdout + proc.stderr
    assert FAKE_BEARER_TOKEN not in proc.stdout + proc.stderr
    assert "rc=1" in proc.stdout
    assert 'pods "nosuch" not found' in proc.stderr
    assert [r["exit_code"] for r in kro_session.audit()] == [0, 0, 1]


def test_no_command_without_demo_is_a_usage_error(kro_session: KroSession) -> None:
    """Without a command (and without --demo, whose tour needs the demo cluster) kro-run says what to do."""
    proc = kro_session.run()
    assert proc.returncode == 2
    assert "give the command to run" in proc.stderr
