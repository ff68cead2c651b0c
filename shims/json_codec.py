"""Compact JSON for the hot path, on the C scanner/escaper without importing `json` (hotpath_stdlib.py)."""

from __future__ import annotations

from kro.shims.hotpath_stdlib import JSONDecodeError, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["JSONDecodeError", "clean", "dumps", "loads"]


def clean(text: str) -> str:
    """Make text valid Unicode: lone surrogates (undecodable bytes) become visible \\xNN escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def dumps(obj: Any) -> bytes:
    """One compact JSON document as UTF-8 bytes."""
    from kro.shims.hotpath_stdlib import dumps as encode

    return encode(obj).encode("utf-8", "backslashreplace")
