"""Anny's envelope ``{result: {type}, payload}``. Errors: 400 ``INVALID_INPUT_MISSING`` (a
required field is missing), 400 ``INVALID_INPUT_CONTENT`` (a value is wrong, or names nothing
of the partner's), 403 ``UNAUTHORIZED`` (credentials missing, wrong, or not a partner's API
key), 500 ``CRITICAL``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from tradewind.api.errors import ApiError

PREFIX = "/compat/anny"

OK = "OPERATION_PERFORMED"
_UNAUTHORIZED = {"missing_credentials", "unauthenticated", "forbidden"}
_CONTENT = {"not_found", "conflict", "invalid_transition", "invalid_settings", "insufficient_funds"}


def _type(err: ApiError) -> tuple[int, str]:
    if err.code in _UNAUTHORIZED:
        return 403, "UNAUTHORIZED"
    if err.code == "validation_error":
        details = err.details if isinstance(err.details, list) else []
        missing = any(d.get("type") == "missing" for d in details if isinstance(d, dict))
        return 400, "INVALID_INPUT_MISSING" if missing else "INVALID_INPUT_CONTENT"
    if err.code in _CONTENT or (400 <= err.status < 500 and err.status != 429):
        return 400, "INVALID_INPUT_CONTENT"
    if err.status == 429:
        return 429, "CRITICAL"
    return 500, "CRITICAL"


def envelope(err: ApiError, request: Request) -> JSONResponse:
    status, kind = _type(err)
    body = {
        "result": {"type": kind},
        "payload": {"result": "error", "message": err.message, "details": err.details},
    }
    return JSONResponse(body, status_code=status, headers=err.headers or None)


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    return {"result": {"type": OK}, "payload": payload}
