"""kro-run --approvals: register the session in the user's approval queue and point session.json at it."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from kro.approvals.store import Queue, Registered, default_root, process_start
from kro.sandbox import session_dir
from kro.shims.session import Session


def default_namespace(kubeconfig: str) -> str:
    """The namespace the session's pinned (minified) kubeconfig defaults to."""
    try:
        doc = yaml.safe_load(Path(kubeconfig).read_text()) or {}
        for item in doc.get("contexts") or []:
            namespace = (item.get("context") or {}).get("namespace")
            if namespace:
                return str(namespace)
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    return "default"


def enable(session: Session, kubeconfigs: Sequence[Path], ttl: float, *, confined: bool) -> Session:
    """Register `session` (its launcher is this process) and rewrite its session.json with the queue."""
    root = default_root()
    pid = os.getpid()
    Queue(root).register(Registered(
        session=session.id, launcher_pid=pid, launcher_start=process_start(pid), context=session.context,
        namespace=default_namespace(session.kubeconfig),
        kubeconfig=tuple(str(Path(p).expanduser().absolute()) for p in kubeconfigs),
        audit_log=session.audit_log, confined=confined, started=time.time(),
        request_timeout=session.request_timeout, ttl=ttl,
    ))  # fmt: skip
    session = session._replace(approvals=str(root))
    session_dir.install(session)
    return session


def disable(session: Session) -> None:
    """Drop the session's registry entry and requests (kro-run is ending)."""
    Queue(session.approvals).unregister(session.id)
