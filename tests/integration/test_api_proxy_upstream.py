"""How the proxy reaches the real cluster: each kubeconfig way to trust and authenticate, on the demo."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from kro_testing import calls_of

from kro.democluster.server import DemoCluster, ca_certificate
from kro.sandbox.proxy import transport, upstream
from kro.sandbox.proxy.server import start
from kro.shims.api_policy import ApiPins
from kro.shims.errors import ConfigError

TOKEN = "upstream-token-5b1e9f"


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoCluster]:
    """A TLS demo cluster wanting a bearer token (certificate for localhost and 127.0.0.1)."""
    with DemoCluster(port=0, token=TOKEN) as cluster:
        yield cluster


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 counting the tunnels it opened (what proxy-url names)."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
            assert method == "CONNECT"
            self.tunnels.append(target)
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await asyncio.Event().wait()

        self.loop.run_until_complete(main())


def _config(cluster: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "c"}}],
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "c", "user": user}],
    }


def _get(cluster: dict[str, Any], user: dict[str, Any], tmp: Path) -> httpx.Response:
    handle = start(_config(cluster, user), dict(os.environ), ApiPins(), str(tmp / "audit.jsonl"), "s", "c")
    try:
        verify = ssl.create_default_context(cadata=handle.ca.decode())
        headers = {"authorization": f"Bearer {handle.token}"}
        with httpx.Client(base_url=handle.url, verify=verify, headers=headers, timeout=30) as client:
            return client.get("/api/v1/namespaces/demo/pods")
    finally:
        handle.stop()


def test_ca_file_and_token_file(demo: DemoCluster, tmp_path: Path) -> None:
    """certificate-authority and tokenFile are read by the proxy; a rotated token file is re-read on a 401."""
    (tmp_path / "ca.crt").write_bytes(ca_certificate())
    (tmp_path / "token").write_text("old-token\n")
    cluster = {"server": demo.url, "certificate-authority": str(tmp_path / "ca.crt")}
    user = {"tokenFile": str(tmp_path / "token")}
    handle = start(
        _config(cluster, user), dict(os.environ), ApiPins(), str(tmp_path / "audit.jsonl"), "s", "c"
    )
    try:
        verify = ssl.create_default_context(cadata=handle.ca.decode())
        headers = {"authorization": f"Bearer {handle.token}"}
        with httpx.Client(base_url=handle.url, verify=verify, headers=headers, timeout=30) as client:
            refused = client.get("/api/v1/namespaces/demo/pods")
            (tmp_path / "token").write_text(TOKEN + "\n")
            rotated = client.get("/api/v1/namespaces/demo/pods")
    finally:
        handle.stop()
    assert refused.status_code == 401, "the server's own 401 comes back as it is"
    assert rotated.status_code == 200
    assert rotated.json()["kind"] == "PodList"


@pytest.mark.parametrize(
    ("cluster_extra", "code"),
    [
        pytest.param({"tls-server-name": "localhost"}, 200, id="tls-server-name.matches"),
        pytest.param({"tls-server-name": "other.example"}, 502, id="tls-server-name.checked"),
    ],
)
def test_tls_server_name(demo: DemoCluster, tmp_path: Path, cluster_extra: dict[str, str], code: int) -> None:
    """The server's certificate is checked against tls-server-name, not the URL's host."""
    ca = base64.b64encode(ca_certificate()).decode()
    resp = _get(
        {"server": demo.url, "certificate-authority-data": ca, **cluster_extra}, {"token": TOKEN}, tmp_path
    )
    assert resp.status_code == code, resp.text
    if code == 502:
        assert resp.text.startswith("kro: cannot reach the API server"), resp.text  # text: kubectl quotes it


def test_no_ca_means_the_system_roots(demo: DemoCluster, tmp_path: Path) -> None:
    """Without a CA the system's roots decide, and they do not trust the demo's certificate."""
    resp = _get({"server": demo.url}, {"token": TOKEN}, tmp_path)
    assert resp.status_code == 502
    assert "CERTIFICATE_VERIFY_FAILED" in resp.text


def test_insecure_skip_tls_verify_warns(
    demo: DemoCluster, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """insecure-skip-tls-verify works, with a warning on kro-run's stderr."""
    resp = _get({"server": demo.url, "insecure-skip-tls-verify": True}, {"token": TOKEN}, tmp_path)
    assert resp.status_code == 200
    assert "insecure-skip-tls-verify" in capfd.readouterr().err


def test_proxy_url(demo: DemoCluster, tmp_path: Path) -> None:
    """proxy-url: the proxy reaches the server through the named HTTP proxy."""
    relay = ConnectProxy()
    ca = base64.b64encode(ca_certificate()).decode()
    cluster = {
        "server": demo.url,
        "certificate-authority-data": ca,
        "proxy-url": f"http://127.0.0.1:{relay.port}",
    }
    resp = _get(cluster, {"token": TOKEN}, tmp_path)
    assert resp.status_code == 200
    assert relay.tunnels == [f"127.0.0.1:{demo.port}"]


def test_auth_provider_is_a_clear_error(demo: DemoCluster, tmp_path: Path) -> None:
    """A legacy auth-provider user: an error that names the ways out, before anything starts."""
    with pytest.raises(ConfigError, match="exec credential plugin, or run kro-run --direct"):
        _get({"server": demo.url}, {"auth-provider": {"name": "gcp"}}, tmp_path)


@contextlib.contextmanager
def _silent_server(answer: bytes) -> Iterator[str]:
    """An http:// server that reads a request, sends `answer` (perhaps nothing), then says nothing more."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                conn.recv(65536)
                conn.sendall(answer)
                held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.fixture
def short_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy's head and idle bounds at 1 s."""
    monkeypatch.setattr(transport, "HEAD_TIMEOUT", 1.0)
    monkeypatch.setattr(transport, "IDLE_TIMEOUT", 1.0)
    monkeypatch.setattr(upstream, "IDLE_TIMEOUT", 1.0)


@pytest.mark.usefixtures("short_bounds")
def test_a_silent_cluster_is_called_slow_by_kro(tmp_path: Path) -> None:
    """api.upstream: a server that accepts and says nothing gets kro's 502 after the bound, in kro's words."""
    with _silent_server(b"") as server:
        resp = _get({"server": server}, {"token": TOKEN}, tmp_path)
    assert resp.status_code == 502
    assert resp.text == (
        "kro: the API server sent no answer within 1 s; the cluster is slow or overloaded (kro's proxy "
        "stopped waiting)"
    )


@pytest.mark.usefixtures("short_bounds")
def test_an_answer_that_stops_is_cut_not_cut_short(tmp_path: Path) -> None:
    """api.upstream: a body that stops coming breaks the client's connection (no short answer that looks
    whole); the audit's outcome says why."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    head += b"5\r\n[1,2,\r\n"  # the first chunk, then silence
    with _silent_server(head) as server, pytest.raises(httpx.RemoteProtocolError):
        _get({"server": server}, {"token": TOKEN}, tmp_path)
    records = calls_of(tmp_path / "audit.jsonl")
    assert [(r["status"], r["bytes"]) for r in records] == [(200, 5)]
    assert records[0]["error"].startswith("the API server sent nothing for 1 s in the middle of an answer")
