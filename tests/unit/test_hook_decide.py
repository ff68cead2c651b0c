"""The hook's decide() in process: every way to reach kubectl a Bash command can hold, table-driven."""

from __future__ import annotations

import os

import pytest

from kro.hooks.claude_code import HEADER, decide, deny_text

ENV = {"PATH": os.environ.get("PATH", os.defpath)}  # no KRO_SESSION: nothing pinned

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
    """Blocked or shim-skipping kubectl calls (policy rule ids, hook.shim-bypass, hook.unverifiable,
    hook.unparsable): refused with a reason naming why."""
    verdict = decide(command, "/tmp", ENV)
    assert verdict.reasons, verdict
    text = deny_text(verdict.reasons)
    assert reason in text
    assert text.startswith(HEADER)


@pytest.mark.parametrize("command", ALLOW)
def test_hook_allows(command: str) -> None:
    """Allowed reads and commands without kubectl: no reasons, nothing printed."""
    assert decide(command, "/tmp", ENV).reasons == []
