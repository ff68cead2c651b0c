"""Hypothesis properties of the parser and policy: no crash, no flag trick turns a block into an allow."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kro.shims.decide import decide_argv, parse_argv
from kro.shims.flag_tables import VALUE, load
from kro.shims.model import Pins
from kro.shims.policy import ALLOWED_PATHS
from kro.shims.policy_reads import SAFE_SECRET_OUTPUTS

PINS = Pins(context="prod")
KUBECTL = load("kubectl")
VALUE_GLOBALS = sorted(name for name, kind in KUBECTL.global_flags.items() if kind == VALUE)
BLOCKED_CALLS = [
    ["delete", "pod", "x"],
    ["exec", "web-1", "--", "sh"],
    ["apply", "-f", "x.yaml"],
    ["get", "secret", "db", "-o", "yaml"],
    ["port-forward", "svc/web", "80"],
    ["foo"],
    ["config", "use-context", "x"],
]
words = st.sampled_from(
    ["get", "delete", "pods", "secrets", "-n", "-o", "yaml", "--", "-A", "--raw", "/api", "-f", "x",
     "--context", "prod", "-h", "--help=false", "exec", "-v", "9", "config", "view", "--raw=true"]
)  # fmt: skip
any_args = st.lists(st.one_of(st.text(max_size=12), words), max_size=10)


@settings(max_examples=400, deadline=None)
@given(any_args, st.sampled_from(["kubectl", "kubetail"]))
def test_parser_never_raises(argv: list[str], tool: str) -> None:
    """Any list of strings parses and decides without an exception."""
    inv, decision = decide_argv(tool, argv, PINS)
    assert inv.argv == tuple(argv)
    assert decision.rule


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALUE_GLOBALS), st.text(max_size=15), st.sampled_from(BLOCKED_CALLS), st.booleans())
def test_value_flag_never_unblocks(flag: str, value: str, call: list[str], attached: bool) -> None:
    """Inserting any value-taking global flag with any value before a blocked call keeps it blocked."""
    assert not decide_argv("kubectl", call, PINS)[1].allowed
    prefix = [f"--{flag}={value}"] if attached else [f"--{flag}", value]
    assert not decide_argv("kubectl", prefix + call, PINS)[1].allowed


@settings(max_examples=400, deadline=None)
@given(any_args)
def test_unknown_verbs_blocked(argv: list[str]) -> None:
    """Any argv whose parsed command is outside the allowed set is blocked (help aside)."""
    inv, decision = decide_argv("kubectl", argv, PINS)
    if inv.path not in ALLOWED_PATHS and not inv.is_true("help"):
        assert not decision.allowed


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["secret", "secrets", "Secret/db", "secrets.v1.", "configmaps,secrets", "SECRET.v1/x"]),
    st.sampled_from(["yaml", "json", "jsonpath={.data}", "go-template={{.data}}", "custom-columns=A:.data",
                     "jsonpath-as-json={.data}", "template={{.data}}", "go-template-file=/t"]),
    st.lists(st.sampled_from([["-n", "demo"], ["-l", "a=b"], ["-w"], ["--show-labels"], ["-A"]]), max_size=4),
    st.sampled_from(["-o{}", "--output={}", "-o={}", "--output {}"]),
)  # fmt: skip
def test_secret_data_outputs_blocked(resource: str, output: str, extra: list[list[str]], form: str) -> None:
    """Any argv naming secrets with a data-exposing output is blocked."""
    out_args = form.format(output).split(" ", 1)
    assert output not in SAFE_SECRET_OUTPUTS
    flags = [arg for pair in extra for arg in pair]
    _, decision = decide_argv("kubectl", ["get", resource, *flags, *out_args], PINS)
    assert not decision.allowed


def test_parse_records_pin_position() -> None:
    """The pinned flags go right after the verb's words, before any bare `--`."""
    inv = parse_argv("kubectl", ["-n", "demo", "logs", "web", "--", "x"])
    assert inv.pin_at == 3
    inv = parse_argv("kubectl", ["config", "-v", "2", "view"])
    assert inv.pin_at == 4


@pytest.mark.parametrize(
    ("argv", "path", "positionals"),
    [
        pytest.param(
            ["-n", "get", "delete", "pod", "x"], ("delete",), ("pod", "x"), id="parse.flag-value-not-verb"
        ),
        pytest.param(["get", "-ojson", "pods"], ("get",), ("pods",), id="parse.short-attached"),
        pytest.param(["-v", "3", "config", "view"], ("config", "view"), (), id="parse.subcommand"),
        pytest.param(["get", "--", "-n", "x"], ("get",), (), id="parse.after-dash"),
    ],
)
def test_parse_shape(argv: list[str], path: tuple[str, ...], positionals: tuple[str, ...]) -> None:
    """Cobra's command walk and pflag's positional handling, on concrete argv."""
    inv = parse_argv("kubectl", argv)
    assert inv.path == path
    assert inv.positionals == positionals
