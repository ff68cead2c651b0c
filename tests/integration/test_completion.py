"""Completion through the shim: kubectl's __complete/__completeNoDesc are allowed and pinned (issue 9)."""

from __future__ import annotations

import shlex

import pytest
from kro_testing import KroSession

from kro.democluster.fixture import WEB_PODS

_SYSTEM_POD = "etcd-demo-control-plane"


@pytest.mark.parametrize(
    ("argv", "expect_in", "expect_not_in"),
    [
        pytest.param(["__complete", "get", ""], ["pods", "configmaps", "deployments.apps"], [], id="types"),
        pytest.param(["__completeNoDesc", "get", ""], ["pods", "services"], [], id="types-nodesc"),
        pytest.param(["__complete", "get", "pods", ""], list(WEB_PODS), [_SYSTEM_POD], id="pod-names"),
        pytest.param(
            ["__complete", "get", "pods", "-n", "kube-system", ""],
            [_SYSTEM_POD],
            [WEB_PODS[0]],
            id="pod-names-namespace",
        ),
        pytest.param(["__complete", "logs", ""], list(WEB_PODS), [], id="logs-pods"),
        # Completing a mutating verb only lists names: the verb itself never runs.
        pytest.param(["__complete", "delete", "pod", ""], list(WEB_PODS), [], id="delete-completes-only"),
        # The session's minified kubeconfig holds the pinned context alone.
        pytest.param(
            ["__complete", "config", "use-context", ""],
            ["kro-demo"],
            ["kro-demo-other"],
            id="contexts-pinned",
        ),
    ],
)
def test_completion_lists_from_the_pinned_cluster(
    kro_session: KroSession, argv: list[str], expect_in: list[str], expect_not_in: list[str]
) -> None:
    """verb.complete: completions come back from the demo cluster; the audit says allowed and pinned."""
    before = len(kro_session.demo.cluster.requests())
    proc = kro_session.sh(f"kubectl {shlex.join(argv)}")
    assert proc.returncode == 0, proc.stderr
    assert "BLOCKED" not in proc.stderr
    words = {line.split("\t")[0] for line in proc.stdout.splitlines()}
    for word in expect_in:
        assert word in words, proc.stdout
    for word in expect_not_in:
        assert word not in words, proc.stdout
    assert proc.stdout.splitlines()[-1].startswith(":"), "cobra's directive line ends the output"
    [record] = kro_session.audit()
    assert record["argv"] == argv
    assert record["decision"] == "allowed"
    assert record["context"] == "kro-demo"
    methods = {r["method"] for r in kro_session.demo.cluster.requests()[before:]}
    assert methods <= {"GET"}


@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        pytest.param(
            ["__complete", "--context", "kro-demo-other", "get", ""],
            "global.context-pinned",
            id="context-first",
        ),
        pytest.param(
            ["__complete", "get", "pods", "--context=kro-demo-other", ""],
            "global.context-pinned",
            id="context-late",
        ),
        pytest.param(
            ["__complete", "get", "pods", "--kubeconfig", "/tmp/x", ""], "global.identity", id="identity"
        ),
        pytest.param(
            ["__completeNoDesc", "--server", "https://evil", "get", ""], "global.identity", id="server"
        ),
    ],
)
def test_completion_keeps_global_flag_rules(kro_session: KroSession, argv: list[str], rule: str) -> None:
    """global.*: the completion entry points still obey the global flag rules, exit 77 in plain mode."""
    proc = kro_session.sh(f"kubectl {shlex.join(argv)}; echo rc=$?")
    assert "rc=77" in proc.stdout
    assert proc.stderr.startswith("✘ BLOCKED: ")
    [record] = kro_session.audit()
    assert record["decision"] == "blocked"
    assert record["rule"] == rule
    assert record["context"] == "kro-demo"
