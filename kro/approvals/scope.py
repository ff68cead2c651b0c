"""Which blocked calls become approval requests, and the argv kro rebuilds for an approved one (pure).

An approved mutation never replays the agent's argv: kro rebuilds it from the parsed invocation (the
command path, its positionals and a short per-command allowlist of flags), and pins the context and
namespace itself. Any other flag — global, identity, target, file-reading, template, output, plugin,
verbosity — makes the call not queueable, refused at queue time with a rule id (docs/policy.md).
"""

from __future__ import annotations

from kro.shims import rules as R
from kro.shims.flag_tables import load
from kro.shims.model import Decision, Invocation
from kro.shims.policy import IDENTITY_FLAGS

# Flags whose meaning is outside the argv (files, stdin, a terminal, an editor): what would run later could
# differ from what was shown, and a template path would be read on the approver's machine.
LOCAL_INPUT = (
    "filename", "kustomize", "from-file", "from-env-file", "patch-file", "stdin", "tty", "attach", "edit",
    "template", "kuberc",
)  # fmt: skip
# Global flags that name who kubectl is or which server, cluster or context it talks to.
TARGET_FLAGS = IDENTITY_FLAGS | {"context"}

# The only flags an approved request carries, per command (its first word, or its first two words);
# everything else is kro's (context, namespace) or makes the call not queueable.
ALLOWED_FLAGS: dict[tuple[str, ...], frozenset[str]] = {
    ("label",): frozenset({"overwrite"}),
    ("annotate",): frozenset({"overwrite"}),
    ("taint",): frozenset({"overwrite"}),
    ("scale",): frozenset({"replicas", "current-replicas"}),
    ("delete",): frozenset({"cascade", "grace-period", "ignore-not-found", "now", "wait"}),
    ("drain",): frozenset({"ignore-daemonsets", "delete-emptydir-data", "force", "grace-period", "timeout"}),
    ("patch",): frozenset({"patch", "type", "subresource"}),
    ("rollout", "undo"): frozenset({"to-revision"}),
    ("set", "resources"): frozenset({"limits", "requests", "containers"}),
    ("set", "env"): frozenset({"containers", "overwrite"}),
    ("create",): frozenset({"image", "replicas", "port", "from-literal"}),
    ("autoscale",): frozenset({"min", "max", "cpu-percent", "name"}),
    ("expose",): frozenset({"port", "target-port", "name", "type", "protocol"}),
    ("run",): frozenset({"image", "port", "labels", "restart", "env"}),
    ("certificate",): frozenset({"force"}),
}
# Commands that name nodes by name alone.
NODE_COMMANDS = frozenset({"drain", "cordon", "uncordon"})
# Commands that make a new object: nothing exists yet to bind the approval to.
CREATES = frozenset({"create", "run"})
# Commands whose -o yaml under a dry run is not the changed object (scale prints the object as it was,
# delete/drain/cordon print names): their dry run's own message is the preview.
NO_YAML = frozenset({"scale", "delete", "drain", "cordon", "uncordon"})


def allowed_flags(path: tuple[str, ...]) -> frozenset[str]:
    """The flags an approved `path` command may carry (empty: positionals only)."""
    return ALLOWED_FLAGS.get(path[:2]) or ALLOWED_FLAGS.get(path[:1]) or frozenset()


