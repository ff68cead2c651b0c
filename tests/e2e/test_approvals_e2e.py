"""Approvals against the real kube-apiserver: the approved scale is one write, by the approving user.

The agent's session is pinned to context e2e-admin and kept read-only by kro; the user approves with
the same kubeconfig outside. The apiserver's audit log is the judge: no write before the approval,
exactly one (non-dry-run) patch of deployments/web/scale after it, by e2e-admin; denied and expired
requests add none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from approvals_testing import (
    SCALE,
    Terminal,
    audit_lines,
    kro,
    pending,
    start_agent,
    stop_agents,  # noqa: F401 - the autouse fixture ending leftover agents
)
from envtest_cluster import ADMIN_USER, SEEDED_NAMESPACE, RealCluster, kubectl
from kro_testing import BIN, wait_for
from test_kro_e2e import VALIDATOR, settled_audit_events, write_violations

pytestmark = pytest.mark.e2e


def _deployment(replicas: int) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": SEEDED_NAMESPACE},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]}}},
    })  # fmt: skip


@pytest.fixture
def web(real_cluster: RealCluster) -> Iterator[RealCluster]:
    """Deployment web (1 replica) in the seeded namespace, created by the admin, removed afterwards."""
    kubectl(real_cluster, "apply", "-f", "-", context=real_cluster.admin_context, input=_deployment(1),
            check=True)  # fmt: skip
    yield real_cluster
    kubectl(real_cluster, "delete", "deployment", "web", "-n", SEEDED_NAMESPACE, "--ignore-not-found",
            context=real_cluster.admin_context, check=True)  # fmt: skip


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" and not k.startswith("KUBECTL_")}
    (tmp / "run").mkdir(mode=0o700, exist_ok=True)
    env.update(XDG_CACHE_HOME=str(tmp / "cache"), XDG_STATE_HOME=str(tmp / "state"),
               XDG_RUNTIME_DIR=str(tmp / "run"), KUBERC="off")  # fmt: skip
    return env


def _kro_run(cluster: RealCluster, tmp: Path, *options: str, output: str = "plain") -> list[str]:
    return [str(BIN / "kro-run"), "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.admin_context,
            "-n", SEEDED_NAMESPACE, "--audit-log", str(tmp / "audit.jsonl"), "--output", output,
            "--approvals", *options]  # fmt: skip


def _scale_writes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Writes (dry runs aside) of deployment web, by anyone."""
    found = []
    for event in write_violations(events, ADMIN_USER):
        ref = event.get("objectRef") or {}
        if (
            ref.get("resource") == "deployments"
            and ref.get("name") == "web"
            and "dryRun" not in event["requestURI"]
        ):
            found.append(event)
    return found


def _replicas(cluster: RealCluster) -> int:
    done = kubectl(cluster, "get", "deploy/web", "-n", SEEDED_NAMESPACE, "-o", "jsonpath={.spec.replicas}",
                   context=cluster.admin_context, check=True)  # fmt: skip
    return int(done.stdout)


def _queued_id(err: str) -> int:
    return int(err.split("queued as request ")[1].split(";")[0])


def test_approved_scale_is_one_write_by_the_approver(web: RealCluster, tmp_path: Path) -> None:
    """Queued; kro approve --yes writes once as e2e-admin; the retry gets the result; the next re-queues."""
    env = _env(tmp_path)
    start = len(settled_audit_events(web))
    agent = start_agent(
        _kro_run(web, tmp_path, output="envelope"), [SCALE, SCALE, SCALE], tmp_path / "a", env
    )
    queued = json.loads(agent.result(1)[1])
    VALIDATOR.validate(queued)
    n = queued["approval"]["id"]
    assert queued["approval"]["status"] == "pending"
    assert f"queued as request {n}; ask the user to approve it with `kro approve {n}`" in queued["message"]
    assert _scale_writes(settled_audit_events(web)[start:]) == []

    approved = kro(env, "approve", str(n), "--yes")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "deployment.apps/web scaled (server dry run)" in approved.stdout  # the preview
    assert "deployment.apps/web scaled" in approved.stdout
    events = settled_audit_events(web)[start:]
    [write] = _scale_writes(events)
    assert write["user"]["username"] == ADMIN_USER
    assert write["verb"] == "update"  # kubectl scale --resource-version: bound to the previewed object
    assert write["objectRef"]["subresource"] == "scale"
    assert write["responseStatus"]["code"] == 200
    dry = [e for e in write_violations(events, ADMIN_USER) if "dryRun" in e.get("requestURI", "")]
    assert len(dry) == 1, "the preview was one server-side dry run"
    assert _replicas(web) == 3

    agent.go(2)
    agent.wait_ready(3)
    result = json.loads(agent.result(2)[1])
    VALIDATOR.validate(result)
    assert result["status"] == "ok"
    assert "deployment.apps/web scaled" in result["content"]
    assert result["approval"]["status"] == "approved"
    assert result["approval"]["approver"]
    agent.go(3)
    assert agent.finish().returncode == 0
    again = json.loads(agent.result(3)[1])
    assert again["approval"]["id"] == n + 1
    assert again["approval"]["status"] == "pending"
    assert len(_scale_writes(settled_audit_events(web)[start:])) == 1, "the retries wrote nothing"
    rules = [r["rule"] for r in audit_lines(tmp_path / "audit.jsonl")]
    assert rules == ["verb.mutating", "approval.approved", "approval.run", "approval.result", "verb.mutating"]


