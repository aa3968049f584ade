"""The engine's stateless rules: Decimal arithmetic (one wide context, explicit rounding), order
checks, and the prices orders fill and reserve at."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from tradewind.domain.instruments import InvalidOrder
from tradewind.domain.orders import Fill, Order, OrderStatus, OrderType, Side, check_transition
from tradewind.venues.matching.book import Quote

EXACT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])
"""Sixty significant digits: sums and products of prices, amounts and fee rates stay exact, so
the only rounding anywhere is the explicit rounding below."""


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of ``step`` that is >= ``value``."""
    return ((value / step).to_integral_value(rounding=ROUND_CEILING) * step).quantize(step)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` that is <= ``value``."""
    return ((value / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(step)


def div_ceil(a: Decimal, b: Decimal, step: Decimal) -> Decimal:
    """``a / b`` rounded up to a multiple of ``step`` (margin: never less than needed)."""
    return ceil_to(Context(prec=EXACT.prec, rounding=ROUND_CEILING).divide(a, b), step)


def div_floor(a: Decimal, b: Decimal, step: Decimal) -> Decimal:
    """``a / b`` rounded down to a multiple of ``step``."""
    return floor_to(Context(prec=EXACT.prec, rounding=ROUND_FLOOR).divide(a, b), step)


def is_limit(order: Order) -> bool:
    """A limit order, or a stop-limit that has triggered and now rests as a limit."""
    return order.type is OrderType.LIMIT or (order.type is OrderType.STOP_LIMIT and order.triggered)


def is_reached(order: Order, quote: Quote) -> bool:
    """A limit is marketable (buy: price >= ask; sell: price <= bid); a stop has triggered
    (buy: ask >= stop_price; sell: bid <= stop_price)."""
    buying = order.side is Side.BUY
    if is_limit(order):
        assert order.price is not None
        return order.price >= quote.ask if buying else order.price <= quote.bid
    if order.stop_price is None or order.triggered:
        return False
    return quote.ask >= order.stop_price if buying else quote.bid <= order.stop_price


def market_price(side: Side, quote: Quote, slippage: Decimal, tick: Decimal) -> Decimal:
    """What a taker gets: the ask (bid) worsened by slippage, rounded to the tick against it."""
    if side is Side.BUY:
        return ceil_to(quote.ask * (1 + slippage), tick)
    return floor_to(quote.bid * (1 - slippage), tick)


def taker_price(order: Order, quote: Quote, slippage: Decimal, tick: Decimal) -> Decimal:
    """A marketable limit takes at the market price, never worse than its limit."""
    assert order.price is not None
    market = market_price(order.side, quote, slippage, tick)
    return min(market, order.price) if order.side is Side.BUY else max(market, order.price)


def reference_price(order: Order, quote: Quote | None, slippage: Decimal, tick: Decimal) -> Decimal:
    """The price a reservation is computed at: the limit price (limit, stop-limit), the stop
    price (stop), a trailing stop's activation price, else the market price now."""
    if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.price is not None:
        return order.price
    if order.type is OrderType.STOP and order.stop_price is not None:
        return order.stop_price
    if order.trailing is not None and order.trailing.activation_price is not None:
        return order.trailing.activation_price
    if quote is None:
        raise InvalidOrder("no price is known yet to reserve against", "price")
    if order.type is OrderType.MARKET:
        return market_price(order.side, quote, slippage, tick)
    return quote.ask if order.side is Side.BUY else quote.bid


def path_since(path: Sequence[tuple[int, Decimal]], ts_ms: int) -> list[tuple[int, Decimal]]:
    """The part of ``path`` from ``ts_ms`` on, starting with the price interpolated there."""
    later = [i for i, (t, _) in enumerate(path) if t >= ts_ms]
    if not later:
        return []
    i = later[0]
    if i == 0 or path[i][0] == ts_ms:
        return list(path[i:])
    (t0, p0), (t1, p1) = path[i - 1], path[i]
    return [(ts_ms, p0 + (p1 - p0) * (ts_ms - t0) / (t1 - t0)), *path[i:]]


def check_order(order: Order, quote: Quote) -> None:
    """What the engine itself requires of a new order (the venue checks the instrument rules)."""
    if quote.symbol != order.symbol:
        raise InvalidOrder(f"the quote is for {quote.symbol}, not {order.symbol}", "symbol")
    if order.status is not OrderStatus.OPEN or order.filled or order.reserved:
        raise InvalidOrder("only a new order can be submitted", "status")
    if order.amount <= 0:
        raise InvalidOrder("amount must be positive", "amount")
    if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.price is None:
        raise InvalidOrder(f"a {order.type} order needs a price", "price")
    if order.type is OrderType.STOP_LIMIT and order.stop_price is None:
        raise InvalidOrder("a stop_limit order needs a stop_price", "stop_price")
    if order.type is OrderType.STOP and order.stop_price is None and order.trailing is None:
        raise InvalidOrder("a stop order needs a stop_price", "stop_price")
    if order.trailing is not None and order.type is not OrderType.STOP:
        raise InvalidOrder("only a stop order can trail", "trailing")


def check_amend(
    order: Order, price: Decimal | None, stop_price: Decimal | None, amount: Decimal | None
) -> None:
    if price is not None and order.type not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        raise InvalidOrder(f"a {order.type} order has no price", "price")
    if stop_price is not None and (
        order.type not in (OrderType.STOP, OrderType.STOP_LIMIT) or order.triggered
    ):
        raise InvalidOrder("only an untriggered stop has a stop price to amend", "stop_price")
    if amount is not None and amount <= order.filled:
        raise InvalidOrder("amount must exceed what has already filled", "amount")


def record_fill(order: Order, fill: Fill, tick: Decimal, ts_ms: int) -> OrderStatus:
    """Count ``fill`` on ``order`` (its filled amount, average price, fee and status at
    ``ts_ms``) and return the new status; the paper engine's fills and a live venue's reported
    fills alike."""
    before = order.filled
    order.filled = before + fill.amount
    if before == 0 or order.average_price is None:
        order.average_price = fill.price
    else:  # partial fills (live venues): the weighted average, to a millionth of a tick
        average = (order.average_price * before + fill.price * fill.amount) / order.filled
        order.average_price = average.quantize(tick.scaleb(-6))
    order.fee += fill.fee
    status = OrderStatus.FILLED if order.remaining <= 0 else OrderStatus.PARTIALLY_FILLED
    check_transition(order.status, status)
    order.status, order.updated_ms = status, ts_ms
    return status
