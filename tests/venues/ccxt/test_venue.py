"""The CCXT venue against FakeBinance through CCXT's own binance client: balances, placing,
cancelling, the exchange's refusals in the platform's errors, and fills polled from the
exchange (each applied once)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from decimal import Decimal as D

import pytest

from tests.fakes.binance import FakeBinance, OrderStatus
from tests.venues.ccxt.world import BTC, World
from tradewind.domain import events as ev
from tradewind.domain.errors import InsufficientFunds, NotFound
from tradewind.domain.instruments import InvalidOrder
from tradewind.domain.orders import OrderStatus as Status
from tradewind.domain.orders import OrderType, Side
from tradewind.venues.base import EngineVenue, Venue
from tradewind.venues.ccxt.client_ids import exchange_client_id, is_ours, legacy_client_id
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.ops import CancelOp, OrderRequest, PlaceOp

BINANCE_CLIENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")


def limit(side: Side, amount: str, price: str, client_order_id: str | None) -> OrderRequest:
    return OrderRequest(
        symbol=BTC, side=side, type=OrderType.LIMIT, amount=D(amount), price=D(price),
        client_order_id=client_order_id,
    )  # fmt: skip


class TestClientIds:
    def test_a_bots_order_name_becomes_a_binance_legal_id_the_same_every_time(self) -> None:
        name = "bot_01JD6R6V2N1Y8ZB5W7Q2H3K4M5:17:r3:sl"
        found = exchange_client_id(name, account_id="acc_1")
        assert BINANCE_CLIENT_ID.match(found) and found.startswith("tw") and is_ours(found)
        assert exchange_client_id(name, account_id="acc_1") == found
        assert exchange_client_id(name, 1, account_id="acc_1") != found
        assert exchange_client_id("bot_01JD6R6V2N1Y8ZB5W7Q2H3K4M5:18", account_id="acc_1") != found

    def test_the_same_name_in_two_accounts_is_two_ids(self) -> None:
        """Two accounts may trade on the same exchange keys, and name their orders alike."""
        mine = exchange_client_id("bot_a:1", account_id="acc_1")
        assert exchange_client_id("bot_a:1", account_id="acc_2") != mine
        assert exchange_client_id("bot_a:1", 1, account_id="acc_2") != exchange_client_id(
            "bot_a:1", 1, account_id="acc_1"
        )

    def test_the_id_of_earlier_versions_is_still_derived_from_the_name_alone(self) -> None:
        """Orders already sent were sent under it (stored with them, and looked up by it)."""
        assert legacy_client_id("bot_a:1") == "tw1rlQ-kTSErAvpqWS7Ps4cDw0ypHG7t"
        assert legacy_client_id("bot_a:1", 1) == "twuXCtW3tPkIfpk5ceJQa05jQ00ol803"
        assert legacy_client_id("bot_a:1") != exchange_client_id("bot_a:1", account_id="acc_1")
        assert is_ours(legacy_client_id("bot_a:1"))


class TestTheInterfaces:
    async def test_it_is_a_venue_and_an_engine_venue(self, venue: CcxtVenue) -> None:
        assert isinstance(venue, Venue)
        engine_venue: EngineVenue = venue  # (mypy checks this in engine/live.py)
        assert engine_venue.joins_writes is False
        assert not venue.capabilities.stop_orders and not venue.capabilities.trailing_stops


class TestBalances:
    async def test_balances_are_the_exchanges(self, venue: CcxtVenue, world: World) -> None:
        balances = venue.balances(world.account_id)

        assert {a: (b.free, b.locked) for a, b in balances.items()} == {
            "BTC": (D(1), D(0)), "ETH": (D(10), D(0)), "USDT": (D(10_000), D(0)),
        }  # fmt: skip
        assert venue.free_balances(world.account_id)["USDT"] == D(10_000)


class TestPlacing:
    async def test_a_limit_order_rests_on_the_exchange_under_its_derived_client_id(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (result,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
        )

        assert result.ok and result.order is not None
        (placed,) = fake.orders
        assert placed.client_order_id == world.client_id("bot_a:1")
        assert (placed.side, placed.price, placed.orig_qty) == ("BUY", D(49000), D("0.01"))
        assert venue.exchange_ids(result.order) == (placed.client_order_id, str(placed.order_id))
        assert [o.id for o in venue.open_orders(world.account_id)] == [result.order.id]
        (row,) = await world.order_rows()
        assert (row.client_order_id, row.status, row.ticket) == ("bot_a:1", "open", -1)
        assert row.programs["venue"]["order_id"] == str(placed.order_id)
        assert venue.balances(world.account_id)["USDT"].locked == D(490)

    async def test_the_same_client_id_again_places_nothing(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        op = PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))
        (first,) = await venue.execute([op])
        (again,) = await venue.execute([op])

        assert again.duplicate and again.order is first.order
        assert len(fake.orders) == 1
        assert len(fake.requests_to("POST", "/api/v3/order")) == 1

    async def test_a_market_order_fills_at_once_with_the_exchanges_fee(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        placed = await venue.place_order(world.account_id, OrderRequest(
            symbol=BTC, side=Side.BUY, type=OrderType.MARKET, amount=D("0.02"),
            client_order_id="bot_a:2",
        ))  # fmt: skip

        (fill,) = placed.fills
        assert (fill.amount, fill.price) == (D("0.02"), D(50_000))
        assert (fill.fee, fill.fee_asset) == (D("0.00002"), "BTC")  # the fake's 0.1% in BTC
        assert placed.order.status is Status.FILLED
        assert venue.open_orders(world.account_id) == []
        (row,) = await world.fill_rows()
        assert (row.amount, row.price, row.fee) == (D("0.02"), D(50_000), D("0.00002"))
        assert venue.balances(world.account_id)["BTC"].free == D("1.01998")


class TestCancelling:
    async def test_a_cancel_reaches_the_exchange(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.SELL, "0.01", "51000", "bot_a:1"))]
        )
        assert placed.order is not None

        (result,) = await venue.execute([CancelOp(world.account_id, placed.order.id)])

        assert result.ok
        assert fake.orders[0].status is OrderStatus.CANCELED
        assert venue.open_orders(world.account_id) == []
        (row,) = await world.order_rows()
        assert row.status == "cancelled"
        assert venue.balances(world.account_id)["BTC"].locked == D(0)

    async def test_cancelling_an_order_the_exchange_filled_meanwhile_applies_the_fill(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.SELL, "0.01", "51000", "bot_a:1"))]
        )
        assert placed.order is not None
        fake.fill(world.client_id("bot_a:1"))

        (result,) = await venue.execute([CancelOp(world.account_id, placed.order.id)])

        assert result.ok  # an order no longer open: nothing to do (as on paper)
        filled = [e for e in world.events if isinstance(e, ev.OrderFilled)]
        assert [(e.fill.amount, e.fill.price) for e in filled] == [(D("0.01"), D(51_000))]
        assert (await world.order_rows())[0].status == "filled"


class TestRefusals:
    async def test_insufficient_funds_keeps_the_exchanges_words_and_leaves_nothing(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        op = PlaceOp(world.account_id, limit(Side.BUY, "1", "49000", "bot_a:1"))
        (result,) = await venue.execute([op])

        assert isinstance(result.error, InsufficientFunds)
        assert "Account has insufficient balance for requested action." in result.error.message
        assert venue.open_orders(world.account_id) == []
        assert await world.order_rows() == []  # never existed: the client id is free again
        fake.set_balance("USDT", 100_000)
        (again,) = await venue.execute([op])
        assert again.ok and len(fake.orders) == 1

    async def test_an_order_the_exchange_finds_invalid(
        self, venue: CcxtVenue, world: World
    ) -> None:
        op = PlaceOp(world.account_id, limit(Side.SELL, "0.01", "2000000", "bot_a:1"))
        (result,) = await venue.execute([op])

        assert isinstance(result.error, InvalidOrder)
        assert "Filter failure: PRICE_FILTER" in result.error.message

    async def test_an_unknown_order_is_not_found_in_the_exchanges_words(
        self, venue: CcxtVenue, world: World
    ) -> None:
        account = venue._account(world.account_id)

        with pytest.raises(NotFound, match="Unknown order sent"):
            await account.call(lambda: account.client.cancel_order("123", BTC))
        with pytest.raises(NotFound, match="not open"):
            await venue.cancel_order(world.account_id, "ord_unknown")


class TestPolling:
    async def test_a_resting_order_filled_in_two_parts_gives_two_fills_once_each(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.03", "49000", "bot_a:1"))]
        )
        assert placed.order is not None
        fake.fill(world.client_id("bot_a:1"), "0.01")
        await venue.sync()
        await venue.sync()
        fake.set_price(BTC, 48_900)
        await venue.sync()
        await venue.sync()

        filled = [e for e in world.events if isinstance(e, ev.OrderFilled)]
        assert [(e.fill.amount, e.fill.price, e.order.status) for e in filled] == [
            (D("0.01"), D(49_000), Status.PARTIALLY_FILLED), (D("0.02"), D(49_000), Status.FILLED),
        ]  # fmt: skip
        assert sum(e.fill.fee for e in filled) == D("0.00003")  # from the exchange's trades
        assert [(r.amount, r.price) for r in await world.fill_rows()] == [
            (D("0.01"), D(49_000)), (D("0.02"), D(49_000))
        ]  # fmt: skip
        assert venue.open_orders(world.account_id) == []

    async def test_an_order_cancelled_on_the_exchange_is_closed_and_said_so(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
        )
        account = venue._account(world.account_id)
        await account.client.cancel_order("", BTC, {"clientOrderId": world.client_id("bot_a:1")})

        await venue.sync()

        assert venue.open_orders(world.account_id) == []
        notes = [e.note for e in world.events if isinstance(e, ev.OrderReconciled)]
        assert notes == ["Order bot_a:1 was canceled on binance, not by Tradewind"]
        assert placed.order is not None and placed.order.status is Status.CANCELLED

    async def test_prices_are_polled_for_watched_symbols_and_told(
        self, venue: CcxtVenue, fake: FakeBinance
    ) -> None:
        seen: list[tuple[str, D]] = []
        venue.price_listeners.append(lambda s, path: seen.append((s, path[-1][1])))
        assert venue.mark(BTC) is None  # asked: watched from now on
        fake.set_price(BTC, "50123.45")

        await venue.refresh_prices()

        assert venue.mark(BTC) == D("50123.45")
        assert seen == [(BTC, D("50123.45"))]


class TestAmending:
    async def test_an_amend_replaces_the_order_on_the_exchange_and_keeps_its_fills(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.SELL, "0.03", "51000", "bot_a:1"))]
        )
        assert placed.order is not None
        fake.fill(world.client_id("bot_a:1"), "0.01")

        amended = await venue.amend_order(
            world.account_id, placed.order.id, price=D(51500), amount=D("0.04")
        )

        first = fake.order(world.client_id("bot_a:1"))
        second = fake.order(world.client_id("bot_a:1", 1))
        assert first.status is OrderStatus.CANCELED and first.executed_qty == D("0.01")
        assert (second.price, second.orig_qty, second.is_open) == (D(51500), D("0.03"), True)
        assert amended.id == placed.order.id and amended.client_order_id == "bot_a:1"
        assert (amended.price, amended.amount, amended.filled) == (D(51500), D("0.04"), D("0.01"))

        fake.set_price(BTC, 51_600)  # the rest fills at the new price
        await venue.sync()
        await venue.sync()
        filled = [e.fill for e in world.events if isinstance(e, ev.OrderFilled)]
        assert [(f.amount, f.price) for f in filled] == [
            (D("0.01"), D(51000)), (D("0.03"), D(51500))
        ]  # fmt: skip
        assert amended.status is Status.FILLED and venue.open_orders(world.account_id) == []
        (row,) = await world.order_rows()
        assert row.programs["venue"]["generation"] == 1


class TestReconnecting:
    async def test_after_an_outage_the_venue_reconciles_what_happened_meanwhile(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        (placed,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
        )
        polling = asyncio.create_task(venue.run(0.02))
        try:
            fake.stop()
            await until(lambda: not venue.connected)
            fake.fill(world.client_id("bot_a:1"))  # while the venue cannot see it
            fake.start()
            await until(lambda: venue.connected)
            await until(lambda: any(isinstance(e, ev.OrderFilled) for e in world.events))
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling

        notes = [e.note for e in world.events if isinstance(e, ev.OrderReconciled)]
        assert notes == [
            "Filled on binance while Tradewind was not watching: bought 0.01 BTC at 49000 "
            "(order bot_a:1)"
        ]
        assert placed.order is not None and placed.order.status is Status.FILLED
        assert len(await world.fill_rows()) == 1


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)
