"""Which blocked calls become approval requests, and the argv an approved one runs as (pure)."""

from __future__ import annotations

from kro.shims import rules as R
from kro.shims.flag_tables import load
from kro.shims.model import Decision, Invocation

# Flags whose meaning is outside the argv (files, stdin, a terminal, an editor): what would run later could
# differ from what was shown, and a template path would be read on the approver's machine (its text
# printed back to the agent), so such calls are not queued.
LOCAL_INPUT = (
    "filename", "kustomize", "from-file", "from-env-file", "patch-file", "stdin", "tty", "attach", "edit",
    "template",
)  # fmt: skip


# Commands whose -o yaml under a dry run is not the changed object (scale prints the object as it was,
# delete/drain/cordon print names): their dry run's own message is the preview.
NO_YAML = frozenset({"scale", "delete", "drain", "cordon", "uncordon"})


def not_queued(inv: Invocation, decision: Decision) -> str | None:
    """Why this blocked call is not an approval request (None when it is one)."""
    if decision.rule != R.MUTATING or inv.tool != "kubectl" or not inv.path:
        return "only kubectl mutations are queued for approval; ask the user to run it if it is needed"
    if inv.error:
        return f"kubectl would not accept it ({inv.error}), so it is not queued; fix the call"
    if inv.path[0] == "config":
        return (
            "'config' commands edit a kubeconfig, not the cluster, so they are not queued for approval; "
            "ask the user to run it if it is needed"
        )
    if inv.path[0] == "edit":
        return "'edit' needs an editor, so it is not queued for approval; ask for a patch instead"
    local = [f"--{name}" for name in LOCAL_INPUT if inv.has(name)]
    local += [f"-o {v}" for v in inv.values("output") if v.split("=", 1)[0].endswith("-file")]
    if local:
        return (
            f"{local[0]} reads local files or a terminal, so an approval could not be bound to what "
            "runs; it is not queued (ask the user to run it, or ask for a command that says it all)"
        )
    return None


def namespace_of(inv: Invocation, default: str) -> str:
    """The namespace the call acts in: its own -n, '' for -A, else the session's default."""
    if inv.is_true("all-namespaces"):
        return ""
    return inv.last("namespace") or default


def _command(inv: Invocation) -> dict[str, str]:
    node = load(inv.tool).root
    for word in inv.path:
        child = node.sub(word)
        if child is None:
            return {}
        node = child
    return node.flags


def pinned(inv: Invocation, context: str, namespace: str) -> list[str]:
    """The argv an approved request runs: the agent's, with --context (and its namespace) after the verb."""
    pins = [f"--context={context}"]
    if namespace and inv.last("namespace") is None and not inv.is_true("all-namespaces"):
        pins.append(f"--namespace={namespace}")
    argv = list(inv.argv)
    return argv[: inv.pin_at] + pins + argv[inv.pin_at :]


def preview(inv: Invocation, run_argv: list[str]) -> list[str] | None:
    """The server-side dry run of `run_argv` (with -o yaml where it prints the changed object), or None."""
    flags = _command(inv)
    if "dry-run" not in flags:
        return None
    extra = ["--dry-run=server"]
    if "output" in flags and inv.path[0] not in NO_YAML:
        extra += ["-o", "yaml"]
    cut = run_argv.index("--") if "--" in run_argv else len(run_argv)
    return run_argv[:cut] + extra + run_argv[cut:]
