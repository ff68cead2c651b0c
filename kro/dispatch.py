"""The `kro` command: a thin dispatcher that imports each subcommand only when it runs."""

from __future__ import annotations

import importlib
import sys

from kro.shims.errors import ExitStatus, guarded

# Subcommand -> "module:function(argv) -> int". Imported lazily to keep start-up small.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("kro.check_command:main", "decide whether a kubectl/kubetail call is allowed"),
    "audit": ("kro.audit_command:main", "read the audit log; 'kro audit verify' checks it"),
    "demo": ("kro.demo_command:main", "serve the bundled demo cluster"),
    "serve": ("kro.mcp.server:main", "serve read-only cluster tools over MCP (stdio or HTTP)"),
    "doctor": ("kro.doctor:main", "check kubectl, kubetail, kubeconfig, contexts, reachability, audit log"),
    "approvals": ("kro.approvals.cli:approvals_main", "list the pending approval requests of your sessions"),
    "approve": ("kro.approvals.cli:approve_main", "show, dry-run and run approval request N once"),
    "deny": ("kro.approvals.cli:deny_main", "refuse approval request N"),
    "hook": ("kro.hooks.claude_code:main", "agent hooks: 'kro hook claude-code' (PreToolUse, JSON on stdin)"),
    "schema": ("kro.schema_cache_commands:schema_main", "print the envelope's JSON Schema"),
    "cache": ("kro.schema_cache_commands:cache_main", "clear, prune or locate the bulk-output cache"),
    "completion": (
        "kro.completion_command:main",
        "print shell completion for kro and kro-run (bash, zsh, fish)",
    ),
}

USAGE = """usage: kro COMMAND [ARGS...]

kro hands an AI agent or a CI job a Kubernetes cluster to look at, and nothing more.

commands:
{commands}

Run 'kro COMMAND --help' for a command's options. See also: kro-run, kubectl-ro.
"""


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return USAGE.format(commands="\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Entry point of `kro`."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(_usage())
        return 0
    if args[0] == "--version":
        from kro import __version__

        print(f"kro {__version__}")
        return 0
    entry = COMMANDS.get(args[0])
    if entry is None:
        sys.stderr.write(f"kro: unknown command {args[0]!r}; run 'kro --help' for the list\n")
        return ExitStatus.USAGE
    module_name, func_name = entry[0].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return guarded(f"kro {args[0]}", lambda: int(func(args[1:])))


if __name__ == "__main__":
    raise SystemExit(main())
