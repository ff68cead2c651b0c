"""The upstream side of the proxy: the pinned cluster's URL, TLS settings and a keep-alive client."""

from __future__ import annotations

import os
import ssl
import sys
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx

from kro.sandbox.proxy.credentials import ClientCert, Credentials, ca_bundle
from kro.shims.errors import ConfigError

CONNECT_TIMEOUT = 10.0  # TCP and TLS to the API server
HEAD_TIMEOUT = 60.0  # request sent to response head (the API server bounds its non-watch requests at 60 s)
IDLE_TIMEOUT = 60.0  # an ordinary answer's body: no byte for this long and it is given up
POOL_TIMEOUT = 5.0  # waiting for a free connection (LONG_STREAMS streams already open)
LONG_STREAMS = 100  # watches and followed logs open at once


@dataclass
class Upstream:
    """Where and how the proxy reaches the real API server."""

    server: str
    creds: Credentials
    tls: ssl.SSLContext | None
    sni: str | None
    proxy_url: str | None
    # the long streams' own TLS context: httpcore sets a context's ALPN list on every connect, and the two
    # pools want different ones (h2 and http/1.1; http/1.1 only)
    tls_long: ssl.SSLContext | None = None

    @classmethod
    def from_kubeconfig(cls, doc: dict[str, Any], env: dict[str, str]) -> Upstream:
        """From a minified kubeconfig (one context, its cluster and user); ConfigError when unusable."""
        cluster = dict(doc["clusters"][0]["cluster"])
        user = dict(doc["users"][0]["user"]) if doc.get("users") else {}
        server = str(cluster.get("server") or "")
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"the pinned cluster's server {server!r} is not an http(s) URL")
        creds = Credentials.from_user(user, env)
        cert = creds.cert
        if cert is None and creds.plugin is not None:
            _, cert = creds.plugin.current()  # a plugin that hands out certificates: needed for the TLS setup
        tls = long = None
        if parts.scheme == "https":
            tls, long = _tls_context(cluster, cert), _tls_context(cluster, cert, warn=False)
        proxy_url = cluster.get("proxy-url") or None
        sni = cluster.get("tls-server-name") or None
        return cls(server.rstrip("/"), creds, tls, sni, proxy_url, long)

    def client(self, *, long: bool = False) -> httpx.AsyncClient:
        """A keep-alive client for the proxy's event loop (transport.py says which request takes which).

        Ordinary requests share HTTP/2 where the server offers it, and a connection that sends nothing for
        IDLE_TIMEOUT s is given up. Long streams (`long`: watches, followed logs) get HTTP/1.1, one
        connection each (closed when the stream ends: never idle), no idle bound (a quiet watch is not hung).
        """
        http2 = self.tls is not None and not long
        tls = self.tls_long if long and self.tls_long is not None else self.tls
        client = httpx.AsyncClient(
            verify=tls if tls is not None else True,
            http2=http2,
            http1=True,
            proxy=self.proxy_url,
            trust_env=self.proxy_url is None,  # kubectl honours HTTPS_PROXY/NO_PROXY unless proxy-url is set
            timeout=httpx.Timeout(
                CONNECT_TIMEOUT,
                read=None if long else IDLE_TIMEOUT,
                pool=POOL_TIMEOUT,
            ),
            limits=httpx.Limits(
                max_connections=LONG_STREAMS if long else 64,
                max_keepalive_connections=0 if long else 16,  # a stream's connection ends with it
                keepalive_expiry=90.0,
            ),
            follow_redirects=False,
        )
        client.headers.clear()  # send only what the agent's client sent (no added Accept-Encoding)
        return client


def _tls_context(cluster: dict[str, Any], cert: ClientCert | None, *, warn: bool = True) -> ssl.SSLContext:
    """client-go's TLS rules: the cluster's CA only (else the system's), a client certificate, skip-verify."""
    ca = ca_bundle(cluster)
    ctx = ssl.create_default_context(cadata=ca.decode("ascii", errors="replace") if ca else None)
    if cluster.get("insecure-skip-tls-verify"):
        if warn:
            sys.stderr.write(
                "kro-run: warning: the kubeconfig sets insecure-skip-tls-verify; the API server's "
                "identity is not checked\n"
            )
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        _load_cert(ctx, cert)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def _load_cert(ctx: ssl.SSLContext, cert: ClientCert) -> None:
    """ssl loads certificates from files only: write them to a private temp dir, load, remove at once."""
    with tempfile.TemporaryDirectory(prefix="kro-tls-") as tmp:
        paths = []
        for name, data in (("cert.pem", cert.cert), ("key.pem", cert.key)):
            path = os.path.join(tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            paths.append(path)
        try:
            ctx.load_cert_chain(paths[0], paths[1])
        except ssl.SSLError as exc:
            raise ConfigError(f"the kubeconfig's client certificate or key cannot be loaded: {exc}") from exc
