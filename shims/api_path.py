"""Read an API request's wire path and query the way kube-apiserver does, refusing anything ambiguous."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_HEX = frozenset("0123456789abcdefABCDEF")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# What a path segment may hold once decoded: RFC 3986 unreserved and sub-delims, ':' and '@' (RBAC names
# such as system:node-proxier), minus ';' (a path parameter to some servers, a plain byte to Go's).
_SEGMENT_CHARS = _ALNUM | frozenset("-._~!$&'()*+,=:@")
# Raw (on the wire) a path may also hold '/' and '%' escapes; anything else (space, quotes, '\', '#', '?',
# non-ASCII, control characters) is not something a Kubernetes client sends.
_RAW_PATH_CHARS = _SEGMENT_CHARS | frozenset("/%")
# An escape may only spell a byte that needs no special reading: '%2F' (a slash the server would split on
# after we did not), '%2E' (dots that become '..'), '%25' (a second round of decoding), '%5C' and the
# rest are refused.
_ESCAPABLE = _ALNUM | frozenset("-_~!$&'()*+,=:@")
_RAW_QUERY_CHARS = _RAW_PATH_CHARS | frozenset('?[]{}|^`"<>')
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2}).{0,2}")


class PathError(ValueError):
    """The path or query cannot be read without ambiguity; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Route:
    """What a decoded path names: a kind of endpoint and, for API resources, its parts."""

    kind: str  # "resource", "discovery", "openapi", "version", "health", "metrics", "unknown"
    group: str = ""  # "" for the core group (/api/v1)
    version: str = ""
    namespace: str | None = None
    resource: str = ""
    name: str | None = None
    subresource: str | None = None
    extra: tuple[str, ...] = ()  # segments after the subresource (only `proxy` has any)
    verb: str = ""  # "watch" or "proxy" when the path starts with that special verb, else ""

    @property
    def group_version(self) -> str:
        """'v1' for the core group, 'GROUP/VERSION' otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version


def _decode_segment(raw: str) -> str:
    if "%" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char != "%":
            out.append(char)
            i += 1
            continue
        pair = raw[i + 1 : i + 3]
        if len(pair) != 2 or not (pair[0] in _HEX and pair[1] in _HEX):
            raise PathError(f"a '%' that is not followed by two hex digits ({raw[i : i + 3]!r})")
        decoded = chr(int(pair, 16))
        if decoded not in _ESCAPABLE:
            raise PathError(f"an encoded {decoded!r} (%{pair}) that the server would read differently")
        out.append(decoded)
        i += 3
    return "".join(out)


def split_path(raw_path: str) -> tuple[str, ...]:
    """The decoded segments of a wire path; raises PathError for anything kro cannot read one way only."""
    if not raw_path.startswith("/"):
        raise PathError("a path that does not start with '/'")
    if not _RAW_PATH_CHARS.issuperset(raw_path):
        bad = next(c for c in raw_path if c not in _RAW_PATH_CHARS)
        raise PathError(f"the character {bad!r}")
    if "//" in raw_path:
        raise PathError("an empty segment ('//')")
    if ".." in raw_path:
        raise PathError("'..'")
    body = raw_path[1:-1] if raw_path.endswith("/") and len(raw_path) > 1 else raw_path[1:]
    if not body:
        return ()
    segments = tuple(_decode_segment(s) for s in body.split("/"))
    if "." in segments:
        raise PathError("a '.' segment")
    return segments


def _decode_query_part(raw: str) -> str:
    text = raw.replace("+", " ")
    if "%" not in text:
        return text
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError as err:
        raise PathError("a query key or value that is not UTF-8") from err


def parse_query(raw_query: str) -> tuple[tuple[str, str], ...]:
    """(key, value) pairs of a raw query, decoded as Go's url.ParseQuery does; PathError when unclear.

    Only keys are decoded (and the values of `watch`, the one parameter the policy reads): checking every
    escape is enough to refuse what Go would drop, and keeps a long selector cheap.
    """
    if not raw_query:
        return ()
    if not _RAW_QUERY_CHARS.issuperset(raw_query):
        bad = next(c for c in raw_query if c not in _RAW_QUERY_CHARS)
        raise PathError(f"the character {bad!r} in the query")
    bad_escape = _BAD_ESCAPE.search(raw_query) if "%" in raw_query else None
    if bad_escape is not None:
        raise PathError(f"a '%' not followed by two hex digits in the query ({bad_escape.group()!r})")
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&"):
        if part:
            key, _, value = part.partition("=")
            key = _decode_query_part(key)
            pairs.append((key, _decode_query_part(value) if key == "watch" else value))
    return tuple(pairs)


def decoded_query(raw_query: str) -> tuple[tuple[str, str], ...]:
    """parse_query's pairs with every value decoded too (for a policy that reads values: `get --raw`)."""
    return tuple((key, _decode_query_part(value)) for key, value in parse_query(raw_query))


def query_flag(pairs: tuple[tuple[str, str], ...], key: str) -> bool:
    """A boolean query parameter as the apiserver reads it: present and not '0'/'false' (any case)."""
    for name, value in pairs:
        if name == key:
            return value != "0" and value.lower() != "false"
    return False


def _is_label(text: str) -> bool:
    """A DNS-1123 label or subdomain (API group names, versions)."""
    if not text or text[0] not in _LOWER_ALNUM or text[-1] not in _LOWER_ALNUM:
        return False
    return all(c in _LOWER_ALNUM or c in "-." for c in text)


_HEALTH = frozenset({"healthz", "livez", "readyz"})
_METRICS = frozenset({("metrics",), ("metrics", "slis")})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def route(segments: tuple[str, ...]) -> Route:
    """Classify decoded segments like the apiserver's RequestInfoFactory; unknown shapes are 'unknown'."""
    if not segments:
        return Route("unknown")
    head = segments[0]
    if head == "api":
        if len(segments) == 1:
            return Route("discovery")
        group, version, rest = "", segments[1], segments[2:]
    elif head == "apis":
        if len(segments) == 1:
            return Route("discovery")
        if not _is_label(segments[1]):
            return Route("unknown")
        if len(segments) == 2:
            return Route("discovery", group=segments[1])
        group, version, rest = segments[1], segments[2], segments[3:]
    elif head == "openapi":
        ok = segments[1:] == ("v2",) or (len(segments) >= 2 and segments[1] == "v3")
        return Route("openapi" if ok else "unknown")
    elif segments == ("version",):
        return Route("version")
    elif head in _HEALTH:
        return Route("health")
    elif segments in _METRICS:
        return Route("metrics")
    else:
        return Route("unknown")
    if not _is_label(version) or "." in version:
        return Route("unknown")
    if not rest:
        return Route("discovery", group=group, version=version)
    verb = ""
    if rest[0] in ("watch", "proxy"):
        verb, rest = rest[0], rest[1:]
        if not rest:
            return Route("unknown", group=group, version=version, verb=verb)
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    return Route(
        "resource",
        group=group,
        version=version,
        namespace=namespace,
        resource=rest[0],
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else None,
        extra=rest[3:],
        verb=verb,
    )
