"""Error mapping. Every API (native, each dialect) registers one mapper for its path prefix;
one set of exception handlers dispatches to the mapper that owns the request's path."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradewind.domain import errors as e
from tradewind.logs import get_logger

log = get_logger("tradewind.api")

# Native status codes for domain errors; the most specific class wins (checked in MRO order).
STATUS: dict[type[e.DomainError], int] = {
    e.NotFound: 404,
    e.InvalidTransition: 409,
    e.Conflict: 409,
    e.ValidationFailed: 422,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.RateLimited: 429,
    e.InsufficientFunds: 400,
    e.VenueUnavailable: 503,
}


@dataclass(frozen=True)
class ApiError:
    """An error as one API sees it, before its envelope is applied."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def status_of(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def from_domain(exc: e.DomainError) -> ApiError:
    headers = {}
    if isinstance(exc, e.RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return ApiError(status_of(exc), exc.code, exc.message, exc.details, headers)


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation errors as ``[{field, message, type}]`` with dotted field paths."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        out.append(
            {
                "field": ".".join(loc) or "body",
                "message": err.get("msg", ""),
                "type": err.get("type"),
            }
        )
    return out


_HTTP_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 503: "unavailable",
}  # fmt: skip


def from_http(exc: StarletteHTTPException) -> ApiError:
    message = exc.detail if isinstance(exc.detail, str) else "error"
    return ApiError(
        exc.status_code,
        _HTTP_CODES.get(exc.status_code, "error"),
        message,
        None,
        dict(exc.headers or {}),
    )


Envelope = Callable[[ApiError, Request], JSONResponse]


def native_envelope(err: ApiError, request: Request) -> JSONResponse:
    body = {"error": {"code": err.code, "message": err.message, "details": err.details}}
    return JSONResponse(body, status_code=err.status, headers=err.headers or None)


class ErrorMappers:
    """Path prefix → envelope. The longest matching prefix wins; the native one is the default."""

    def __init__(self, default: Envelope) -> None:
        self._default = default
        self._by_prefix: list[tuple[str, Envelope]] = []

    def register(self, prefix: str, envelope: Envelope) -> None:
        self._by_prefix.append((prefix, envelope))
        self._by_prefix.sort(key=lambda p: -len(p[0]))

    def envelope_for(self, path: str) -> Envelope:
        for prefix, env in self._by_prefix:
            if path.startswith(prefix):
                return env
        return self._default


def install_error_handlers(app: FastAPI, mappers: ErrorMappers) -> None:
    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, e.DomainError)
        return mappers.envelope_for(request.url.path)(from_domain(exc), request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        err = ApiError(422, "validation_error", "request is invalid", validation_details(exc))
        return mappers.envelope_for(request.url.path)(err, request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return mappers.envelope_for(request.url.path)(from_http(exc), request)

    app.add_exception_handler(e.DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def internal_error() -> ApiError:
    return ApiError(
        500, "internal_error", "internal error; quote the X-Request-ID header when reporting it"
    )
