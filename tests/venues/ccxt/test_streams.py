"""What the CCXT venue gives the streams: its order events and ticks on the bus, as the paper
venue publishes them (each order with its ticket), and the symbols it polls while watched."""

from __future__ import annotations

from tests.fakes.binance import FakeBinance
from tests.venues.ccxt.test_venue import limit
from tests.venues.ccxt.world import BTC, World
from tradewind.domain import events as ev
from tradewind.domain.orders import Side
from tradewind.engine.bus import Message, Subscription
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.ops import CancelOp, PlaceOp
from tradewind.venues.paper.persistence import RowTracker, event_message


def received(sub: Subscription) -> list[Message]:
    found = []
    while not sub.queue.empty():
        found.append(sub.queue.get_nowait())
    return found


def polled(fake: FakeBinance) -> set[str]:
    """The symbols whose price was asked for since the requests were last cleared."""
    return {r.params["symbol"] for r in fake.requests_to("GET", "/api/v3/ticker/24hr")}


class TestTheBus:
    async def test_order_events_are_the_paper_venues_messages_with_the_orders_ticket(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        sub = world.bus.subscribe(f"account:{world.account_id}")
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.03", "49000", "bot_a:1"))]
        )
        assert placed.order is not None
        fake.fill(world.client_id("bot_a:1"))
        await venue.sync()

        (row,) = await world.order_rows()
        tickets = RowTracker()
        tickets.order_tickets[row.id] = row.ticket
        events = [e for e in world.events if not isinstance(e, ev.OrderReconciled)]
        assert [type(e) for e in events] == [ev.OrderAccepted, ev.OrderFilled]
        messages = received(sub)
        assert messages == [event_message(e, tickets) for e in events]
        assert [m["order"]["ticket"] for m in messages] == [-1, -1]

    async def test_an_order_loaded_after_a_restart_keeps_its_ticket(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        await venue.execute([PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "a"))])
        restarted = await world.venue()
        try:
            await restarted.load()
            sub = world.bus.subscribe(f"account:{world.account_id}")
            fake.fill(world.client_id("a"))
            await restarted.sync()

            (filled,) = received(sub)
            assert (filled["type"], filled["order"]["ticket"]) == ("order_filled", -1)
        finally:
            await restarted.close()

    async def test_a_refused_placement_is_published_as_nothing(
        self, venue: CcxtVenue, world: World
    ) -> None:
        sub = world.bus.subscribe(f"account:{world.account_id}")
        (refused,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "1", "49000", "too-big"))]
        )

        assert refused.error is not None
        assert received(sub) == []

    async def test_ticks_are_on_the_venues_own_topic(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        assert venue.tick_topic(BTC) == "tick:binance:BTC/USDT"
        sub = world.bus.subscribe(venue.tick_topic(BTC), f"tick:{BTC}")
        venue.watch(BTC)
        fake.set_price(BTC, "50123.45")

        await venue.refresh_prices()

        assert received(sub) == [{
            "type": "tick", "symbol": BTC, "bid": "50123.45", "ask": "50123.45",
            "last": "50123.45", "ts": venue.now_ms(),
        }]  # fmt: skip


class TestWatching:
    async def test_a_symbol_is_polled_while_a_watch_of_it_is_left(
        self, venue: CcxtVenue, fake: FakeBinance
    ) -> None:
        venue.watch(BTC)
        venue.watch(BTC)
        venue.unwatch(BTC)
        await venue.refresh_prices()
        assert polled(fake) == {"BTCUSDT"} and BTC in venue.feeds

        venue.unwatch(BTC)
        fake.clear_requests()
        await venue.refresh_prices()

        assert polled(fake) == set()
        assert BTC not in venue.feeds and venue._marks == {}  # nothing stale kept

    async def test_a_symbol_whose_price_was_asked_for_stays_polled(
        self, venue: CcxtVenue, fake: FakeBinance
    ) -> None:
        """As a bot's: the bots service primes its price before a start, the engine asks it."""
        venue.watch(BTC)  # a stream first
        await venue.refresh_prices()
        await venue.prime_price(BTC)  # then a bot: the price is there already
        venue.unwatch(BTC)
        fake.clear_requests()

        await venue.refresh_prices()

        assert polled(fake) == {"BTCUSDT"} and BTC in venue.feeds

    async def test_a_symbol_with_open_orders_stays_polled_until_they_end(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        venue.watch(BTC)
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "a"))]
        )
        assert placed.order is not None
        venue.unwatch(BTC)
        await venue.refresh_prices()
        assert polled(fake) == {"BTCUSDT"}

        await venue.execute([CancelOp(world.account_id, placed.order.id)])
        fake.clear_requests()
        await venue.refresh_prices()

        assert polled(fake) == set()
