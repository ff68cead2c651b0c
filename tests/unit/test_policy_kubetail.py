"""Policy cases for the kubetail shim (README "The kubetail shim"), decided in-process.

tests/integration/test_kubetail.py runs the same table through the shim with a recording kubetail, for
what only a process shows: blocked calls never reach it, allowed ones reach it pinned.
"""

from __future__ import annotations

import pytest

from kro.shims.decide import decide_argv
from kro.shims.model import Pins

PINS = Pins(context="kro-demo")  # the context the integration session pins

CALLS = [
    pytest.param(["logs", "deployments/web", "--tail=20"], "allowed", id="kubetail.logs"),
    pytest.param(["logs", "demo:deployments/web/web", "-f"], "allowed", id="kubetail.logs-follow"),
    pytest.param(["cluster", "list"], "allowed", id="kubetail.cluster-list"),
    pytest.param(["--version"], "allowed", id="kubetail.version"),
    pytest.param(["logs", "x", "--kube-context", "kro-demo"], "allowed", id="kubetail.pinned-context"),
    pytest.param(["serve"], "kubetail.listener", id="kubetail.listener"),
    pytest.param(["serve", "--port", "0"], "kubetail.listener", id="kubetail.listener-port"),
    pytest.param(["cluster", "install"], "verb.mutating", id="verb.mutating.cluster-install"),
    pytest.param(["cluster", "uninstall"], "verb.mutating", id="verb.mutating.cluster-uninstall"),
    pytest.param(["cluster", "repo", "add"], "read.local-write", id="read.local-write.repo"),
    pytest.param(["config", "init"], "read.local-write", id="read.local-write.config-init"),
    pytest.param(["mcp-server"], "verb.unknown", id="verb.unknown.mcp-server"),
    pytest.param(
        ["logs", "x", "--kube-context", "kro-demo-other"],
        "global.context-pinned",
        id="global.context-pinned.kube-context",
    ),
    pytest.param(
        ["logs", "x", "--context=kro-demo-other"],
        "global.context-pinned",
        id="global.context-pinned.context-alias",
    ),
    pytest.param(["logs", "x", "--kubeconfig", "/tmp/k"], "global.identity", id="global.identity.kubeconfig"),
    pytest.param(["logs", "x", "--in-cluster"], "global.identity", id="global.identity.in-cluster"),
    pytest.param(["logs", "x", "--config", "/etc/passwd"], "read.local-file", id="read.local-file.config"),
    pytest.param(["-c", "/etc/passwd", "logs", "x"], "read.local-file", id="read.local-file.config-short"),
]


@pytest.mark.parametrize(("argv", "rule"), CALLS)
def test_kubetail_decisions(argv: list[str], rule: str) -> None:
    """Each kubetail call gets the rule the shim records; only `allowed` lets it run."""
    _, decision = decide_argv("kubetail", argv, PINS)
    assert (decision.rule, decision.allowed) == (rule, rule == "allowed")