def not_queued(inv: Invocation, decision: Decision) -> Decision | None:
    """The refusal (an approval.* rule) of a blocked call kro does not queue; None when it is queued."""
    verb = decision.verb

    def refuse(rule: str, why: str) -> Decision:
        return Decision(False, rule, f"{R.mutation(verb or 'kubectl')}; {why}", verb)

    if decision.rule != R.MUTATING or inv.tool != "kubectl" or not inv.path:
        return decision._replace(allowed=False)
    if inv.error:
        return refuse(R.APPROVAL_SCOPE, f"kubectl would not accept it ({inv.error}), so it is not queued; "
                      "fix the call")  # fmt: skip
    if inv.path[0] == "config":
        return refuse(R.APPROVAL_SCOPE, "'config' commands edit a kubeconfig, not the cluster, so they are "
                      "not queued for approval; ask the user to run it if it is needed")  # fmt: skip
    if inv.path[0] == "edit":
        return refuse(R.APPROVAL_SCOPE, "'edit' needs an editor, so it is not queued for approval; ask for "
                      "a patch instead")  # fmt: skip
    allowed = allowed_flags(inv.path)
    for flag in inv.flags:
        name = flag.name
        if flag.is_global and name == "namespace":
            continue
        if flag.is_global and name in TARGET_FLAGS:
            return refuse(R.APPROVAL_IDENTITY, f"{flag.written} changes who kubectl is or which server it "
                          "talks to; an approved request always runs on the session's pinned context, so "
                          "it is not queued: drop the flag")  # fmt: skip
        local_output = name == "output" and (flag.value or "").split("=", 1)[0].endswith("-file")
        if not flag.is_global and (name in LOCAL_INPUT or local_output):
            return refuse(R.APPROVAL_LOCAL_INPUT, f"{flag.written} reads local files or a terminal, so an "
                          "approval could not be bound to what runs; it is not queued (ask the user to run "
                          "it, or ask for a command that says it all)")  # fmt: skip
        if flag.is_global or name not in allowed:
            keep = ", ".join(f"--{f}" for f in sorted(allowed)) or "none"
            return refuse(R.APPROVAL_FLAG, f"{flag.written} is not a flag kro carries into an approved "
                          f"request (for '{verb}': -n/--namespace and {keep}), so it is not queued: drop "
                          "it")  # fmt: skip
    return None


def namespace_of(inv: Invocation, default: str) -> str:
    """The namespace the call acts in: its own -n, else the session's default."""
    return inv.last("namespace") or default


def _command_flags(inv: Invocation) -> dict[str, str]:
    node = load(inv.tool).root
    for word in inv.path:
        child = node.sub(word)
        if child is None:
            return {}
        node = child
    return node.flags


def pins(context: str, namespace: str) -> list[str]:
    """kro's own flags on every command an approval runs: the session's context, and its namespace."""
    return [f"--context={context}"] + ([f"--namespace={namespace}"] if namespace else [])


def rebuild(inv: Invocation, context: str, namespace: str) -> list[str]:
    """The argv an approved request runs: its command, kro's pins, its positionals and its allowed flags."""
    allowed = allowed_flags(inv.path)
    argv = [*inv.path, *pins(context, namespace), *inv.positionals]
    for flag in inv.flags:
        if not flag.is_global and flag.name in allowed:
            argv.append(f"--{flag.name}" if flag.value is None else f"--{flag.name}={flag.value}")
    if inv.after_dash:
        argv += ["--", *inv.after_dash]
    return argv


def targets(inv: Invocation) -> list[str]:
    """The positionals naming existing objects the request acts on (for `kubectl get`); [] when none."""
    if not inv.positionals or inv.path[0] in CREATES:
        return []
    words = list(inv.positionals)
    if inv.path[0] in NODE_COMMANDS:
        return ["node", *words]
    if inv.path[0] == "certificate":
        return ["certificatesigningrequest", *words]
    if "/" in words[0]:
        return [w for w in words if "/" in w and "=" not in w]
    names = []
    for word in words[1:]:
        if "=" in word or ":" in word or word.endswith("-"):
            break
        names.append(word)
    return [words[0], *names] if names else []


def preview(inv: Invocation, run_argv: list[str]) -> list[str] | None:
    """The server-side dry run of `run_argv` (with -o yaml where it prints the changed object), or None."""
    flags = _command_flags(inv)
    if "dry-run" not in flags:
        return None
    extra = ["--dry-run=server"]
    if "output" in flags and inv.path[0] not in NO_YAML:
        extra += ["-o", "yaml"]
    cut = run_argv.index("--") if "--" in run_argv else len(run_argv)
    return run_argv[:cut] + extra + run_argv[cut:]


def precondition(inv: Invocation, target_args: list[str], resource_version: str) -> list[str]:
    """`--resource-version=RV` where the command takes one and acts on one object (the server then refuses
    the write if the object changed after it was previewed); [] otherwise."""
    single = len(target_args) == 1 or (len(target_args) == 2 and "/" not in target_args[0])
    if "resource-version" in _command_flags(inv) and single and resource_version:
        return [f"--resource-version={resource_version}"]
    return []
