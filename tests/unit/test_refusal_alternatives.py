"""Every refusal names what to run instead: each blocked case of the kubectl, kubetail and API tables."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_api_policy import CASES as API_CASES
from test_api_policy import decide as api_decide
from test_policy_kubectl import CASES as KUBECTL_CASES
from test_policy_kubetail import CALLS as KUBETAIL_CALLS
from test_policy_kubetail import PINS as KUBETAIL_PINS

from kro.shims import rules as R
from kro.shims.decide import decide_argv
from kro.shims.model import Pins

# After the "why", an instruction: a verb telling the caller what to do, or a command to run.
_ALTERNATIVE = re.compile(
    r"(?:[;:,] +|\( *|\bso +|\bthen +|\binstead +)(?:e\.g\. )?"
    r"(?:use|drop|ask|pass|run|read|name|list|select|put|retype|send|compare|get|fetch|describe|check|write|quote|give|keep|try|add|see|fix)\b"
    r"|'kubectl [a-z]|'kubetail [a-z]",
    re.IGNORECASE,
)
# Refusals the kubectl table has no case for.
EXTRA_KUBECTL_CASES = [
    pytest.param(["diff", "-f", "web.yaml"], R.SIDE_EFFECT, Pins(context="prod"), id="verb.side-effect.diff"),
    pytest.param(
        ["get", "pods", "--kubeconfig", "/x"],
        R.IDENTITY,
        Pins(context="prod"),
        id="global.identity.kubeconfig",
    ),
]
# The kubetail shim's refusals: the blocked cases of its policy table.
KUBETAIL_CASES = [c for c in KUBETAIL_CALLS if c.values[1] != R.ALLOWED]  # type: ignore[attr-defined]


def has_alternative(reason: str) -> bool:
    """Whether a reason tells the caller what to do instead, not only why not."""
    return bool(_ALTERNATIVE.search(reason))


def _blocked_kubectl() -> list[Any]:
    return [c for c in [*KUBECTL_CASES, *EXTRA_KUBECTL_CASES] if c.values[1] != R.ALLOWED]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("argv", "rule", "pins"), _blocked_kubectl())
def test_every_kubectl_refusal_names_an_alternative(argv: list[str], rule: str, pins: Pins) -> None:
    _, decision = decide_argv("kubectl", argv, pins)
    assert not decision.allowed
    assert has_alternative(decision.reason), decision.reason


@pytest.mark.parametrize(("argv", "rule"), KUBETAIL_CASES)
def test_every_kubetail_refusal_names_an_alternative(argv: list[str], rule: str) -> None:
    _, decision = decide_argv("kubetail", argv, KUBETAIL_PINS)
    assert decision.rule == rule, decision
    assert has_alternative(decision.reason), decision.reason


# Mutations an approvals session refuses to queue (kro/approvals/scope.py), each with its approval.* rule.
APPROVAL_CASES = [
    pytest.param(["label", "pod", "web", "a=b", "--server=https://127.0.0.1:1"], R.APPROVAL_IDENTITY,
                 id="approval.identity"),
    pytest.param(["annotate", "pod", "web", "a=b", "-f", "x.yaml"], R.APPROVAL_LOCAL_INPUT,
                 id="approval.local-input"),
    pytest.param(["label", "pod", "web", "a=b", "--field-manager=x"], R.APPROVAL_FLAG, id="approval.flag"),
    pytest.param(["edit", "deploy/web"], R.APPROVAL_SCOPE, id="approval.scope"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "rule"), APPROVAL_CASES)
def test_every_approval_refusal_names_an_alternative(argv: list[str], rule: str) -> None:
    from kro.approvals.scope import not_queued

    inv, decision = decide_argv("kubectl", argv, Pins(context="prod"))
    refused = not_queued(inv, decision)
    assert refused is not None
    assert refused.rule == rule, refused
    assert has_alternative(refused.reason), refused.reason


def _blocked_api() -> list[Any]:
    return [c for c in API_CASES if c.values[4] != R.ALLOWED]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "url", "pins", "headers", "rule", "rewrite", "watch"), _blocked_api())
def test_every_api_refusal_names_an_alternative(method: str, url: str, pins: Any, headers: Any, rule: str,
                                                rewrite: str, watch: bool) -> None:  # fmt: skip
    decision = api_decide(method, url, pins, headers)
    assert not decision.allowed
    assert has_alternative(decision.reason), decision.reason


def test_every_rule_is_exercised_here() -> None:
    """A new rule id must show up in one of the tables above, so its reason is checked too."""
    seen = {c.values[1] for c in _blocked_kubectl()} | {c.values[1] for c in KUBETAIL_CASES}  # type: ignore[attr-defined]
    seen |= {c.values[4] for c in _blocked_api()}  # type: ignore[attr-defined]
    seen |= {c.values[1] for c in APPROVAL_CASES}  # type: ignore[attr-defined]
    rules = {v for k, v in vars(R).items() if k.isupper() and isinstance(v, str) and "." in v}
    unexercised = {R.EMPTY, R.API_ACCESS_REVIEW}  # no decision carries them (docs/policy.md)
    # the proxy's own answers, not policy decisions (tests/integration/test_api_proxy*.py check them)
    unexercised |= {R.API_AUTH, R.API_BODY, R.API_BOUND, R.API_REWRITE, R.API_UPSTREAM}
    assert rules - unexercised - seen == set()


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        pytest.param("'diff' is blocked in this read-only session", False, id="why-only"),
        pytest.param("it is blocked; use logs instead", True, id="use"),
        pytest.param("blocked; compare with 'kubectl get deploy web -o yaml'", True, id="command"),
    ],
)
def test_has_alternative(reason: str, expected: bool) -> None:
    assert has_alternative(reason) is expected
