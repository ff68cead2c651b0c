"""Lean stand-ins for the hot path: a NamedTuple base that needs no `typing`, and JSON without `json`.

Under `python -IS` a bare interpreter starts in about 10 ms; importing `typing` adds about as much
again, `json` (which pulls in `re` and `enum`) most of that, `dataclasses` more. The shim runs once per
kubectl call, so its value types and its JSON use these instead. Type checkers see typing.NamedTuple.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from enum import IntEnum as IntEnum
    from typing import Any
    from typing import NamedTuple as NamedTuple
else:

    def _getter(index: int) -> Callable[[tuple[object, ...]], object]:
        def get(self: tuple[object, ...]) -> object:
            return tuple.__getitem__(self, index)

        return get

    class NamedTuple(tuple):
        """Class-syntax named tuples (fields from annotations, defaults from class attributes)."""

        _fields: tuple[str, ...] = ()
        _field_defaults: dict[str, object] = {}  # noqa: RUF012 - replaced per subclass, never mutated

        def __init_subclass__(cls, **kwargs: object) -> None:
            super().__init_subclass__(**kwargs)
            names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 - no inspect here
            cls._fields = names
            cls._field_defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
            for index, name in enumerate(names):
                setattr(cls, name, property(_getter(index), doc=f"field {name}"))

        def __new__(cls, *args: object, **kwargs: object) -> NamedTuple:
            if len(args) > len(cls._fields):
                raise TypeError(f"{cls.__name__} takes {len(cls._fields)} values, got {len(args)}")
            values = list(args)
            for name in cls._fields[len(args) :]:
                if name in kwargs:
                    values.append(kwargs.pop(name))
                elif name in cls._field_defaults:
                    values.append(cls._field_defaults[name])
                else:
                    raise TypeError(f"{cls.__name__} is missing {name!r}")
            if kwargs:
                raise TypeError(f"{cls.__name__} has no field {next(iter(kwargs))!r}")
            return tuple.__new__(cls, values)

        def __repr__(self) -> str:
            inner = ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self, strict=True))
            return f"{type(self).__name__}({inner})"

        def _asdict(self) -> dict[str, object]:
            return dict(zip(self._fields, self, strict=True))

        def _replace(self, **changes: object) -> NamedTuple:
            return type(self)(**{**self._asdict(), **changes})

        def __getnewargs__(self) -> tuple[object, ...]:
            # pickle and copy rebuild through __new__ with these values, as typing.NamedTuple does.
            return tuple(self)

    class IntEnum(int):
        """Class-syntax int enums (members from the class's int attributes), like enum.IntEnum."""

        _member_map_: dict[str, IntEnum] = {}  # noqa: RUF012 - replaced per subclass, never mutated
        _value2member_map_: dict[int, IntEnum] = {}  # noqa: RUF012 - likewise
        _name_ = ""

        def __init_subclass__(cls, **kwargs: object) -> None:
            super().__init_subclass__(**kwargs)
            cls._member_map_, cls._value2member_map_ = {}, {}
            for name, value in list(cls.__dict__.items()):
                if name.startswith("_") or type(value) is not int:
                    continue
                member = cls._value2member_map_.get(value)
                if member is None:  # a second name for a value is an alias, as in enum
                    member = int.__new__(cls, value)
                    member._name_ = name
                    cls._value2member_map_[value] = member
                cls._member_map_[name] = member
                setattr(cls, name, member)

        def __new__(cls, value: int) -> IntEnum:
            try:
                return cls._value2member_map_[value]
            except (KeyError, TypeError):
                raise ValueError(f"{value!r} is not a valid {cls.__name__}") from None

        def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
            return type(self), (int(self),)

        def __copy__(self) -> IntEnum:
            return self

        def __deepcopy__(self, memo: object) -> IntEnum:
            return self

        @property
        def name(self) -> str:
            """The member's name."""
            return self._name_

        @property
        def value(self) -> int:
            """The member's value."""
            return int(self)

        def __repr__(self) -> str:
            return f"<{type(self).__name__}.{self._name_}: {int(self)}>"

        __str__ = int.__repr__
        __format__ = int.__format__


class _DecodeContext:
    """The attributes CPython's C JSON scanner reads from its context (json.JSONDecoder's)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}  # noqa: RUF012 - the scanner's key cache, as in json.decoder

    @staticmethod
    def parse_constant(name: str) -> float:
        """NaN and Infinity, as json does."""
        return float(name.replace("Infinity", "inf"))


_SCANNER = _json.make_scanner(_DecodeContext())  # type: ignore[arg-type]  # duck-typed context
_WHITESPACE = " \t\n\r"


class JSONDecodeError(ValueError):
    """The text is not one JSON document."""


def loads(data: str | bytes) -> Any:
    """Parse one JSON document (the C scanner json itself uses)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _SCANNER(text, start)
    except StopIteration as exc:
        raise JSONDecodeError(f"expecting a JSON value at character {exc.value}") from None
    except ValueError as exc:  # the scanner's own JSONDecodeError (it imports json.decoder to raise it)
        raise JSONDecodeError(str(exc)) from None
    except Exception:  # SystemError on some truncated input, RecursionError when deep
        return _safe_loads(text)
    if text[end:].strip(_WHITESPACE):
        raise JSONDecodeError(f"extra data at character {end}")
    return value


def _safe_loads(text: str) -> Any:
    """orjson, for what the C scanner cannot take: it never recurses on the C stack and caps nesting."""
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise JSONDecodeError(str(exc)) from None


_encode_str = _json.encode_basestring


def _encode(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_encode_str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int | float):
        out.append(int.__repr__(value) if isinstance(value, int) else float.__repr__(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append("," if i else "")
            out.append(_encode_str(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: object) -> str:
    """Compact JSON, non-ASCII kept as is (json.dumps with ensure_ascii=False, separators , and :)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
