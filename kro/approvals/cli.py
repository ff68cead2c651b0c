"""`kro approvals [--watch]`, `kro approve N [--yes]`, `kro deny N [--reason TEXT]`: the user's side."""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import sys
import time

import orjson

from kro.approvals import runner, scope
from kro.approvals.guard import markers
from kro.approvals.store import (
    ApprovalError,
    InsideSession,
    Queue,
    Registered,
    Request,
    default_root,
    rfc3339,
)
from kro.shims.audit import AuditLog, Call
from kro.shims.decide import decide_invocation, parse_argv
from kro.shims.model import Decision, Invocation, Pins

WATCH_SECONDS = 2.0
RUN_SECONDS = 600.0  # the approved run itself (a drain or a delete that waits can take minutes)


def _queue() -> Queue:
    """The user's queue, after refusing to serve a process inside a kro session."""
    queue = Queue(default_root())
    found = markers(os.environ, [entry.launcher_pid for entry in queue.sessions()])
    if found:
        raise InsideSession(
            "the approval commands run outside the agent's session only, in your own terminal "
            f"(found: {'; '.join(found)})"
        )
    return queue


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _command(request: Request) -> str:
    return shlex.join([request.tool, *request.argv])


def _left(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _audit(entry: Registered, tool: str, argv: list[str], decision: Decision, code: int | None,
           started: float) -> None:  # fmt: skip
    log = AuditLog.open(entry.audit_log)
    try:
        log.write(Call(entry.session, tool, argv, entry.context), decision, code, started)
    finally:
        log.close()


# --------------------------------------------------------------------------- kro approvals


def _pending(queue: Queue, now: float) -> list[tuple[Registered, Request]]:
    found = []
    for entry in queue.sessions():
        found += [(entry, r) for r in queue.requests(entry.session) if r.state(now) == "pending"]
    return sorted(found, key=lambda pair: pair[1].id)


def _row(entry: Registered, request: Request, now: float) -> str:
    where = f"{request.context}/{request.namespace or '*'}"
    left = _left(request.expires - now)
    return f"{request.id:>4}  {entry.session}  {where:<24} {left:>8}  {_command(request)}"


def build_approvals_parser() -> argparse.ArgumentParser:
    """`kro approvals`'s parser."""
    parser = argparse.ArgumentParser(
        prog="kro approvals",
        description="List the pending approval requests of your live kro-run --approvals sessions.",
        epilog="Approve one with 'kro approve N' (shows a dry run first), or refuse it with 'kro deny N'.",
    )
    parser.add_argument("--watch", action="store_true", help="keep listing new requests as they arrive")
    parser.add_argument("--json", action="store_true", help="one JSON object per pending request")
    return parser


def approvals_main(argv: list[str]) -> int:
    """Entry point of `kro approvals`."""
    args = build_approvals_parser().parse_args(argv)
    queue = _queue()
    queue.prune()
    seen: set[int] = set()
    header = False
    while True:
        now = time.time()
        for entry, request in _pending(queue, now):
            if request.id in seen:
                continue
            seen.add(request.id)
            if args.json:
                record = {**request.summary(), "session": entry.session, "tool": request.tool,
                          "argv": list(request.argv), "context": request.context,
                          "namespace": request.namespace, "sha256": request.hash}  # fmt: skip
                sys.stdout.write(orjson.dumps(record).decode() + "\n")
            else:
                if not header:
                    sys.stdout.write(f"{'ID':>4}  {'SESSION':<12}  {'CONTEXT/NAMESPACE':<24} "
                                     f"{'EXPIRES':>8}  COMMAND\n")  # fmt: skip
                    header = True
                sys.stdout.write(_row(entry, request, now) + "\n")
            sys.stdout.flush()
        if not args.watch:
            if not seen and not args.json:
                sys.stdout.write("no pending requests\n")
            return 0
        time.sleep(WATCH_SECONDS)


# --------------------------------------------------------------------------- kro approve / deny


def _refuse(entry: Registered, request: Request, tool: str, error: ApprovalError, started: float) -> None:
    """Audit a refused approval or denial, then raise it."""
    decision = Decision(False, "approval.refused", str(error), None)
    _audit(entry, tool, list(request.argv), decision, 1, started)
    raise error


def _ask(request: Request, question: str, refusal: str) -> None:
    """Ask on the controlling terminal (not stdin, which a script could fill); ApprovalError on no."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        raise ApprovalError(
            f"no terminal to ask on, so nothing was sent to the cluster; run 'kro approve {request.id}' at a "
            "terminal, or pass --yes"
        ) from None
    try:
        os.write(fd, question.encode() + b" [y/N] ")
        line = b""
        while not line.endswith(b"\n") and len(line) < 64:
            chunk = os.read(fd, 64)
            if not chunk:
                break
            line += chunk
    finally:
        os.close(fd)
    if line.decode(errors="replace").strip().lower() not in ("y", "yes"):
        raise ApprovalError(f"{refusal}; request {request.id} is still pending (deny it with kro deny)")


def _show(entry: Registered, request: Request, run_argv: list[str], kubeconfigs: list[str]) -> None:
    out = sys.stdout
    out.write(f"request {request.id} from session {entry.session}"
              f"{' (--confine)' if entry.confined else ''}, queued {rfc3339(request.created)}, "
              f"expires {rfc3339(request.expires)}\n")  # fmt: skip
    out.write(f"  agent asked:  {_command(request)}\n")
    out.write(f"  context:      {request.context}    namespace: {request.namespace or '(all)'}\n")
    out.write(f"  will run:     kubectl {shlex.join(run_argv)}\n")
    out.write(f"  kubeconfig:   {os.pathsep.join(kubeconfigs)} (yours, as {_user()})\n")
    out.write(f"  argv sha256:  {request.hash}\n")
    out.flush()


def _indent(text: str) -> str:
    return "".join(f"  | {line}\n" for line in text.rstrip("\n").split("\n")) if text.strip() else ""


def _preview(kubectl: str, inv: Invocation, run_argv: list[str], target_args: list[str], pins: list[str],
             env: dict[str, str], seconds: float) -> runner.Bound:  # fmt: skip
    """Read the targets' uid/resourceVersion, then show the server-side dry run; what was previewed."""
    bound = runner.target_state(kubectl, target_args, pins, env, seconds)
    for line in bound.lines():
        sys.stdout.write(f"target:       {line}\n")
    dry = scope.preview(inv, run_argv)
    if dry is None:
        sys.stdout.write("preview: none (kubectl has no server-side dry run for this command)\n")
    else:
        seen = runner.run(kubectl, dry, env, seconds)
        sys.stdout.write(f"preview (kubectl {shlex.join(dry)}; exit {seen.exit_code}):\n")
        sys.stdout.write(_indent(seen.stdout) + _indent(seen.stderr))
    sys.stdout.flush()
    return bound


def build_approve_parser() -> argparse.ArgumentParser:
    """`kro approve`'s parser."""
    parser = argparse.ArgumentParser(
        prog="kro approve",
        description=(
            "Show request N and the command kro rebuilt from it; when you ask, a server-side dry run with "
            "your credentials; then run it once with your own kubectl and kubeconfig, on the session's "
            "pinned context. The agent gets the recorded result when it runs the identical command again."
        ),
    )
    parser.add_argument("id", type=int, metavar="N", help="the request id (see kro approvals)")
    parser.add_argument("--yes", action="store_true", help="do not ask: preview, then run (for scripts)")
    parser.add_argument("--kubeconfig", metavar="PATH",
                        help="your kubeconfig (default: the files the session was started from)")  # fmt: skip
    return parser


def approve_main(argv: list[str]) -> int:
    """Entry point of `kro approve`."""
    args = build_approve_parser().parse_args(argv)
    started = time.monotonic()
    queue = _queue()
    entry, request = queue.find(args.id)
    now = time.time()
    if request.state(now) != "pending":
        by = f" by {request.approver}" if request.approver else ""
        _refuse(entry, request, "kro approve",
                ApprovalError(f"request {request.id} is {request.state(now)}{by}; it will not run "
                              "(an approval is used once; the agent can ask again)"), started)  # fmt: skip
    # The request file is the agent's text (in a seatbelt session the agent can write it): judged again here.
    inv = parse_argv(request.tool, request.argv)
    decision = decide_invocation(inv, Pins(entry.context, ()))
    refused = scope.not_queued(inv, decision)  # any other refusal comes back as it is
    if refused is not None or request.context != entry.context:
        why = refused.reason if refused is not None else "its context is not the session's"
        _refuse(entry, request, "kro approve",
                ApprovalError(f"request {request.id} cannot be approved: {why}"), started)  # fmt: skip
    kubeconfigs = [args.kubeconfig] if args.kubeconfig else list(entry.kubeconfig)
    env = runner.user_env(os.environ, kubeconfigs)
    kubectl = runner.kubectl_path(os.environ)
    run_argv = scope.rebuild(inv, entry.context, request.namespace)
    target_args = scope.targets(inv)
    pins = scope.pins(entry.context, request.namespace)
    _show(entry, request, run_argv, kubeconfigs)
    if not args.yes:  # looking sends nothing: the preview runs with the user's credentials, so it is asked
        _ask(request, f"Preview it with a server-side dry run, as you, on context {entry.context}?",
             "no preview asked for")  # fmt: skip
    while True:
        bound = _preview(kubectl, inv, run_argv, target_args, pins, env, entry.request_timeout)
        if not args.yes:
            _ask(request, "Run it once, with your credentials?", "not confirmed")
        current = runner.target_state(kubectl, target_args, pins, env, entry.request_timeout)
        if current == bound:
            break
        sys.stdout.write("the target changed since the preview:\n"
                         + "".join(f"  was: {line}\n" for line in bound.lines())
                         + "".join(f"  now: {line}\n" for line in current.lines()))  # fmt: skip
        if args.yes:
            _refuse(entry, request, "kro approve",
                    ApprovalError(f"request {request.id}'s target changed after its preview; nothing was run "
                                  f"(run 'kro approve {request.id}' again to see the new preview)"),
                    started)  # fmt: skip
        sys.stdout.write("here is the new preview; answer again\n")
    run_argv += scope.precondition(inv, target_args, bound.resource_version())
    approver = _user()
    claimed = queue.claim(request, approver, time.time())
    seen = f"; bound to {', '.join(bound.lines())}" if bound.objects else ""
    _audit(entry, "kro approve", list(request.argv),
           Decision(True, "approval.approved",
                    f"request {request.id} approved by {approver} (uid {os.getuid()}) at "
                    f"{rfc3339(claimed.decided or 0)}; argv sha256 {request.hash}{seen}", None),
           None, started)  # fmt: skip
    run_started = time.monotonic()
    result = runner.run(kubectl, run_argv, env, RUN_SECONDS)
    queue.record(claimed, result)
    _audit(entry, "kubectl", run_argv,
           Decision(True, "approval.run",
                    f"request {request.id} run once by {approver} with their kubeconfig "
                    f"({os.pathsep.join(kubeconfigs)}), context {entry.context}", None),
           result.exit_code, run_started)  # fmt: skip
    sys.stdout.write(f"ran (exit {result.exit_code}):\n{_indent(result.stdout)}{_indent(result.stderr)}")
    sys.stdout.write(f"recorded: the agent gets this result once when it runs `{_command(request)}` again\n")
    return result.exit_code


def build_deny_parser() -> argparse.ArgumentParser:
    """`kro deny`'s parser."""
    parser = argparse.ArgumentParser(
        prog="kro deny", description="Refuse request N; it never runs, and the agent is told on its next try."
    )
    parser.add_argument("id", type=int, metavar="N", help="the request id (see kro approvals)")
    parser.add_argument("--reason", metavar="TEXT", help="told to the agent, e.g. 'scale staging instead'")
    return parser


def deny_main(argv: list[str]) -> int:
    """Entry point of `kro deny`."""
    args = build_deny_parser().parse_args(argv)
    started = time.monotonic()
    queue = _queue()
    entry, request = queue.find(args.id)
    approver = _user()
    try:
        denied = queue.deny(request, approver, args.reason, time.time())
    except ApprovalError as exc:
        _refuse(entry, request, "kro deny", exc, started)
        raise
    text = f": {args.reason}" if args.reason else ""
    _audit(entry, "kro deny", list(request.argv),
           Decision(False, "approval.denied",
                    f"request {request.id} denied by {approver} (uid {os.getuid()}) at "
                    f"{rfc3339(denied.decided or 0)}{text}", None),
           None, started)  # fmt: skip
    sys.stdout.write(f"denied request {request.id}: {_command(request)}\n")
    return 0
