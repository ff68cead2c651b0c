"""Label and field selectors, parsed with the grammar and error messages of k8s.io/apimachinery."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kro.democluster.status import ApiError, bad_request

_SPECIAL = "=!(),<>"
_OPERATORS = ("!=", "==", "=", "(", ")", ",", "!", "<", ">")
_BINARY = "in, notin, =, ==, !=, gt, lt"
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Requirement:
    """One label requirement: key, operator and values."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this requirement."""
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.op in ("=", "==", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        try:
            number, bound = int(value), int(self.values[0])
        except ValueError:
            return False
        return present and (number > bound if self.op == "gt" else number < bound)


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kind is 'id', an operator literal, or 'end'."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _SPECIAL:
            op = next(o for o in _OPERATORS if text.startswith(o, i))
            tokens.append((op, op))
            i += len(op)
            continue
        j = i
        while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
            j += 1
        tokens.append(("id", text[i:j]))
        i = j
    tokens.append(("end", ""))
    return tokens


class _LabelParser:
    """A port of apimachinery's labels.Parser, kept close so error messages match."""

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return tok

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.peek()
            if kind in ("id", "!"):
                try:
                    reqs.append(self.requirement())
                except ValueError as exc:
                    raise ValueError(f"unable to parse requirement: {exc}") from None
                kind, lit = self.take()
                if kind == "end":
                    return reqs
                if kind != ",":
                    raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
                if self.peek()[0] not in ("id", "!"):
                    raise ValueError(f"found '{self.peek()[1]}', expected: identifier after ','")
            elif kind == "end":
                return reqs
            else:
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        kind, lit = self.take()
        negated = kind == "!"
        if negated:
            kind, lit = self.take()
        if kind != "id":
            raise ValueError(f"found '{lit}', expected: identifier")
        _validate_key(lit)
        key = lit
        if negated or self.peek()[0] in ("end", ","):
            return Requirement(key, "!" if negated else "exists")
        kind, lit = self.take()
        op = {"=": "=", "==": "==", "!=": "!=", "<": "lt", ">": "gt"}.get(kind)
        if kind == "id" and lit in ("in", "notin"):
            op = lit
        if op is None:
            raise ValueError(f"found '{lit}', expected: {_BINARY}")
        values = self.values() if op in ("in", "notin") else self.exact_value()
        for value in values:
            _validate_value(value)
        if op in ("gt", "lt") and (len(values) != 1 or not re.fullmatch(r"-?\d+", values[0])):
            raise ValueError(f"for 'Gt', 'Lt' operators, the value must be an integer: {values}")
        return Requirement(key, op, values)

    def values(self) -> tuple[str, ...]:
        kind, lit = self.take()
        if kind != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        kind, lit = self.peek()
        if kind == ")":
            self.take()
            return ("",)
        if kind not in ("id", ","):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        found: set[str] = set()
        while True:
            kind, lit = self.take()
            if kind == "id":
                found.add(lit)
                nxt, nlit = self.peek()
                if nxt == ",":
                    self.take()
                    if self.peek()[0] == ")":
                        found.add("")
                        break
                    continue
                if nxt == ")":
                    break
                raise ValueError(f"found '{nlit}', expected: ',' or ')'")
            if kind == ",":
                found.add("")
                if self.peek()[0] == ")":
                    break
                continue
            raise ValueError(f"found '{lit}', expected: ',', or identifier")
        self.take()
        return tuple(sorted(found))

    def exact_value(self) -> tuple[str, ...]:
        if self.peek()[0] in ("end", ","):
            return ("",)
        kind, lit = self.take()
        if kind == "id":
            return (lit,)
        raise ValueError(f"found '{lit}', expected: identifier")


def _validate_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123.match(prefix)):
        raise ValueError(f'key: Invalid value: "{key}": prefix part must be a valid DNS subdomain')
    if not name or len(name) > 63 or not _NAME.match(name):
        raise ValueError(
            f'key: Invalid value: "{key}": name part must consist of alphanumeric characters, '
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )


def _validate_value(value: str) -> None:
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise ValueError(
            f'values[0][key]: Invalid value: "{value}": a valid label must be an empty string or '
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character"
        )


def parse_labels(text: str) -> list[Requirement]:
    """Parse a labelSelector; a malformed one is a 400 like the real server's."""
    try:
        return _LabelParser(text).parse()
    except ValueError as exc:
        raise bad_request(str(exc)) from None


@dataclass(frozen=True)
class FieldTerm:
    """One field selector term: field, operator (= or !=) and value."""

    field: str
    negated: bool
    value: str


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if text[i] == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(text[i])
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_fields(text: str) -> list[FieldTerm]:
    """Parse a fieldSelector (terms joined by ','; '=', '==' or '!=')."""
    terms: list[FieldTerm] = []
    if not text:
        return terms
    for part in _split_unescaped(text, ","):
        if not part:
            continue
        for op in ("!=", "==", "="):
            idx = part.find(op)
            if idx >= 0:
                terms.append(FieldTerm(part[:idx], op == "!=", _unescape(part[idx + len(op) :])))
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
    return terms


FieldGetter = Callable[[dict[str, Any]], str]


def _path(*keys: str) -> FieldGetter:
    def get(obj: dict[str, Any]) -> str:
        cur: Any = obj
        for key in keys:
            cur = cur.get(key) if isinstance(cur, dict) else None
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return "" if cur is None else str(cur)

    return get


_COMMON = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}
_EVENT = {
    f"involvedObject.{f}": _path("involvedObject", f)
    for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
}
_EVENT.update({
    "reason": _path("reason"), "type": _path("type"), "source": _path("source", "component"),
    "reportingComponent": _path("reportingComponent"),
})
_EVENT_V1 = {
    f"regarding.{f}": _path("regarding", f)
    for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
}
_EVENT_V1.update({"reason": _path("reason"), "type": _path("type"),
                  "reportingController": _path("reportingController")})
FIELDS: dict[str, dict[str, FieldGetter]] = {
    "Pod": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda o: "true" if o.get("spec", {}).get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "Event": _EVENT,
    "Event.events.k8s.io": _EVENT_V1,
    "Secret": {"type": _path("type")},
    "Node": {"spec.unschedulable": lambda o: "true" if o.get("spec", {}).get("unschedulable") else "false"},
    "Namespace": {"status.phase": _path("status", "phase")},
    "ReplicaSet": {"status.replicas": _path("status", "replicas")},
    "Job": {"status.successful": _path("status", "succeeded")},
    "PersistentVolume": {"name": _path("metadata", "name")},
}


def field_matcher(terms: list[FieldTerm], field_key: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for the terms, or a 400 when a field is not supported for the kind."""
    table = {**_COMMON, **FIELDS.get(field_key, {})}
    getters = []
    for term in terms:
        getter = table.get(term.field)
        if getter is None:
            raise ApiError(400, f'field label not supported: {term.field}')
        getters.append((getter, term))

    def match(obj: dict[str, Any]) -> bool:
        return all((getter(obj) == term.value) != term.negated for getter, term in getters)

    return match
