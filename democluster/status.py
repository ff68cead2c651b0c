"""Kubernetes Status errors, raised by request handling and rendered as the real server does."""

from __future__ import annotations

from typing import Any

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    410: "Expired",
    415: "UnsupportedMediaType",
    500: "InternalError",
}


class ApiError(Exception):
    """An error answered with a Kubernetes Status object."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        """The Status object for this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def not_found(plural: str, name: str, group: str = "") -> ApiError:
    """`pods "x" not found`, with the details the real server gives."""
    qualified = f"{plural}.{group}" if group else plural
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details = {"name": name, "group": group, "kind": plural}
    return ApiError(404, f'{qualified} "{name}" not found', details=details)


def page_not_found() -> ApiError:
    """The answer for a path the API does not serve."""
    return ApiError(404, "the server could not find the requested resource", details={})


def bad_request(message: str) -> ApiError:
    """A 400 BadRequest with the given message."""
    return ApiError(400, message)


def method_not_allowed() -> ApiError:
    """A 405 for any write: the demo cluster is read-only."""
    return ApiError(405, "the server does not allow this method on the requested resource", details={})


def unauthorized() -> ApiError:
    """A 401 for a missing or wrong bearer token."""
    return ApiError(401, "Unauthorized")
