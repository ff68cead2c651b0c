"""kro's one duration parser, without `re`: Go-style (kubectl's --request-timeout, kro-run's --call-timeout)
and kro's own longer ones (`kro audit --since`, kro-run --approval-ttl: s, m, h and d)."""

from __future__ import annotations

GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
DAY_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

def parse_duration(text: str, units: dict[str, float] = GO_UNITS, *, bare: bool = True) -> float:
    """Seconds in '30s', '1m30s', '500ms', '2h' (a unit of `units`) or, with `bare`, a number of seconds.

    ValueError otherwise.
    """
    text = text.strip()
    if text.replace(".", "", 1).isdigit():
        if bare:
            return float(text)
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 2h or 1d (give the unit)")
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
        if not number or number.count(".") > 1 or number == "." or unit not in units:
            example = "30s, 1m30s or 500ms" if units is GO_UNITS else "30s, 10m, 2h or 1d"
            raise ValueError(f"{text!r} is not a duration like {example}")
        total += float(number) * units[unit]
        i = k
    return total
