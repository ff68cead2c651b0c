"""Fixture time: "@-2d3h"-style offsets resolved against the server's start, and ages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def iso(epoch: float) -> str:
    """RFC 3339 in UTC with second precision, as metav1.Time marshals."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def parse(ts: str) -> float:
    """Seconds since the epoch for an RFC 3339 timestamp."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def offset(spec: str) -> int:
    """Seconds in an offset such as "@-2d3h" (always in the past)."""
    body = spec.removeprefix("@-").removeprefix("@")
    if not body or _PART.sub("", body):
        raise ValueError(f"bad relative time {spec!r}")
    return sum(int(n) * _UNITS[u] for n, u in _PART.findall(body))


class Clock:
    """The instant the fixture was built; relative times are resolved against it."""

    def __init__(self, now: float) -> None:
        self.now = float(int(now))

    def at(self, spec: str) -> str:
        """The timestamp for an "@-…" offset."""
        return iso(self.now - offset(spec))

    def plus(self, ts: str, seconds: float) -> str:
        """A timestamp some seconds after another."""
        return iso(parse(ts) + seconds)


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration, which kubectl's AGE columns use."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"
