"""Small `kro` subcommands: `kro schema envelope` and `kro cache clear|prune|path`."""

from __future__ import annotations

import os
import sys

from kro.shims.cache import cache_root, clear, prune
from kro.shims.errors import UsageError
from kro.shims.flag_tables import DATA_DIR

SCHEMA_HELP = "usage: kro schema envelope\n\nPrint the JSON Schema (2020-12) of kro's response envelope.\n"
CACHE_HELP = """usage: kro cache clear|prune|path

Bulk outputs of envelope mode are kept in $XDG_CACHE_HOME/kro/<context hash>/ for the agent to
read with jq, grep or sed. They are pruned automatically (older than 7 days, or beyond 512 MiB).
  clear   remove every cached output
  prune   apply the age and size bounds now
  path    print the cache directory
"""


def schema_main(argv: list[str]) -> int:
    """Entry point of `kro schema`."""
    if argv != ["envelope"]:
        if argv in (["-h"], ["--help"]):
            sys.stdout.write(SCHEMA_HELP)
            return 0
        raise UsageError("the only schema is 'envelope': kro schema envelope")
    with open(os.path.join(DATA_DIR, "envelope.schema.json")) as handle:
        sys.stdout.write(handle.read())
    return 0


def cache_main(argv: list[str]) -> int:
    """Entry point of `kro cache`."""
    root = cache_root()
    if argv in (["-h"], ["--help"]):
        sys.stdout.write(CACHE_HELP)
        return 0
    if argv == ["clear"]:
        print(f"removed {clear(root)} cached output(s) from {root}")
    elif argv == ["prune"]:
        print(f"pruned {prune(root)} cached output(s) from {root}")
    elif argv == ["path"]:
        print(root)
    else:
        raise UsageError("usage: kro cache clear|prune|path")
    return 0
