"""Binance's request parameters, read as Binance reads them and refused in its words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from tests.fakes.binance.model import BinanceError

Params = Mapping[str, str]
E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")
_DECIMAL_SHAPE = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")


def mandatory(name: str) -> BinanceError:
    msg = f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    return BinanceError(400, -1102, msg)


def illegal(name: str, legal: str = r"^([0-9]{1,20})(\.[0-9]{1,20})?$") -> BinanceError:
    msg = f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    return BinanceError(400, -1100, msg)


def not_required(params: Params, *names: str) -> None:
    for name in names:
        if params.get(name):
            raise BinanceError(400, -1106, f"Parameter '{name}' sent when not required.")


def text(params: Params, name: str) -> str | None:
    return params.get(name) or None


def required(params: Params, name: str) -> str:
    value = text(params, name)
    if value is None:
        raise mandatory(name)
    return value


def number(params: Params, name: str) -> Decimal | None:
    raw = text(params, name)
    if raw is None:
        return None
    if not _DECIMAL_SHAPE.fullmatch(raw):
        raise illegal(name)
    return Decimal(raw)


def required_number(params: Params, name: str) -> Decimal:
    value = number(params, name)
    if value is None:
        raise mandatory(name)
    return value


def integer(params: Params, name: str) -> int | None:
    raw = text(params, name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise illegal(name, "^[0-9]{1,20}$")
    return int(raw)


def required_integer(params: Params, name: str) -> int:
    value = integer(params, name)
    if value is None:
        raise mandatory(name)
    return value


def enum_value(kind: type[E], raw: str, code: int, msg: str) -> E:
    try:
        return kind(raw)
    except ValueError:
        raise BinanceError(400, code, msg) from None


def order_ref(params: Params) -> tuple[int | None, str | None]:
    order_id, client_order_id = integer(params, "orderId"), text(params, "origClientOrderId")
    if order_id is None and client_order_id is None:
        msg = "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        raise BinanceError(400, -1102, msg)
    return order_id, client_order_id


def page_limit(params: Params) -> int:
    return min(integer(params, "limit") or 500, 1000)


def within(at: int, start: int | None, end: int | None) -> bool:
    return (start is None or at >= start) and (end is None or at <= end)


def take(rows: Sequence[T], count: int, *, oldest_first: bool) -> Sequence[T]:
    return rows[:count] if oldest_first else rows[-count:]
