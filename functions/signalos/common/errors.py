"""Errors routes and logic raise; `signalos.common.api` turns each into the error body.

    {"error": {"code": "...", "message": "...", "details": {...},
               "timestamp": "...Z", "request_id": "..."}}

`message` is shown to the caller: write it for them, never put internals in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signalos.common.clock import iso


class ApiError(Exception):
    """An error with an HTTP status, a stable machine-readable code and a human message."""

    def __init__(self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None,
                 *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"


class _Preset(ApiError):
    """Subclasses fix the status and default code: `raise NotFound("signal not found")`."""

    status_code = 500
    default_code = "INTERNAL_ERROR"
    default_message = "Internal error"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(self.status_code, code or self.default_code, message or self.default_message,
                         details, headers=headers)


class BadRequest(_Preset):
    status_code, default_code, default_message = 400, "BAD_REQUEST", "Bad request"


class Unauthorized(_Preset):
    status_code, default_code, default_message = 401, "UNAUTHORIZED", "Authentication required"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, code=code, details=details,
                         headers={"WWW-Authenticate": 'Bearer realm="signalos"', **(headers or {})})


class Forbidden(_Preset):
    status_code, default_code, default_message = 403, "FORBIDDEN", "Not allowed"


class NotFound(_Preset):
    status_code, default_code, default_message = 404, "NOT_FOUND", "Not found"


class Conflict(_Preset):
    status_code, default_code, default_message = 409, "CONFLICT", "Conflict"


class PayloadTooLarge(_Preset):
    status_code, default_code, default_message = 413, "PAYLOAD_TOO_LARGE", "Request body too large"


class ValidationFailed(_Preset):
    status_code, default_code, default_message = 422, "VALIDATION_ERROR", "Request validation failed"


class TooManyRequests(_Preset):
    status_code, default_code, default_message = 429, "TOO_MANY_REQUESTS", "Too many requests"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Mapping[str, Any] | None = None, retry_after: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        extra = {"Retry-After": str(max(1, int(retry_after)))} if retry_after is not None else {}
        super().__init__(message, code=code, details=details, headers={**extra, **(headers or {})})


class ServiceUnavailable(_Preset):
    status_code, default_code, default_message = 503, "SERVICE_UNAVAILABLE", "Service unavailable"


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None,
               request_id: str | None = None) -> dict[str, Any]:
    """The one error body shape of every 4xx/5xx (see reference/security.md)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": dict(details or {}),
            "timestamp": iso(),
            "request_id": request_id,
        }
    }
