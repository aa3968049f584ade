"""Tradyn's envelope and status codes: ``{"success": true, "data": …}`` /
``{"success": false, "error": "…"}``; 401 only for a missing header, 403 for a bad key,
400 for bad input and refused trades, 404, 429, 500, and 503 when the venue is not connected."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from tradewind.api.errors import ApiError

PREFIX = "/compat/tradyn"

_STATUS = {
    "missing_credentials": 401,
    "unauthenticated": 403,
    "forbidden": 403,
    "not_found": 404,
    "rate_limited": 429,
    "venue_unavailable": 503,
    "unavailable": 503,
    "internal_error": 500,
    "payload_too_large": 413,
    "method_not_allowed": 405,
}


def _message(err: ApiError) -> str:
    if err.code == "missing_credentials":
        return "Missing authorization header"
    if err.code == "unauthenticated":
        return "Invalid API key"
    if err.code == "validation_error" and isinstance(err.details, list) and err.details:
        first = err.details[0]
        return f"Invalid parameter '{first.get('field')}': {first.get('message')}"
    return err.message


def envelope(err: ApiError, request: Request) -> JSONResponse:
    status = _STATUS.get(err.code, 400 if err.status < 500 else err.status)
    return JSONResponse(
        {"success": False, "error": _message(err)}, status_code=status, headers=err.headers or None
    )


def ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}
