"""Without kubetail installed, simple `kubetail logs` calls become `kubectl logs` calls (pure translation).

The pipeline decides each translated call with the same policy and runs them into the session's sink
(envelope, plain or plain redacted), audited once as the kubetail call it is.
"""

from __future__ import annotations

import re

from kro.shims.model import Invocation

INSTALL_HINT = (
    "kubetail is not installed, and kro answers only simple 'kubetail logs' calls without it "
    "(a pod or workload source, [ns:] prefix, /container, --tail, --since, --grep, -f); "
    "install kubetail (https://github.com/kubetail-org/kubetail) and restart kro-run for the rest"
)
NOTICE = "kubetail is not installed: kro answered this through 'kubectl logs'."
_KINDS = {
    "pod": "pod", "pods": "pod", "po": "pod",
    "deployment": "deployment", "deployments": "deployment", "deploy": "deployment",
    "statefulset": "statefulset", "statefulsets": "statefulset", "sts": "statefulset",
    "daemonset": "daemonset", "daemonsets": "daemonset", "ds": "daemonset",
    "replicaset": "replicaset", "replicasets": "replicaset", "rs": "replicaset",
    "job": "job", "jobs": "job",
}  # fmt: skip
_SIMPLE_FLAGS = frozenset({"tail", "since", "grep", "follow", "all", "help", "kube-context"})
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT")


class NotSimple(Exception):
    """The call needs the real kubetail."""


def _tail_words(inv: Invocation) -> set[int]:
    """Positions of numbers written after a bare --tail (`--tail 20`), taken as the count."""
    words = set()
    for i, token in enumerate(inv.argv[:-1]):
        if token in ("--tail", "-t") and inv.argv[i + 1].isdigit():
            words.add(i + 1)
    return words


def translate(inv: Invocation) -> tuple[list[list[str]], str | None]:
    """kubectl argvs answering a kubetail logs call, and its --grep pattern; NotSimple otherwise."""
    if inv.path != ("logs",):
        raise NotSimple("only 'kubetail logs' has a fallback")
    unknown = {f.name for f in inv.flags} - _SIMPLE_FLAGS
    if unknown:
        raise NotSimple(f"--{sorted(unknown)[0]} needs the real kubetail")
    tail_at = _tail_words(inv)
    tail = inv.last("tail") or None
    sources = []
    for i, token in enumerate(inv.argv):
        if token in inv.positionals and i not in tail_at:
            sources.append(token)
        elif i in tail_at:
            tail = token
    if not sources:
        raise NotSimple("no log source given")
    common: list[str] = []
    if tail and not inv.is_true("all"):
        common.append(f"--tail={tail}")
    since = inv.last("since")
    if since:
        common.append(f"--since-time={since}" if _ISO.match(since) else f"--since={since}")
    if inv.is_true("follow"):
        common.append("--follow")
    calls = [_source_argv(source) + common for source in dict.fromkeys(sources)]
    return calls, inv.last("grep")


def _source_argv(source: str) -> list[str]:
    namespace, sep, rest = source.partition(":")
    if not sep:
        namespace, rest = "", source
    parts = rest.split("/")
    if len(parts) == 1:
        parts = ["pod", *parts]
    kind = _KINDS.get(parts[0].lower())
    if kind is None or len(parts) > 3 or not all(_NAME.fullmatch(p) for p in parts[1:]):
        raise NotSimple(f"source {source!r} is not a plain pod or workload")
    argv = ["logs", f"{kind}/{parts[1]}"]
    if namespace:
        argv += ["-n", namespace]
    argv.append(f"--container={parts[2]}" if len(parts) == 3 else "--all-containers=true")
    if kind != "pod":
        argv += ["--all-pods=true", "--prefix=true"]
    return argv
