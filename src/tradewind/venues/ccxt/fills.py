"""Fills from what the exchange says of an order, each applied exactly once.

The venue does not count the exchange's trades one by one: it compares the amount the exchange
reports filled for one placement (``Sent``) with what it has applied of it, and turns the
difference into one fill at the price the difference in cost implies. ``filled`` is written in
the same transaction as the fill, so however often, and after whatever restart, the same report
is read again, it yields nothing twice. Fees come from the report's trades when it carries them
(a placement's own answer), else from the order's trades, else from the market's fee rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Liquidity, Order, OrderType
from tradewind.venues.ccxt.store import Sent
from tradewind.venues.matching.rules import EXACT

ZERO = Decimal(0)


def dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class NewFill:
    """What the exchange filled of a placement since the venue last applied it."""

    amount: Decimal
    price: Decimal
    cost: Decimal
    """The placement's whole cost now (quote), as the exchange reports it."""
    ts_ms: int | None


def new_fill(
    report: dict[str, Any], sent: Sent, order: Order, instrument: Instrument
) -> NewFill | None:
    """The part of ``report`` (a CCXT order) not yet applied, or None."""
    filled = dec(report.get("filled"))
    amount = filled - sent.filled
    if amount <= 0:
        return None
    if report.get("cost") is not None:
        cost = dec(report["cost"])
    elif report.get("average") is not None:
        cost = dec(report["average"]) * filled
    else:  # nothing better: the order's own price
        cost = sent.cost + amount * (order.price or dec(report.get("price")))
    with localcontext(EXACT):
        price = (cost - sent.cost) / amount
    if price <= 0 or instrument.round_price(price) != price:  # an average: to 1e-6 of a tick
        price = price.quantize(instrument.tick_size.scaleb(-6))
    else:
        price = instrument.round_price(price)
    ts = report.get("lastTradeTimestamp") or report.get("timestamp")
    return NewFill(amount=amount, price=price, cost=cost, ts_ms=None if ts is None else int(ts))


def fee_total(fees: Iterable[dict[str, Any] | None]) -> tuple[Decimal, str] | None:
    """The sum of fees in the first fee's asset (CCXT's ``fees``), None when none is given."""
    found = [(dec(f["cost"]), str(f["currency"])) for f in fees if f and f.get("currency")]
    if not found:
        return None
    asset = found[0][1]
    return sum((c for c, a in found if a == asset), ZERO), asset


def report_fees(report: dict[str, Any]) -> list[dict[str, Any] | None]:
    fees = report.get("fees") or []
    return list(fees) if fees else [report.get("fee")]


def trades_fees(trades: Iterable[dict[str, Any]]) -> tuple[Decimal, Decimal, str | None]:
    """(amount traded, fee total, fee asset) over an order's trades."""
    trades = list(trades)
    amount = sum((dec(t.get("amount")) for t in trades), ZERO)
    total = fee_total(t.get("fee") for t in trades)
    return amount, (ZERO if total is None else total[0]), None if total is None else total[1]


def liquidity(report: dict[str, Any], order: Order, *, answer: bool) -> Liquidity:
    """Maker or taker, from the report's trades when it has them; else a limit order that
    rested is a maker and anything filled in the placement's own answer a taker."""
    for trade in reversed(report.get("trades") or []):
        side = trade.get("takerOrMaker")
        if side in ("maker", "taker"):
            return Liquidity(side)
    if order.type is OrderType.LIMIT and not answer:
        return Liquidity.MAKER
    return Liquidity.TAKER


def estimated_fee(
    amount: Decimal, price: Decimal, instrument: Instrument, how: Liquidity
) -> Decimal:
    rate = instrument.maker_fee if how is Liquidity.MAKER else instrument.taker_fee
    return instrument.notional(amount, price) * rate
