"""How the proxy reaches the real cluster: each kubeconfig way to trust and authenticate, on the demo."""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from kro.democluster.server import DemoCluster, ca_certificate
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
