"""kubectl's and kubetail's command trees and flag tables, loaded from the generated data files."""

from __future__ import annotations

import os

from kro.shims import json_codec
from kro.shims.hotpath_stdlib import NamedTuple

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

# pflag flag kinds, as the generator writes them.
BOOL = "bool"  # NoOptDefVal "true": never consumes the next argument
VALUE = "value"  # requires a value: consumes the next argument unless written --f=v
OPTIONAL = "optional"  # non-bool NoOptDefVal: never consumes the next argument
CONFLICT = "conflict"  # kubectl versions disagree: the parser refuses the flag


class Command(NamedTuple):
    """One cobra command: its canonical name, local flags and subcommands (built when first walked)."""

    name: str
    flags: dict[str, str]
    shorts: dict[str, str]
    children: dict[str, tuple[str, dict[str, object]]]  # name or alias -> (canonical name, raw table)
    built: dict[str, Command]  # children built so far: a call walks one path, not the whole tree
    hidden: bool

    def sub(self, word: str) -> Command | None:
        """The subcommand named (or aliased) `word`, or None."""
        found = self.built.get(word)
        if found is None and word in self.children:
            name, raw = self.children[word]
            found = self.built[word] = _command(name, raw)
        return found


class Tables(NamedTuple):
    """A CLI's flag tables: the global flags and the root command."""

    tool: str
    global_flags: dict[str, str]
    global_shorts: dict[str, str]
    root: Command
    renames: dict[str, str]

    def normalize(self, name: str) -> str:
        """The tool's flag-name normalizer: `_` becomes `-`, then its renames (kubetail --context)."""
        name = name.replace("_", "-")
        return self.renames.get(name, name)


def _flags(raw: dict[str, dict[str, object]]) -> tuple[dict[str, str], dict[str, str]]:
    kinds = {name: str(spec["kind"]) for name, spec in raw.items()}
    shorts = {str(spec["short"]): name for name, spec in raw.items() if spec.get("short")}
    return kinds, shorts


def _command(name: str, raw: dict[str, object]) -> Command:
    flags_raw = raw.get("flags") or {}
    assert isinstance(flags_raw, dict)
    kinds, shorts = _flags(flags_raw)
    children: dict[str, tuple[str, dict[str, object]]] = {}
    subs_raw = raw.get("subcommands") or {}
    assert isinstance(subs_raw, dict)
    for sub_name, sub_raw in subs_raw.items():
        children[sub_name] = (sub_name, sub_raw)
        for alias in sub_raw.get("aliases") or ():
            children.setdefault(alias, (sub_name, sub_raw))
    return Command(name, kinds, shorts, children, {}, bool(raw.get("hidden", False)))


_LOADED: dict[str, Tables] = {}


def load(tool: str) -> Tables:
    """The tables of `tool` ('kubectl' or 'kubetail'), read once per process (memoized)."""
    if tool in _LOADED:
        return _LOADED[tool]
    with open(os.path.join(DATA_DIR, f"{tool}_flags.json"), "rb") as handle:
        raw = json_codec.loads(handle.read())
    g_kinds, g_shorts = _flags(raw["global"])
    root_flags = raw.get("root_flags") or {"help": {"short": "h", "kind": BOOL}}
    root = _command("", {"flags": root_flags, "subcommands": raw["commands"]})
    tables = _LOADED[tool] = Tables(tool, g_kinds, g_shorts, root, dict(raw.get("normalize") or {}))
    return tables
