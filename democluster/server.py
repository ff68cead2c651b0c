"""DemoCluster: the read-only API served over plain HTTP/1.1 on a background thread, with a request log."""

from __future__ import annotations

import base64
import contextlib
import os
import select
import socket
import ssl
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources as package_files
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import yaml

from kro.democluster.api import Api
from kro.democluster.fixture import DEMO_NAMESPACE, build_store
from kro.democluster.messages import Request, Response
from kro.democluster.status import ApiError

CONTEXT = "kro-demo"
OTHER_CONTEXT = "kro-demo-other"
_MAX_BODY = 1 << 20


class RequestLog:
    """Request records kept in memory and, when a path is given, appended as JSON Lines."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._file: IO[bytes] | None = open(path, "ab") if path else None  # noqa: SIM115

    def add(self, method: str, path: str, query: str, status: int) -> None:
        """Record one answered request."""
        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"ts": ts, "method": method, "path": path, "query": query, "status": status}
        line = orjson.dumps(record) + b"\n"
        with self._lock:
            self._records.append(record)
            if self._file is not None:
                self._file.write(line)
                self._file.flush()

    def records(self) -> list[dict[str, Any]]:
        """A copy of the records so far."""
        with self._lock:
            return [dict(r) for r in self._records]

    def close(self) -> None:
        """Close the JSON Lines file."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of concurrent kubectl processes must not be refused

    def __init__(
        self, address: tuple[str, int], api: Api, log: RequestLog, tls: ssl.SSLContext | None
    ) -> None:
        self.api = api
        self.log = log
        self.tls = tls
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, on the connection's own thread, not in the accept loop.
        conn = request
        # Like Go's net/http (kube-apiserver): no Nagle delay, or a kept-alive connection stalls ~40 ms on
        # every response whose head and body go out in separate writes (delayed ACK on the client).
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self.connections_lock:
            self.connections.add(conn)
        try:
            super().finish_request(conn, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(conn)
            if conn is not request:
                conn.close()

    def close_connections(self) -> None:
        """Unblock handler threads still waiting on keep-alive connections."""
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server: _Server

    def __getattr__(self, name: str) -> Any:
        # Every method (GET, POST, DELETE, PROPFIND, ...) goes through one path: writes get a 405.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def version_string(self) -> str:
        """The Server header: say plainly what answers."""
        return "kro-demo"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the request log records everything."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = dict(reversed(parse_qsl(parts.query, keep_blank_values=True)))
        try:
            resp = self._answer(parts.path, query)
        except Exception:  # the server must never crash on a request
            traceback.print_exc(file=sys.stderr)
            failure = ApiError(500, "Internal error occurred: demo server failure")
            resp = Response(500, orjson.dumps(failure.status()))
        # Logged before the reply goes out, so a client that saw the answer also finds the record.
        self.server.log.add(self.command, parts.path, parts.query, resp.status)
        try:
            self._send(resp)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a failing stream ends its connection, never the server
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True

    def _answer(self, path: str, query: dict[str, str]) -> Response:
        try:
            req = Request(
                method=self.command, path=path, query=query,
                accept=self.headers.get("Accept", ""), authorization=self.headers.get("Authorization", ""),
                content_type=self.headers.get("Content-Type", ""),
                accept_encoding=self.headers.get("Accept-Encoding", ""), body=self._read_body(),
            )
            return self.server.api.handle(req)
        except ApiError as exc:
            return Response(exc.code, orjson.dumps(exc.status()))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "request entity too large", "RequestEntityTooLarge")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length else b""

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Cache-Control", resp.headers.pop("Cache-Control", "no-cache, private"))
        for key, value in resp.headers.items():
            self.send_header(key, value)
        if resp.stream is None:
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command != "HEAD":
            for chunk in resp.stream:
                if not chunk:
                    if self._client_gone():
                        self.close_connection = True
                        return
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        """Whether the client closed its end (a watch it gave up on)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            if isinstance(self.connection, ssl.SSLSocket):
                return True  # nothing is expected mid-stream; readable means close_notify or EOF
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True


def _tls_context() -> ssl.SSLContext:
    """Server TLS with the bundled self-signed localhost certificate (a fake, demo-only key)."""
    data = package_files.files("kro.democluster").joinpath("data")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with (package_files.as_file(data.joinpath("demo-tls.crt")) as cert,
          package_files.as_file(data.joinpath("demo-tls.key")) as key):
        ctx.load_cert_chain(cert, key)
    return ctx


def ca_certificate() -> bytes:
    """The PEM certificate clients trust for a TLS demo cluster."""
    return package_files.files("kro.democluster").joinpath("data/demo-tls.crt").read_bytes()


class DemoCluster:
    """The demo cluster on 127.0.0.1; use as a context manager, or start() and stop().

    Plain HTTP unless a token is set: kubectl only sends a kubeconfig's bearer token over TLS,
    so token mode serves HTTPS with a bundled self-signed localhost certificate.
    """

    def __init__(
        self,
        port: int = 0,
        token: str | None = None,
        pods: int | None = None,
        request_log: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        tls: bool | None = None,
        watch_seconds: float = 0.0,
        raw_logs: dict[str, bytes] | None = None,
    ) -> None:
        self.token = token
        self.tls = token is not None if tls is None else tls
        self._store = build_store(time.time(), pods)
        # Tests of hostile output: container logs given as raw bytes ("ns/pod/container").
        self._store.raw_logs = dict(raw_logs or {})
        self._log = RequestLog(Path(request_log) if request_log else None)
        self._api = Api(self._store, token, watch_seconds)
        try:
            self._httpd = _Server((host, port), self._api, self._log, _tls_context() if self.tls else None)
        except OSError:
            self._log.close()
            raise
        self.port = int(self._httpd.server_address[1])
        self.url = f"{'https' if self.tls else 'http'}://{host}:{self.port}"
        self._api.server_address = f"{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> DemoCluster:
        """Serve on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"kro-demo:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and close the request log."""
        self._api.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()
        self._log.close()

    def __enter__(self) -> DemoCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def requests(self) -> list[dict[str, Any]]:
        """The request log records so far (ts, method, path, query, status)."""
        return self._log.records()

    def kubeconfig(self) -> dict[str, Any]:
        """A kubeconfig with contexts kro-demo (current) and kro-demo-other, both to this server."""
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(ca_certificate()).decode()
        names = (CONTEXT, OTHER_CONTEXT)
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "current-context": CONTEXT,
            "clusters": [{"name": n, "cluster": cluster} for n in names],
            "users": [{"name": n, "user": dict(user)} for n in names],
            "contexts": [{"name": n, "context": {"cluster": n, "user": n, "namespace": DEMO_NAMESPACE}}
                         for n in names],
        }

    def write_kubeconfig(self, path: Path | str) -> Path:
        """Write the kubeconfig (mode 0600) and return its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(self.kubeconfig(), sort_keys=False)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(target, 0o600)
        return target
