"""Build a pinned Session: find the real tools, minify the kubeconfig to one context, check the audit log."""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kro.sandbox import kubeconfig as kc
from kro.sandbox import session_dir
from kro.shims.audit import AuditLog, default_path
from kro.shims.errors import ToolNotFound
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
    files = [kubeconfig] if kubeconfig else kc.kubeconfig_files(opts.kubeconfig, env)
    config = kc.load(files, explicit=bool(kubeconfig or opts.kubeconfig))
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
