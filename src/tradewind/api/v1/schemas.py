"""Shared pieces of the native API's schemas."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from tradewind.services.pagination import DEFAULT_LIMIT, MAX_LIMIT

T = TypeVar("T")


class Model(BaseModel):
    """Base of every request body: unknown fields are refused, naming them."""

    model_config = ConfigDict(extra="forbid")


class PageOf(BaseModel, Generic[T]):
    """A page of results, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    data: list[T]
    next_cursor: str | None


LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
CursorQuery = Annotated[str | None, Query(description="`next_cursor` from the previous page.")]
DEFAULT_PAGE = DEFAULT_LIMIT


class ErrorBody(BaseModel):
    code: str
    message: str
    details: object | None = None


class ErrorResponse(BaseModel):
    """The one error shape of the native API."""

    error: ErrorBody


ERRORS = {
    400: {"model": ErrorResponse, "description": "Bad request"},
    401: {
        "model": ErrorResponse,
        "description": "Missing, invalid, expired or revoked credentials",
    },
    403: {"model": ErrorResponse, "description": "The credentials' scope does not allow this"},
    404: {"model": ErrorResponse, "description": "Not found (or another user's)"},
    409: {"model": ErrorResponse, "description": "Conflicts with existing state"},
    413: {"model": ErrorResponse, "description": "Request body too large"},
    422: {"model": ErrorResponse, "description": "Invalid input; details name the fields"},
    429: {"model": ErrorResponse, "description": "Rate limited; see Retry-After"},
    503: {"model": ErrorResponse, "description": "The venue cannot be reached"},
}


def errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {c: ERRORS[c] for c in codes}
