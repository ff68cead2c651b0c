"""The small exception hierarchy; each error carries the exit code it ends the process with."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_BLOCKED = 77
EXIT_USAGE = 2
EXIT_NOT_FOUND = 69
EXIT_CONFIG = 78
EXIT_INTERRUPTED = 130
EXIT_CMD_NOT_FOUND = 127
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL: out of descriptors, memory or broker slots; nothing ran, retry may work
# errno values that mean "out of resources" (EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN), not a refusal
RESOURCE_ERRNOS = frozenset({24, 23, 12, 105, 11})


class KroError(Exception):
    """Base of every error kro reports to a person; `exit_code` ends the process."""

    exit_code = 1


class UsageError(KroError):
    """The command line was wrong."""

    exit_code = EXIT_USAGE


class ToolNotFound(KroError):
    """kubectl or kubetail is not installed where kro looked."""

    exit_code = EXIT_NOT_FOUND


class ConfigError(KroError):
    """The kubeconfig, the context or the session could not be used."""

    exit_code = EXIT_CONFIG


class AuditError(KroError):
    """The audit record could not be written, so the command does not run (fail closed)."""

    exit_code = EXIT_CONFIG


class CommandNotFound(KroError):
    """The agent command given to kro-run does not exist."""

    exit_code = EXIT_CMD_NOT_FOUND


def guarded(prog: str, run: Callable[[], int]) -> int:
    """Run a command body: a KroError is one line and its exit code, ^C is 130, a closed pipe is quiet."""
    try:
        return run()
    except KroError as exc:
        sys.stderr.write(f"{prog}: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
