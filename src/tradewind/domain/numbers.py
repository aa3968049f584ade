"""How decimals are written as text, everywhere Tradewind shows one."""

from __future__ import annotations

from decimal import Decimal


def decimal_text(value: Decimal) -> str:
    """Exact, without exponent or trailing zeros: Decimal("7000.00") gives "7000"."""
    return format(value.normalize(), "f") if value else "0"


def optional_text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)
