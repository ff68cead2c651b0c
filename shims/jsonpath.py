"""kubectl's JSONPath templates, parsed as client-go's util/jsonpath parses them, judged by what they reach.

Imported only when a call on Secrets (or `config view`) carries a jsonpath, custom-columns or sort-by
expression; the shim's plain path never loads it.
"""

from __future__ import annotations

import re

from kro.shims.hotpath_stdlib import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


class JSONPathError(ValueError):
    """client-go would reject the template; the message says where."""


class Node(NamedTuple):
    """One parsed node: kind is text|list|field|wildcard|recursive|array|union|filter|literal|identifier."""

    kind: str
    value: str = ""
    children: tuple[tuple[Node, ...], ...] = ()


_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$", re.DOTALL)
_TERMINATORS = frozenset(" \t\r\n.,[]$@{}")


def _alnum(char: str) -> bool:
    return char == "_" or char.isalnum()


class _Parser:
    """client-go's jsonpath Parser: a rune scanner with start/pos, one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.start = text, 0, 0

    def next(self) -> str:
        if self.pos >= len(self.text):
            self.pos += 1  # client-go advances past eof too; backup() undoes it
            return ""
        char = self.text[self.pos]
        self.pos += 1
        return char

    def backup(self) -> None:
        self.pos -= 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def consume(self) -> str:
        value = self.text[self.start : self.pos]
        self.start = self.pos
        return value

    def parse(self) -> list[Node]:
        root: list[Node] = []
        while True:
            brace = self.text.find("{", self.pos)
            if brace < 0:
                self.pos = len(self.text)
                if self.pos > self.start:
                    root.append(Node("text", self.consume()))
                return root
            self.pos = brace
            if self.pos > self.start:
                root.append(Node("text", self.consume()))
            self.pos += 1
            self.consume()
            action: list[Node] = []
            self.inside(action)
            root.append(Node("list", children=(tuple(action),)))

    def inside(self, cur: list[Node]) -> None:
        """parseInsideAction, as a loop: returns after the closing '}'."""
        while True:
            rest = self.text[self.pos :]
            if rest.startswith("}"):
                self.pos += 1
                self.consume()
                return
            if rest.startswith("[?("):
                self.filter(cur)
                continue
            if rest.startswith(".."):
                self.pos += 2
                self.consume()
                cur.append(Node("recursive"))
                if _alnum(self.peek()):
                    self.field(cur)
                continue
            char = self.next()
            if char == "" or char in "\r\n":
                raise JSONPathError("unclosed action")
            if char in " @$":
                self.consume()
            elif char == "[":
                self.array(cur)
            elif char in "\"'":
                self.quote(cur, char)
            elif char == ".":
                self.field(cur)
            elif char in "+-" or char.isdigit():
                self.backup()
                self.number(cur)
            elif _alnum(char):
                self.backup()
                self.identifier(cur)
            else:
                raise JSONPathError(f"unrecognized character in action: {char!r}")

    def advance(self) -> bool:
        char = self.next()
        if char == "\\":
            self.next()
        elif char == "" or char in _TERMINATORS:
            self.backup()
            return False
        return True

    def field(self, cur: list[Node]) -> None:
        self.consume()
        while self.advance():
            pass
        value = self.consume()
        cur.append(Node("wildcard") if value == "*" else Node("field", value.replace("\\", "")))

    def array(self, cur: list[Node]) -> None:
        while True:
            char = self.next()
            if char == "" or char == "\n":
                raise JSONPathError("unterminated array")
            if char == "]":
                break
        text = self.consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            branches = tuple(tuple(_action(f"[{p.strip(' ')}]")) for p in parts)
            cur.append(Node("union", children=branches))
            return
        key = _DICT_KEY.match(text)
        if key:
            cur.extend(_action(f".{key.group(1)}"))
            return
        if not _SLICE.match(text):
            raise JSONPathError(f"invalid array index {text}")
        cur.append(Node("array", text))

    def filter(self, cur: list[Node]) -> None:
        self.pos += 3
        self.consume()
        begin = end = False
        pair = ""
        while True:
            char = self.next()
            if char == "" or char == "\n":
                raise JSONPathError("unterminated filter")
            if char in "\"'":
                if not begin:
                    begin, pair = True, char
                    continue
                if self.text[self.pos - 2] != "\\" and char == pair:
                    end = True
            elif char == ")" and begin == end:
                break
        if self.next() != "]":
            raise JSONPathError("unclosed array expect ]")
        text = self.consume()[:-2]
        match = _FILTER.match(text)
        if match is None:
            cur.append(Node("filter", "exists", (tuple(_action(text)), ())))
        else:
            left, right = tuple(_action(match.group(1))), tuple(_action(match.group(3)))
            cur.append(Node("filter", match.group(2), (left, right)))

    def quote(self, cur: list[Node], end: str) -> None:
        while True:
            char = self.next()
            if char == "" or char == "\n":
                raise JSONPathError("unterminated quoted string")
            if char == "\\":
                if self.next() in ("", "\n"):
                    raise JSONPathError("unterminated quoted string")
            elif char == end:
                break
        cur.append(Node("literal", self.consume()))

    def number(self, cur: list[Node]) -> None:
        self.next()  # the sign or first digit
        while True:
            char = self.next()
            if char != "." and not char.isdigit():
                self.backup()
                break
        cur.append(Node("literal", self.consume()))

    def identifier(self, cur: list[Node]) -> None:
        while True:
            char = self.next()
            if char == "" or char in _TERMINATORS:
                self.backup()
                break
        value = self.consume()
        cur.append(Node("literal", value) if value in ("true", "false") else Node("identifier", value))


def _action(text: str) -> list[Node]:
    """client-go's parseAction: `{text}` parsed, its one list's nodes."""
    nodes = _Parser("{" + text + "}").parse()
    if not nodes or nodes[0].kind != "list":
        raise JSONPathError(f"cannot parse {text!r}")
    return list(nodes[0].children[0])


def parse(template: str) -> list[Node]:
    """Parse a JSONPath template (text and {actions}) into client-go's node tree; JSONPathError if invalid."""
    return _Parser(template).parse()


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed(expression: str) -> str:
    """kubectl's RelaxedJSONPathExpression (custom-columns, --sort-by): `a.b`, `.a.b`, `{a.b}` -> `{.a.b}`."""
    if not expression:
        return expression
    match = _RELAXED.match(expression)
    if match is None:
        raise JSONPathError(f"unexpected path string {expression!r}")
    return "{." + (match.group(1) or match.group(2)) + "}"


