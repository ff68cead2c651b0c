"""`kro-run`: pin a context, build a session of shims, and run the agent (or CI script) inside it."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from kro.sandbox.pinning import PinOptions, open_session, session_parser
from kro.sandbox.supervise import Supervisor, exit_on_signals
from kro.shims.errors import CommandNotFound, ConfigError, UsageError, guarded
from kro.shims.executor import scrubbed
from kro.shims.session import Session

DESCRIPTION = """Run CMD (an agent such as `claude` or `codex`, or a CI script) in a read-only kro session.

Inside, `kubectl` and `kubetail` are shims: every call is parsed like kubectl parses it, checked
against kro's read-only policy, pinned to one context, written to the audit log, and answered with
a JSON envelope (agents) or kubectl's own output (--output plain, for CI and people)."""
EPILOG = """examples:
  kro-run --demo                          tour of kro against the bundled demo cluster
  kro-run claude                          Claude Code on the current context, read-only
                                          (shell prefix, hook, system prompt: see --dry-run)
  kro-run --context prod -n web -- codex  pin context prod, namespace web only
  kro-run --output plain --redact --audit-log audit.jsonl -- contrib/ci/diagnose.sh
                                          CI diagnostics with kubectl's plain output (see contrib/ci)
  kro-run -- kro doctor                   check the session as the agent sees it
  kro-run --confine claude                Claude Code in a bubblewrap sandbox: no real kubectl or credentials
  kro-run --confine --approvals claude    ...and blocked mutations become requests you approve: kro approve N

exit codes: CMD's own (128+N when signal N ended it); 2 usage, 69 kubectl (or, with --confine, bwrap) not
found, 78 kubeconfig/context/audit problem, 127 CMD not found. SIGTERM, SIGINT and SIGHUP are passed on to
CMD, whose process group is killed 5 s later if it is still running. Inside, plain-mode kubectl calls exit
77 when blocked, 124 when --call-timeout stopped them, 75 when the --confine broker is busy (retry),
otherwise with kubectl's own code.
"""


def build_parser() -> argparse.ArgumentParser:
    """kro-run's command line."""
    parser = session_parser("kro-run", DESCRIPTION, EPILOG)
    parser.add_argument(
        "--output", choices=("envelope", "plain"), default="envelope",
        help="envelope: one typed JSON object per call (default, for agents); plain: kubectl's own output",
    )  # fmt: skip
    parser.add_argument("--notice", help="banner put in every envelope, e.g. 'ask before any change'")
    parser.add_argument("--redact", action="store_true", help="redact secret-shaped values in plain mode too")
    parser.add_argument(
        "--stream-seconds", type=float, default=10.0,
        help="bound on -w / -f streams in envelope mode, in seconds (default %(default)s)",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=30.0,
        help="envelope mode: end a kubectl call after this many s without progress (default 30; a call still "
        "receiving data runs up to 600 s, or --call-timeout; streams: --stream-seconds)",
    )  # fmt: skip
    parser.add_argument(
        "--call-timeout", type=_duration, default=0.0, metavar="DURATION",
        help="end every kubectl/kubetail call after DURATION (e.g. 90s, 5m) in every mode (envelope mode: "
        "instead of the 600 s cap); plain mode then runs kubectl as the shim's child instead of exec'ing it "
        "(default: no bound in plain mode)",
    )  # fmt: skip
    parser.add_argument(
        "--confine", action="store_true",
        help="run CMD under bubblewrap: the real kubectl, kubeconfigs and cloud credentials are not visible "
        "inside; kubectl calls go to a broker in kro-run",
    )  # fmt: skip
    parser.add_argument(
        "--rw", action="append", default=[], metavar="PATH",
        help="with --confine: PATH is writable inside too (repeatable; the working dir always is)",
    )  # fmt: skip
    parser.add_argument(
        "--pass-env", action="append", default=[], metavar="NAME",
        help="with --confine: let variable NAME in although it looks like a credential (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--approvals", action="store_true",
        help="queue blocked mutations as requests you approve from outside: kro approvals, kro approve N",
    )  # fmt: skip
    parser.add_argument(
        "--approval-ttl", metavar="DURATION",
        help="with --approvals: a request expires after this long (default 15m; e.g. 90s, 1h)",
    )  # fmt: skip
    parser.add_argument(
        "--no-agent-setup", action="store_true",
        help="do not set up a known agent CLI (claude: shell prefix, hook, system prompt; see README)",
    )  # fmt: skip
    parser.add_argument(
        "--no-agent-sandbox", action="store_true",
        help="do not turn on Claude Code's own sandbox (weaker: its commands can read your kubeconfig and "
        "credential files and reach the cluster with them; see README)",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print what would be run and set; run nothing")
    parser.add_argument(
        "--direct", action="store_true",
        help="no API proxy: the session kubeconfig holds the pinned credentials (weaker: a client that skips "
        "the shim, e.g. /usr/bin/kubectl or curl with the token, is not checked)",
    )  # fmt: skip
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="the command to run (after --)")
    return parser


