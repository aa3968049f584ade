"""HaasOnline's envelope ``{isSuccess, code, message, data}``: code 0 on success; on failure
``isSuccess: false`` with the HTTP status as ``code`` and the reason as ``message``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from tradewind.api.errors import ApiError

PREFIX = "/compat/haas"

_STATUS = {
    "missing_credentials": 401,
    "unauthenticated": 401,
    "validation_error": 400,
    "invalid_settings": 400,
    "invalid_order": 400,
}


def envelope(err: ApiError, request: Request) -> JSONResponse:
    status = _STATUS.get(err.code, err.status)
    message = err.message
    if err.code == "validation_error" and isinstance(err.details, list) and err.details:
        first = err.details[0]
        message = f"{first.get('field')}: {first.get('message')}"
    body = {"isSuccess": False, "code": status, "message": message, "data": None}
    return JSONResponse(body, status_code=status, headers=err.headers or None)


def ok(data: Any) -> dict[str, Any]:
    return {"isSuccess": True, "code": 0, "message": "", "data": data}
