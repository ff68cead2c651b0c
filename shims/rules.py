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
LOCAL_FILE = "read.local-file"
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
# The proxy's own answers (sandbox/proxy/), beside the request policy.
API_AUTH = "api.auth"
API_BODY = "api.body"
API_BOUND = "api.bound"
API_REWRITE = "api.rewrite"
API_UPSTREAM = "api.upstream"
# Approvals (kro/approvals/scope.py): why a blocked mutation is not queued; decided at queue time.
APPROVAL_IDENTITY = "approval.identity"
APPROVAL_FLAG = "approval.flag"
APPROVAL_LOCAL_INPUT = "approval.local-input"
APPROVAL_SCOPE = "approval.scope"
API_ACCESS_REVIEW = "api.access-review"

READ_ONLY = "this session is read-only"


def mutation(verb: str) -> str:
    """The clause naming a mutating command (approvals follow it with their own advice)."""
    return f"'{verb}' is a mutating command"


def mutating(verb: str) -> str:
    """Reason for a command that changes the cluster or the kubeconfig."""
    return f"{mutation(verb)}; {READ_ONLY}, so ask the user to run it if it is needed"


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


def local_file(what: str) -> str:
    """Reason for a flag or output format that makes the tool open a local file the caller names."""
    return (
        f"{what} makes the tool read a local file, which kro does not allow (under --confine and MCP it "
        "runs where you cannot read); put the template inline instead, e.g. -o go-template='{{...}}', "
        "-o jsonpath='{...}' or -o custom-columns=NAME:.metadata.name"
    )


def plugin(word: str) -> str:
    """Reason for a command kubectl would hand to a plugin executable."""
    return (
        f"'{word}' is not a built-in kubectl command, so kubectl would run a plugin (kubectl-"
        f"{word.replace(' ', '-')}); plugins are blocked; run 'kubectl help' to see the commands you can use"
    )


def secret_fields(what: str, why: str) -> str:
    """Reason for a jsonpath, custom-columns or sort-by expression on Secrets that reaches their values."""
    return (
        f"{what} on secrets could print Secret values: {why}; select only .type or .metadata fields "
        "other than annotations and managedFields, e.g. -o jsonpath='{.items[*].metadata.name}'"
    )


def config_credentials(what: str) -> str:
    """Reason for a config view output kro cannot mask credentials in."""
    return (
        f"config view {what} could print the kubeconfig's credentials; use plain 'kubectl config view' "
        "or -o yaml/-o json (credentials masked), or a jsonpath that selects no user credentials"
    )
