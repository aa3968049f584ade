"""The venue contract for orders, run on the paper venue and on the CCXT venue (FakeBinance):
a resting order is listed as it was placed, locks what it needs, and cancelling or amending it
is seen at once; a client order id places one order per account whatever is sent again; an
account never finds another's order."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from tests.venues.contract.conftest import START, Desk
from tests.venues.contract.helpers import holdings, limit, market
from tradewind.domain import events as ev
from tradewind.domain.errors import NotFound
from tradewind.domain.orders import OrderStatus, OrderType, Side
from tradewind.venues.ops import AmendOp, CancelOp, PlaceOp

NOBODY = "acc_01NOSUCHACCOUNT000000000000"


def terms(order: object) -> tuple[object, ...]:
    return tuple(
        getattr(order, name)
        for name in ("symbol", "side", "type", "amount", "price", "client_order_id", "status")
    )


async def test_the_venue_quotes_the_price_it_was_primed_with(desk: Desk) -> None:
    quote = desk.venue.quote(desk.symbol)

    assert desk.venue.mark(desk.symbol) == quote.last == desk.price
    assert quote.bid <= quote.last <= quote.ask


class TestRestingOrders:
    async def test_a_limit_buy_below_the_price_rests_in_the_open_orders_as_placed(
        self, desk: Desk
    ) -> None:
        placed = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1")
        )

        assert placed.fills == [] and not placed.duplicate
        expected = (desk.symbol, Side.BUY, OrderType.LIMIT, D("0.01"), D(49_000), "mine-1",
                    OrderStatus.OPEN)  # fmt: skip
        assert terms(placed.order) == expected
        assert placed.order.filled == 0
        (listed,) = desk.venue.open_orders(desk.account_id)
        assert listed.id == placed.order.id and terms(listed) == expected
        assert desk.venue.open_orders(desk.account_id, desk.symbol) == [listed]
        assert desk.venue.open_orders(desk.account_id, "ETH/USDT") == []
        assert desk.venue.working_orders(desk.account_id, desk.symbol) == [listed]

    async def test_the_working_orders_are_listed_in_arrival_order(self, desk: Desk) -> None:
        """The bot engine reads them so (``EngineVenue.working_orders``): not by price or side."""
        placed = [
            (await desk.venue.place_order(desk.account_id, limit(side, "0.01", price))).order.id
            for side, price in [(Side.BUY, "48000"), (Side.SELL, "52000"), (Side.BUY, "49000"),
                                (Side.BUY, "47000"), (Side.SELL, "51000")]
        ]  # fmt: skip

        assert [o.id for o in desk.venue.working_orders(desk.account_id, desk.symbol)] == placed
        assert [o.id for o in desk.venue.open_orders(desk.account_id)] == placed

    async def test_a_resting_buy_locks_its_cost_and_cancelling_it_gives_it_back(
        self, desk: Desk
    ) -> None:
        """How much more than the cost a buy locks is the venue's own (paper also keeps its
        taker fee; Binance locks the cost alone): at least the cost, at most with the fee."""
        placed = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000"))

        usdt = desk.venue.balances(desk.account_id)["USDT"]
        cost = D(490)
        assert cost <= usdt.locked <= cost * (1 + desk.instrument.taker_fee)
        assert usdt.free == START["USDT"] - usdt.locked and usdt.total == START["USDT"]
        assert desk.venue.free_balances(desk.account_id)["USDT"] == usdt.free

        cancelled = await desk.venue.cancel_order(desk.account_id, placed.order.id)

        assert cancelled.id == placed.order.id and cancelled.status is OrderStatus.CANCELLED
        assert desk.venue.open_orders(desk.account_id) == []
        assert holdings(desk) == {a: (v, D(0)) for a, v in START.items()}

    async def test_a_resting_sell_locks_exactly_its_amount_of_the_base(self, desk: Desk) -> None:
        await desk.venue.place_order(desk.account_id, limit(Side.SELL, "0.01", "51000"))

        assert holdings(desk) == {**{a: (v, D(0)) for a, v in START.items()},
                                  "BTC": (D("0.99"), D("0.01"))}  # fmt: skip

    async def test_amending_a_resting_order_keeps_its_id_and_moves_its_terms_and_lock(
        self, desk: Desk
    ) -> None:
        placed = await desk.venue.place_order(desk.account_id, limit(Side.SELL, "0.01", "51000"))

        await desk.venue.amend_order(desk.account_id, placed.order.id, price=D(52_000))
        await desk.venue.amend_order(desk.account_id, placed.order.id, amount=D("0.02"))

        (listed,) = desk.venue.open_orders(desk.account_id)
        assert (listed.id, listed.price, listed.amount, listed.status) == (
            placed.order.id, D(52_000), D("0.02"), OrderStatus.OPEN,
        )  # fmt: skip
        assert holdings(desk)["BTC"] == (D("0.98"), D("0.02"))

    async def test_amending_a_resting_buy_above_the_price_fills_it_at_once_at_the_price(
        self, desk: Desk
    ) -> None:
        placed = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000"))

        amended = await desk.venue.amend_order(desk.account_id, placed.order.id, price=D(51_000))

        assert (amended.id, amended.status, amended.filled) == (
            placed.order.id, OrderStatus.FILLED, D("0.01"),
        )  # fmt: skip
        (filled,) = [e for e in desk.events if isinstance(e, ev.OrderFilled)]
        assert (filled.fill.amount, filled.fill.price) == (D("0.01"), desk.price)
        assert desk.venue.open_orders(desk.account_id) == []

    async def test_the_listeners_are_told_of_an_orders_acceptance_and_cancellation(
        self, desk: Desk
    ) -> None:
        """Of the order's own events (paper also tells of each balance it changed)."""
        placed = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000"))
        await desk.venue.cancel_order(desk.account_id, placed.order.id)

        told = [
            (type(e).__name__, e.order.id, e.order.status)
            for e in desk.events
            if isinstance(e, ev.OrderAccepted | ev.OrderCancelled)
        ]
        assert told == [
            ("OrderAccepted", placed.order.id, OrderStatus.OPEN),
            ("OrderCancelled", placed.order.id, OrderStatus.CANCELLED),
        ]

    async def test_an_order_cancelled_once_is_not_found_the_second_time(self, desk: Desk) -> None:
        """The terminal's cancel says so; the engine's batch takes it as done (``execute``)."""
        placed = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000"))
        await desk.venue.cancel_order(desk.account_id, placed.order.id)

        with pytest.raises(NotFound):
            await desk.venue.cancel_order(desk.account_id, placed.order.id)
        (result,) = await desk.venue.execute([CancelOp(desk.account_id, placed.order.id)])
        assert result.ok
        assert holdings(desk) == {a: (v, D(0)) for a, v in START.items()}

    async def test_an_unknown_order_is_not_found(self, desk: Desk) -> None:
        with pytest.raises(NotFound):
            await desk.venue.cancel_order(desk.account_id, "ord_01NOSUCHORDER0000000000000")
        with pytest.raises(NotFound):
            await desk.venue.amend_order(
                desk.account_id, "ord_01NOSUCHORDER0000000000000", price=D(48_000)
            )


