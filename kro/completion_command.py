"""`kro completion bash|zsh|fish`: shell completion for `kro` and `kro-run`, generated from their parsers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from kro.shims.errors import ExitStatus

SHELLS = ("bash", "zsh", "fish")


@dataclass(frozen=True, slots=True)
class Option:
    """One option: its spellings, whether it takes a value, the values it accepts, its help."""

    flags: tuple[str, ...]
    takes_value: bool = False
    choices: tuple[str, ...] = ()
    files: bool = False
    help: str = ""


@dataclass(frozen=True, slots=True)
class Command:
    """A command's options and its first positional's choices (subcommand words)."""

    name: str
    help: str = ""
    options: tuple[Option, ...] = ()
    words: tuple[str, ...] = ()
    runs_command: bool = False  # kro-run: what follows is a command of its own
    subcommands: tuple[Command, ...] = field(default=())


_CONTEXTS = "$(kubectl config get-contexts -o name 2>/dev/null)"
_FILE_DESTS = ("file", "kubeconfig", "audit_log", "output_file", "config")


def from_parser(name: str, parser: argparse.ArgumentParser, help_: str = "") -> Command:
    """Read a parser's options and positional choices (argparse has no public walker; _actions is stable)."""
    options: list[Option] = []
    words: tuple[str, ...] = ()
    runs = False
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            options.append(Option(tuple(action.option_strings), help="show the help"))
            continue
        if not action.option_strings:
            if action.choices:
                words = tuple(str(c) for c in action.choices)
            elif action.nargs == argparse.REMAINDER:
                runs = True
            continue
        takes = action.nargs != 0
        choices = tuple(str(c) for c in action.choices) if action.choices else ()
        path_typed = getattr(action.type, "__name__", "") == "Path"
        files = takes and not choices and (action.dest in _FILE_DESTS or path_typed)
        text = (action.help or "").replace("%(default)s", str(action.default))
        options.append(Option(tuple(action.option_strings), takes, choices, files, text))
    return Command(name, help_, tuple(options), words, runs)


def _static(name: str, help_: str, opts: tuple[Option, ...] = (), words: tuple[str, ...] = ()) -> Command:
    return Command(name, help_, (Option(("-h", "--help"), help="show the help"), *opts), words)


def kro_command() -> Command:
    """`kro` and its subcommands (parsers where the subcommand has one, its documented words where not)."""
    from kro import audit_command, demo_command, doctor
    from kro.approvals import cli as approvals
    from kro.dispatch import COMMANDS
    from kro.mcp import server

    parsers: dict[str, Callable[[], argparse.ArgumentParser]] = {
        "audit": audit_command.build_parser,
        "doctor": doctor.build_parser,
        "serve": server.build_parser,
        "demo": demo_command.build_parser,
        "approvals": approvals.build_approvals_parser,
        "approve": approvals.build_approve_parser,
        "deny": approvals.build_deny_parser,
    }
    static = {
        "check": (
            Option(("--tool",), True, ("kubectl", "kubetail"), help="the tool the call is for"),
            Option(("--context",), True, help="the pinned context"),
            Option(("--namespace",), True, help="allow only these namespaces (repeatable)"),
            Option(("--json",), help="print the decision as JSON"),
            Option(("--batch",), help="decide JSON Lines from stdin"),
        ),
    }
    words = {
        "schema": ("envelope",),
        "cache": ("clear", "prune", "path"),
        "hook": ("claude-code", "gemini"),
        "completion": SHELLS,
    }
    subs = []
    for name, (_, help_) in COMMANDS.items():
        if name in parsers:
            subs.append(from_parser(name, parsers[name](), help_))
        else:
            subs.append(_static(name, help_, static.get(name, ()), words.get(name, ())))
    top = (Option(("-h", "--help"), help="show the help"), Option(("--version",), help="print kro's version"))
    return Command("kro", "", top, subcommands=tuple(subs))


