"""The --confine shim waits for the broker longer than the broker lets the call run, in every mode."""

from __future__ import annotations

import pytest

from kro.shims.broker_client import PLAIN_BOUND_S, call_bound, reply_timeout
from kro.shims.session import TOTAL_CAP_S, Session


def _session(**fields: object) -> Session:
    return Session("id", "/nonexistent", "ctx", "/kc", "/usr/bin/kubectl", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "bound"),
    [
        pytest.param({"output": "envelope"}, TOTAL_CAP_S + 15, id="envelope-total-cap"),
        pytest.param({"output": "envelope", "call_timeout": 40.0}, 55.0, id="envelope-call-timeout"),
        pytest.param({"output": "envelope", "request_timeout": 900.0}, 915.0, id="envelope-long-request"),
        pytest.param({"output": "plain"}, PLAIN_BOUND_S, id="plain-unbounded"),
        pytest.param({"output": "plain", "call_timeout": 20.0}, 35.0, id="plain-call-timeout"),
    ],
)
def test_the_client_outwaits_the_broker(fields: dict[str, object], bound: float) -> None:
    """A call still making progress is not cut short by the client's own wait (reply_timeout)."""
    session = _session(**fields)
    assert call_bound(session) == bound
    assert reply_timeout(session) > call_bound(session)
