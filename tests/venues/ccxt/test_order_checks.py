"""The CCXT venue and the paper venue check an order request the same way (one function,
``venues.requests.build_order``): the same request on the same instrument is accepted by both
or refused by both, with the same message naming the same field."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.fakes.binance import FakeBinance
from tests.venues.ccxt.world import BTC, World
from tradewind.domain.instruments import InvalidOrder
from tradewind.domain.orders import Order, OrderType, Side, Trailing
from tradewind.engine.bus import EventBus
from tradewind.marketdata.feeds import ManualFeed
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.ops import OrderRequest, PlaceOp
from tradewind.venues.paper.venue import PaperVenue

TRAIL = Trailing(callback=D("0.01"))


def request(
    kind: OrderType, *, price: D | None = None, stop_price: D | None = None,
    trailing: Trailing | None = None,
) -> OrderRequest:  # fmt: skip
    return OrderRequest(
        symbol=BTC, side=Side.SELL, type=kind, amount=D("0.01"), price=price,
        stop_price=stop_price, trailing=trailing,
    )  # fmt: skip


CASES = {
    "trailing stop, no stop price": (request(OrderType.STOP, trailing=TRAIL), None),
    "stop, no stop price": (request(OrderType.STOP), ("stop_price", "a stop order needs a stop_price")),
    "trailing stop-limit, no stop price": (
        request(OrderType.STOP_LIMIT, price=D(49_000), trailing=TRAIL),
        ("stop_price", "a stop_limit order needs a stop_price"),
    ),
    "trailing limit": (
        request(OrderType.LIMIT, price=D(49_000), trailing=TRAIL),
        ("trailing", "only a stop order can trail"),
    ),
    "limit, no price": (request(OrderType.LIMIT), ("price", "a limit order needs a price")),
    "market with a price": (
        request(OrderType.MARKET, price=D(50_000)), ("price", "a market order takes no price"),
    ),
    "under the minimum notional": (
        request(OrderType.STOP, stop_price=D(1)),
        ("amount", "order value 0.0100000 USDT is below the minimum 5 USDT"),
    ),
}  # fmt: skip


async def paper_on(venue: CcxtVenue, world: World) -> PaperVenue:
    """A paper venue on the CCXT venue's instrument, its price where the exchange's is."""
    mark = venue.mark(BTC)
    assert mark is not None
    feed = ManualFeed(BTC, half_spread=0)
    now = int(world.clock.now().timestamp() * 1000)
    feed.push(BTC, float(mark), now)
    return PaperVenue(
        instruments={BTC: venue.instrument(BTC)}, feeds={BTC: feed}, sessions=None,
        clock=world.clock, bus=EventBus(), writer=world.writer,
    )  # fmt: skip


def terms(order: Order) -> tuple[object, ...]:
    return (order.type, order.amount, order.price, order.stop_price, order.trailing)


@pytest.mark.parametrize(("case", "refused"), CASES.values(), ids=list(CASES))
async def test_both_venues_accept_or_refuse_a_request_alike(
    case: OrderRequest,
    refused: tuple[str, str] | None,
    venue: CcxtVenue,
    world: World,
    fake: FakeBinance,
) -> None:
    fake.set_price(BTC, 50_000)
    assert venue.mark(BTC) is None  # not polled yet: asking for it starts watching it
    await venue.refresh_prices()
    paper = await paper_on(venue, world)

    (result,) = await venue.execute([PlaceOp(world.account_id, case)])

    if refused is None:
        _, paper_order, _ = paper.check(case)
        assert result.ok and result.order is not None, result.error
        assert terms(result.order) == terms(paper_order)
        return
    assert isinstance(result.error, InvalidOrder)
    with pytest.raises(InvalidOrder) as on_paper:
        paper.check(case)
    for error in (result.error, on_paper.value):
        assert (error.field, error.message) == refused
        assert error.details == [{"field": refused[0], "message": refused[1]}]
    assert venue.open_orders(world.account_id) == []
