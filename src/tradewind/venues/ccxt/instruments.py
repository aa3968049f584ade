"""An exchange's markets, as CCXT describes them, turned into the platform's instruments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.domain.instruments import Instrument, InstrumentKind

TICK_SIZE = 4
"""CCXT's ``precisionMode`` in which ``precision`` holds step sizes (not decimal places)."""


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _step(value: Any, mode: int) -> Decimal | None:
    found = _dec(value)
    if found is None or mode == TICK_SIZE:
        return found
    return Decimal(1).scaleb(-int(found))  # decimal places -> the step they allow


def _plain(value: Decimal) -> Decimal:
    """``0.010`` as ``0.01`` and ``10.0`` as ``10`` (never ``1E+1``: prices quantize to it)."""
    short = value.normalize()
    return short if int(short.as_tuple().exponent) < 0 else value.to_integral_value()


def instrument_of(venue: str, market: dict[str, Any], precision_mode: int) -> Instrument | None:
    """The instrument of a spot market that is trading, else None (derivatives are not traded
    through CCXT yet)."""
    if not market.get("spot") or market.get("active") is False:
        return None
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = _step(precision.get("price"), precision_mode)
    step = _step(precision.get("amount"), precision_mode)
    if tick is None or step is None:
        return None
    min_amount = _dec((limits.get("amount") or {}).get("min")) or step
    min_cost = _dec((limits.get("cost") or {}).get("min")) or Decimal(0)
    return Instrument(
        venue=venue, symbol=market["symbol"], base=market["base"], quote=market["quote"],
        kind=InstrumentKind.SPOT, tick_size=_plain(tick), amount_step=_plain(step),
        min_amount=_plain(min_amount), min_notional=_plain(min_cost),
        maker_fee=_dec(market.get("maker")) or Decimal("0.001"),
        taker_fee=_dec(market.get("taker")) or Decimal("0.001"),
    )  # fmt: skip
