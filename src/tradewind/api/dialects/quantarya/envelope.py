"""Quantarya's error shape."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from tradewind.api.errors import ApiError

PREFIX = "/compat/quantarya"


def envelope(err: ApiError, request: Request) -> JSONResponse:
    return JSONResponse(
        {"message": err.message, "data": None}, status_code=err.status, headers=err.headers or None
    )
