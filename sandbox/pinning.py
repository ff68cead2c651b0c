"""The one session factory: every surface (kro-run, kro serve, kubectl ro) builds its pinned Session here.

It finds the real tools, minifies the kubeconfig to one context, checks the audit log, starts the API proxy
that holds the real credentials (unless --direct) and writes the session dir with its shims.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kro.sandbox import kubeconfig as kc
from kro.sandbox import session_dir
from kro.shims.audit import AuditLog, default_path
from kro.shims.errors import ConfigError, ToolNotFound, UsageError
from kro.shims.executor import launch_env
from kro.shims.session import Session

# Starts the session's API proxy for the minified kubeconfig (doc, context, namespace, namespaces,
# session id, audit log); returns the agent's kubeconfig (naming only the proxy) and the proxy's URL.
Serve = Callable[[dict[str, Any], str, str | None, tuple[str, ...], str, str], tuple[dict[str, Any], str]]


@dataclass(frozen=True)
class PinOptions:
    """What the user asked for: kubeconfig, context, namespaces and output settings."""

    context: str | None = None
    kubeconfig: str | None = None
    namespaces: tuple[str, ...] = ()
    output: str = "envelope"
    audit_log: Path | None = None
    notice: str | None = None
    redact: bool = False
    stream_seconds: float = 10.0
    request_timeout: float = 30.0
    call_timeout: float = 0.0


def sources(opts: PinOptions, env: dict[str, str], kubeconfig: Path | None = None) -> list[Path]:
    """The kubeconfig files the session is built from: `kubeconfig` (the demo's), else the user's."""
    return [kubeconfig] if kubeconfig else kc.kubeconfig_files(opts.kubeconfig, env)


def build_session(
    opts: PinOptions,
    env: dict[str, str],
    workdir: Path,
    kubeconfig: Path | None = None,
    serve: Serve | None = None,
) -> Session:
    """Resolve tools, kubeconfig and context, and write the pinned session into `workdir`.

    `kubeconfig` overrides the user's (the demo cluster's); with `serve`, the real credentials go to
    the API proxy it starts and the session's kubeconfig names only the proxy; errors are KroErrors.
    """
    kubectl = session_dir.find_real("kubectl", env.get("PATH", ""))
    if kubectl is None:
        raise ToolNotFound(
            "kubectl not found on PATH; install it (https://kubernetes.io/docs/tasks/tools/) and retry"
        )
    config = kc.load(sources(opts, env, kubeconfig), explicit=bool(kubeconfig or opts.kubeconfig))
    context = kc.choose_context(config, opts.context)
    namespace = None
    if opts.namespaces:
        current = config.contexts[context].get("namespace") or "default"
        namespace = current if current in opts.namespaces else opts.namespaces[0]
    pinned = workdir / "kubeconfig"
    doc = kc.minified(config, context, namespace)
    audit = (opts.audit_log or Path(default_path())).expanduser().absolute()
    AuditLog.open(str(audit)).close()  # fail now, not on the agent's first call
    session_id = uuid.uuid4().hex[:12]
    proxy = ""
    if serve is not None:
        doc, proxy = serve(doc, context, namespace, opts.namespaces, session_id, str(audit))
    kc.write_private(doc, pinned)
    (workdir / "kube-cache").mkdir(mode=0o700, exist_ok=True)
    session = Session(
        id=session_id,
        dir=str(workdir),
        context=context,
        kubeconfig=str(pinned),
        kubectl=kubectl,
        kubetail=session_dir.find_real("kubetail", env.get("PATH", "")),
        namespaces=opts.namespaces,
        output=opts.output,
        audit_log=str(audit),
        launcher_pid=os.getpid(),
        notice=opts.notice,
        redact=opts.redact,
        stream_seconds=opts.stream_seconds,
        request_timeout=opts.request_timeout,
        call_timeout=opts.call_timeout,
        kube_cache_dir=str(workdir / "kube-cache"),
        # Proxies, HOME, TMPDIR (and a credential plugin's variables) as they are now: an agent must not
        # route kubectl (and its token) elsewhere or hand it GODEBUG, SSL_* or KUBE* settings.
        env=launch_env(env, credential_plugin=kc.uses_credential_plugin(config, context)),
        proxy=proxy,
    )
    session_dir.install(session)
    return session


@dataclass(frozen=True)
class Opened:
    """A session the factory built: the pinned Session and the kubeconfig files it was built from."""

    session: Session
    sources: list[Path]


def open_session(
    stack: ExitStack, opts: PinOptions, env: dict[str, str], *, demo: bool = False, proxy: bool = True
) -> Opened:
    """Build a session whose lifetime is `stack`'s: session dir, demo cluster, API proxy, session.json, shims.

    Dead sessions' dirs are reclaimed first; everything started here is stopped and removed by `stack`.
    With `proxy`, the real credentials stay in this process and the session kubeconfig names only the proxy,
    which redacts objects whenever the session's output is redacted (envelope, --redact, MCP's data).
    """
    import shutil

    if demo and opts.kubeconfig:
        raise UsageError("--demo brings its own kubeconfig; drop --kubeconfig")
    root = session_dir.sessions_root()
    session_dir.reclaim(root)
    workdir = session_dir.new_session_dir(root)
    stack.callback(shutil.rmtree, workdir, True)
    demo_config = None
    if demo:
        from kro.democluster.server import DemoCluster

        cluster = stack.enter_context(DemoCluster(port=0, request_log=workdir / "demo-requests.jsonl"))
        demo_config = cluster.write_kubeconfig(workdir / "demo-kubeconfig")
        if opts.context is None:
            opts = dataclasses.replace(opts, context="kro-demo")
    serve = None
    if proxy:
        from kro.sandbox.proxy.launch import Serving

        serve = Serving(stack, env, redact=opts.output != "plain" or opts.redact)
    return Opened(build_session(opts, env, workdir, demo_config, serve), sources(opts, env, demo_config))


def plugin_session(env: dict[str, str]) -> Session:
    """`kubectl ro`'s session, built per call: the user's kubeconfig and current context, no dir, no proxy."""
    kubectl = session_dir.find_real("kubectl", env.get("PATH", ""))
    if kubectl is None:
        raise ToolNotFound("kubectl not found on PATH; install it and retry")
    config = kc.load(kc.kubeconfig_files(None, env), explicit=False)
    context = kc.choose_context(config, None)
    output = env.get("KRO_OUTPUT", "plain")
    if output not in ("plain", "envelope"):
        raise ConfigError("KRO_OUTPUT must be 'plain' or 'envelope'")
    pinned = launch_env(env, credential_plugin=kc.uses_credential_plugin(config, context))
    pinned["KUBECONFIG"] = env.get("KUBECONFIG")
    return Session(
        id="kubectl-ro",
        env=pinned,
        dir="",
        context=context,
        kubeconfig="",
        kubectl=kubectl,
        output=output,
        audit_log=env.get("KRO_AUDIT_LOG") or default_path(),
    )


def session_parser(prog: str, description: str, epilog: str) -> argparse.ArgumentParser:
    """The command line of a face that builds a session (kro-run, kro serve): the pins and --demo."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog, formatter_class=raw)
    add_pin_arguments(parser)
    parser.add_argument("--demo", action="store_true", help="start the bundled demo cluster and pin to it")
    return parser


def add_pin_arguments(parser: argparse.ArgumentParser) -> None:
    """The options kro-run and kro serve share: kubeconfig, context, namespaces and audit log."""
    parser.add_argument(
        "--context", metavar="NAME", help="context to pin (default: the kubeconfig's current-context)"
    )
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)"
    )
    parser.add_argument(
        "-n", "--namespace", action="append", default=[], dest="namespaces", metavar="NS",
        help="allow reads only in this namespace (repeatable); all-namespaces reads are then blocked",
    )  # fmt: skip
    parser.add_argument(
        "--audit-log", type=Path, metavar="PATH", help="audit log (default: $XDG_STATE_HOME/kro/audit.jsonl)"
    )
