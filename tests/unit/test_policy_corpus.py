"""Every line of the policy corpus (policy.jsonl) is decided as written (when the corpus is present)."""

from __future__ import annotations

import json

import pytest
from kro_testing import shared_missing_case, shared_path

from kro.shims.decide import decide_argv
from kro.shims.model import Pins

CORPUS = shared_path("corpus", "policy.jsonl")


def _cases() -> list[object]:
    if not CORPUS.is_file():
        return [shared_missing_case(CORPUS)]
    cases = []
    for n, line in enumerate(CORPUS.read_text().splitlines(), 1):
        if line.strip():
            case = json.loads(line)
            rule = case.get("rule", "allowed")
            cases.append(pytest.param(case, id=f"{n:03d}-{rule}-{' '.join(case['argv'])[:40]}"))
    return cases


@pytest.mark.parametrize("case", _cases())
def test_corpus_line(case: dict[str, object]) -> None:
    """The corpus line is allowed or blocked as written, by the rule it names."""
    argv = case["argv"]
    assert isinstance(argv, list)
    _, decision = decide_argv(str(case.get("tool", "kubectl")), argv, Pins(context="prod"))
    assert decision.allowed is (case["expect"] == "allow"), decision
    if "rule" in case:
        assert decision.rule == case["rule"], decision.reason
