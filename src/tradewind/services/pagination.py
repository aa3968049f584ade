"""Cursor pagination over kind-prefixed ids (which sort by creation time)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from tradewind.domain.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


_ID = re.compile(r"^[a-z]{2,8}_[0-9A-Z]{26}$")


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        value = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    if not _ID.match(value):
        raise ValidationFailed(
            "invalid cursor", details=[{"field": "cursor", "message": "not a cursor from this API"}]
        )
    return value


def paginate(
    stmt: Select[Any], id_column: InstrumentedAttribute[str], limit: int, cursor: str | None
) -> Select[Any]:
    """Newest first; ``cursor`` continues after the last id of the previous page."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    return stmt.order_by(id_column.desc()).limit(limit + 1)


def make_page(rows: Sequence[T], limit: int, id_of: Any) -> Page[T]:
    items = list(rows[:limit])
    next_cursor = encode_cursor(id_of(items[-1])) if len(rows) > limit and items else None
    return Page(items=items, next_cursor=next_cursor)


def page_by_position(
    items: list[Any], limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """A page of a list kept whole (a backtest's logs, positions, a sweep's table), oldest
    first, by position: the cursor is the index to go on from."""
    start = 0
    if cursor:
        try:
            kind, _, index = (
                base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
            )
            start = int(index)
        except (ValueError, UnicodeDecodeError, binascii.Error):
            kind = ""
        if kind != "at" or start < 0:
            raise ValidationFailed(
                "invalid cursor",
                details=[{"field": "cursor", "message": "not a cursor from this API"}],
            )
    page = items[start : start + limit]
    end = start + len(page)
    following = base64.urlsafe_b64encode(f"at:{end}".encode()).decode().rstrip("=")
    return page, following if end < len(items) else None