# --- what a template can reach ------------------------------------------------------------------
# Abstract positions in the object kubectl hands the template. FORBIDDEN is a subtree that holds
# values (a Secret's data, its annotations, a kubeconfig's users); NONE is a place with nothing there
# (client-go prints nothing or fails); SAFE is inside an allowed subtree.
SAFE, NONE, FORBIDDEN = "safe", "none", "forbidden"
_PRINTABLE = frozenset({SAFE, NONE})


class Schema(NamedTuple):
    """The shape of the objects a template walks: fields per position, array elements, alternatives."""

    fields: dict[str, dict[str, str]]  # position -> field name -> position ("*" is any other field)
    elements: dict[str, str]  # array position -> its elements' position
    alternatives: dict[str, tuple[str, ...]]  # a position that is one of several (a List or an object)


_OBJECT = {"type": SAFE, "metadata": "meta", "kind": SAFE, "apiVersion": SAFE, "*": FORBIDDEN}
# `get secrets` hands the template a List; `get secret NAME` the Secret itself (which has no `items`).
# A List's items may be of other kinds too (`get configmaps,secrets`), so any other field is FORBIDDEN.
SECRETS = Schema(
    fields={
        "list": {"items": "items", "kind": SAFE, "apiVersion": SAFE, "metadata": SAFE, "*": NONE},
        "object": _OBJECT,
        "secret": {**_OBJECT, "items": NONE},
        "meta": {"annotations": FORBIDDEN, "managedFields": FORBIDDEN, "*": SAFE},
    },
    elements={"items": "object"},
    alternatives={"root": ("list", "secret")},
)
# `config view -o jsonpath` prints kubectl's own rendering, which masks only `token` and certificate data:
# a user's credentials and a cluster's proxy-url (it may hold a password) stay out of reach.
KUBECONFIG = Schema(
    fields={
        "config": {"users": "users", "clusters": "clusters", "*": SAFE},
        "user": {"name": SAFE, "*": FORBIDDEN},
        "cluster_entry": {"cluster": "cluster", "*": SAFE},
        "cluster": {"proxy-url": FORBIDDEN, "*": SAFE},
    },
    elements={"users": "user", "clusters": "cluster_entry"},
    alternatives={},
)


