"""Rewrite decoded API responses at the session proxy: Secret values emptied, secret-shaped ones redacted."""

from __future__ import annotations

import orjson

from kro.shims.redact import MARK, is_harmless, is_secret_key, is_secret_name, may_hold_secret, redact_text

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Where a dict sits, which decides what a dict without a `kind` is. TOP: a response, a watch event, a Table
# row, an item of a generic v1 List (kindless there means unknown: one holding data is taken for a Secret).
# SECRET: an item of a SecretList (items carry no kind). META: an item of a PartialObjectMetadataList.
# OTHER: inside an object of a known kind, or an item of a typed list of another kind.
_TOP, _SECRET, _META, _OTHER = range(4)
_CONTAINERS = frozenset({"List", "Table", "WatchEvent"})
_ITEM_CONTEXT = {"SecretList": _SECRET, "PartialObjectMetadataList": _META, "List": _TOP}
_EMBEDDED_JSON_DEPTH = 4  # JSON inside a string inside JSON …: deeper levels are redacted as text
# Strings this short are remembered with their result (names, images, keys repeat in every object).
_MEMO_STRING = 256
_MEMO_SIZE = 65536


def forbidden_status(reason: str) -> dict[str, object]:
    """A Kubernetes Status (403 Forbidden) whose message is "kro: " + reason."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"kro: {reason}",
        "reason": "Forbidden",
        "code": 403,
    }


def _split_media(accept: str) -> list[str]:
    """The media ranges of an Accept header (commas inside quoted parameter values do not split)."""
    parts: list[str] = []
    start, quoted = 0, False
    for i, char in enumerate(accept):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append(accept[start:i])
            start = i + 1
    parts.append(accept[start:])
    return [p.strip() for p in parts if p.strip()]


def json_accept(accept: str | None) -> str:
    """The Accept header to send upstream when the response is rewritten: its JSON media ranges only."""
    kept = [p for p in _split_media(accept or "") if p.split(";", 1)[0].strip().lower() == "application/json"]
    return ",".join(kept) or "application/json"


def _empty_values(secret: dict[str, object]) -> None:
    """Names and keys yes, values never: each data/stringData value becomes "", the annotation goes."""
    for field in ("data", "stringData"):
        if field in secret:
            values = secret[field]
            if isinstance(values, dict):
                secret[field] = dict.fromkeys(values, "")
            elif values is not None:
                secret[field] = {}
    _drop_last_applied(secret)


def _drop_last_applied(obj: dict[str, object]) -> None:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)


def scrub_secrets(doc: object) -> object:
    """Empty every Secret's data/stringData values and drop its last-applied annotation, in any shape.

    Secret, SecretList, v1 List, Table rows[].object, PartialObjectMetadata(List) (metadata alone cannot say
    it is not a Secret's, so its last-applied annotation always goes), watch events, nesting of any of these.
    Works in place (iteratively: no depth limit) and returns `doc`.
    """
    stack: list[tuple[object, int]] = [(doc, _TOP)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((item, where) for item in node if isinstance(item, (dict, list)))
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("kind")
        kind = kind if isinstance(kind, str) else None
        holds_values = "data" in node or "stringData" in node
        if kind == "Secret" or (kind is None and (where == _SECRET or (where == _TOP and holds_values))):
            _empty_values(node)
            inner = _OTHER
        elif kind == "PartialObjectMetadata" or (kind is None and where in (_META, _TOP)):
            _drop_last_applied(node)
            inner = _TOP if kind is None and where == _TOP else _OTHER
        elif kind in _CONTAINERS:
            inner = _TOP
        else:
            inner = _OTHER
        items_where = _ITEM_CONTEXT.get(kind or "", inner)
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                stack.append((value, items_where if key == "items" else inner))
    return doc


class _Redaction:
    """One redact_objects run: the count, and memos of key and string decisions (they repeat per object)."""

    def __init__(self) -> None:
        self.count = 0
        self.depth = 0
        self._keys: dict[str, bool] = {}
        self._strings: dict[str, tuple[str, int]] = {}

    def secret_key(self, key: str) -> bool:
        known = self._keys.get(key)
        if known is None:
            known = self._keys[key] = is_secret_key(key)
        return known

    def value(self, value: object) -> object:
        """A value under a secret-like key: redacted unless it carries nothing."""
        if isinstance(value, str):
            if is_harmless(value):
                return value
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        self.count += 1
        return MARK

    def string(self, text: str) -> str:
        """Token patterns and key=value pairs in a free string; JSON inside it is parsed and redacted."""
        short = len(text) <= _MEMO_STRING
        known = self._strings.get(text) if short else None
        if known is None:
            known = self._redact_string(text) if may_hold_secret(text) else (text, 0)
            if short and not self.depth:
                if len(self._strings) >= _MEMO_SIZE:
                    self._strings.clear()
                self._strings[text] = known
        self.count += known[1]
        return known[0]

    def _redact_string(self, text: str) -> tuple[str, int]:
        if text.lstrip()[:1] in ("{", "[") and self.depth < _EMBEDDED_JSON_DEPTH:
            try:
                embedded = orjson.loads(text)
            except orjson.JSONDecodeError:
                embedded = None
            if isinstance(embedded, (dict, list)):
                outer, self.count = self.count, 0
                self.depth += 1
                try:
                    self.walk(embedded)
                finally:
                    self.depth -= 1
                    inner, self.count = self.count, outer
                if not inner:
                    return text, 0
                tail = text[len(text.rstrip()) :]
                return orjson.dumps(embedded).decode() + tail, inner
        return redact_text(text)

    def walk(self, doc: object) -> object:
        if isinstance(doc, str):
            return self.string(doc)
        stack: list[object] = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                for i, item in enumerate(node):
                    if isinstance(item, str):
                        node[i] = self.string(item)
                    elif isinstance(item, (dict, list)):
                        stack.append(item)
            elif isinstance(node, dict):
                self._object(node, stack)
        return doc

    def _object(self, node: dict[str, object], stack: list[object]) -> None:
        if node.get("kind") == "Secret":
            for field in ("data", "stringData"):
                values = node.get(field)
                if isinstance(values, dict):
                    for key, value in values.items():
                        if isinstance(value, str):
                            values[key] = self.value(value)
                        elif value is not None:
                            values[key] = MARK
                            self.count += 1
        elif node.get("kind") == "Table":
            self._table(node)
        name = node.get("name")
        paired = isinstance(name, str) and "value" in node and is_secret_name(name)
        for key, value in node.items():
            if paired and key == "value":
                node[key] = self.value(value)
            elif isinstance(value, str):
                node[key] = self.value(value) if self.secret_key(key) else self.string(value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
            elif value is not None and self.secret_key(key):
                node[key] = self.value(value)

    def _table(self, table: dict[str, object]) -> None:
        """A Table's cells under a secret-like column name (a CRD's printer column) are values too."""
        columns, rows = table.get("columnDefinitions"), table.get("rows")
        if not isinstance(columns, list) or not isinstance(rows, list):
            return
        secret = [
            i
            for i, col in enumerate(columns)
            if isinstance(col, dict) and isinstance(col.get("name"), str) and self.secret_key(col["name"])
        ]
        for row in rows if secret else ():
            cells = row.get("cells") if isinstance(row, dict) else None
            if isinstance(cells, list):
                for i in secret:
                    if i < len(cells) and isinstance(cells[i], str):
                        cells[i] = self.value(cells[i])


def redact_objects(doc: object) -> tuple[object, int]:
    """Secret-shaped values inside decoded JSON objects replaced with [REDACTED]; returns (doc, count).

    Values under secret-like keys, env-style {"name": SECRET_NAME, "value": …} pairs, the data of any
    embedded Secret, JSON inside strings (last-applied-configuration and other annotations: parsed,
    redacted, re-serialised), and the text redactor's patterns (bearer tokens, JWTs, AWS keys, PEM keys,
    key=value) in every other string. Works in place.
    """
    run = _Redaction()
    out = run.walk(doc)
    return out, run.count
