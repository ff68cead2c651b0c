"""kro-run --approvals on the demo cluster: queue, approve once from outside, deny, expire, refuse inside.

The demo cluster answers every write with 405 and logs it, so "applied exactly once" here means exactly
one non-dry-run PATCH reached the server, after the approval and never before; the real write and the
approver's identity are proven against the real kube-apiserver in tests/e2e/test_approvals_e2e.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from approvals_testing import (
    SCALE,
    audit_lines,
    kro,
    pending,
    start_agent,
    stop_agents,  # noqa: F401 - the autouse fixture ending leftover agents
    writes,
)
from kro_testing import BIN, KroSession, envelope, wait_for

from kro.audit_command import problems

SCALE_PATH = "/apis/apps/v1/namespaces/demo/deployments/web/scale"


def _kro_run(session: KroSession, *options: str, output: str = "plain") -> list[str]:
    return [
        str(BIN / "kro-run"),
        "--kubeconfig",
        str(session.demo.kubeconfig),
        "--context",
        "kro-demo",
        "--audit-log",
        str(session.audit_log),
        "--output",
        output,
        "--approvals",
        *options,
    ]


def test_queued_approved_once_result_returned_once_then_queued_anew(kro_session: KroSession) -> None:
    """The acceptance path, plain mode: queue → kro approve --yes → one PATCH → result once → new request."""
    cluster = kro_session.demo.cluster
    before = len(cluster.requests())
    agent = start_agent(
        _kro_run(kro_session), [SCALE, SCALE, SCALE, SCALE], kro_session.tmp / "agent", kro_session.env()
    )
    code, _, err = agent.result(1)
    assert code == 77
    [request] = pending(kro_session.env())
    n = request["id"]
    assert f"queued as request {n}; ask the user to approve it with `kro approve {n}`" in err
    assert request["argv"] == ["scale", "deploy/web", "--replicas=3"]
    assert (request["context"], request["namespace"]) == ("kro-demo", "demo")

    agent.go(2)  # an identical call while pending: the same request, not a second one
    agent.wait_ready(3)
    assert agent.result(2)[0] == 77
    assert f"queued as request {n};" in agent.result(2)[2]
    assert [r["id"] for r in pending(kro_session.env())] == [n]
    assert writes(cluster.requests()[before:]) == [], "nothing reached the server before the approval"

    looked = kro(kro_session.env(), "approve", str(n))  # no terminal, no --yes: the user only looks
    assert looked.returncode == 1
    assert "will run:     kubectl scale --context=kro-demo --namespace=demo deploy/web" in looked.stdout
    assert "no terminal to ask on, so nothing was sent to the cluster" in looked.stderr
    assert cluster.requests()[before:] == [], "looking sent nothing at all, not even a GET"

    approved = kro(kro_session.env(), "approve", str(n), "--yes")
    assert "agent asked:  kubectl scale deploy/web --replicas=3" in approved.stdout
    assert (
        "will run:     kubectl scale --context=kro-demo --namespace=demo deploy/web --replicas=3"
        in approved.stdout
    )
    assert (
        "preview (kubectl scale --context=kro-demo --namespace=demo deploy/web --replicas=3 --dry-run=server;"
        in approved.stdout
    )
    assert approved.returncode == 1  # the demo refuses writes: kubectl's own exit code
    sent = writes(cluster.requests()[before:])
    assert [(r["method"], r["path"], r["query"]) for r in sent] == [
        ("PATCH", SCALE_PATH, "dryRun=All"),  # the preview, a server-side dry run
        ("PUT", SCALE_PATH, ""),  # the one real write attempt, bound to the previewed resourceVersion
    ]
    assert kro(kro_session.env(), "approve", str(n), "--yes").returncode == 1, "single use"

    agent.go(3)  # the agent asks again: the recorded result, once
    agent.wait_ready(4)
    code, _out, err = agent.result(3)
    assert code == 1
    assert "MethodNotAllowed" in err
    assert f"request {n} was approved by" in err
    assert "this is its recorded result" in err
    agent.go(4)  # and again: a new request
    assert agent.finish().returncode == 0
    code, _, err = agent.result(4)
    assert code == 77
    assert f"queued as request {n + 1};" in err
    assert len(writes(cluster.requests()[before:])) == 2, "the retries reached nothing"

    records = audit_lines(kro_session.audit_log)
    assert [(r["tool"], r["decision"], r["rule"], r["exit_code"]) for r in records] == [
        ("kubectl", "blocked", "verb.mutating", 77),  # the request
        ("kubectl", "blocked", "verb.mutating", 77),  # the identical call while pending
        ("kro approve", "allowed", "approval.approved", None),  # who and when
        ("kubectl", "allowed", "approval.run", 1),  # the run and its exit code
        ("kro approve", "blocked", "approval.refused", 1),  # the second approval: used once
        ("kubectl", "allowed", "approval.result", 1),  # the recorded result handed to the agent
        ("kubectl", "blocked", "verb.mutating", 77),  # the new request
    ]
    assert "approved by" in records[2]["reason"]
    assert "(uid " in records[2]["reason"]
    assert records[3]["argv"][:5] == [
        "scale",
        "--context=kro-demo",
        "--namespace=demo",
        "deploy/web",
        "--replicas=3",
    ]
    assert records[3]["argv"][5].startswith("--resource-version=")
    assert "bound to Deployment/web uid=" in records[2]["reason"]
    assert all(problems(line.encode()) == [] for line in kro_session.audit_log.read_text().splitlines())


def test_envelope_carries_the_request_and_then_the_approved_result(kro_session: KroSession) -> None:
    """Envelope mode: `approval: {id, status: pending, expires}` (schema-checked), then the result once."""
    agent = start_agent(
        _kro_run(kro_session, output="envelope"),
        [SCALE, SCALE, SCALE],
        kro_session.tmp / "a",
        kro_session.env(),
    )
    queued = envelope(agent.result(1)[1])
    n = queued["approval"]["id"]
    assert queued["status"] == "error"
    assert queued["kind"] == "policy"
    assert queued["rule"] == "verb.mutating"
    assert queued["approval"]["status"] == "pending"
    assert queued["approval"]["expires"].endswith("Z")
    assert f"queued as request {n}; ask the user to approve it with `kro approve {n}`" in queued["message"]
    assert kro(kro_session.env(), "approve", str(n), "--yes").returncode == 1
    agent.go(2)
    agent.wait_ready(3)
    result = envelope(agent.result(2)[1])
    assert result["status"] == "error"
    assert result["kind"] == "user"
    assert "MethodNotAllowed" in result["message"]
    assert "recorded result" in result["message"]
    assert result["approval"]["id"] == n
    assert result["approval"]["status"] == "approved"
    assert result["approval"]["exit_code"] == 1
    assert result["approval"]["approver"]
    agent.go(3)
    agent.finish()
    again = envelope(agent.result(3)[1])
    assert again["approval"]["status"] == "pending"
    assert again["approval"]["id"] == n + 1


def test_denied_request_never_runs_and_the_agent_is_told_once(kro_session: KroSession) -> None:
    """kro deny N --reason: nothing reaches the server; the agent's retry hears the reason, then re-queues."""
    cluster = kro_session.demo.cluster
    before = len(cluster.requests())
    agent = start_agent(
        _kro_run(kro_session), [SCALE, SCALE, SCALE], kro_session.tmp / "a", kro_session.env()
    )
    [request] = pending(kro_session.env())
    n = request["id"]
    denied = kro(kro_session.env(), "deny", str(n), "--reason", "web stays at one replica today")
    assert denied.returncode == 0, denied.stderr
    approve = kro(kro_session.env(), "approve", str(n), "--yes")
    assert approve.returncode == 1
    assert "denied" in approve.stderr
    agent.go(2)
    agent.wait_ready(3)
    code, _, err = agent.result(2)
    assert code == 77
    assert f"request {n} was denied by" in err
    assert "web stays at one replica today" in err
    agent.go(3)
    agent.finish()
    assert f"queued as request {n + 1};" in agent.result(3)[2]
    assert writes(cluster.requests()[before:]) == []
    rules = [(r["tool"], r["rule"]) for r in audit_lines(kro_session.audit_log)]
    assert ("kro deny", "approval.denied") in rules
    assert ("kubectl", "approval.denied") in rules
    assert ("kro approve", "approval.refused") in rules


