"""Without kubetail installed, answer simple `kubetail logs` calls through `kubectl logs` (same policy)."""

from __future__ import annotations

import re

from kro.shims import envelope, executor, json_codec
from kro.shims.audit import AuditLog, Call
from kro.shims.decide import decide_argv
from kro.shims.errors import EXIT_BLOCKED, EXIT_NOT_FOUND
from kro.shims.model import Decision, Invocation, Pins
from kro.shims.session import Session

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


def answer(
    session: Session,
    inv: Invocation,
    decision: Decision,
    audit: AuditLog,
    call: Call,
    started: float,
    io: executor.Stdio = executor.DIRECT,
) -> int:
    """Answer `inv` without kubetail on `io` (the shim's stdio or a broker client's), audited once."""
    from kro.shims.envelope_output import capture, finish, new_collector

    envelope_mode = session.output == "envelope"

    def emit(out: dict[str, object]) -> None:
        io.out(json_codec.dumps(out) + b"\n")

    try:
        calls, grep = translate(inv)
        pattern = re.compile(grep) if grep else None
    except (NotSimple, re.error) as exc:
        audit.write(call, decision, EXIT_NOT_FOUND, started)
        message = f"{exc}; {INSTALL_HINT}"
        if envelope_mode:
            emit(envelope.error("infra", message, session.context, session.notice))
            return 0
        io.err(f"kro: {message}\n")
        return EXIT_NOT_FOUND
    pins = Pins(session.context, session.namespaces)
    decided = [decide_argv("kubectl", argv, pins) for argv in calls]
    refused = next((d for _, d in decided if not d.allowed), None)
    if refused is not None:
        blocked = Decision(False, refused.rule, refused.reason, decision.verb)
        audit.write(call, blocked, EXIT_BLOCKED, started)
        if envelope_mode:
            emit(envelope.error("policy", refused.reason, session.context, session.notice, refused.rule))
            return 0
        io.err(f"✘ BLOCKED: {refused.reason}\n")
        return EXIT_BLOCKED
    env = executor.session_env(io.env, session)
    if not envelope_mode:
        io.err(f"kro: {NOTICE}\n")
        code = 0
        for sub_inv, _ in decided:
            lines = _Lines(io, pattern)
            argv = executor.pinned_argv(sub_inv, session)
            result = executor.run_captured(
                session.kubectl, argv, env, lines.feed, seconds=_UNBOUNDED, stream=True
            )
            lines.finish()
            if result.stderr:
                io.err(result.stderr.decode("utf-8", "surrogateescape"))
            code = code or result.exit_code
        audit.write(call, decision, code, started)
        return code
    collector = new_collector(session, inv, pattern)
    results = [
        capture(session, inv, collector, session.kubectl, executor.pinned_argv(sub_inv, session), env)
        for sub_inv, _ in decided
    ]
    answer_env, code = finish(session, inv, collector, results, envelope.join_notice(session.notice, NOTICE))
    emit(answer_env)
    audit.write(call, decision, code, started)
    return 0


_UNBOUNDED = 86400.0 * 20  # plain mode: kubectl's own bounds apply, as for any plain call


class _Lines:
    """Writes kubectl's output on as whole lines, keeping only those matching --grep."""

    def __init__(self, io: executor.Stdio, pattern: re.Pattern[str] | None) -> None:
        self.io, self.pattern, self.partial = io, pattern, b""

    def feed(self, chunk: bytes) -> bool:
        """Take a chunk of stdout."""
        data = self.partial + chunk
        cut = data.rfind(b"\n") + 1
        self.partial = data[cut:]
        self._write(data[:cut])
        return True

    def finish(self) -> None:
        """Write the last partial line."""
        if self.partial:
            self._write(self.partial)

    def _write(self, data: bytes) -> None:
        if not data:
            return
        if self.pattern is not None:
            text = data.decode("utf-8", "surrogateescape")
            pattern = self.pattern
            data = "".join(line for line in text.splitlines(keepends=True) if pattern.search(line)).encode(
                "utf-8", "surrogateescape"
            )
        if data:
            self.io.out(data)