def test_denied_and_expired_requests_never_reach_the_server(web: RealCluster, tmp_path: Path) -> None:
    """kro deny, and a request past --approval-ttl: kro approve refuses both and no write is made."""
    env = _env(tmp_path)
    start = len(settled_audit_events(web))
    calls = ["kubectl scale deploy/web --replicas=5", "kubectl scale deploy/web --replicas=6", "true"]
    agent = start_agent(_kro_run(web, tmp_path, "--approval-ttl", "2s"), calls, tmp_path / "a", env)
    denied_id = _queued_id(agent.result(1)[2])
    assert kro(env, "deny", str(denied_id), "--reason", "not during the sale").returncode == 0
    agent.go(2)
    agent.wait_ready(3)
    expired_id = _queued_id(agent.result(2)[2])
    wait_for(lambda: pending(env) == [], "the request to expire (--approval-ttl 2s)")
    for n, word in ((denied_id, "denied"), (expired_id, "expired")):
        refused = kro(env, "approve", str(n), "--yes")
        assert refused.returncode != 0
        assert word in refused.stderr
    agent.go(3)
    assert agent.finish().returncode == 0
    assert _scale_writes(settled_audit_events(web)[start:]) == []
    assert _replicas(web) == 1


def _uid(cluster: RealCluster) -> str:
    done = kubectl(cluster, "get", "deploy/web", "-n", SEEDED_NAMESPACE, "-o", "jsonpath={.metadata.uid}",
                   context=cluster.admin_context, check=True)  # fmt: skip
    return done.stdout


def test_a_target_replaced_after_the_preview_is_shown_again(web: RealCluster, tmp_path: Path) -> None:
    """At a terminal: nothing is sent until the preview is asked for; the deployment is replaced (new uid)
    between the preview and "y"; kro says so, previews again and asks again; the one write hits the new
    object, as the pinned context's user (the kubeconfig's current context is the viewer)."""
    env = _env(tmp_path)
    agent = start_agent(_kro_run(web, tmp_path), [SCALE, "true"], tmp_path / "a", env)
    n = _queued_id(agent.result(1)[2])
    old_uid = _uid(web)
    start = len(settled_audit_events(web))
    term = Terminal(env, "approve", str(n))
    term.expect("Preview it with a server-side dry run, as you, on context")
    sent = [(e["verb"], e["requestURI"], e.get("userAgent")) for e in settled_audit_events(web)[start:]
            if e["user"]["username"] == ADMIN_USER]  # fmt: skip
    assert sent == [], "looking sent nothing"
    term.answer("y")
    term.expect("Run it once, with your credentials?")
    assert f"uid={old_uid}" in term.text
    kubectl(web, "delete", "deployment", "web", "-n", SEEDED_NAMESPACE, "--wait=true",
            context=web.admin_context, check=True)  # fmt: skip
    kubectl(web, "apply", "-f", "-", context=web.admin_context, input=_deployment(1), check=True)
    new_uid = _uid(web)
    assert new_uid != old_uid
    term.answer("y")
    term.expect("the target changed since the preview")
    term.expect("Run it once, with your credentials?")
    assert f"now: Deployment/web uid={new_uid}" in term.text
    term.answer("y")
    assert term.finish() == 0, term.text
    assert "ran (exit 0)" in term.text
    writes = _scale_writes(settled_audit_events(web)[start:])
    assert [w["verb"] for w in writes] == ["delete", "create", "update"]  # the test's replacement, then kro's
    write = writes[-1]
    assert write["user"]["username"] == ADMIN_USER
    assert write["objectRef"]["subresource"] == "scale"
    assert _replicas(web) == 3
    assert _uid(web) == new_uid
    agent.go(2)
    assert agent.finish().returncode == 0
    approved = [r for r in audit_lines(tmp_path / "audit.jsonl") if r["rule"] == "approval.approved"]
    assert [f"uid={new_uid}" in r["reason"] for r in approved] == [True]
