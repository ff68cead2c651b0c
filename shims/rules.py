"""Rule ids (listed in docs/policy.md) and the one-sentence reasons the policy gives; text only, no logic."""

from __future__ import annotations

ALLOWED = "allowed"
CONTROL_CHAR = "input.control-char"
EMPTY = "input.empty"
UNKNOWN_FLAG = "parse.unknown-flag"
INVALID = "parse.invalid"
CONTEXT_PINNED = "global.context-pinned"
NAMESPACE = "global.namespace"
IDENTITY = "global.identity"
LOCAL_WRITE = "global.local-write"
VERBOSITY = "global.verbosity"
MUTATING = "verb.mutating"
INTERACTIVE = "verb.interactive"
SIDE_EFFECT = "verb.side-effect"
UNKNOWN_VERB = "verb.unknown"
MANIFEST = "read.manifest"
RAW_PATH = "read.raw-path"
READ_LOCAL_WRITE = "read.local-write"
SECRET = "secret.value-exposure"
LISTENER = "kubetail.listener"
# The session API proxy's per-request policy (shims/api_policy.py).
API_METHOD = "api.method"
API_UPGRADE = "api.upgrade"
API_SUBRESOURCE = "api.subresource"
API_IMPERSONATION = "api.impersonation"
API_TOKEN_REQUEST = "api.token-request"
API_PATH = "api.path"
API_NAMESPACE = "api.namespace"

READ_ONLY = "this session is read-only"


def mutating(verb: str) -> str:
    """Reason for a command that changes the cluster or the kubeconfig."""
    return f"'{verb}' is a mutating command; {READ_ONLY}, so ask the user to run it if it is needed"


def interactive(verb: str) -> str:
    """Reason for exec/attach/cp/debug/port-forward/proxy."""
    return (
        f"'{verb}' reaches into workloads or the network and is blocked; "
        "use logs, describe or get to inspect instead"
    )


def unknown_verb(word: str, tool: str = "kubectl") -> str:
    """Reason for an unknown command, a plugin or an alpha command."""
    return (
        f"'{word}' is not a read-only {tool} command kro knows (unknown commands and plugins are "
        f"blocked); run '{tool} help' to see the commands you can use"
    )


def context_pinned(pinned: str | None) -> str:
    """Reason for --context naming another context."""
    if pinned is None:
        return "no context is pinned for this decision, so --context cannot be checked; drop --context"
    return f"this session is pinned to context '{pinned}'; drop --context, every call already goes there"


def secret_exposure(what: str) -> str:
    """Reason for a call that would print Secret values."""
    return (
        f"{what} would print Secret values; list secrets with 'kubectl get secrets' "
        "(or -o name / -o wide) to see names, types and key counts"
    )