class TestClientOrderIds:
    async def test_the_same_client_order_id_again_returns_the_first_order_and_places_nothing(
        self, desk: Desk
    ) -> None:
        """Whatever the second request says: the id names the order, not its terms."""
        first = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1")
        )
        before = holdings(desk)

        again = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.02", "48000", "mine-1")
        )

        assert again.duplicate and again.fills == []
        assert again.order.id == first.order.id and terms(again.order) == terms(first.order)
        assert [o.id for o in desk.venue.open_orders(desk.account_id)] == [first.order.id]
        assert holdings(desk) == before

    async def test_the_same_client_order_id_after_its_order_ended_still_returns_that_order(
        self, desk: Desk
    ) -> None:
        first = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1")
        )
        await desk.venue.cancel_order(desk.account_id, first.order.id)

        again = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1")
        )

        assert again.duplicate
        assert (again.order.id, again.order.status) == (first.order.id, OrderStatus.CANCELLED)
        assert desk.venue.open_orders(desk.account_id) == []
        assert holdings(desk) == {a: (v, D(0)) for a, v in START.items()}

    async def test_one_client_order_id_placed_twice_at_once_makes_one_order(
        self, desk: Desk
    ) -> None:
        request = limit(Side.BUY, "0.01", "49000", "mine-1")

        one, two = await asyncio.gather(
            desk.venue.place_order(desk.account_id, request),
            desk.venue.place_order(desk.account_id, request),
        )

        assert one.order.id == two.order.id and [one.duplicate, two.duplicate].count(True) == 1
        assert [o.id for o in desk.venue.open_orders(desk.account_id)] == [one.order.id]

    async def test_one_client_order_id_twice_in_one_batch_places_one_order(
        self, desk: Desk
    ) -> None:
        """``execute``: placements are idempotent on their client order id, within a batch too
        (the second is the first's duplicate, as on the exchange)."""
        op = PlaceOp(desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1"))

        first, second = await desk.venue.execute([op, op])

        assert first.ok and second.ok and second.duplicate
        assert first.order is not None and second.order is not None
        assert second.order.id == first.order.id
        assert [o.id for o in desk.venue.open_orders(desk.account_id)] == [first.order.id]

    async def test_two_accounts_each_place_their_own_order_under_one_client_order_id(
        self, desk: Desk
    ) -> None:
        """Client ids are chosen by users and bots: they are unique per account only."""
        other = await desk.new_account()

        mine = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1")
        )
        theirs = await desk.venue.place_order(other, limit(Side.SELL, "0.02", "51000", "mine-1"))

        assert not mine.duplicate and not theirs.duplicate
        assert mine.order.id != theirs.order.id
        assert [o.id for o in desk.venue.open_orders(desk.account_id)] == [mine.order.id]
        assert [(o.id, o.side) for o in desk.venue.open_orders(other)] == [
            (theirs.order.id, Side.SELL)
        ]


