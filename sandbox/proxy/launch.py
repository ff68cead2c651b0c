"""kro-run's side of the proxy: start it for a session's pinned kubeconfig, stop it when the session ends."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from kro.sandbox.proxy.server import session_kubeconfig, start
from kro.shims.api_policy import ApiPins


class Serving:
    """Starts the session's proxy on build (pinning.build_session calls it), stopped by the ExitStack."""

    def __init__(self, stack: ExitStack, env: dict[str, str], redact: bool) -> None:
        self.stack = stack
        self.env = env
        self.redact = redact

    def __call__(
        self,
        minified: dict[str, Any],
        context: str,
        namespace: str | None,
        namespaces: tuple[str, ...],
        session: str,
        audit_log: str,
    ) -> tuple[dict[str, Any], str]:
        """Start the proxy holding `minified`'s credentials; the agent's kubeconfig and the proxy's URL."""
        pins = ApiPins(namespaces=namespaces, redact=self.redact)
        handle = start(minified, self.env, pins, audit_log, session, context)
        self.stack.callback(handle.stop)
        # the agent's default namespace stays the context's own (or the pinned one)
        default_ns = namespace or minified["contexts"][0]["context"].get("namespace")
        return session_kubeconfig(context, default_ns, handle), handle.url
