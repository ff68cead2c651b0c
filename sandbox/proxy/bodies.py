"""The three ways an answer's body goes to the client, and the watch on the client that stops one early.

- `passthrough`: bytes as they arrive (a 50 MB list costs no memory);
- `rewrite_whole`: buffered up to the bound, decoded, scrubbed/redacted, re-encoded;
- `rewrite_events`: a watch, each event (one JSON object a line) scrubbed on its own and sent at once.

uvicorn drops writes to a client that has gone without telling the app, so `until_gone` listens for the
ASGI `http.disconnect` while the request is upstream and its answer on the way, and cancels both at once:
the upstream response is then closed and nothing keeps reading (or holding a connection) for a client
that is no longer there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import orjson

from kro.sandbox.proxy.flow import Flow, Receive, Refused, Send, start
from kro.sandbox.proxy.transport import idle_refusal
from kro.shims import rules as R
from kro.shims.api_scrub import forbidden_status, redact_objects, scrub_secrets

CLIENT_GONE = "the client went away"


class Cut(Exception):
    """The upstream failed after the head was sent: the client connection is dropped, so the client sees a
    broken answer, never a short one that looks whole."""


@dataclass(frozen=True)
class Rewriter:
    """What a rewritten answer goes through: secrets always scrubbed, objects redacted when pinned."""

    redact: bool
    bound: int

    def apply(self, doc: object) -> object:
        """Scrub (and redact) one decoded document."""
        doc = scrub_secrets(doc)
        if self.redact:
            doc, _ = redact_objects(doc)
        return doc

    def event(self, line: bytes) -> bytes:
        """One watch event, rewritten; a line that is not JSON becomes an ERROR event."""
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            doc = {
                "type": "ERROR",
                "object": forbidden_status("a watch event that must be scrubbed was not JSON"),
            }
        return orjson.dumps(self.apply(doc)) + b"\n"


Strategy = Callable[[httpx.Response, list[tuple[str, str]], Flow, Send, Rewriter], Awaitable[None]]


async def until_gone(work: Coroutine[Any, Any, None], receive: Receive, flow: Flow) -> None:
    """Run `work` (the upstream request and its answer) to its end, or until the client leaves: then it is
    cancelled at once (its own `finally` closes the upstream response) and flow.ended says so."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_until_disconnect(receive))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            flow.ended = CLIENT_GONE
        gone.cancel()
        await asyncio.gather(task, gone, return_exceptions=True)
    if flow.ended != CLIENT_GONE:
        task.result()  # the work's own error (Refused before the head, Cut after it)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def passthrough(resp: httpx.Response, out: list[tuple[str, str]], flow: Flow, send: Send,
                      rewriter: Rewriter) -> None:  # fmt: skip
    """Pass the body through as it arrives."""
    length = resp.headers.get("content-length")
    if length:
        out = [*out, ("content-length", length)]
    await start(send, resp.status_code, out)
    try:
        async for chunk in resp.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            flow.sent += len(chunk)
    except httpx.ReadTimeout as exc:  # the head is out: dropping the connection is how a client learns it
        flow.ended = idle_refusal().why
        raise Cut(flow.ended) from exc
    except httpx.HTTPError as exc:
        flow.ended = f"the API server's answer broke off: {exc or type(exc).__name__}"
        raise Cut(flow.ended) from exc
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def rewrite_whole(resp: httpx.Response, out: list[tuple[str, str]], flow: Flow, send: Send,
                        rewriter: Rewriter) -> None:  # fmt: skip
    """Buffer (bounded), decode, scrub/redact, re-encode; a non-JSON body is refused, not passed."""
    chunks: list[bytes] = []
    try:
        async for chunk in _bounded(resp.aiter_bytes(), rewriter.bound):
            chunks.append(chunk)
    except httpx.ReadTimeout as exc:
        raise idle_refusal() from exc
    except httpx.HTTPError as exc:
        raise Refused(
            502,
            R.API_UPSTREAM,
            "BadGateway",
            f"the API server's answer broke off: {exc or type(exc).__name__}",
        ) from exc
    raw = b"".join(chunks)
    del chunks
    if raw:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Refused(
                403,
                R.API_REWRITE,
                "Forbidden",
                "the server's answer to a request that must be "
                "scrubbed was not JSON, so it is withheld; ask for JSON",
            ) from None
        del raw
        raw = orjson.dumps(rewriter.apply(doc))
    out = [(k, v) for k, v in out if k not in ("content-encoding", "content-length")]
    out.append(("content-length", str(len(raw))))
    await start(send, resp.status_code, out)
    await send({"type": "http.response.body", "body": raw, "more_body": False})
    flow.sent = len(raw)


async def rewrite_events(resp: httpx.Response, out: list[tuple[str, str]], flow: Flow, send: Send,
                         rewriter: Rewriter) -> None:  # fmt: skip
    """A watch: each event (one JSON object a line) scrubbed on its own and sent at once."""
    out = [(k, v) for k, v in out if k not in ("content-encoding", "content-length")]
    await start(send, resp.status_code, out)
    pending = b""
    try:
        async for chunk in resp.aiter_bytes():
            pending += chunk
            if len(pending) > rewriter.bound:
                flow.ended = "a watch event over the bound ended the stream"
                break  # the client re-lists
            *lines, pending = pending.split(b"\n")
            body = b"".join(rewriter.event(line) for line in lines if line.strip())
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
                flow.sent += len(body)
    except httpx.HTTPError as exc:  # a watch that ends is normal for its client: it watches again
        flow.ended = f"the API server's stream broke off: {exc or type(exc).__name__}"
    if pending.strip() and len(pending) <= rewriter.bound:
        body = rewriter.event(pending)
        await send({"type": "http.response.body", "body": body, "more_body": True})
        flow.sent += len(body)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _bounded(chunks: AsyncIterator[bytes], bound: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > bound:
            raise Refused(
                403,
                R.API_BOUND,
                "Forbidden",
                f"the answer is over {bound >> 20} MiB and must be scrubbed in memory; "
                "ask for less (a label or field selector, one namespace, or --chunk-size)",
            )
        yield chunk
