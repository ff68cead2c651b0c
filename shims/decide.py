"""The one funnel every front end calls: argv in, Decision out (kubectl or kubetail)."""

from __future__ import annotations

from kro.shims.argv import parse
from kro.shims.flag_tables import load
from kro.shims.model import Decision, Invocation, Pins

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

TOOLS = ("kubectl", "kubetail")


def parse_argv(tool: str, argv: Sequence[str]) -> Invocation:
    """Parse argv for `tool` with that tool's flag tables."""
    return parse(load(tool), tuple(argv))


def decide_invocation(inv: Invocation, pins: Pins) -> Decision:
    """Apply the tool's policy to a parsed invocation; the decision names the verb and resource as fields."""
    if inv.tool == "kubetail":
        from kro.shims.policy_kubetail import decide as decide_kubetail

        return decide_kubetail(inv, pins)
    from kro.shims.policy import decide
    from kro.shims.policy_reads import resource_types

    named = [t.strip().lower() for t in resource_types(inv.positionals + inv.after_dash) if t.strip()]
    return decide(inv, pins)._replace(resource=named[0] if named else None)


def decide_argv(tool: str, argv: Sequence[str], pins: Pins) -> tuple[Invocation, Decision]:
    """Parse and decide in one step."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(TOOLS)}")
    inv = parse_argv(tool, argv)
    return inv, decide_invocation(inv, pins)
