"""Go-style durations for --call-timeout and kubectl's --request-timeout."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kro.shims.durations import DAY_UNITS, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("30s", 30.0, id="duration.seconds"),
        pytest.param("1m30s", 90.0, id="duration.compound"),
        pytest.param("500ms", 0.5, id="duration.millis"),
        pytest.param("2h", 7200.0, id="duration.hours"),
        pytest.param("1.5s", 1.5, id="duration.fraction"),
        pytest.param("5", 5.0, id="duration.bare-number"),
        pytest.param("0", 0.0, id="duration.zero"),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    """What kubectl accepts for --request-timeout."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "5x", "1..2s", "-1s", "1s2", "ten"])
def test_not_durations(text: str) -> None:
    """Anything else is a ValueError naming the text."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.text(max_size=12))
def test_never_raises_anything_but_value_error(text: str) -> None:
    """A parser on the hot path: any text is a number of seconds or a ValueError."""
    with contextlib.suppress(ValueError):
        assert parse_duration(text) >= 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("90s", 90.0, id="duration.days-units.seconds"),
        pytest.param("15m", 900.0, id="duration.days-units.minutes"),
        pytest.param("1d", 86400.0, id="duration.days-units.day"),
        pytest.param("1h30m", 5400.0, id="duration.days-units.compound"),
    ],
)
def test_day_units(text: str, seconds: float) -> None:
    """kro's own longer durations (kro audit --since, kro-run --approval-ttl) on the same parser."""
    assert parse_duration(text, DAY_UNITS, bare=False) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["90", "500ms", "1w", ""])
def test_day_units_want_a_unit_they_know(text: str) -> None:
    """Without `bare`, a number needs its unit; Go's sub-second units are not among kro's own."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text, DAY_UNITS, bare=False)