class Unsafe(Exception):
    """The template can reach a value it must not print; the message says which step."""


class _Walk:
    """Follows every path of a template over a Schema, keeping sets of positions (no explosion)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def expand(self, positions: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for pos in positions:
            out.update(self.schema.alternatives.get(pos, (pos,)))
        return out

    def field(self, pos: str, name: str) -> str:
        if pos in (SAFE, NONE, FORBIDDEN):
            return pos
        table = self.schema.fields.get(pos)
        if table is None:
            return NONE  # a field of an array: client-go finds nothing
        return table.get(name, table["*"])

    def children(self, pos: str) -> set[str]:
        if pos in (SAFE, NONE, FORBIDDEN):
            return {pos}
        if pos in self.schema.elements:
            return {self.schema.elements[pos]}
        table = self.schema.fields[pos]
        return set(table.values())

    def nodes(self, nodes: Iterable[Node], positions: set[str]) -> set[str]:
        """The positions the node list ends at from `positions`; Unsafe when a step enters FORBIDDEN."""
        current = set(positions)
        for node in nodes:
            current = self.step(node, self.expand(current))
            if FORBIDDEN in current:
                raise Unsafe(f"the path reaches a value ({_describe(node)})")
        return current

    def step(self, node: Node, current: set[str]) -> set[str]:
        kind = node.kind
        if kind == "field":
            return current if node.value == "" else {self.field(p, node.value) for p in current}
        if kind == "wildcard":
            return {c for p in current for c in self.children(p)}
        if kind == "recursive":
            if current - _PRINTABLE:
                raise Unsafe("recursive descent (..) can reach every value below it")
            return current
        if kind == "array":
            return {self._element(p) for p in current}
        if kind == "filter":
            elements = {self._element(p) for p in current}
            for operand in node.children:
                if operand and self.nodes(operand, elements) - _PRINTABLE:
                    raise Unsafe("a filter compares a field that holds values")
            return elements
        if kind == "union":
            return {p for branch in node.children for p in self.nodes(branch, current)}
        if kind == "literal":
            return {SAFE}
        raise Unsafe(f"{node.value!r} is not a JSONPath step kro can follow")

    def _element(self, pos: str) -> str:
        if pos in (SAFE, NONE, FORBIDDEN):
            return pos
        return self.schema.elements.get(pos, NONE)  # indexing an object: client-go fails


def _describe(node: Node) -> str:
    return {"field": f".{node.value}", "wildcard": "*", "recursive": ".."}.get(node.kind, node.kind)


def check(template: str, schema: Schema, start: str) -> str | None:
    """None when every action of `template` prints only allowed fields from `start`, else the reason."""
    try:
        return _check(parse(template), schema, start)
    except JSONPathError as exc:
        return f"kro cannot parse the JSONPath ({exc})"
    except Unsafe as exc:
        return str(exc)


def _check(root: list[Node], schema: Schema, start: str) -> str | None:
    walk = _Walk(schema)
    contexts: list[set[str]] = [{start}]
    for node in root:
        if node.kind == "text":
            continue
        action = list(node.children[0])
        if action[:1] == [Node("identifier", "end")]:
            if len(contexts) == 1:
                raise JSONPathError("not in range, nothing to end")
            contexts.pop()
            continue
        if action[:1] == [Node("identifier", "range")]:
            contexts.append(walk.nodes(action[1:], contexts[-1]))
            continue
        ends = walk.nodes(action, contexts[-1])
        if walk.expand(ends) - _PRINTABLE:
            return "the expression prints a whole object or list, values included; select fields of it"
    return None


def check_many(expressions: Iterable[str], schema: Schema, start: str,
               convert: Callable[[str], str] | None = None) -> str | None:  # fmt: skip
    """check() of each relaxed expression (custom-columns' columns, --sort-by)."""
    for expression in expressions:
        try:
            template = (convert or relaxed)(expression)
        except JSONPathError as exc:
            return f"kro cannot parse {expression!r} ({exc})"
        reason = check(template, schema, start)
        if reason:
            return reason
    return None


def custom_columns(spec: str) -> list[str] | None:
    """The expressions of a custom-columns spec (`NAME:.a.b,...`); None when kubectl would reject it."""
    columns = []
    for part in spec.split(","):
        _, sep, expression = part.partition(":")
        if not sep:
            return None
        columns.append(expression)
    return columns
