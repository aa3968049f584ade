"""The terminal's market trade with stops on an exchange (spot), and its check: what
``CcxtVenue.trade`` and ``check_trade`` do, kept out of the venue's order machinery. Stops are
checked, an order built and a balance judged by the rules the paper venue uses
(``venues.requests``), at the polled price."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from tradewind.domain.instruments import InvalidOrder
from tradewind.domain.orders import AccountId, OrderType, Side
from tradewind.venues.ops import OrderRequest, Placed
from tradewind.venues.requests import (
    TradeCheck,
    build_order,
    check_stops,
    judge_trade,
    spot_requirement,
)

if TYPE_CHECKING:
    from tradewind.venues.ccxt.venue import CcxtVenue


async def trade(
    venue: CcxtVenue, account_id: str, symbol: str, side: Side, amount: Decimal, *,
    stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
) -> Placed:  # fmt: skip
    """A market order whose bracket protects what it bought or sold (the venue places the legs
    once it has filled), its stops checked against the polled price before anything is sent."""
    await venue.prime_price(symbol)
    check_stops(side, venue.quote(symbol), stop_loss, take_profit)
    return await venue.place_order(account_id, OrderRequest(
        symbol=symbol, side=side, type=OrderType.MARKET, amount=amount, stop_loss=stop_loss,
        take_profit=take_profit,
    ))  # fmt: skip


async def check_trade(
    venue: CcxtVenue, account_id: str, symbol: str, side: Side, amount: Decimal, *,
    stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
) -> TradeCheck:  # fmt: skip
    """Whether ``trade`` would be accepted, changing nothing: the instrument's rules at the
    polled price, and the cost (with the taker fee) of a buy in the quote asset, or the amount
    of a sell in the base asset, against the free balance Tradewind last read."""
    balances = venue.balances(account_id)  # (and the account is on this venue)
    instrument = venue.instrument(symbol)
    await venue.prime_price(symbol)
    quote = venue.quote(symbol)
    price = quote.ask if side is Side.BUY else quote.bid
    request = OrderRequest(symbol=symbol, side=side, type=OrderType.MARKET, amount=amount)
    try:
        order = build_order(
            request, instrument, new_id=lambda prefix: prefix, account_id=AccountId(account_id),
            now_ms=venue.now_ms(), reference=lambda own: price,
        )  # fmt: skip
    except InvalidOrder as e:
        return TradeCheck(False, Decimal(0), Decimal(0), price, e.message)
    asset, required = spot_requirement(instrument, side, order.amount, price)
    balance = balances.get(asset)
    free = balance.free if balance else Decimal(0)
    return judge_trade(side, quote, required, free, "Insufficient funds", stop_loss, take_profit)