def kro_run_command() -> Command:
    """`kro-run`, from its parser."""
    from kro.sandbox.launcher import build_parser

    return from_parser("kro-run", build_parser())


def _fn(name: str) -> str:
    return "_" + name.replace("-", "_") + "_complete"


def _bash_case(cmd: Command, depth: int) -> str:
    """The bash body completing one command's options, option values and words."""
    lines = ['    case "$prev" in']
    for opt in cmd.options:
        if opt.takes_value:
            spellings = "|".join(opt.flags)
            if opt.choices:
                values = " ".join(opt.choices)
                lines.append(f'      {spellings}) COMPREPLY=($(compgen -W "{values}" -- "$cur")); return;;')
            elif opt.files:
                lines.append(f'      {spellings}) COMPREPLY=($(compgen -f -- "$cur")); return;;')
            elif "--context" in opt.flags:  # the kubeconfig's contexts, as kubectl lists them
                lines.append(
                    f'      {spellings}) COMPREPLY=($(compgen -W "{_CONTEXTS}" -- "$cur")); return;;'
                )
            else:
                lines.append(f"      {spellings}) return;;")
    lines.append("    esac")
    flags = " ".join(f for opt in cmd.options for f in opt.flags)
    if cmd.runs_command:
        lines.append(f"    local i; for ((i={depth}; i < COMP_CWORD; i++)); do")
        # After `--`: the command's name, then its own arguments (files, by -o default).
        lines.append("      if [[ ${COMP_WORDS[i]} == -- ]]; then")
        lines.append('        ((i + 1 == COMP_CWORD)) && COMPREPLY=($(compgen -c -- "$cur")); return')
        lines.append("      fi")
        lines.append("    done")
    lines.append(f'    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "{flags}" -- "$cur")); return; fi')
    if cmd.words:
        lines.append(f'    COMPREPLY=($(compgen -W "{" ".join(cmd.words)}" -- "$cur"))')
    elif cmd.runs_command:
        lines.append('    COMPREPLY=($(compgen -c -- "$cur"))')
    return "\n".join(lines)


def bash(commands: list[Command]) -> str:
    """A bash completion script (`source <(kro completion bash)`)."""
    out = ["# kro and kro-run completion for bash: source <(kro completion bash)"]
    for cmd in commands:
        body = ["  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}", "  COMPREPLY=()"]
        if cmd.subcommands:
            names = " ".join(s.name for s in cmd.subcommands)
            body.append("  if ((COMP_CWORD == 1)); then")
            names += " " + " ".join(f for o in cmd.options for f in o.flags)
            body.append(f'    COMPREPLY=($(compgen -W "{names}" -- "$cur"))')
            body.append("    return")
            body.append("  fi")
            body.append('  case "${COMP_WORDS[1]}" in')
            for sub in cmd.subcommands:
                body.append(f"  {sub.name})")
                body.append(_bash_case(sub, 2))
                body.append("    ;;")
            body.append("  esac")
        else:
            body.append(_bash_case(cmd, 1))
        out.append(f"{_fn(cmd.name)}() {{\n" + "\n".join(body) + "\n}")
        out.append(f"complete -o default -F {_fn(cmd.name)} {cmd.name}")
    return "\n".join(out) + "\n"


def _zsh_quote(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("'", "'\\''")
        .replace("[", "\\[")
        .replace("]", "\\]")
        .replace(":", "\\:")
    )


def _zsh_specs(cmd: Command) -> list[str]:
    specs = []
    for opt in cmd.options:
        desc = _zsh_quote(opt.help.split(";")[0][:70])
        value = ""
        if opt.takes_value:
            action = f"({' '.join(opt.choices)})" if opt.choices else "_files" if opt.files else " "
            value = f":value:{action}"
        for flag in opt.flags:
            specs.append(f"'{flag}[{desc}]{value}'")
    if cmd.words:
        specs.append(f"':word:({' '.join(cmd.words)})'")
    if cmd.runs_command:
        specs.append("'*::command:_normal'")
    return specs


