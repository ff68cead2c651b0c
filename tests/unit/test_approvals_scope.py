"""Which mutations are queued (rules approval.*), and the argv kro rebuilds for an approved one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kro.approvals import scope
from kro.shims import rules as R
from kro.shims.decide import decide_argv
from kro.shims.flag_tables import BOOL, CONFLICT, load
from kro.shims.model import Pins

KUBECTL = load("kubectl")
BASE = ["label", "pod", "x", "a=b"]
# Mutations whose every local flag is tried, with a call that is queued as it stands.
COMMANDS = {
    ("label",): BASE,
    ("annotate",): ["annotate", "pod", "x", "a=b"],
    ("scale",): ["scale", "deploy/web", "--replicas=3"],
    ("delete",): ["delete", "pod", "x"],
    ("drain",): ["drain", "node-1"],
    ("patch",): ["patch", "deploy/web", "-p", "{}"],
    ("rollout", "restart"): ["rollout", "restart", "deploy/web"],
    ("set", "image"): ["set", "image", "deploy/web", "c=i"],
    ("create", "deployment"): ["create", "deployment", "w", "--image=x"],
    ("run",): ["run", "x", "--image=x"],
    ("taint",): ["taint", "nodes", "n", "k=v:NoSchedule"],
}


def _refusal(argv: list[str]) -> str | None:
    inv, decision = decide_argv("kubectl", argv, Pins("prod"))
    assert decision.rule == R.MUTATING, (argv, decision)
    refused = scope.not_queued(inv, decision)
    return None if refused is None else refused.rule


def _written(name: str, kind: str) -> list[str]:
    return [f"--{name}"] if kind == BOOL else [f"--{name}=x"]


def _global_cases() -> list[object]:
    cases = []
    for name, kind in sorted(KUBECTL.global_flags.items()):
        if name == "namespace":
            continue
        rule = R.APPROVAL_IDENTITY if name in scope.TARGET_FLAGS else R.APPROVAL_FLAG
        cases.append(pytest.param([*BASE, *_written(name, kind)], rule, id=f"{rule}-after-{name}"))
        cases.append(pytest.param([*_written(name, kind), *BASE], rule, id=f"{rule}-before-{name}"))
    for short, name in sorted(KUBECTL.global_shorts.items()):
        if name != "namespace":
            rule = R.APPROVAL_IDENTITY if name in scope.TARGET_FLAGS else R.APPROVAL_FLAG
            cases.append(pytest.param([*BASE, f"-{short}", "x"], rule, id=f"{rule}-short-{short}"))
    return cases


@pytest.mark.parametrize(("argv", "rule"), _global_cases())
def test_every_global_flag_but_namespace_is_not_queued(argv: list[str], rule: str) -> None:
    """Identity/target globals (--server, -s, --kubeconfig, --context, --token, --as…) and all others."""
    assert _refusal(argv) == rule


def _local_cases() -> list[object]:
    cases = []
    for path, argv in COMMANDS.items():
        node = KUBECTL.root
        for word in path:
            child = node.sub(word)
            assert child is not None
            node = child
        allowed = scope.allowed_flags(path)
        for name, kind in sorted(node.flags.items()):
            if name == "help" or kind == CONFLICT:
                continue
            if name in allowed:
                expect = None
            elif name in scope.LOCAL_INPUT:
                expect = R.APPROVAL_LOCAL_INPUT
            else:
                expect = R.APPROVAL_FLAG
            label = " ".join(path)
            cases.append(pytest.param([*argv, *_written(name, kind)], expect, id=f"{expect}-{label}-{name}"))
    return cases


@pytest.mark.parametrize(("argv", "rule"), _local_cases())
def test_only_the_commands_allowlist_is_queued(argv: list[str], rule: str | None) -> None:
    """Every local flag of the mutations: the allowlist passes, file readers and all else are refused."""
    assert _refusal(argv) == rule


@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        pytest.param(["scale", "deploy/web", "--replicas=3"], None, id="queued-scale"),
        pytest.param(["-n", "demo", "delete", "pod", "x"], None, id="queued-namespace"),
        pytest.param(
            ["patch", "deploy/web", "-p", '{"spec":{"replicas":2}}'], None, id="queued-patch-inline"
        ),
        pytest.param(
            ["label", "pod", "x", "a=b", "-s", "https://127.0.0.1:1"],
            R.APPROVAL_IDENTITY,
            id="approval.identity-server-short",
        ),
        pytest.param(
            ["annotate", "pod", "x", "a=b", "--kubeconfig=./evil.kubeconfig"],
            R.APPROVAL_IDENTITY,
            id="approval.identity-kubeconfig",
        ),
        pytest.param(
            ["label", "pod", "x", "a=b", "--context=prod"],
            R.APPROVAL_IDENTITY,
            id="approval.identity-even-the-pinned-context",
        ),
        pytest.param(
            ["label", "pod", "x", "a=b", "-o", "go-template-file=/home/u/.ssh/id_rsa"],
            R.APPROVAL_LOCAL_INPUT,
            id="approval.local-input-template-file",
        ),
        pytest.param(["apply", "-f", "x.yaml"], R.APPROVAL_LOCAL_INPUT, id="approval.local-input-apply-f"),
        pytest.param(
            ["run", "x", "--image=busybox", "-it"], R.APPROVAL_LOCAL_INPUT, id="approval.local-input-run-it"
        ),
        pytest.param(["label", "pod", "x", "a=b", "-v=9"], R.APPROVAL_FLAG, id="approval.flag-verbosity"),
        pytest.param(["label", "pods", "--all", "a=b"], R.APPROVAL_FLAG, id="approval.flag-all"),
        pytest.param(["delete", "pods", "-l", "a=b"], R.APPROVAL_FLAG, id="approval.flag-selector"),
        pytest.param(["delete", "pod", "x", "-A"], R.APPROVAL_FLAG, id="approval.flag-all-namespaces"),
        pytest.param(["edit", "deploy/web"], R.APPROVAL_SCOPE, id="approval.scope-edit"),
        pytest.param(["config", "use-context", "x"], R.APPROVAL_SCOPE, id="approval.scope-config"),
        pytest.param(
            ["create", "deploy", "w", "--image=x", "--edit"],
            R.APPROVAL_SCOPE,
            id="approval.scope-parse-error",
        ),
    ],
)
def test_what_is_queued(argv: list[str], rule: str | None) -> None:
    assert _refusal(argv) == rule


def test_a_refusal_says_why_and_keeps_the_verb() -> None:
    inv, decision = decide_argv("kubectl", [*BASE, "--server=https://127.0.0.1:1"], Pins("prod"))
    refused = scope.not_queued(inv, decision)
    assert refused is not None
    assert not refused.allowed
    assert refused.verb == "label"
    assert refused.reason.startswith(
        "'label' is a mutating command; --server=https://127.0.0.1:1 changes who"
    )


@pytest.mark.parametrize(
    ("argv", "run", "preview"),
    [
        pytest.param(
            ["scale", "deploy/web", "--replicas=3"],
            ["scale", "--context=prod", "--namespace=web", "deploy/web", "--replicas=3"],
            ["--dry-run=server"],
            id="scale-namespace-pinned",
        ),
        pytest.param(
            ["-n", "other", "delete", "pod", "x", "--wait=false"],
            ["delete", "--context=prod", "--namespace=other", "pod", "x", "--wait=false"],
            ["--dry-run=server"],
            id="delete-own-namespace-as-kros-flag",
        ),
        pytest.param(
            ["label", "--overwrite", "pods", "x", "a=b"],
            ["label", "--context=prod", "--namespace=web", "pods", "x", "a=b", "--overwrite=true"],
            ["--dry-run=server", "-o", "yaml"],
            id="label",
        ),
        pytest.param(
            ["create", "deployment", "w", "--image=x", "--", "sh", "-c", "sleep 1"],
            [
                "create",
                "deployment",
                "--context=prod",
                "--namespace=web",
                "w",
                "--image=x",
                "--",
                "sh",
                "-c",
                "sleep 1",
            ],
            ["--dry-run=server", "-o", "yaml"],
            id="create-after-dash-kept-last",
        ),
    ],
)
def test_rebuilt_run_and_preview(argv: list[str], run: list[str], preview: list[str]) -> None:
    inv, _ = decide_argv("kubectl", argv, Pins("prod"))
    rebuilt = scope.rebuild(inv, "prod", scope.namespace_of(inv, "web"))
    assert rebuilt == run
    cut = run.index("--") if "--" in run else len(run)
    assert scope.preview(inv, rebuilt) == run[:cut] + preview + run[cut:]


def test_no_preview_without_a_dry_run_flag() -> None:
    inv, _ = decide_argv("kubectl", ["certificate", "approve", "csr-1"], Pins("prod"))
    assert scope.preview(inv, scope.rebuild(inv, "prod", "web")) is None


@pytest.mark.parametrize(
    ("argv", "targets", "precondition"),
    [
        pytest.param(
            ["scale", "deploy/web", "--replicas=3"],
            ["deploy/web"],
            ["--resource-version=7"],
            id="scale-one-object",
        ),
        pytest.param(["label", "pods", "x", "a=b"], ["pods", "x"], ["--resource-version=7"], id="label"),
        pytest.param(["delete", "pod", "a", "b"], ["pod", "a", "b"], [], id="delete-two-no-precondition"),
        pytest.param(["drain", "node-1"], ["node", "node-1"], [], id="drain-names-a-node"),
        pytest.param(["taint", "nodes", "n", "k=v:NoSchedule"], ["nodes", "n"], [], id="taint"),
        pytest.param(["set", "image", "deploy/web", "c=i"], ["deploy/web"], [], id="set-image"),
        pytest.param(["create", "namespace", "n"], [], [], id="create-binds-nothing"),
    ],
)
def test_targets_and_precondition(argv: list[str], targets: list[str], precondition: list[str]) -> None:
    inv, _ = decide_argv("kubectl", argv, Pins("prod"))
    assert scope.targets(inv) == targets
    assert scope.precondition(inv, targets, "7") == precondition


def _doc_allowlist() -> dict[tuple[str, ...], frozenset[str]]:
    """docs/policy.md's table of the flags an approved request carries, by command."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    table = text.split("| command | flags carried |", 1)[1].split("\n\n", 1)[0]
    found: dict[tuple[str, ...], frozenset[str]] = {}
    for line in table.splitlines()[2:]:
        commands, flags = (cell.strip() for cell in line.strip().strip("|").split("|"))
        if commands.startswith("anything else"):
            continue
        names = frozenset(re.findall(r"`--([a-z-]+)`", flags))
        for command in commands.split(", "):
            words = command.replace(" …", "").replace(" approve/deny", "").split()
            found[tuple(words)] = names
    return found


def test_docs_list_the_allowlist() -> None:
    """docs/policy.md ("Approvals: what an approved mutation runs") names exactly the flags carried."""
    assert _doc_allowlist() == scope.ALLOWED_FLAGS
