"""The same exchange keys added twice (two Tradewind accounts, here of two users, on one
exchange account): bots and users choose their client order ids, so both accounts may place an
order named ``bot_a:1``. Each must get its own exchange order, and find only its own again."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import update
from structlog.testing import capture_logs

from tests.fakes.binance import FakeBinance, OrderStatus
from tests.venues.ccxt.world import BTC, World
from tradewind.domain import events as ev
from tradewind.domain.errors import VenueUnavailable
from tradewind.domain.orders import Order, OrderType, Side
from tradewind.store.tables import OrderRow
from tradewind.venues.ccxt import venue as venue_module
from tradewind.venues.ccxt.client_ids import legacy_client_id
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.ops import OrderRequest, PlaceOp


def limit(side: Side, amount: str, price: str, name: str) -> OrderRequest:
    return OrderRequest(
        symbol=BTC, side=side, type=OrderType.LIMIT, amount=D(amount), price=D(price),
        client_order_id=name,
    )  # fmt: skip


class TestTwoAccountsOnTheSameKeys:
    async def test_the_same_client_order_id_places_two_orders_each_filled_apart(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        other = await world.add_account()
        await venue.add_account(other, world.client())

        (mine,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
        )
        (theirs,) = await venue.execute(
            [PlaceOp(other, limit(Side.SELL, "0.02", "51000", "bot_a:1"))]
        )

        assert mine.ok and theirs.ok and mine.order and theirs.order
        my_ids, their_ids = venue.exchange_ids(mine.order), venue.exchange_ids(theirs.order)
        assert len(fake.orders) == 2, "the second account adopted the first one's order"
        assert my_ids[0] != their_ids[0] and my_ids[1] != their_ids[1]
        on_exchange = fake.order(int(their_ids[1] or 0))
        assert (on_exchange.side.value, on_exchange.price, on_exchange.orig_qty) == (
            "SELL", D(51000), D("0.02"),
        )  # fmt: skip

        fake.fill(int(my_ids[1] or 0))
        await venue.sync()

        filled = [e.order.id for e in world.events if isinstance(e, ev.OrderFilled)]
        assert filled == [mine.order.id]
        assert venue.open_orders(world.account_id) == []
        assert venue.open_orders(other) == [theirs.order]

    async def test_an_order_that_never_arrived_is_not_taken_for_the_other_accounts(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        """Reconciliation looks a placement written here up by its client id before sending
        it: it must not find the other account's order of the same name."""
        other = await world.add_account()
        await venue.add_account(other, world.client())
        (mine,) = await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
        )
        fake.server_error(100, status=503)
        (theirs,) = await venue.execute(
            [PlaceOp(other, limit(Side.SELL, "0.02", "51000", "bot_a:1"))]
        )
        assert mine.ok and mine.order and isinstance(theirs.error, VenueUnavailable)
        fake.clear_faults()
        await venue.close()

        restarted = await world.venue()
        try:
            await restarted.add_account(other, world.client())
            await restarted.load()
            await restarted.reconcile()

            notes = [e.note for e in world.events if isinstance(e, ev.OrderReconciled)]
            assert notes == ["Order bot_a:1 had not reached binance: placed now"]
            assert len(fake.orders) == 2
            (here,) = restarted.open_orders(other)
            their_ids = restarted.exchange_ids(here)
            assert their_ids[0] != restarted.exchange_ids(mine.order)[0]
            on_exchange = fake.order(int(their_ids[1] or 0))
            assert (on_exchange.side.value, on_exchange.orig_qty) == ("SELL", D("0.02"))
        finally:
            await restarted.close()

    async def test_reconciling_does_not_call_the_other_accounts_orders_unknown(
        self, venue: CcxtVenue, world: World
    ) -> None:
        other = await world.add_account()
        await venue.add_account(other, world.client())
        await venue.execute(
            [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
        )
        await venue.execute([PlaceOp(other, limit(Side.SELL, "0.02", "51000", "bot_a:1"))])

        with capture_logs() as logs:
            await venue.reconcile()

        assert [e for e in logs if e["log_level"] == "warning"] == []


def _as_before(order: Order, generation: int = 0) -> str:
    """The client id the version before this one sent an order under (its name alone)."""
    return legacy_client_id(order.client_order_id or order.id, generation)


class TestOrdersSentBefore:
    """Orders an earlier version sent under the id derived from the name alone are found by the
    id stored with them: not placed again, their fills applied once."""

    async def test_are_found_by_their_stored_id_after_the_upgrade(
        self, venue: CcxtVenue, world: World, fake: FakeBinance, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with monkeypatch.context() as before:
            before.setattr(venue_module, "_client_id", _as_before)
            (placed,) = await venue.execute(
                [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
            )
        assert placed.ok and fake.orders[0].client_order_id == legacy_client_id("bot_a:1")
        await venue.close()
        fake.clear_requests()

        upgraded = await world.venue()
        other = await world.add_account()
        await upgraded.add_account(other, world.client())
        await upgraded.load()
        try:
            await upgraded.reconcile()
            assert fake.requests_to("POST", "/api/v3/order") == []  # found: not sent again
            (here,) = upgraded.open_orders(world.account_id)
            assert upgraded.exchange_ids(here) == (
                legacy_client_id("bot_a:1"), str(fake.orders[0].order_id)
            )  # fmt: skip
            # the other account's order of the same name gets an id of its own
            (theirs,) = await upgraded.execute(
                [PlaceOp(other, limit(Side.SELL, "0.02", "51000", "bot_a:1"))]
            )
            assert theirs.ok and len(fake.orders) == 2

            fake.fill(legacy_client_id("bot_a:1"))
            await upgraded.sync()
            await upgraded.sync()

            filled = [e for e in world.events if isinstance(e, ev.OrderFilled)]
            assert [(e.order.id, e.fill.amount) for e in filled] == [(here.id, D("0.01"))]
            assert upgraded.open_orders(world.account_id) == []
            assert len(upgraded.open_orders(other)) == 1
            notes = [e.note for e in world.events if isinstance(e, ev.OrderReconciled)]
            assert notes == []
        finally:
            await upgraded.close()

    async def test_an_amend_after_the_upgrade_cancels_the_old_id_and_places_a_new_one(
        self, venue: CcxtVenue, world: World, fake: FakeBinance, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with monkeypatch.context() as before:
            before.setattr(venue_module, "_client_id", _as_before)
            (placed,) = await venue.execute(
                [PlaceOp(world.account_id, limit(Side.SELL, "0.03", "51000", "bot_a:1"))]
            )
        assert placed.order is not None
        await venue.close()
        upgraded = await world.venue()
        await upgraded.load()
        try:
            await upgraded.reconcile()
            await upgraded.amend_order(world.account_id, placed.order.id, price=D(51500))

            first = fake.order(legacy_client_id("bot_a:1"))
            second = fake.order(world.client_id("bot_a:1", 1))
            assert first.status is OrderStatus.CANCELED
            assert (second.price, second.orig_qty, second.is_open) == (D(51500), D("0.03"), True)
            assert len(fake.orders) == 2
            (row,) = await world.order_rows()
            assert row.programs["venue"]["client_id"] == world.client_id("bot_a:1", 1)
        finally:
            await upgraded.close()

    async def test_one_stored_without_its_id_is_looked_up_by_the_names_id(
        self, venue: CcxtVenue, world: World, fake: FakeBinance, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An open order whose row has no venue record was written by a version that derived
        the id from the name alone: that id is the one to look it up by."""
        with monkeypatch.context() as before:
            before.setattr(venue_module, "_client_id", _as_before)
            await venue.execute(
                [PlaceOp(world.account_id, limit(Side.BUY, "0.01", "49000", "bot_a:1"))]
            )
        await venue.close()
        (row,) = await world.order_rows()
        programs = {k: v for k, v in row.programs.items() if k != "venue"}
        async with world.engine.begin() as conn:
            await conn.execute(
                update(OrderRow).where(OrderRow.id == row.id).values(programs=programs)
            )
        fake.clear_requests()

        upgraded = await world.venue()
        await upgraded.load()
        try:
            await upgraded.reconcile()

            assert fake.requests_to("POST", "/api/v3/order") == []
            assert len(fake.orders) == 1
            (here,) = upgraded.open_orders(world.account_id)
            assert upgraded.exchange_ids(here) == (
                legacy_client_id("bot_a:1"), str(fake.orders[0].order_id)
            )  # fmt: skip
        finally:
            await upgraded.close()
