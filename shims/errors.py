"""Exit statuses, the small exception hierarchy, and the one error wrapper every entry point runs in."""

from __future__ import annotations

import errno
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from enum import IntEnum
else:
    from kro.shims.hotpath_stdlib import IntEnum

class ExitStatus(IntEnum):
    """Every exit status kro chooses itself; in plain mode a tool's own exit code passes through."""

    OK = 0
    FAILED = 1  # kro check: the call would be blocked; kro doctor / kro audit verify found a problem
    USAGE = 2
    NOT_FOUND = 69  # kubectl, kubetail or bwrap is not installed (sysexits EX_UNAVAILABLE)
    INTERNAL = 70  # a bug in kro (EX_SOFTWARE): one line, never a traceback
    TEMPFAIL = 75  # out of descriptors, memory or broker slots; nothing ran, a retry may work (EX_TEMPFAIL)
    BLOCKED = 77  # blocked by the read-only policy (EX_NOPERM)
    CONFIG = 78  # kubeconfig, context, session or audit log problem (EX_CONFIG)
    TIMED_OUT = 124  # plain mode: the call outlived its bound and was stopped (as timeout(1) exits)
    CMD_NOT_FOUND = 127  # kro-run's CMD does not exist
    INTERRUPTED = 130  # ^C


# errno values that mean "out of resources", not a refusal (by name: the numbers differ between OSes)
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS, errno.EAGAIN})


class KroError(Exception):
    """Base of every error kro reports to a person; `exit_code` ends the process."""

    exit_code: int = ExitStatus.FAILED


class UsageError(KroError):
    """The command line was wrong."""

    exit_code = ExitStatus.USAGE


class ToolNotFound(KroError):
    """kubectl or kubetail is not installed where kro looked."""

    exit_code = ExitStatus.NOT_FOUND


class ConfigError(KroError):
    """The kubeconfig, the context or the session could not be used."""

    exit_code = ExitStatus.CONFIG


class AuditError(KroError):
    """The audit record could not be written, so the command does not run (fail closed)."""

    exit_code = ExitStatus.CONFIG


class CommandNotFound(KroError):
    """The agent command given to kro-run does not exist."""

    exit_code = ExitStatus.CMD_NOT_FOUND


def _stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def guarded(prog: str, body: Callable[[], int], write: Callable[[str], object] | None = None) -> int:
    """Run an entry point's body; every failure is one line (on stderr, or `write`) and an ExitStatus.

    A KroError ends with its own status, ^C with 130, out of descriptors or memory with 75, anything else
    with 70 (never a traceback). A closed stdout (`| head`) ends quietly, as Unix tools do.
    """
    say = _stderr if write is None else write
    try:
        return body()
    except KroError as exc:
        say(f"{prog}: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        if write is None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.FAILED
    except OSError as exc:
        if exc.errno not in RESOURCE_ERRNOS:
            say(f"{prog}: internal error ({type(exc).__name__}: {exc}); please report it\n")
            return ExitStatus.INTERNAL
        # out of descriptors or memory: not the tool's fault and not a refusal, so a retry may work
        say(f"{prog}: out of resources ({exc.strerror or exc}), nothing more was run; retry in a moment\n")
        return ExitStatus.TEMPFAIL
    except Exception as exc:
        say(f"{prog}: internal error ({type(exc).__name__}: {exc}); please report it\n")
        return ExitStatus.INTERNAL
