"""The upstream transport: two pools, the session's credentials, bounds, and kro's words for every failure.

Ordinary requests share one HTTP/2 connection (multiplexed: discovery's fan-out costs no handshakes).
Watches and followed logs never join it: on HTTP/2 every stream of a connection is read by whichever
request holds the connection's read lock, so a quiet stream nobody reads any more can hold that lock
while other requests' answers sit unread, and a stream nobody acknowledges keeps the connection's
flow-control window. Long streams each get an HTTP/1.1 connection of their own instead: a slow or gone
reader stalls only itself, and closing the response closes its connection, which ends the watch upstream.
An ordinary answer abandoned half-read is reset (RST_STREAM) so its window comes back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from typing import Any

import h2.errors
import h2.events
import httpx2 as httpx

from kro.sandbox.proxy.credentials import CredentialError
from kro.sandbox.proxy.flow import Refused
from kro.sandbox.proxy.upstream import HEAD_TIMEOUT, IDLE_TIMEOUT, LONG_STREAMS, Upstream
from kro.shims import rules as R

# Not forwarded either way: hop-by-hop headers, the agent's credentials, what httpx recomputes.
HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "authorization",
        "content-length",
        "http2-settings",
    }
)


def request_headers(headers: tuple[tuple[str, str], ...], accept: str | None) -> list[tuple[str, str]]:
    """The client's headers as sent upstream; `accept` given: that Accept, and no compression (to rewrite)."""
    out = [(k, v) for k, v in headers if k not in HOP]
    if accept is not None:
        out = [(k, v) for k, v in out if k not in ("accept", "accept-encoding")]
        out += [("accept", accept), ("accept-encoding", "identity")]
    return out


def response_headers(resp: httpx.Response) -> list[tuple[str, str]]:
    """The server's headers as passed back (hop-by-hop ones dropped)."""
    return [(k.lower(), v) for k, v in resp.headers.multi_items() if k.lower() not in HOP]


class Transport:
    """Both clients of one proxy, created on its event loop by open() and closed by aclose()."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.ordinary: httpx.AsyncClient | None = None
        self.streams: httpx.AsyncClient | None = None

    def open(self) -> None:
        """Create the clients (they bind to the running event loop)."""
        self.ordinary = self.upstream.client()
        self.streams = self.upstream.client(long=True)

    async def aclose(self) -> None:
        """Close both pools and their connections."""
        for client in (self.ordinary, self.streams):
            if client is not None:
                await client.aclose()

    async def send(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        stream: bool,
        long: bool = False,
    ) -> httpx.Response:
        """One upstream request with the session's credentials (a 401 refreshes them and retries once).

        Refused with kro's own message when the cluster cannot be reached, refuses the credentials' setup,
        or sends no response head within HEAD_TIMEOUT.
        """
        try:
            return await asyncio.wait_for(
                self._send(method, target, headers, body, stream=stream, long=long), HEAD_TIMEOUT
            )
        except CredentialError as exc:
            raise Refused(
                502, R.API_UPSTREAM, "BadGateway", f"cannot authenticate to the cluster: {exc}"
            ) from exc
        except TimeoutError as exc:
            raise Refused(
                502,
                R.API_UPSTREAM,
                "BadGateway",
                f"the API server sent no answer within {HEAD_TIMEOUT:.0f} s; the cluster is slow or "
                "overloaded (kro's proxy stopped waiting)",
            ) from exc
        except httpx.PoolTimeout as exc:
            raise Refused(
                502,
                R.API_UPSTREAM,
                "BadGateway",
                f"{LONG_STREAMS} watches or followed logs are open, the most kro's proxy keeps at once; "
                "end one and try again",
            ) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Refused(
                502,
                R.API_UPSTREAM,
                "BadGateway",
                f"cannot reach the API server {self.upstream.server}: {_cause(exc)}; the "
                "cluster is down or unreachable from here (kro's proxy is up)",
            ) from exc
        except httpx.HTTPError as exc:
            raise Refused(
                502,
                R.API_UPSTREAM,
                "BadGateway",
                f"the connection to the API server {self.upstream.server} failed: "
                f"{exc or type(exc).__name__}",
            ) from exc

    async def _send(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        stream: bool,
        long: bool,
    ) -> httpx.Response:
        client = self.streams if long else self.ordinary
        assert client is not None, "Transport.open() first"
        creds = self.upstream.creds
        auth = creds.authorization()
        for attempt in (0, 1):
            sent = [*headers, ("authorization", auth)] if auth else list(headers)
            request = client.build_request(
                method, self.upstream.server + target, headers=sent, content=body or None
            )
            if self.upstream.sni:
                request.extensions["sni_hostname"] = self.upstream.sni
            resp = await client.send(request, stream=stream)
            if resp.status_code != 401 or attempt or not (creds.plugin or creds.token_file):
                return resp
            await resp.aclose()
            auth = creds.authorization(refused=auth or "")
        raise AssertionError("unreachable")


def _cause(exc: BaseException) -> str:
    """TLS's words for a failed handshake, the OS's for a failed connect ("Connection refused"), else the
    exception's own."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return str(seen)
        if isinstance(seen, OSError) and seen.errno:
            return os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def idle_refusal() -> Refused:
    """An ordinary answer whose body stopped coming for IDLE_TIMEOUT s."""
    return Refused(
        502,
        R.API_UPSTREAM,
        "BadGateway",
        f"the API server sent nothing for {IDLE_TIMEOUT:.0f} s in the middle of an answer; the cluster is "
        "slow or overloaded (kro's proxy stopped waiting)",
    )


async def close(resp: httpx.Response, *, whole: bool) -> None:
    """Close an upstream response; one not read to its end is reset first when it is an HTTP/2 stream."""
    if not whole:
        await _reset(resp)
    with contextlib.suppress(httpx.HTTPError):
        await resp.aclose()


async def _reset(resp: httpx.Response) -> None:
    """RST_STREAM an abandoned HTTP/2 stream and acknowledge the data it left unread (httpcore only forgets
    the stream: the server would keep sending, and what arrived would keep the connection's window until
    every request on it stalls). Reaches into httpcore's stream; a layout it does not know is left alone."""
    stream: Any = resp.stream
    for attr in ("_stream", "_httpcore_stream", "_stream"):
        stream = getattr(stream, attr, None)
    conn: Any = getattr(stream, "_connection", None)
    state = getattr(conn, "_h2_state", None)
    stream_id = getattr(stream, "_stream_id", None)
    if state is None or stream_id is None or getattr(stream, "_closed", True):
        return
    with contextlib.suppress(Exception):  # best effort: the stream is forgotten either way
        # give back the connection window its unread data holds (httpcore drops it unacknowledged)
        unread = sum(
            event.flow_controlled_length or 0
            for event in conn._events.get(stream_id, [])
            if isinstance(event, h2.events.DataReceived)
        )
        state.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.CANCEL)
        if unread:
            state.acknowledge_received_data(unread, stream_id)
        await conn._write_outgoing_data(stream._request)
