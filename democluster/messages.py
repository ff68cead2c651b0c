"""Transport-free request and response values passed between the HTTP handler and the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = "application/json"
TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@dataclass(frozen=True)
class Request:
    """One HTTP request as the API sees it."""

    method: str
    path: str
    query: dict[str, str]
    accept: str = ""
    authorization: str = ""
    content_type: str = ""
    accept_encoding: str = ""
    body: bytes = b""

    def param(self, name: str, default: str = "") -> str:
        """A query parameter (its first value, as Go's url.Values.Get)."""
        return self.query.get(name, default)

    def flag(self, name: str) -> bool:
        """A boolean query parameter (`true`, `1`)."""
        return self.query.get(name, "").lower() in ("true", "1")


@dataclass
class Response:
    """A response body, or a stream of chunks sent with chunked transfer encoding."""

    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    stream: Iterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(obj: Any, status: int = 200, content_type: str = JSON) -> Response:
    """A JSON response."""
    return Response(status, orjson.dumps(obj), content_type)


def text_response(text: str, status: int = 200) -> Response:
    """A text/plain response."""
    return Response(status, text.encode(), "text/plain; charset=utf-8")