def zsh(commands: list[Command]) -> str:
    """A zsh completion script (`source <(kro completion zsh)`, after compinit)."""
    out = ["#compdef kro kro-run", "# kro and kro-run completion for zsh: source <(kro completion zsh)"]
    for cmd in commands:
        body = []
        if cmd.subcommands:
            described = " ".join(f"'{s.name}:{_zsh_quote(s.help)}'" for s in cmd.subcommands)
            body.append(f"  local -a subcommands=({described})")
            body.append("  if (( CURRENT == 2 )); then")
            body.append("    _describe command subcommands")
            body.append("    return")
            body.append("  fi")
            body.append("  shift words; (( CURRENT-- ))")
            body.append("  case $words[1] in")
            for sub in cmd.subcommands:
                body.append(f"    {sub.name}) _arguments -s {' '.join(_zsh_specs(sub))} ;;")
            body.append("  esac")
        else:
            body.append(f"  _arguments -s {' '.join(_zsh_specs(cmd))}")
        out.append(f"{_fn(cmd.name)}() {{\n" + "\n".join(body) + "\n}")
        out.append(f"compdef {_fn(cmd.name)} {cmd.name}")
    return "\n".join(out) + "\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_options(name: str, cmd: Command, condition: str) -> list[str]:
    lines = []
    for opt in cmd.options:
        parts = (
            [f"complete -c {name}", f"-n {_fish_quote(condition)}"] if condition else [f"complete -c {name}"]
        )
        for flag in opt.flags:
            parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
        if opt.takes_value:
            parts.append("-r" + ("F" if opt.files else ""))
            if opt.choices:
                parts.append(f"-f -a {_fish_quote(' '.join(opt.choices))}")
            elif "--context" in opt.flags:
                parts.append("-f -a '(kubectl config get-contexts -o name 2>/dev/null)'")
        if opt.help:
            parts.append(f"-d {_fish_quote(opt.help.split(';')[0][:70])}")
        lines.append(" ".join(parts))
    if cmd.words:
        cond = f"-n {_fish_quote(condition)} " if condition else ""
        lines.append(f"complete -c {name} {cond}-f -a {_fish_quote(' '.join(cmd.words))}")
    return lines


def fish(commands: list[Command]) -> str:
    """A fish completion script (`kro completion fish | source`)."""
    out = ["# kro and kro-run completion for fish: kro completion fish | source"]
    for cmd in commands:
        if cmd.subcommands:
            out.append(f"complete -c {cmd.name} -f")
            out += _fish_options(cmd.name, cmd, "__fish_use_subcommand")
            for sub in cmd.subcommands:
                head = f"complete -c {cmd.name} -n __fish_use_subcommand"
                out.append(f"{head} -a {sub.name} -d {_fish_quote(sub.help)}")
                out += _fish_options(cmd.name, sub, f"__fish_seen_subcommand_from {sub.name}")
        else:
            out += _fish_options(cmd.name, cmd, "")
    return "\n".join(out) + "\n"


GENERATORS = {"bash": bash, "zsh": zsh, "fish": fish}


def main(argv: list[str]) -> int:
    """Entry point of `kro completion`."""
    parser = argparse.ArgumentParser(
        prog="kro completion",
        description="Print a completion script for kro and kro-run (generated from their own parsers).",
        epilog=(
            "examples:\n"
            "  source <(kro completion bash)                  bash, this shell (add it to ~/.bashrc)\n"
            "  source <(kro completion zsh)                   zsh, after compinit (add it to ~/.zshrc)\n"
            "  kro completion fish > ~/.config/fish/completions/kro.fish"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to print the script for")
    args = parser.parse_args(argv)
    sys.stdout.write(GENERATORS[args.shell]([kro_command(), kro_run_command()]))  # choices= checked the shell
    return ExitStatus.OK
