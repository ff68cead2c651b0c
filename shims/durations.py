"""Go-style durations (kubectl's --request-timeout, kro-run's --call-timeout) without importing `re`."""

from __future__ import annotations

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in '30s', '1m30s', '500ms', '2h' or a bare number of seconds; ValueError otherwise."""
    text = text.strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    total, i = 0.0, 0
    if not text:
        raise ValueError("empty duration")
    while i < len(text):
        j = i
        while j < len(text) and (text[j].isdigit() or text[j] == "."):
            j += 1
        k = j
        while k < len(text) and not (text[k].isdigit() or text[k] == "."):
            k += 1
        number, unit = text[i:j], text[j:k]
        if not number or number.count(".") > 1 or number == "." or unit not in _UNITS:
            raise ValueError(f"{text!r} is not a duration like 30s, 1m30s or 500ms")
        total += float(number) * _UNITS[unit]
        i = k
    return total