def test_expired_request_never_runs(kro_session: KroSession) -> None:
    """--approval-ttl 1s: after expiry kro approve refuses, nothing reaches the server, a retry re-queues."""
    cluster = kro_session.demo.cluster
    before = len(cluster.requests())
    agent = start_agent(
        _kro_run(kro_session, "--approval-ttl", "1s"),
        [SCALE, SCALE],
        kro_session.tmp / "a",
        kro_session.env(),
    )
    err = agent.result(1)[2]
    n = int(err.split("queued as request ")[1].split(";")[0])
    wait_for(lambda: pending(kro_session.env()) == [], "the request to expire (--approval-ttl 1s)")
    approve = kro(kro_session.env(), "approve", str(n), "--yes")
    assert approve.returncode == 1
    assert "expired" in approve.stderr
    agent.go(2)
    agent.finish()
    assert f"queued as request {n + 1};" in agent.result(2)[2]
    assert writes(cluster.requests()[before:]) == []


def test_approval_commands_refuse_inside_the_session(kro_session: KroSession) -> None:
    """Inside a seatbelt session kro approve/deny/approvals refuse (KRO_SESSION, or the kro-run ancestor)."""
    script = (
        f"{SCALE} 2>/dev/null; "
        "kro approve 1 --yes; echo rc=$?; "
        "env -u KRO_SESSION PATH=/usr/bin:/bin kro approve 1 --yes; echo rc=$?; "
        "kro deny 1; echo rc=$?; kro approvals; echo rc=$?"
    ).replace("kro ", f"{BIN}/kro ")
    done = kro_session.sh(script, options=("--approvals",))
    assert done.stdout.count("rc=77") == 4, (done.stdout, done.stderr)
    assert "KRO_SESSION is set" in done.stderr
    assert "an ancestor" in done.stderr  # with KRO_SESSION and the shims' PATH gone
    assert not any(r["rule"].startswith("approval.") for r in kro_session.audit())


