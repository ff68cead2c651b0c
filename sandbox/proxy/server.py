"""Run the proxy on its own event loop in a thread of kro-run: start(...) -> ProxyHandle, handle.stop()."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from kro.sandbox.proxy import tls
from kro.sandbox.proxy.admission import Responder
from kro.sandbox.proxy.app import DEFAULT_BOUND, ProxyApp, Settings
from kro.sandbox.proxy.upstream import Upstream
from kro.shims.api_policy import ApiPins
from kro.shims.audit import AuditLog
from kro.shims.errors import ConfigError

_START_TIMEOUT = 30.0
CLIENT_IDLE_TIMEOUT = 120  # a client connection with no whole request head for this long is closed


class _Protocol(H11Protocol):
    """uvicorn's HTTP/1.1, plus a bound on a client that connects (or finishes a request) and then sends no
    whole request head: uvicorn's keep-alive timer starts only after a response and stops at any byte."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(CLIENT_IDLE_TIMEOUT, self._no_head)

    def _no_head(self) -> None:
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


@dataclass
class ProxyHandle:
    """A running proxy: its URL and token (for the session kubeconfig) and how to stop it."""

    url: str
    token: str
    ca: bytes
    server: uvicorn.Server
    thread: threading.Thread
    audit: AuditLog
    app: ProxyApp
    loop: asyncio.AbstractEventLoop

    def state(self) -> dict[str, int]:
        """What the proxy holds now: requests being answered and its event loop's tasks (for tests)."""

        async def count() -> dict[str, int]:
            return {"flows": self.app.open_flows, "tasks": len(asyncio.all_tasks()) - 1}

        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(timeout=10)

    def stop(self) -> None:
        """Stop serving (open watches are cut after a second) and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self.audit.close()

    def __enter__(self) -> ProxyHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    kubeconfig: dict[str, Any],
    env: dict[str, str],
    pins: ApiPins,
    audit_log: str,
    session: str,
    context: str,
    bound: int = DEFAULT_BOUND,
    responders: Sequence[Responder] = (),
) -> ProxyHandle:
    """Start a proxy for the minified `kubeconfig` (its one cluster and user) on 127.0.0.1, ephemeral port.

    The agent gets only the returned URL and token. Errors reading the credentials are ConfigErrors.
    `responders` answer admitted requests themselves before the upstream is asked (admission.py).
    """
    upstream = Upstream.from_kubeconfig(kubeconfig, env)
    token = secrets.token_urlsafe(32)
    audit = AuditLog.open(audit_log)
    app = ProxyApp(upstream, Settings(pins, token, audit, session, context, bound), responders)
    # IPPROTO_TCP named, or asyncio leaves TCP_NODELAY off on the accepted connections (its check looks
    # at the protocol number) and every response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        log_level="critical",
        access_log=False,
        ws="none",
        http=_Protocol,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=CLIENT_IDLE_TIMEOUT,
        server_header=False,
        date_header=False,
    )
    cert, key = tls.self_signed()
    config.load()
    config.ssl = tls.server_context(cert, key)  # in memory: uvicorn itself would want key files
    server = uvicorn.Server(config)
    failed: list[BaseException] = []
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        app.transport.open()
        try:
            await server.serve(sockets=[sock])
        finally:
            await app.transport.aclose()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to start()'s caller, never a stray traceback
            failed.append(exc)

    thread = threading.Thread(target=main, name="kro-api-proxy", daemon=True)
    thread.start()
    for _ in range(int(_START_TIMEOUT * 100)):
        if server.started or failed or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        server.should_exit = True
        sock.close()
        why = failed[0] if failed else f"not listening after {_START_TIMEOUT:.0f} s"
        raise ConfigError(f"kro's API proxy did not start: {why} (kro-run --direct runs without it)")
    return ProxyHandle(f"https://127.0.0.1:{port}", token, cert, server, thread, audit, app, loops[0])


def session_kubeconfig(context: str, namespace: str | None, handle: ProxyHandle) -> dict[str, Any]:
    """The agent's kubeconfig: the pinned context's name and namespace, the proxy and its CA, the token."""
    ctx: dict[str, Any] = {"cluster": "kro-proxy", "user": "kro-session"}
    if namespace:
        ctx["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "contexts": [{"name": context, "context": ctx}],
        "clusters": [
            {
                "name": "kro-proxy",
                "cluster": {
                    "server": handle.url,
                    "certificate-authority-data": base64.b64encode(handle.ca).decode(),
                },
            }
        ],
        "users": [{"name": "kro-session", "user": {"token": handle.token}}],
    }
