"""Quantarya's shape: every answer is ``{"message": …, "data": …}``; an error has the reason
in ``message`` (naming the fields of invalid input) and ``data`` null, with the status code
Tradewind's native API gives the same error (401, 404, 409, 422, 429, …)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from tradewind.api.errors import ApiError

PREFIX = "/compat/quantarya"


def _message(err: ApiError) -> str:
    if not isinstance(err.details, list):
        return err.message
    named = [
        f"{d.get('field')}: {d.get('message')}" if d.get("message") else str(d.get("field"))
        for d in err.details
        if isinstance(d, dict) and d.get("field")
    ]
    return f"{err.message}: {'; '.join(named)}" if named else err.message


def envelope(err: ApiError, request: Request) -> JSONResponse:
    return JSONResponse(
        {"message": _message(err), "data": None},
        status_code=err.status,
        headers=err.headers or None,
    )


def ok(message: str, data: Any) -> dict[str, Any]:
    return {"message": message, "data": data}