def _duration(text: str) -> float:
    from kro.shims.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than zero, not {text}")
    return seconds


def agent_env(base: dict[str, str], session: Session) -> dict[str, str]:
    """The agent's environment: scrubbed of kubectl overrides, with the session's PATH first."""
    env = {k: v for k, v in base.items() if not scrubbed(k)}
    env["PATH"] = os.pathsep.join([str(Path(session.dir) / "bin"), base.get("PATH", "")])
    env["KUBECONFIG"] = session.kubeconfig
    env["KUBERC"] = "off"
    env["KRO_SESSION"] = session.dir
    return env


def _resolve_cmd(cmd: list[str], env: dict[str, str]) -> str:
    found = shutil.which(cmd[0], path=env["PATH"])
    if found is None:
        raise CommandNotFound(f"command not found: {cmd[0]} (is it installed and on PATH?)")
    return found


def run(argv: list[str]) -> int:
    """Run kro-run: CMD as a supervised child; returns its exit code (128+N if signal N ended it)."""
    args = build_parser().parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd and not args.demo:
        raise UsageError("give the command to run, e.g. kro-run claude or kro-run -- ./ci.sh (or --demo)")
    if (args.rw or args.pass_env) and not args.confine:
        raise UsageError("--rw and --pass-env apply only with --confine")
    if args.approval_ttl and not args.approvals:
        raise UsageError("--approval-ttl applies only with --approvals")
    ttl = 0.0
    if args.approvals:
        from kro.shims.durations import DAY_UNITS, parse_duration

        try:
            ttl = parse_duration(args.approval_ttl or "15m", DAY_UNITS, bare=False)
        except ValueError:
            wanted = f"--approval-ttl wants a duration like 90s, 15m or 1h, not {args.approval_ttl!r}"
            raise UsageError(wanted) from None
    bwrap = None
    if args.confine:
        from kro.sandbox.confine import find_bwrap

        bwrap = find_bwrap(dict(os.environ))
    exit_on_signals()  # until the agent runs: a SIGTERM still removes the session dir on the way out
    with ExitStack() as stack:
        env = dict(os.environ)
        opts = PinOptions(
            context=args.context,
            kubeconfig=args.kubeconfig,
            namespaces=tuple(args.namespaces),
            output=args.output,
            audit_log=args.audit_log,
            notice=args.notice,
            redact=args.redact,
            stream_seconds=args.stream_seconds,
            request_timeout=args.request_timeout,
            call_timeout=args.call_timeout,
        )
        # --direct: no API proxy, the session kubeconfig holds the pinned credentials
        opened = open_session(stack, opts, env, demo=args.demo, proxy=not args.direct)
        session, sources = opened.session, opened.sources
        if args.approvals:
            from kro.approvals import launch

            session = launch.enable(session, sources, ttl, confined=bool(bwrap))
            stack.callback(launch.disable, session)
        child_env = agent_env(env, session)
        if not cmd and not args.dry_run:
            from kro.sandbox.tour import run_tour

            code = run_tour(session, child_env)
            if not sys.stdin.isatty():
                return code
            cmd = [os.environ.get("SHELL") or "/bin/sh"]
            sys.stderr.write(f"kro: starting {cmd[0]} in the session; exit it to end the session\n")
        from kro.sandbox import agents

        no_setup = args.no_agent_setup
        if args.no_agent_sandbox and agents.agent_of(cmd)[0] in ("claude-code", "codex") and not bwrap:
            sys.stderr.write("kro-run: --no-agent-sandbox: the agent's commands can read your kubeconfig "
                             "and credential files and reach the cluster with them, past kro\n")  # fmt: skip
        confined = bool(bwrap)
        agent = agents.Setup(None, cmd) if no_setup else agents.prepare(
            cmd, session, env, confined, None if args.no_agent_sandbox else sources
        )
        cmd = agent.argv
        child_env.update(agent.env)
        for warning in agent.warnings:
            sys.stderr.write(f"kro-run: {warning}\n")
        if args.dry_run:
            from kro.sandbox.dry_run import describe

            sys.stdout.write(describe(session, cmd, env, child_env, agent, confined=bool(bwrap),
                                      agent_setup=not args.no_agent_setup))  # fmt: skip
            return 0
        program = _resolve_cmd(cmd, child_env)
        supervisor = Supervisor(session_dir=session.dir)
        if bwrap:
            from kro.sandbox import confine

            box = confine.ConfineOptions(
                bwrap, os.getcwd(), tuple(args.rw), tuple(args.pass_env), args.kubeconfig
            )
            return confine.run_confined(session, {**env, **agent.env}, child_env, cmd, box, supervisor)

        def start(**options: Any) -> subprocess.Popen[bytes]:
            return subprocess.Popen(cmd, executable=program, env=child_env, **options)

        return supervisor.run(start)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `kro-run`."""
    args = sys.argv[1:] if argv is None else argv

    def body() -> int:
        try:
            return run(args)
        except PermissionError as exc:  # e.g. a session root owned by someone else
            raise ConfigError(str(exc)) from exc

    return guarded("kro-run", body)
