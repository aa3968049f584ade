"""The venue contract for fills and balances, run on the paper venue and on the CCXT venue
(FakeBinance): a market order fills at once at the price, a resting limit order fills when the
market reaches it, and the balances move by the amount and its cost with the fee (in the asset
the fill names: paper takes it in the quote, Binance in what was received); every balance's
free and locked make its total, whatever rests."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.venues.contract.conftest import START, Desk
from tests.venues.contract.helpers import holdings, limit, market
from tradewind.domain import events as ev
from tradewind.domain.orders import Fill, Liquidity, OrderStatus, OrderType, Side


def moved(desk: Desk, fill: Fill) -> dict[str, D]:
    """The totals ``fill`` leaves from the start: the base in or out by its amount, the quote
    the other way by its cost, the fee off the asset it is charged in."""
    instrument = desk.instrument
    cost = fill.amount * fill.price
    base, quote = (fill.amount, -cost) if fill.side is Side.BUY else (-fill.amount, cost)
    totals = {**START}
    totals[instrument.base] += base
    totals[instrument.quote] += quote
    totals[fill.fee_asset] -= fill.fee
    return totals


def charged(desk: Desk, fill: Fill, rate: D) -> D:
    """The fee at ``rate`` of what the fill's fee asset moved by."""
    received = fill.amount if fill.fee_asset == desk.instrument.base else fill.amount * fill.price
    return rate * received


def totals(desk: Desk) -> dict[str, D]:
    return {a: b.total for a, b in desk.venue.balances(desk.account_id).items()}


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
async def test_a_market_order_fills_at_once_at_the_price_and_moves_the_balances(
    desk: Desk, side: Side
) -> None:
    placed = await desk.venue.place_order(desk.account_id, market(side, "0.02"))

    (fill,) = placed.fills
    assert (fill.order_id, fill.side, fill.amount, fill.price) == (
        placed.order.id, side, D("0.02"), desk.price,
    )  # fmt: skip
    assert fill.liquidity is Liquidity.TAKER
    assert fill.fee_asset in (desk.instrument.base, desk.instrument.quote)
    assert fill.fee == charged(desk, fill, desk.instrument.taker_fee)
    order = placed.order
    assert (order.status, order.filled, order.average_price) == (
        OrderStatus.FILLED, D("0.02"), desk.price,
    )  # fmt: skip
    assert desk.venue.open_orders(desk.account_id) == []
    assert totals(desk) == moved(desk, fill)
    assert all(locked == 0 for _, locked in holdings(desk).values())


async def test_a_limit_buy_above_the_price_fills_at_once_at_the_price_not_its_limit(
    desk: Desk,
) -> None:
    placed = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "51000"))

    (fill,) = placed.fills
    assert (fill.amount, fill.price, fill.liquidity) == (D("0.01"), desk.price, Liquidity.TAKER)
    assert placed.order.status is OrderStatus.FILLED
    assert desk.venue.open_orders(desk.account_id) == []
    assert totals(desk) == moved(desk, fill)


@pytest.mark.parametrize(
    ("side", "limit_price", "on_the_way"),
    [(Side.BUY, "49000", D(49_500)), (Side.SELL, "51000", D(50_500))],
    ids=["a buy as the market comes down to it", "a sell as the market comes up to it"],
)
async def test_a_resting_limit_order_fills_at_its_price_when_the_market_reaches_it(
    desk: Desk, side: Side, limit_price: str, on_the_way: D
) -> None:
    placed = await desk.venue.place_order(desk.account_id, limit(side, "0.01", limit_price))
    await desk.move(on_the_way)
    assert [o.id for o in desk.venue.open_orders(desk.account_id)] == [placed.order.id]

    await desk.move(D(limit_price))

    (filled,) = [e for e in desk.events if isinstance(e, ev.OrderFilled)]
    fill = filled.fill
    assert (filled.order.id, fill.order_id, fill.side) == (placed.order.id, placed.order.id, side)
    assert (fill.amount, fill.price, fill.liquidity) == (D("0.01"), D(limit_price), Liquidity.MAKER)
    assert fill.fee == charged(desk, fill, desk.instrument.maker_fee)
    assert filled.order.status is OrderStatus.FILLED
    assert desk.venue.open_orders(desk.account_id) == []
    assert totals(desk) == moved(desk, fill)
    assert all(locked == 0 for _, locked in holdings(desk).values())


async def test_a_trade_is_a_market_order_filled_at_once(desk: Desk) -> None:
    """The terminal's trade (``Venue.trade``), without stops."""
    traded = await desk.venue.trade(desk.account_id, desk.symbol, Side.BUY, D("0.02"))

    (fill,) = traded.fills
    assert (fill.amount, fill.price) == (D("0.02"), desk.price)
    assert traded.order.type is OrderType.MARKET and traded.order.status is OrderStatus.FILLED
    assert totals(desk) == moved(desk, fill)


async def test_free_and_locked_make_the_total_of_every_balance_whatever_rests(
    desk: Desk,
) -> None:
    def check() -> None:
        for asset, balance in desk.venue.balances(desk.account_id).items():
            assert balance.free + balance.locked == balance.total, asset
            assert balance.free >= 0 and balance.locked >= 0, asset
        free = {a: b.free for a, b in desk.venue.balances(desk.account_id).items()}
        assert desk.venue.free_balances(desk.account_id) == free

    check()
    buy = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000"))
    check()
    await desk.venue.place_order(desk.account_id, limit(Side.SELL, "0.3", "51000"))
    check()
    await desk.venue.place_order(desk.account_id, market(Side.BUY, "0.05"))
    check()
    await desk.venue.cancel_order(desk.account_id, buy.order.id)
    check()
    assert holdings(desk)["BTC"][1] == D("0.3")
