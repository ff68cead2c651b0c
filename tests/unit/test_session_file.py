"""session.json: one writer and one reader in one codec; damage is a ConfigError, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kro.shims.errors import ConfigError
from kro.shims.session import Session, load_session, write_session

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    context=_TEXT, namespaces=st.lists(_TEXT, max_size=3), notice=st.none() | _TEXT,
    timeout=st.floats(0.1, 1e6), env=st.dictionaries(_TEXT, st.none() | _TEXT, max_size=3),
)  # fmt: skip
def test_round_trip(
    tmp_path_factory: pytest.TempPathFactory, context: str, namespaces: list[str], notice: str | None,
    timeout: float, env: dict[str, str | None],
) -> None:  # fmt: skip
    """What is written is what is read back, field for field (and the file is valid JSON, mode 0600)."""
    path = tmp_path_factory.mktemp("s") / "session.json"
    session = Session(
        "id", "/d", context, "/k", "/usr/bin/kubectl", namespaces=tuple(namespaces), notice=notice,
        call_timeout=timeout, env=env,
    )  # fmt: skip
    write_session(session, str(path))
    assert load_session(str(path)) == session
    assert json.loads(path.read_bytes())["context"] == context
    assert os.stat(path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param(None, "no kro session at", id="session.missing"),
        pytest.param("{", "damaged session file", id="session.not-json"),
        pytest.param("[]", "damaged session file", id="session.not-an-object"),
        pytest.param('{"schema": 99}', "schema 99 is not 1", id="session.schema"),
        pytest.param('{"schema": 1, "id": "x"}', "damaged session file", id="session.fields-missing"),
        pytest.param('{"schema": 1, "bogus": 1}', "damaged session file", id="session.unknown-field"),
    ],
)
def test_damaged_files_are_config_errors(tmp_path: Path, text: str | None, said: str) -> None:
    """The shim fails closed with one line (exit 78) on any damage."""
    path = tmp_path / "session.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=said):
        load_session(str(path))
