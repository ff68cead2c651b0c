"""The read-only policy for kubetail (docs/policy.md), on the same parser and global rules."""

from __future__ import annotations

from kro.shims import rules as R
from kro.shims.model import Decision, Invocation, Pins
from kro.shims.policy import check_input

ALLOWED_PATHS = frozenset(
    {(), ("logs",), ("cluster",), ("cluster", "list"), ("config",), ("help",), ("completion",),
     ("__complete",), ("__completeNoDesc",)}
)  # fmt: skip
_COMPLETION_SHELLS = frozenset({"bash", "zsh", "fish", "powershell"})
# Global flags that change whose credentials or which cluster kubetail uses.
IDENTITY_FLAGS = frozenset({"kubeconfig", "in-cluster"})
# Flags whose value kubetail opens as a local file (root.go: -c/--config, kubetail's config file).
LOCAL_FILE_FLAGS = frozenset({"config"})


def verb_rule(path: tuple[str, ...]) -> tuple[str, str] | None:
    """(rule, reason) blocking kubetail command `path`, or None when allowed."""
    verb = " ".join(path)
    if path in ALLOWED_PATHS or (path[:1] == ("completion",) and path[1:2] and path[1] in _COMPLETION_SHELLS):
        return None
    if path == ("serve",):
        return (
            R.LISTENER,
            "'kubetail serve' opens a local web server with cluster access; use 'kubetail logs' instead",
        )
    if path[:1] == ("cluster",) and path[1:2] in (("install",), ("upgrade",), ("uninstall",)):
        return R.MUTATING, R.mutating(f"kubetail {verb}") + " (it installs Helm charts)"
    if path[:2] == ("cluster", "repo") or path == ("config", "init"):
        return (
            R.READ_LOCAL_WRITE,
            f"'kubetail {verb}' writes local configuration; it is blocked in this session",
        )
    return R.UNKNOWN_VERB, R.unknown_verb(verb, "kubetail")


def _source_namespace(source: str) -> str | None:
    """The namespace of a `[ns:]kind/name[/container]` source, None when it has none."""
    head, sep, _ = source.partition(":")
    return head if sep and "/" not in head else None


def decide(inv: Invocation, pins: Pins) -> Decision:
    """Decide one parsed kubetail invocation."""
    blocked = check_input(inv.argv)
    if blocked:
        return blocked
    verb = inv.verb
    if inv.positionals and (not inv.path or inv.path in (("cluster",), ("config",))) and inv.error is None:
        word = " ".join((*inv.path, inv.positionals[0]))
        return Decision(False, R.UNKNOWN_VERB, R.unknown_verb(word, "kubetail"), word)
    rule = verb_rule(inv.path) if inv.path else None
    help_only = inv.error is None and inv.path != ("logs",) and inv.is_true("help")
    if rule and not help_only:
        return Decision(False, rule[0], rule[1], verb)
    if inv.error is not None:
        see = f"kubetail {verb} --help" if verb else "kubetail --help"
        return Decision(
            False, inv.error_rule, f"{inv.error}; kubetail would reject this call, so see '{see}'", verb
        )
    for flag in inv.flags:
        if flag.name in LOCAL_FILE_FLAGS:
            return Decision(False, R.LOCAL_FILE, R.local_file(flag.written), verb)
        if flag.name in IDENTITY_FLAGS:
            return Decision(
                False,
                R.IDENTITY,
                f"{flag.written} changes which cluster or credentials kubetail uses; drop it",
                verb,
            )
        if flag.name == "kube-context" and flag.value != pins.context:
            return Decision(False, R.CONTEXT_PINNED, R.context_pinned(pins.context), verb)
    if pins.namespaces and inv.path == ("logs",):
        for source in inv.positionals + inv.after_dash:
            namespace = _source_namespace(source)
            if namespace is not None and namespace not in pins.namespaces:
                allowed = ", ".join(pins.namespaces)
                return Decision(
                    False,
                    R.NAMESPACE,
                    f"this session may only read namespaces {allowed}; use <ns>:<source>",
                    verb,
                )
    if help_only or rule:
        return Decision(True, R.ALLOWED, f"'kubetail {verb}' --help only prints help", verb)
    return Decision(
        True, R.ALLOWED, f"'kubetail {verb or ''}'".replace(" ''", "") + " is a read-only command", verb
    )
