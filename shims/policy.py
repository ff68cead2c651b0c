"""The read-only policy for kubectl (rules in docs/policy.md): decide(Invocation, Pins) -> Decision."""

from __future__ import annotations

from kro.shims import rules as R
from kro.shims.model import Decision, Invocation, Pins, parse_bool
from kro.shims.policy_reads import check_reads

# C0, DEL and C1 control characters (no `re` on the hot path: see hotpath_stdlib.py).
_CONTROL = frozenset(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))

ALLOWED_PATHS = frozenset(
    {
        (),
        ("get",), ("describe",), ("logs",), ("events",), ("explain",), ("wait",),
        ("top",), ("top", "pod"), ("top", "node"),
        ("api-resources",), ("api-versions",), ("version",), ("options",), ("completion",),
        ("cluster-info",), ("cluster-info", "dump"),
        ("auth",), ("auth", "can-i"), ("auth", "whoami"),
        ("rollout",), ("rollout", "status"), ("rollout", "history"),
        ("config",), ("config", "view"), ("config", "get-contexts"), ("config", "current-context"),
        ("config", "get-clusters"), ("config", "get-users"),
        ("plugin",), ("plugin", "list"),
        ("help",), ("__complete",), ("__completeNoDesc",),
    }
)  # fmt: skip
# Commands that only group subcommands: a leftover word is an unknown subcommand.
GROUPS = frozenset({("top",), ("auth",), ("rollout",), ("config",), ("plugin",)})
# Built-in commands whose unknown subcommand kubectl hands to a plugin (kubectl's IsSubcommandPluginAllowed).
SUBCOMMAND_PLUGIN_HOSTS = frozenset({("create",)})
# Global flags of newer kubectls (not in today's tables, so unknown and blocked) named here so that a
# regenerated table cannot let one through: --kuberc opens a file, the klog ones write files.
LOCAL_FILE_GLOBALS = frozenset({"kuberc"})
LOCAL_WRITE_GLOBALS = frozenset({"cache-dir", "profile-output", "log-file", "log-dir"})

MUTATING = frozenset(
    [
        "create",
        "apply",
        "delete",
        "edit",
        "patch",
        "replace",
        "label",
        "annotate",
        "scale",
        "autoscale",
        "set",
        "expose",
        "run",
        "drain",
        "cordon",
        "uncordon",
        "taint",
        "certificate",
    ]
)
INTERACTIVE = frozenset(["exec", "attach", "port-forward", "proxy", "cp", "debug"])
SIDE_EFFECTS = {
    ("diff",): "runs a server-side dry run and the external program in KUBECTL_EXTERNAL_DIFF",
    ("kustomize",): "can run exec and helm plugins and fetch remote bases",
    ("create", "token"): "mints a new service-account credential",
}
# What to run instead of each side-effect command (every refusal names an alternative).
SIDE_EFFECT_INSTEAD = {
    ("diff",): "read the live object with 'kubectl get KIND NAME -n NS -o yaml' and compare it with "
    "your manifest locally",
    ("kustomize",): "render it outside the session ('kustomize build DIR') and read the live objects "
    "with 'kubectl get'",
    ("create", "token"): "read service accounts with 'kubectl get serviceaccounts', and ask the user if "
    "a token is really needed",
}
_CONFIG_WRITES = ("set", "unset", "delete-", "use", "rename")

IDENTITY_FLAGS = frozenset(
    [
        "kubeconfig",
        "cluster",
        "user",
        "server",
        "token",
        "username",
        "password",
        "as",
        "as-group",
        "as-uid",
        "certificate-authority",
        "client-certificate",
        "client-key",
        "tls-server-name",
        "insecure-skip-tls-verify",
    ]
)
HARMLESS_GLOBALS = frozenset(
    [
        "request-timeout",
        "match-server-version",
        "disable-compression",
        "warnings-as-errors",
        "log-flush-frequency",
        "namespace",
        "context",
        "v",
        "vmodule",
        "profile",
        "profile-output",
        "cache-dir",
    ]
)
MAX_VERBOSITY = 6


def verb_rule(path: tuple[str, ...]) -> tuple[str, str] | None:
    """(rule, reason) that blocks command `path`, or None when the command is a read."""
    verb = " ".join(path)
    if path in ALLOWED_PATHS:
        return None
    side_effect = SIDE_EFFECTS.get(path)
    if side_effect:
        instead = SIDE_EFFECT_INSTEAD[path]
        return R.SIDE_EFFECT, f"'{verb}' {side_effect}; it is blocked in this read-only session, so {instead}"
    top = path[0]
    if top in MUTATING:
        return R.MUTATING, R.mutating(verb)
    if top in INTERACTIVE:
        return R.INTERACTIVE, R.interactive(verb)
    if top == "rollout" or (path == ("auth", "reconcile")):
        return R.MUTATING, R.mutating(verb)
    if top == "config" and path[1].startswith(_CONFIG_WRITES):
        return R.MUTATING, R.mutating(verb)
    return R.UNKNOWN_VERB, R.unknown_verb(verb)


def _block(rule: str, reason: str, verb: str | None) -> Decision:
    return Decision(False, rule, reason, verb)


def check_input(argv: tuple[str, ...]) -> Decision | None:
    """input.control-char: any control character blocks, whatever the argument is."""
    for arg in argv:
        if not _CONTROL.isdisjoint(arg):
            return _block(R.CONTROL_CHAR, f"argument {arg!r} contains a control character; retype it", None)
    return None


