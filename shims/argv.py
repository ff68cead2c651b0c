"""Parse a kubectl (or kubetail) argv exactly as cobra finds the command and pflag reads the flags."""

from __future__ import annotations

from kro.shims.flag_tables import BOOL, CONFLICT, VALUE, Command, Tables
from kro.shims.hotpath_stdlib import NamedTuple
from kro.shims.model import FlagUse, Invocation, parse_bool

# Cobra commands that receive their words unparsed (DisableFlagParsing).
RAW_COMMANDS = frozenset({"__complete", "__completeNoDesc"})


class ParseError(Exception):
    """pflag would reject the argv; the message says why."""

    def __init__(self, message: str, rule: str = "parse.unknown-flag") -> None:
        super().__init__(message)
        self.rule = rule


class _Scope(NamedTuple):
    """The flags visible to one command: its own plus the global (persistent) ones."""

    tables: Tables
    command: Command

    def kind(self, name: str) -> tuple[str, bool] | None:
        """(kind, is_global) of long flag `name`, or None when unknown."""
        kind = self.command.flags.get(name)
        if kind is not None:
            return kind, False
        kind = self.tables.global_flags.get(name)
        return (kind, True) if kind is not None else None

    def short(self, char: str) -> str | None:
        """The long name of shorthand `char`, or None."""
        return self.command.shorts.get(char) or self.tables.global_shorts.get(char)

    def consumes_next(self, token: str) -> bool:
        """cobra's stripFlags test: does this flag token swallow the following argument?"""
        if "=" in token:
            return False
        if token.startswith("--"):
            found = self.kind(self.tables.normalize(token[2:]))
            return found is None or found[0] in (VALUE, CONFLICT)
        if len(token) == 2:
            name = self.short(token[1])
            found = self.kind(name) if name else None
            return found is None or found[0] in (VALUE, CONFLICT)
        return False


def _find(
    tables: Tables, args: list[tuple[int, str]]
) -> tuple[Command, list[str], list[tuple[int, str]], int]:
    """cobra's Command.Find: walk subcommands, removing each command word from the args."""
    command = tables.root
    path: list[str] = []
    pin_at = -1
    while True:
        if command.name in RAW_COMMANDS:
            break
        scope = _Scope(tables, command)
        word = _first_positional(scope, args)
        if word is None:
            break
        sub = command.sub(args[word][1])
        if sub is None:
            break
        pin_at = args[word][0] + 1
        path.append(sub.name)
        command = sub
        args = args[:word] + args[word + 1 :]
    return command, path, args, pin_at


def _first_positional(scope: _Scope, args: list[tuple[int, str]]) -> int | None:
    """Index of the first argument cobra's stripFlags keeps as a command word."""
    i = 0
    while i < len(args):
        token = args[i][1]
        if token == "--":
            return None
        if token.startswith("-"):
            if (token.startswith("--") or len(token) == 2) and scope.consumes_next(token):
                if len(args) - i - 1 <= 1:
                    # cobra stops looking when the flag's value is the last argument.
                    return None
                i += 2
                continue
            i += 1
            continue
        if token == "":
            i += 1
            continue
        return i
    return None


def _check_value(name: str, kind: str, value: str) -> None:
    if kind == BOOL and parse_bool(value) is None:
        raise ParseError(f"invalid argument {value!r} for --{name}: not a boolean", "parse.invalid")


def _parse_flags(
    scope: _Scope, args: list[tuple[int, str]], lenient_end: bool
) -> tuple[list[FlagUse], list[str], list[str]]:
    """pflag's parseArgs: flags anywhere before `--`, values per kind, clusters of shorthands."""
    flags: list[FlagUse] = []
    positionals: list[str] = []
    tokens = [t for _, t in args]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if len(token) < 2 or token[0] != "-":
            positionals.append(token)
            continue
        if token == "--":
            return flags, positionals, tokens[i:]
        if token[1] == "-":
            body = token[2:]
            if not body or body[0] in "-=":
                raise ParseError(f"bad flag syntax: {token}", "parse.invalid")
            name, eq, value = body.partition("=")
            name = scope.tables.normalize(name)
            found = scope.kind(name)
            if found is None:
                raise ParseError(f"unknown flag: --{name}")
            kind, is_global = found
            if kind == CONFLICT:
                raise ParseError(f"--{name} means different things in different kubectl versions")
            if eq:
                _check_value(name, kind, value)
                flags.append(FlagUse(name, token, value, is_global))
            elif kind == VALUE:
                if i >= len(tokens):
                    if lenient_end:
                        flags.append(FlagUse(name, token, None, is_global))
                        break
                    raise ParseError(f"flag needs an argument: --{name}", "parse.invalid")
                flags.append(FlagUse(name, token, tokens[i], is_global))
                i += 1
            else:
                flags.append(FlagUse(name, token, "true" if kind == BOOL else "", is_global))
            continue
        shorthands = token[1:]
        while shorthands:
            char = shorthands[0]
            name_or_none = scope.short(char)
            if name_or_none is None:
                raise ParseError(f"unknown shorthand flag: {char!r} in {token}")
            name = name_or_none
            found = scope.kind(name)
            assert found is not None
            kind, is_global = found
            if kind == CONFLICT:
                raise ParseError(f"-{char} means different things in different kubectl versions")
            written = "-" + char
            if len(shorthands) > 2 and shorthands[1] == "=":
                value = shorthands[2:]
                _check_value(name, kind, value)
                shorthands = ""
            elif kind != VALUE:
                value = "true" if kind == BOOL else ""
                shorthands = shorthands[1:]
            elif len(shorthands) > 1:
                value = shorthands[1:]
                shorthands = ""
            elif i < len(tokens):
                value = tokens[i]
                i += 1
                shorthands = ""
            elif lenient_end:
                flags.append(FlagUse(name, written, None, is_global))
                break
            else:
                raise ParseError(f"flag needs an argument: {char!r} in {token}", "parse.invalid")
            flags.append(FlagUse(name, written, value, is_global))
    return flags, positionals, []


def parse(tables: Tables, argv: tuple[str, ...] | list[str], *, completing: bool = False) -> Invocation:
    """Parse `argv` (without the program name) into an Invocation; never raises."""
    argv = tuple(argv)
    command, path, rest, pin_at = _find(tables, list(enumerate(argv)))
    if pin_at < 0:
        dash = argv.index("--") if "--" in argv else len(argv)
        pin_at = dash
    if command.name in RAW_COMMANDS:
        words = tuple(t for _, t in rest)
        return Invocation(tables.tool, argv, tuple(path), (), (), (), pin_at, subargs=words)
    scope = _Scope(tables, command)
    try:
        flags, positionals, after_dash = _parse_flags(scope, rest, completing)
    except ParseError as exc:
        return Invocation(tables.tool, argv, tuple(path), (), (), (), pin_at, str(exc), exc.rule)
    return Invocation(
        tables.tool, argv, tuple(path), tuple(flags), tuple(positionals), tuple(after_dash), pin_at
    )
