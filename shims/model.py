"""The frozen values the pure core passes around: parsed invocations and decisions."""

from __future__ import annotations

from kro.shims.hotpath_stdlib import NamedTuple


class FlagUse(NamedTuple):
    """One flag as kubectl will see it: canonical long name and the value it receives."""

    name: str
    written: str
    value: str | None
    is_global: bool


class Invocation(NamedTuple):
    """An argv parsed the way cobra and pflag parse it."""

    tool: str
    argv: tuple[str, ...]
    path: tuple[str, ...]
    flags: tuple[FlagUse, ...]
    positionals: tuple[str, ...]
    after_dash: tuple[str, ...]
    pin_at: int
    error: str | None = None
    error_rule: str = "parse.unknown-flag"
    subargs: tuple[str, ...] = ()

    @property
    def verb(self) -> str | None:
        """The command path as kubectl names it, e.g. 'get' or 'config view'."""
        return " ".join(self.path) if self.path else None

    def values(self, name: str) -> list[str]:
        """Every value given to flag `name`, in order (last one wins for scalars)."""
        return [f.value for f in self.flags if f.name == name and f.value is not None]

    def last(self, name: str) -> str | None:
        """The value kubectl will use for a scalar flag, or None when absent."""
        vals = self.values(name)
        return vals[-1] if vals else None

    def has(self, name: str) -> bool:
        """Whether flag `name` appears at all."""
        return any(f.name == name for f in self.flags)

    def is_true(self, name: str) -> bool:
        """Whether a boolean flag ends up true (last value wins)."""
        val = self.last(name)
        return val is not None and parse_bool(val) is True


class Pins(NamedTuple):
    """What the session pins every call to: one context, optionally a namespace allowlist."""

    context: str | None = None
    namespaces: tuple[str, ...] = ()


class Decision(NamedTuple):
    """The policy's answer for one invocation."""

    allowed: bool
    rule: str
    reason: str
    verb: str | None
    resource: str | None = None  # the first resource type the call names (kubectl), as typed, lower-cased

    def as_dict(self) -> dict[str, object]:
        """The JSON object `kro check --json` and `--batch` print (README "kro check")."""
        return {"allowed": self.allowed, "rule": self.rule, "reason": self.reason, "verb": self.verb}


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool; None when the text is not a boolean."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None