def check_globals(inv: Invocation, pins: Pins, verb: str | None) -> Decision | None:
    """global.*: the flags that change whom kubectl talks to, as whom, and what it writes."""
    for flag in inv.flags:
        name, value = flag.name, flag.value or ""
        if not flag.is_global:
            if pins.namespaces and name == "all-namespaces" and parse_bool(value or "true"):
                return _block(R.NAMESPACE, _ns_reason(pins), verb)
            continue
        if name == "context" and value != pins.context:
            return _block(R.CONTEXT_PINNED, R.context_pinned(pins.context), verb)
        if name in IDENTITY_FLAGS:
            return _block(
                R.IDENTITY,
                f"{flag.written} changes who kubectl is or which server it talks to; this session's "
                "credentials and server are pinned, so drop the flag",
                verb,
            )
        if name in LOCAL_WRITE_GLOBALS or (name == "profile" and value != "none"):
            return _block(R.LOCAL_WRITE, f"{flag.written} writes local files; drop it", verb)
        if name in LOCAL_FILE_GLOBALS:
            return _block(R.LOCAL_FILE, R.local_file(flag.written), verb)
        if name == "vmodule" or (name == "v" and not _verbosity_ok(value)):
            return _block(
                R.VERBOSITY,
                f"{flag.written}={value} logs request and response bodies (secret data); "
                f"use -v={MAX_VERBOSITY} or lower",
                verb,
            )
        if pins.namespaces and name == "namespace" and value not in pins.namespaces:
            return _block(R.NAMESPACE, _ns_reason(pins), verb)
        if name not in HARMLESS_GLOBALS:
            return _block(R.UNKNOWN_FLAG, f"kro does not know whether {flag.written} is safe; drop it", verb)
    return None


def _verbosity_ok(value: str) -> bool:
    """klog's -v is a base-10 int (Go ParseInt: optional sign, ASCII digits); 0..6 print no bodies."""
    digits = value[1:] if value[:1] in ("+", "-") else value
    return digits.isascii() and digits.isdigit() and 0 <= int(value) <= MAX_VERBOSITY


def _help(verb: str | None, tool: str = "kubectl") -> str:
    """The instruction after a parse error: the command's own help lists its flags."""
    return f"see '{tool} {verb + ' ' if verb else ''}--help' for the flags it takes"


def _ns_reason(pins: Pins) -> str:
    allowed = ", ".join(pins.namespaces)
    return f"this session may only read namespaces {allowed}; pass -n with one of them"


def decide(inv: Invocation, pins: Pins) -> Decision:
    """Decide one parsed kubectl invocation against the read-only policy."""
    blocked = check_input(inv.argv)
    if blocked:
        return blocked
    path = inv.path
    verb = inv.verb
    if inv.positionals and (not path or path in GROUPS) and inv.error is None:
        word = " ".join((*path, inv.positionals[0]))
        return _block(R.UNKNOWN_VERB, R.unknown_verb(word), word)
    plugin = plugin_word(inv)
    if plugin:
        return _block(R.UNKNOWN_VERB, R.plugin(plugin), plugin)
    rule = verb_rule(path) if path else None
    help_only = inv.error is None and inv.is_true("help")
    if rule and not help_only:
        return _block(rule[0], rule[1], verb)
    if inv.error is not None:
        return _block(inv.error_rule, f"{inv.error}; kubectl would reject this call, so {_help(verb)}", verb)
    if path and path[0] in ("__complete", "__completeNoDesc"):
        return _decide_completion(inv, pins)
    blocked = check_globals(inv, pins, verb)
    if blocked:
        return blocked
    if help_only or rule:
        return Decision(True, R.ALLOWED, f"'{verb or 'kubectl'}' --help only prints help", verb)
    found = check_reads(inv, pins)
    if found:
        return _block(found[0], found[1], verb)
    return Decision(True, R.ALLOWED, f"'{verb or 'kubectl'}' is a read-only command", verb)


def plugin_word(inv: Invocation) -> str | None:
    """The command words kubectl would hand to a plugin executable (kubectl-create-foo), or None.

    kubectl's plugin handler runs `kubectl-<words>` when the words are not a built-in command; for
    `create` it also tries `kubectl-create-<word>` when the word is no built-in subcommand of create.
    Decided on the caller's words alone, whatever flags the shim later pins where.
    """
    if inv.tool != "kubectl" or inv.error is not None or not inv.positionals:
        return None
    if not inv.path or inv.path in SUBCOMMAND_PLUGIN_HOSTS:
        return " ".join((*inv.path, inv.positionals[0]))
    return None


def _completes_plugin(inv: Invocation) -> str | None:
    """The plugin whose `kubectl_complete-<name>` kubectl would run to complete these words, or None.

    kubectl adds plugin commands for completion when the first word is not a flag, is not a built-in
    command, and more words follow (kubectl's SetupPluginCompletion).
    """
    from kro.shims.flag_tables import load

    words = inv.subargs
    if len(words) < 2 or words[0].startswith("-"):
        return None
    root = load(inv.tool).root
    known = {name for name, (canonical, _) in root.children.items() if name == canonical}
    return None if words[0] in known else words[0]


def _decide_completion(inv: Invocation, pins: Pins) -> Decision:
    """__complete only lists completions, but the global flags among its words still apply."""
    from kro.shims.argv import parse
    from kro.shims.flag_tables import load

    words = inv.subargs[:-1]
    inner = parse(load(inv.tool), words, completing=True)
    verb = inv.verb
    plugin = (_completes_plugin(inv) if inv.tool == "kubectl" else None) or plugin_word(inner)
    if plugin:
        return _block(R.UNKNOWN_VERB, R.plugin(plugin) + " (completing it runs kubectl_complete-…)", verb)
    if inner.error is not None:
        return _block(inner.error_rule, f"{inner.error}; completion cannot be checked", verb)
    blocked = check_globals(inner, pins, verb)
    if blocked:
        return blocked
    return Decision(True, R.ALLOWED, "shell completion only lists names and flags", verb)
