"""TrynQuant's errors: the document gives status codes (400, 401, 404, 500) but no body; we
answer ``{"error": message, "code": code}``, the shape its clients can print."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from tradewind.api.errors import ApiError

PREFIX = "/compat/trynquant"

_STATUS = {
    "missing_credentials": 401,
    "unauthenticated": 401,
    "forbidden": 401,
    "not_found": 404,
    "rate_limited": 429,
    "internal_error": 500,
    "payload_too_large": 413,
    "method_not_allowed": 405,
    "venue_unavailable": 503,
}


def envelope(err: ApiError, request: Request) -> JSONResponse:
    status = _STATUS.get(err.code, 400 if err.status < 500 else err.status)
    message = err.message
    if err.code == "validation_error" and isinstance(err.details, list) and err.details:
        first = err.details[0]
        message = f"{first.get('field')}: {first.get('message')}"
    return JSONResponse(
        {"error": message, "code": err.code}, status_code=status, headers=err.headers or None
    )
