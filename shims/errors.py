"""The small exception hierarchy; each error carries the exit code it ends the process with."""

from __future__ import annotations

EXIT_BLOCKED = 77
EXIT_USAGE = 2
EXIT_NOT_FOUND = 69
EXIT_CONFIG = 78
EXIT_INTERRUPTED = 130
EXIT_CMD_NOT_FOUND = 127


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
