"""One envelope builder: every envelope kro prints comes from shims/envelope.py."""

from __future__ import annotations

import re
from pathlib import Path

import kro_testing
import pytest

from kro.shims import broker_client, envelope

ROOT = Path(__file__).resolve().parents[2]
_LITERAL = re.compile(r"""["']kro["']\s*:\s*["']1["']""")


def test_no_envelope_is_built_by_hand() -> None:
    """No product module but the envelope's own spells the schema marker "kro": "1"."""
    found = [
        str(path.relative_to(ROOT))
        for folder in ("shims", "sandbox", "kro", "democluster")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "shims" / "envelope.py" and _LITERAL.search(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    ("output", "code"),
    [
        pytest.param("envelope", 0, id="envelope.broker-infra"),
        pytest.param("plain", 75, id="plain.broker-infra"),
    ],
)
def test_confined_client_reports_infra_through_the_builder(
    output: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """The --confine client's own infra answer is the builder's envelope (exit 0), or one line and exit 75."""
    assert broker_client._infra(output, "ctx", "the session's broker is busy") == code
    out, err = capsys.readouterr()
    if output == "plain":
        assert (out, err) == ("", "kro: the session's broker is busy\n")
        return
    printed = kro_testing.envelope(out)  # one line, valid against the shipped schema
    assert printed == envelope.error("infra", "the session's broker is busy", "ctx", None)
