"""What the exchange is not asked to do, the venue does from the prices it polls: stop orders,
trailing stops, a bracket's stop-loss (its take-profit rests on the exchange, one cancelling
the other). A stop waits here until the price reaches it, then goes to the exchange as a
market order under its own client id."""

from __future__ import annotations

from decimal import Decimal as D

from tests.fakes.binance import FakeBinance, OrderStatus
from tests.venues.ccxt.world import BTC, World
from tradewind.domain import events as ev
from tradewind.domain.orders import Bracket, OrderType, Side, Trailing
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.ops import OrderRequest, PlaceOp


async def move(venue: CcxtVenue, fake: FakeBinance, *prices: int) -> None:
    for price in prices:
        fake.set_price(BTC, price)
        await venue.refresh_prices()
        await venue.sync()


def stop(name: str, stop_price: str | None, trailing: Trailing | None = None) -> OrderRequest:
    return OrderRequest(
        symbol=BTC, side=Side.SELL, type=OrderType.STOP, amount=D("0.01"),
        stop_price=None if stop_price is None else D(stop_price), client_order_id=name,
        trailing=trailing,
    )  # fmt: skip


class TestStops:
    async def test_a_stop_waits_here_then_sells_at_market_on_the_exchange(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (placed,) = await venue.execute([PlaceOp(world.account_id, stop("bot_s:1", "49000"))])
        assert placed.ok and fake.orders == []  # not on the exchange
        await move(venue, fake, 49_500)
        assert fake.orders == []

        await move(venue, fake, 48_900)

        (sent,) = fake.orders
        assert (sent.client_order_id, sent.type.value, sent.side.value) == (
            world.client_id("bot_s:1"), "MARKET", "SELL",
        )  # fmt: skip
        assert sent.status is OrderStatus.FILLED
        kinds = [type(e).__name__ for e in world.events if getattr(e, "order", None)]
        assert kinds[-2:] == ["OrderTriggered", "OrderFilled"]
        (fill,) = [e.fill for e in world.events if isinstance(e, ev.OrderFilled)]
        assert (fill.amount, fill.price) == (D("0.01"), D(48_900))
        assert venue.open_orders(world.account_id) == []

    async def test_a_stop_survives_a_restart(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        await venue.execute([PlaceOp(world.account_id, stop("bot_s:1", "49000"))])
        await venue.close()
        again = await world.venue()
        await again.load()
        await again.reconcile()
        assert [o.client_order_id for o in again.open_orders(world.account_id)] == ["bot_s:1"]

        await move(again, fake, 48_000)

        assert [o.status for o in fake.orders] == [OrderStatus.FILLED]
        assert again.open_orders(world.account_id) == []
        await again.close()

    async def test_a_trailing_stop_follows_the_best_price(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        request = stop("bot_s:1", None, Trailing(callback=D("0.01")))
        (placed,) = await venue.execute([PlaceOp(world.account_id, request)])
        assert placed.order is not None

        await move(venue, fake, 50_000, 51_000, 50_600)
        assert placed.order.stop_price == D("50490.00") and fake.orders == []

        await move(venue, fake, 50_400)
        (sent,) = fake.orders
        assert (sent.type.value, sent.status) == ("MARKET", OrderStatus.FILLED)


class TestBrackets:
    async def entry(self, venue: CcxtVenue, world: World) -> None:
        request = OrderRequest(
            symbol=BTC, side=Side.BUY, type=OrderType.MARKET, amount=D("0.01"),
            client_order_id="bot_b:1", bracket=Bracket(stop_loss=D(49000), take_profit=D(52000)),
        )  # fmt: skip
        (result,) = await venue.execute([PlaceOp(world.account_id, request)])
        assert result.ok

    async def test_the_take_profit_rests_on_the_exchange_and_the_stop_loss_here(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        await self.entry(venue, world)

        legs = {o.client_order_id: o for o in venue.open_orders(world.account_id)}
        assert set(legs) == {"bot_b:1:sl", "bot_b:1:tp"}
        (tp,) = [o for o in fake.orders if o.is_open]
        assert (tp.client_order_id, tp.price, tp.side.value) == (
            world.client_id("bot_b:1:tp"), D(52000), "SELL",
        )  # fmt: skip

        await move(venue, fake, 52_100)  # the take-profit fills: the stop-loss goes with it

        assert venue.open_orders(world.account_id) == []
        cancelled = [e for e in world.events if isinstance(e, ev.OrderCancelled)]
        assert [(e.order.client_order_id, e.reason) for e in cancelled] == [("bot_b:1:sl", "oco")]

    async def test_the_stop_loss_triggers_and_the_take_profit_is_cancelled_first(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        await self.entry(venue, world)

        await move(venue, fake, 48_900)

        tp = fake.order(world.client_id("bot_b:1:tp"))
        sl = fake.order(world.client_id("bot_b:1:sl"))
        assert tp.status is OrderStatus.CANCELED  # its BTC freed for the stop's sale
        assert (sl.type.value, sl.status, sl.executed_qty) == (
            "MARKET",
            OrderStatus.FILLED,
            D("0.01"),
        )
        assert venue.open_orders(world.account_id) == []
