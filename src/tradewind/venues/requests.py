"""From a client's ``OrderRequest`` to an ``Order``: the checks every venue makes against the
instrument before anything changes, the same on paper and on an exchange."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from tradewind.domain.instruments import Instrument, InvalidOrder
from tradewind.domain.orders import (
    PREFIX_ORDER,
    AccountId,
    Bracket,
    Order,
    OrderId,
    OrderType,
    Side,
)
from tradewind.venues.matching import Quote
from tradewind.venues.ops import OrderRequest


def build_order(
    request: OrderRequest,
    instrument: Instrument,
    *,
    new_id: Callable[[str], str],
    account_id: AccountId,
    now_ms: int,
    reference: Callable[[Decimal | None], Decimal | None],
) -> Order:
    """The order ``request`` makes, checked against ``instrument`` (nothing changes; a refusal
    raises ``InvalidOrder`` naming its field).

    The amount must fit the step and minimum; price, stop price and a bracket's prices are
    rounded to the tick. A limit or stop-limit needs a price, a stop-limit a stop price, and so
    does a stop unless it trails (it then trails from the price at placement, or from its
    activation price: the matching engine sets its stop price). A market order takes no price;
    only a stop order trails.

    ``reference`` is called once, after those checks and before the order's id is made, with the
    order's own price or stop price (None when it has neither); it returns the price the
    minimum notional is checked against (not for reduce-only orders), or None to skip that check.
    """
    amount = instrument.check_amount(request.amount)
    price = None if request.price is None else instrument.round_price(request.price)
    stop = None if request.stop_price is None else instrument.round_price(request.stop_price)
    if request.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and price is None:
        raise InvalidOrder(f"a {request.type} order needs a price", "price")
    trails = request.type is OrderType.STOP and request.trailing is not None
    if request.type in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is None and not trails:
        raise InvalidOrder(f"a {request.type} order needs a stop_price", "stop_price")
    if request.type is OrderType.MARKET and price is not None:
        raise InvalidOrder("a market order takes no price", "price")
    if request.trailing is not None and request.type is not OrderType.STOP:
        raise InvalidOrder("only a stop order can trail", "trailing")
    notional_at = reference(price or stop)
    if notional_at is not None and not request.reduce_only:
        instrument.check_notional(amount, notional_at)
    bracket = request.bracket
    if request.stop_loss is not None or request.take_profit is not None:
        bracket = Bracket(
            None if request.stop_loss is None else instrument.round_price(request.stop_loss),
            None if request.take_profit is None else instrument.round_price(request.take_profit),
        )
    return Order(
        id=OrderId(new_id(PREFIX_ORDER)), account_id=account_id, symbol=request.symbol,
        side=request.side, type=request.type, amount=amount, created_ms=now_ms,
        updated_ms=now_ms, price=price, stop_price=stop, client_order_id=request.client_order_id,
        reduce_only=request.reduce_only, position_id=request.position_id, role=request.role,
        trailing=request.trailing, bracket=bracket, rearm=request.rearm,
        oco_group=request.oco_group,
    )  # fmt: skip


def amended_terms(
    order: Order, instrument: Instrument, price: Decimal | None, stop_price: Decimal | None,
    amount: Decimal | None,
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:  # fmt: skip
    """An amend's new price, stop price and amount, checked as a placement's are: prices to
    the tick, the amount to the lot and minimum, and the order's value at its new terms
    against the minimum order value (as ``build_order``: at its limit price, else its stop;
    not for a reduce-only order). Unchanged terms stay None."""
    price = None if price is None else instrument.round_price(price)
    stop_price = None if stop_price is None else instrument.round_price(stop_price)
    amount = None if amount is None else instrument.check_amount(amount)
    if (price, stop_price, amount) != (None, None, None) and not order.reduce_only:
        limit = order.price if price is None else price
        at = (
            limit if limit is not None else (order.stop_price if stop_price is None else stop_price)
        )
        if at is not None:
            instrument.check_notional(order.amount if amount is None else amount, at)
    return price, stop_price, amount


@dataclass(frozen=True, slots=True)
class TradeCheck:
    """What a market trade would need, without placing it."""

    valid: bool
    required_margin: Decimal
    free_margin: Decimal
    price: Decimal
    error: str | None = None


def spot_requirement(
    instrument: Instrument, side: Side, amount: Decimal, price: Decimal
) -> tuple[str, Decimal]:
    """What a spot order of ``amount`` at ``price`` needs free: a buy its cost with the taker
    fee in the quote asset, a sell the amount in the base asset."""
    if side is Side.BUY:
        return instrument.quote, instrument.notional(amount, price) * (1 + instrument.taker_fee)
    return instrument.base, amount


def judge_trade(
    side: Side, quote: Quote, required: Decimal, free: Decimal, short: str,
    stop_loss: Decimal | None, take_profit: Decimal | None,
) -> TradeCheck:  # fmt: skip
    """A market trade's check once what it needs (``required``) and what is free are known:
    refused for its stops, else for ``short`` when it needs more than is free."""
    price = quote.ask if side is Side.BUY else quote.bid
    try:
        check_stops(side, quote, stop_loss, take_profit)
    except InvalidOrder as e:
        return TradeCheck(False, required, free, price, e.message)
    if required > free:
        return TradeCheck(False, required, free, price, short)
    return TradeCheck(True, required, free, price)


def check_stops(
    side: Side, quote: Quote, stop_loss: Decimal | None, take_profit: Decimal | None
) -> None:
    """A market trade's stops against the price it would fill at: a buy's stop-loss under the
    ask and its take-profit above; a sell's the other way round (Tradyn's ``sl``/``tp``)."""
    entry = quote.ask if side is Side.BUY else quote.bid
    if stop_loss is not None and (stop_loss - entry) * side.sign >= 0:
        raise InvalidOrder(f"Invalid stops: sl {stop_loss} is on the wrong side of {entry}", "sl")
    if take_profit is not None and (take_profit - entry) * side.sign <= 0:
        raise InvalidOrder(f"Invalid stops: tp {take_profit} is on the wrong side of {entry}", "tp")
