"""What the CCXT venue gives the streams: its order and balance events and ticks on the bus, as
the paper venue publishes them (each order with its ticket), and the symbols it polls while
watched."""

from __future__ import annotations

from tests.fakes.binance import FakeBinance
from tests.venues.ccxt.test_venue import limit
from tests.venues.ccxt.world import BTC, World
from tradewind.domain import events as ev
from tradewind.domain.numbers import decimal_text
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
        assert [type(e) for e in events] == [
            ev.OrderAccepted, ev.BalanceChanged, ev.OrderFilled, ev.BalanceChanged, ev.BalanceChanged,
        ]  # fmt: skip
        messages = received(sub)
        assert messages == [event_message(e, tickets) for e in events]
        assert [m["order"]["ticket"] for m in messages if "order" in m] == [-1, -1]

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

            # (not reconciled: the sync's fetch is its first, every asset held is published)
            filled, *balances = received(sub)
            assert (filled["type"], filled["order"]["ticket"]) == ("order_filled", -1)
            assert {m["type"] for m in balances} == {"balance_changed"}
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


def balance_messages(sub: Subscription) -> dict[str, tuple[str, str]]:
    """The ``balance_changed`` messages received, by asset: (free, locked)."""
    found = [m for m in received(sub) if m["type"] == "balance_changed"]
    assert len({m["asset"] for m in found}) == len(found)  # one per asset and change
    return {m["asset"]: (m["free"], m["locked"]) for m in found}


def on_exchange(fake: FakeBinance, *assets: str) -> dict[str, tuple[str, str]]:
    """The fake exchange's balances of ``assets``, as the messages give them."""
    return {
        a: (decimal_text(fake.balance(a).free), decimal_text(fake.balance(a).locked))
        for a in assets
    }


class TestBalances:
    """After an operation or a poll changed an order, the account's balances are fetched again
    and each asset whose free or locked amount changed is a ``BalanceChanged`` (the paper
    venue's message); nothing changed, nothing is published."""

    async def test_a_fill_publishes_the_new_free_and_locked_of_each_asset_it_moved(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        sub = world.bus.subscribe(f"account:{world.account_id}")
        await venue.execute([PlaceOp(world.account_id, limit(Side.BUY, "0.03", "49000", "a"))])
        assert balance_messages(sub) == {"USDT": ("8530", "1470")}  # the order holds its cost
        assert on_exchange(fake, "USDT") == {"USDT": ("8530", "1470")}

        fake.fill(world.client_id("a"))
        await venue.sync()

        messages = received(sub)
        assert [m["type"] for m in messages] == [
            "order_filled",
            "balance_changed",
            "balance_changed",
        ]
        moved = {m["asset"]: (m["free"], m["locked"]) for m in messages[1:]}
        assert moved == on_exchange(fake, "BTC", "USDT")
        assert moved["USDT"] == ("8530", "0") and moved["BTC"] != ("1", "0")
        assert all(m["account_id"] == world.account_id for m in messages[1:])
        held = venue.balances(world.account_id)
        assert {
            a: (decimal_text(held[a].free), decimal_text(held[a].locked)) for a in moved
        } == moved
        changed = [e for e in world.events if isinstance(e, ev.BalanceChanged)]
        assert [e.asset for e in changed] == ["USDT", "BTC", "USDT"]  # the listeners' too

    async def test_a_poll_or_a_fetch_where_nothing_changed_publishes_none(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        await venue.execute([PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "a"))])
        sub = world.bus.subscribe(f"account:{world.account_id}")
        world.events.clear()
        fake.clear_requests()

        await venue.sync()  # the order is still open, unfilled
        await venue.reconcile()  # as after a reconnect: the balances are fetched again

        assert fake.requests_to("GET", "/api/v3/account")  # they were asked for
        assert received(sub) == []
        assert not [e for e in world.events if isinstance(e, ev.BalanceChanged)]

    async def test_the_first_fetch_at_start_up_publishes_none(
        self, world: World, fake: FakeBinance
    ) -> None:
        """The balances as first fetched are where the venue starts from: nobody changed them."""
        sub = world.bus.subscribe(f"account:{world.account_id}")
        venue = await world.venue()
        try:
            await venue.load()
            await venue.reconcile()

            assert set(venue.balances(world.account_id)) == {"USDT", "BTC", "ETH"}
            assert received(sub) == []
            assert not [e for e in world.events if isinstance(e, ev.BalanceChanged)]
        finally:
            await venue.close()

    async def test_a_change_made_elsewhere_is_published_at_the_next_fetch(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        """A deposit, or a withdrawal of all of an asset (a zero balance): seen when the
        balances are next fetched (here a reconnect's reconciliation)."""
        sub = world.bus.subscribe(f"account:{world.account_id}")
        fake.set_balance("USDT", "12000")
        fake.set_balance("ETH", "0")

        await venue.reconcile()

        assert balance_messages(sub) == {"ETH": ("0", "0"), "USDT": ("12000", "0")}
        assert "ETH" not in venue.balances(world.account_id)


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
