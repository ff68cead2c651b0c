"""The JSONPath parser follows client-go's grammar; the reach check follows every path it parses."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kro.shims import jsonpath as J
from kro.shims.jsonpath import Node

F = lambda name: Node("field", name)  # noqa: E731 - table shorthand


def action(*nodes: Node) -> Node:
    """A {...} action holding `nodes`."""
    return Node("list", children=(tuple(nodes),))


PARSED = [
    pytest.param(
        "{.items[*].metadata.name}",
        [action(F("items"), Node("array", ":"), F("metadata"), F("name"))],
        id="fields-and-wildcard-index",
    ),
    pytest.param(
        "name: {.a}\n", [Node("text", "name: "), action(F("a")), Node("text", "\n")], id="text-around"
    ),
    pytest.param("{..name}", [action(Node("recursive"), F("name"))], id="recursive-descent"),
    pytest.param("{.a.*}", [action(F("a"), Node("wildcard"))], id="object-wildcard"),
    pytest.param("{.a[0:2]}", [action(F("a"), Node("array", "0:2"))], id="slice"),
    pytest.param("{.a['b.c']}", [action(F("a"), F("b"), F("c"))], id="dict-key-reparsed-as-fields"),
    pytest.param(r"{.a.kubectl\.io/x}", [action(F("a"), F("kubectl.io/x"))], id="escaped-dot"),
    pytest.param('{"x\\n"}', [action(Node("literal", '"x\\n"'))], id="quoted-literal"),
    pytest.param(
        "{range .a[*]}{@}{end}",
        [
            action(Node("identifier", "range"), F("a"), Node("array", ":")),
            action(),
            action(Node("identifier", "end")),
        ],
        id="range-end",
    ),
    pytest.param(
        "{.a[0,1]}",
        [action(F("a"), Node("union", children=((Node("array", "0"),), (Node("array", "1"),))))],
        id="union",
    ),
    pytest.param(
        '{.a[?(@.b=="x")]}',
        [action(F("a"), Node("filter", "==", ((F("b"),), (Node("literal", '"x"'),))))],
        id="filter",
    ),
    pytest.param(
        "{.a[?(@.b)]}", [action(F("a"), Node("filter", "exists", ((F("b"),), ())))], id="filter-exists"
    ),
]


@pytest.mark.parametrize(("template", "nodes"), PARSED)
def test_parse(template: str, nodes: list[Node]) -> None:
    """Templates parse into client-go's node shapes."""
    assert J.parse(template) == nodes


@pytest.mark.parametrize(
    "template", ["{.a", "{.a[0}", "{.a[x]}", "{'a}", "{.a[?(@.b==1}", "{#}", "{.a\n}"], ids=str
)
def test_parse_errors(template: str) -> None:
    """What client-go rejects, the parser rejects (and the check blocks)."""
    with pytest.raises(J.JSONPathError):
        J.parse(template)
    assert J.check(template, J.SECRETS, "root") is not None


@pytest.mark.parametrize(
    ("expression", "template"),
    [(".metadata.name", "{.metadata.name}"), ("metadata.name", "{.metadata.name}"),
     ("{.type}", "{.type}"), ("{type}", "{.type}")],
)  # fmt: skip
def test_relaxed(expression: str, template: str) -> None:
    """kubectl's RelaxedJSONPathExpression, as custom-columns and --sort-by apply it."""
    assert J.relaxed(expression) == template


_PIECES = st.sampled_from(
    ["{", "}", ".", "..", "[", "]", "*", "?(", ")", "@", "$", "'", '"', ",", ":", "==", "\\", " ",
     "items", "data", "metadata", "name", "type", "range", "end", "0", "-1", "annotations", "\n"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_parser_never_raises_anything_else(template: str) -> None:
    """Any text either parses or raises JSONPathError; the check always answers."""
    with contextlib.suppress(J.JSONPathError):
        J.parse(template)
    result = J.check(template, J.SECRETS, "root")
    assert result is None or isinstance(result, str)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_allowed_templates_never_name_values(template: str) -> None:
    """A template the check allows never names data, stringData, annotations or managedFields as a field."""
    if J.check(template, J.SECRETS, "root") is not None:
        return
    fields: list[str] = []

    def walk(nodes: tuple[Node, ...] | list[Node]) -> None:
        for node in nodes:
            if node.kind == "field":
                fields.append(node.value)
            if node.kind == "recursive":
                fields.append("..")
            for child in node.children:
                walk(child)

    walk(J.parse(template))
    assert not {"data", "..", "annotations"} & set(fields), template