def test_mutations_that_read_local_files_are_not_queued(kro_session: KroSession, tmp_path: Path) -> None:
    """apply -f, config edits and edit stay plain blocks, saying why; nothing is queued."""
    (tmp_path / "x.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    done = kro_session.sh(
        f"kubectl apply -f {tmp_path}/x.yaml; kubectl config use-context kro-demo-other; "
        "kubectl edit deploy/web",
        options=("--approvals",),
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 3, done.stderr
    assert all(line.startswith("✘ BLOCKED:") for line in lines), done.stderr
    assert "-f reads local files" in lines[0]
    assert "edit a kubeconfig" in lines[1]
    assert "needs an editor" in lines[2]
    assert "queued as request" not in done.stderr
    rules = [r["rule"] for r in kro_session.audit()]
    assert rules == ["approval.local-input", "approval.scope", "approval.scope"]


def test_watch_lists_new_requests(kro_session: KroSession) -> None:
    """kro approvals --watch prints a request as it arrives."""
    import subprocess

    watch = subprocess.Popen(
        [str(BIN / "kro"), "approvals", "--watch", "--json"],
        env=kro_session.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        agent = start_agent(
            _kro_run(kro_session),
            # A third step keeps the session alive (and its requests listed) until the watch saw both.
            [SCALE, "kubectl delete pod x -n demo", "true"],
            kro_session.tmp / "a",
            kro_session.env(),
        )
        first = json.loads(watch.stdout.readline() if watch.stdout else "{}")
        assert first["argv"] == ["scale", "deploy/web", "--replicas=3"]
        assert first["status"] == "pending"
        agent.go(2)
        second = json.loads(watch.stdout.readline() if watch.stdout else "{}")
        assert second["argv"] == ["delete", "pod", "x", "-n", "demo"]
        assert second["namespace"] == "demo"
        agent.go(3)
        agent.finish()
    finally:
        watch.terminate()
        watch.wait(timeout=10)


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_confirmation_is_asked_on_the_terminal(kro_session: KroSession) -> None:
    """Without --yes: the preview is asked for (no: nothing sent), then the run ('n' keeps it pending)."""
    cluster = kro_session.demo.cluster
    agent = start_agent(_kro_run(kro_session), [SCALE, "true"], kro_session.tmp / "a", kro_session.env())
    [request] = pending(kro_session.env())
    before = len(cluster.requests())

    def at_terminal(answer: str) -> subprocess.CompletedProcess[str]:
        command = f"{BIN / 'kro'} approve {request['id']}"
        return subprocess.run(["script", "-qec", command, "/dev/null"], input=answer, env=kro_session.env(),
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    looked = at_terminal("n\n")  # looking, then no preview: nothing reaches the server
    will_run = "will run:     kubectl scale --context=kro-demo --namespace=demo deploy/web --replicas=3"
    assert will_run in looked.stdout
    assert "Preview it with a server-side dry run, as you, on context kro-demo? [y/N]" in looked.stdout
    assert "no preview asked for" in looked.stdout
    assert cluster.requests()[before:] == [], "looking sent nothing, not even a GET"
    refused = at_terminal("y\nn\n")
    assert "Run it once, with your credentials? [y/N]" in refused.stdout
    assert "not confirmed" in refused.stdout
    assert [r["query"] for r in writes(cluster.requests()[before:])] == ["dryRun=All"]
    assert [r["id"] for r in pending(kro_session.env())] == [request["id"]]
    accepted = at_terminal("y\ny\n")
    assert "target:       Deployment/web uid=" in accepted.stdout
    assert "ran (exit 1)" in accepted.stdout
    assert [r["query"] for r in writes(cluster.requests()[before:])] == ["dryRun=All", "dryRun=All", ""]
    agent.go(2)
    agent.finish()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            ("--approval-ttl", "5m"), "--approval-ttl applies only with --approvals", id="ttl-alone"
        ),
        pytest.param(
            ("--approvals", "--approval-ttl", "soon"), "--approval-ttl wants a duration", id="ttl-bad"
        ),
    ],
)
def test_bad_approval_options_are_usage_errors(kro_session: KroSession, options: tuple[str, ...],
                                              message: str) -> None:  # fmt: skip
    done = kro_session.run("true", options=options)
    assert done.returncode == 2
    assert message in done.stderr