class TestAccounts:
    async def test_another_accounts_order_is_not_found_and_stays_as_it_was(
        self, desk: Desk
    ) -> None:
        """Not found, as an order that does not exist: neither changed nor shown to them."""
        other = await desk.new_account()
        placed = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000"))
        before = holdings(desk)

        with pytest.raises(NotFound):
            await desk.venue.cancel_order(other, placed.order.id)
        with pytest.raises(NotFound):
            await desk.venue.amend_order(other, placed.order.id, price=D(48_000))
        cancelled, amended = await desk.venue.execute(
            [CancelOp(other, placed.order.id), AmendOp(other, placed.order.id, price=D(48_000))]
        )

        assert cancelled.ok and cancelled.order is None  # done: nothing of theirs by that id
        assert isinstance(amended.error, NotFound) and amended.order is None
        assert desk.venue.open_orders(other) == []
        (listed,) = desk.venue.open_orders(desk.account_id)
        assert (listed.id, listed.price, listed.status) == (
            placed.order.id, D(49_000), OrderStatus.OPEN,
        )  # fmt: skip
        assert holdings(desk) == before

    async def test_an_unknown_account_is_not_found(self, desk: Desk) -> None:
        with pytest.raises(NotFound):
            desk.venue.balances(NOBODY)
        with pytest.raises(NotFound):
            desk.venue.open_orders(NOBODY)
        with pytest.raises(NotFound):
            await desk.venue.place_order(NOBODY, limit(Side.BUY, "0.01", "49000"))

    async def test_an_operation_of_an_unknown_account_is_refused_alone_in_its_batch(
        self, desk: Desk
    ) -> None:
        """``execute``: each operation succeeds or is refused on its own. The bot engine runs
        every bot's operations in one batch, so one bot on an account gone from the venue must
        not undo the others'."""

        mine, theirs = await desk.venue.execute([
            PlaceOp(desk.account_id, limit(Side.BUY, "0.01", "49000")),
            PlaceOp(NOBODY, limit(Side.BUY, "0.01", "49000")),
        ])  # fmt: skip

        assert mine.ok and mine.order is not None
        assert isinstance(theirs.error, NotFound)
        assert [o.id for o in desk.venue.open_orders(desk.account_id)] == [mine.order.id]


class TestRestarts:
    async def test_a_restarted_venue_has_the_same_open_orders_and_balances(
        self, desk: Desk
    ) -> None:
        """A new venue on the same store (and exchange), loaded as at start-up, goes on where
        the first left off: what rests, what is held, and the client ids already used."""
        resting = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1")
        )
        await desk.venue.place_order(desk.account_id, limit(Side.SELL, "0.02", "51000", "mine-2"))
        await desk.venue.place_order(desk.account_id, market(Side.BUY, "0.03"))
        orders = [(o.id, terms(o)) for o in desk.venue.open_orders(desk.account_id)]
        held = holdings(desk)

        await desk.restart()

        assert [(o.id, terms(o)) for o in desk.venue.open_orders(desk.account_id)] == orders
        assert holdings(desk) == held
        again = await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "0.01", "49000", "mine-1")
        )
        assert again.duplicate and again.order.id == resting.order.id
        await desk.venue.cancel_order(desk.account_id, resting.order.id)
        assert holdings(desk)["USDT"][1] == 0
