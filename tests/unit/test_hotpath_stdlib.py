"""The shim's stand-ins for typing.NamedTuple and json behave like the originals (hotpath_stdlib.py)."""

from __future__ import annotations

import copy
import json
import pickle
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kro.shims.decide import decide_argv
from kro.shims.hotpath_stdlib import JSONDecodeError, dumps, loads
from kro.shims.hotpath_stdlib import NamedTuple as LeanNamedTuple
from kro.shims.model import Pins


class LeanPoint(LeanNamedTuple):
    x: int
    label: str = "origin"


class TypedPoint(typing.NamedTuple):
    x: int
    label: str = "origin"


def test_lean_base_is_not_typing() -> None:
    # The parity below means something only while the shim's base is its own class.
    assert LeanNamedTuple is not typing.NamedTuple
    assert "typing" not in LeanNamedTuple.__module__


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        pytest.param((1,), {}, id="positional-default"),
        pytest.param((1, "a"), {}, id="positional"),
        pytest.param((), {"x": 2, "label": "b"}, id="keywords"),
        pytest.param((3,), {"label": "c"}, id="mixed"),
    ],
)
def test_records_behave_like_typing_namedtuple(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    lean, typed = LeanPoint(*args, **kwargs), TypedPoint(*args, **kwargs)
    assert tuple(lean) == tuple(typed)
    assert (lean.x, lean.label) == (typed.x, typed.label)
    assert repr(lean).replace("Lean", "") == repr(typed).replace("Typed", "")
    assert LeanPoint._fields == TypedPoint._fields
    assert LeanPoint._field_defaults == TypedPoint._field_defaults
    assert lean._asdict() == typed._asdict()
    assert tuple(lean._replace(label="z")) == tuple(typed._replace(label="z"))
    assert hash(lean) == hash(typed)
    assert lean == tuple(typed)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        pytest.param((), {}, id="missing-field"),
        pytest.param((1, "a", "extra"), {}, id="too-many"),
        pytest.param((1,), {"nope": 1}, id="unknown-keyword"),
    ],
)
def test_records_reject_what_typing_rejects(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        TypedPoint(*args, **kwargs)
    with pytest.raises(TypeError):
        LeanPoint(*args, **kwargs)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_records_pickle(protocol: int) -> None:
    point = LeanPoint(7, "seven")
    back = pickle.loads(pickle.dumps(point, protocol))
    assert type(back) is LeanPoint
    assert back == point
    assert back.label == "seven"


def test_records_copy_and_deepcopy() -> None:
    point = LeanPoint(1, "one")
    for clone in (copy.copy(point), copy.deepcopy(point)):
        assert type(clone) is LeanPoint
        assert clone == point


def test_real_records_round_trip() -> None:
    """A parsed call, its decision and the pins survive pickle and deepcopy (multiprocessing, caches)."""
    pins = Pins(context="prod", namespaces=("web",))
    invocation, decision = decide_argv("kubectl", ["get", "pods", "-n", "web"], pins)
    assert decision.allowed
    for value in (pins, invocation, decision):
        assert pickle.loads(pickle.dumps(value)) == value
        assert copy.deepcopy(value) == value
        assert type(pickle.loads(pickle.dumps(value))) is type(value)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(_JSON)
def test_dumps_matches_json(value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=100, deadline=None)
@given(_JSON, st.sampled_from([None, 2]))
def test_loads_matches_json(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("{", id="unclosed"),
        pytest.param("[1,]", id="trailing-comma"),
        pytest.param("{} {}", id="extra-data"),
        pytest.param("'a'", id="single-quotes"),
        pytest.param('"\x01"', id="raw-control-char"),
    ],
)
def test_loads_rejects_what_json_rejects(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(JSONDecodeError):
        loads(text)
