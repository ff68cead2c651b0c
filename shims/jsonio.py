"""Compact JSON for the hot path: the stdlib encoder (orjson's import costs more than it saves here)."""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def clean(text: str) -> str:
    """Make text valid Unicode: lone surrogates (undecodable bytes) become visible \\xNN escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def dumps(obj: Any) -> bytes:
    """One compact JSON document as UTF-8 bytes."""
    return _ENCODER.encode(obj).encode("utf-8", "backslashreplace")


loads = json.loads
JSONDecodeError = json.JSONDecodeError
