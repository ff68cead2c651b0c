"""ExitStatus (the lean IntEnum) against enum.IntEnum, and the one error wrapper every entry point runs in."""

from __future__ import annotations

import copy
import enum
import errno
import json
import os
import pickle
from collections.abc import Callable

import pytest

from kro.shims import json_codec
from kro.shims.errors import (
    AuditError,
    CommandNotFound,
    ConfigError,
    ExitStatus,
    KroError,
    ToolNotFound,
    UsageError,
    guarded,
)

MEMBERS = {name: int(value) for name, value in vars(ExitStatus).items() if isinstance(value, ExitStatus)}
Reference = enum.IntEnum("ExitStatus", MEMBERS)  # type: ignore[misc]  # the standard library's, same members


def test_members_are_the_documented_codes() -> None:
    """The statuses README and --help name."""
    assert MEMBERS == {
        "OK": 0, "FAILED": 1, "USAGE": 2, "NOT_FOUND": 69, "INTERNAL": 70, "TEMPFAIL": 75, "BLOCKED": 77,
        "CONFIG": 78, "TIMED_OUT": 124, "CMD_NOT_FOUND": 127, "INTERRUPTED": 130,
    }  # fmt: skip


@pytest.mark.parametrize("name", list(MEMBERS))
def test_lean_int_enum_behaves_like_enum_int_enum(name: str) -> None:
    """Value, name, lookup, int arithmetic, repr/str/format, JSON, pickle and copy as enum.IntEnum."""
    ours, theirs = getattr(ExitStatus, name), Reference[name]
    assert (ours.name, ours.value, int(ours)) == (theirs.name, theirs.value, int(theirs))
    assert ExitStatus(int(ours)) is ours
    assert ours == int(theirs)
    assert hash(ours) == hash(int(theirs))
    assert ours + 1 == theirs + 1
    assert repr(ours) == repr(theirs)
    assert (str(ours), f"{ours}", f"{ours:>4}") == (str(theirs), f"{theirs}", f"{theirs:>4}")
    assert json.dumps({"code": ours}) == json.dumps({"code": theirs})
    assert json_codec.dumps({"code": ours}) == json.dumps({"code": theirs}, separators=(",", ":")).encode()
    assert pickle.loads(pickle.dumps(ours)) is ours
    assert copy.copy(ours) is ours
    assert copy.deepcopy(ours) is ours
    assert isinstance(ours, int)


def test_unknown_value_is_refused_like_enum() -> None:
    """ExitStatus(5) raises ValueError, as enum does."""
    with pytest.raises(ValueError, match="not a valid ExitStatus"):
        ExitStatus(5)
    with pytest.raises(ValueError, match="not a valid ExitStatus"):
        Reference(5)


def _raise(exc: BaseException) -> Callable[[], int]:
    def body() -> int:
        raise exc

    return body


@pytest.mark.parametrize(
    ("exc", "status", "line"),
    [
        pytest.param(UsageError("bad flag"), ExitStatus.USAGE, "prog: bad flag\n", id="exit.usage"),
        pytest.param(
            ToolNotFound("no kubectl"), ExitStatus.NOT_FOUND, "prog: no kubectl\n", id="exit.not-found"
        ),
        pytest.param(ConfigError("bad ctx"), ExitStatus.CONFIG, "prog: bad ctx\n", id="exit.config"),
        pytest.param(AuditError("log full"), ExitStatus.CONFIG, "prog: log full\n", id="exit.audit"),
        pytest.param(CommandNotFound("no cmd"), ExitStatus.CMD_NOT_FOUND, "prog: no cmd\n", id="exit.cmd"),
        pytest.param(KroError("other"), ExitStatus.FAILED, "prog: other\n", id="exit.kro-error"),
        pytest.param(KeyboardInterrupt(), ExitStatus.INTERRUPTED, "", id="exit.interrupted"),
        pytest.param(
            RuntimeError("boom"),
            ExitStatus.INTERNAL,
            "prog: internal error (RuntimeError: boom); please report it\n",
            id="exit.internal",
        ),
    ],
)
def test_guarded_maps_every_error_to_one_line_and_a_status(
    exc: BaseException, status: int, line: str
) -> None:
    """One wrapper: a KroError is its status, ^C 130, anything else 70 and one line (never a traceback)."""
    said: list[str] = []
    assert guarded("prog", _raise(exc), said.append) == status
    assert "".join(said) == line


def test_guarded_passes_the_body_status_through() -> None:
    """A body's own status is the entry point's."""
    assert guarded("prog", lambda: 42, print) == 42


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param(errno.EMFILE, ExitStatus.TEMPFAIL, id="exit.tempfail-emfile"),
        pytest.param(errno.ENOBUFS, ExitStatus.TEMPFAIL, id="exit.tempfail-enobufs"),
        pytest.param(errno.EAGAIN, ExitStatus.TEMPFAIL, id="exit.tempfail-eagain"),
        pytest.param(errno.EACCES, ExitStatus.INTERNAL, id="exit.internal-eacces"),
    ],
)
def test_resource_errors_by_errno_name(code: int, status: int) -> None:
    """Out of resources is recognised by errno name (the numbers differ between Linux and macOS): 75."""
    said: list[str] = []
    assert guarded("prog", _raise(OSError(code, os.strerror(code))), said.append) == status
