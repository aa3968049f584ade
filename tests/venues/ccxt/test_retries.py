"""Placements through a faulty exchange: an answer lost after the order was accepted, a request
timed out, 5xx and 429s. Each intended order ends on the exchange exactly once."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.fakes.binance import FakeBinance, ccxt_binance
from tests.venues.ccxt.world import BTC, World
from tradewind.domain.errors import RateLimited, VenueUnavailable
from tradewind.domain.orders import OrderType, Side
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.ops import OrderRequest, PlaceOp

CREATE = ("POST", "/api/v3/order")
LOOKUP = ("GET", "/api/v3/order")


def place(account_id: str, name: str, price: str = "49000") -> PlaceOp:
    return PlaceOp(account_id, OrderRequest(
        symbol=BTC, side=Side.BUY, type=OrderType.LIMIT, amount=D("0.01"), price=D(price),
        client_order_id=name,
    ))  # fmt: skip


async def assert_placed_once(venue: CcxtVenue, world: World, fake: FakeBinance, name: str) -> None:
    (on_exchange,) = [o for o in fake.orders if o.client_order_id == world.client_id(name)]
    (here,) = venue.open_orders(world.account_id)
    assert venue.exchange_ids(here) == (on_exchange.client_order_id, str(on_exchange.order_id))
    (row,) = await world.order_rows()
    assert row.programs["venue"]["order_id"] == str(on_exchange.order_id)


class TestAnAnswerLost:
    async def test_sent_by_a_process_that_stopped_is_adopted_not_refused(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        """A resumed bot re-runs a placement still pending in the store, which the stopped
        process had sent: the exchange calls it a duplicate, and the venue takes it as the
        same order."""
        earlier = ccxt_binance(fake)
        try:
            await earlier.create_order(BTC, "limit", "buy", 0.01, 49000,
                                       {"clientOrderId": world.client_id("bot_a:1")})  # fmt: skip
        finally:
            await earlier.close()

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert result.ok, result.error
        assert len(fake.requests_to(*CREATE)) == 2  # the earlier one, and the refused resend
        assert len(fake.orders) == 1
        await assert_placed_once(venue, world, fake, "bot_a:1")

    async def test_accepted_then_the_connection_dropped_places_one_order(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        fake.lose_answer(1, method="POST", path="/api/v3/order")

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert result.ok
        assert len(fake.requests_to(*CREATE)) == 1  # looked up, found, not sent again
        assert len(fake.requests_to(*LOOKUP)) == 1
        assert len(fake.orders) == 1
        await assert_placed_once(venue, world, fake, "bot_a:1")

    async def test_accepted_then_timed_out_places_one_order(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        fake.timeout(1, executed=True, seconds=3, method="POST", path="/api/v3/order")

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert result.ok
        assert len(fake.requests_to(*CREATE)) == 1
        assert len(fake.orders) == 1
        await assert_placed_once(venue, world, fake, "bot_a:1")

    async def test_timed_out_before_it_was_accepted_is_sent_again_once(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        fake.timeout(1, executed=False, seconds=3, method="POST", path="/api/v3/order")

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert result.ok
        assert len(fake.requests_to(*CREATE)) == 2  # the lookup said it was not there
        assert len(fake.orders) == 1
        await assert_placed_once(venue, world, fake, "bot_a:1")

    async def test_server_errors_are_tried_again(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        fake.server_error(2, status=503, method="POST", path="/api/v3/order")

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert result.ok
        assert len(fake.requests_to(*CREATE)) == 3
        assert len(fake.orders) == 1

    async def test_an_exchange_down_for_good_leaves_the_order_to_the_next_poll(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        fake.server_error(100, status=503)

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert isinstance(result.error, VenueUnavailable)
        assert fake.orders == []
        (row,) = await world.order_rows()  # written before it was sent: not forgotten
        assert row.programs["venue"]["order_id"] is None
        fake.clear_faults()
        await venue.reconcile()  # the lookup says it never arrived: sent now, once
        assert len(fake.orders) == 1
        await assert_placed_once(venue, world, fake, "bot_a:1")
        await venue.sync()
        assert len(fake.orders) == 1


class TestRateLimits:
    async def test_a_429_storm_waits_as_asked_and_loses_nothing(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        fake.rate_limit(5, retry_after=2, method="POST", path="/api/v3/order")

        results = await venue.execute(
            [place(world.account_id, f"bot_a:{n}", str(49000 - n)) for n in range(1, 4)]
        )

        assert all(r.ok for r in results)
        assert world.sleeps.waits == [2.0] * 5  # the exchange's Retry-After, each time
        assert len(fake.requests_to(*CREATE)) == 3 + 5
        assert sorted(o.client_order_id for o in fake.orders) == sorted(
            world.client_id(f"bot_a:{n}") for n in range(1, 4)
        )
        assert len(await world.order_rows()) == 3

    async def test_reads_are_tried_again_too(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        venue.watch(BTC)
        fake.rate_limit(2, retry_after=1, path="/api/v3/ticker/24hr")
        fake.set_price(BTC, 50_500)

        await venue.refresh_prices()

        assert venue.mark(BTC) == D(50_500)
        assert world.sleeps.waits == [1.0, 1.0]

    @pytest.mark.parametrize("n", [8])
    async def test_out_of_tries_the_rate_limit_is_the_error(
        self, venue: CcxtVenue, world: World, fake: FakeBinance, n: int
    ) -> None:
        fake.rate_limit(n, retry_after=0, method="POST", path="/api/v3/order")

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert result.error is not None and result.error.code == "rate_limited"
        assert fake.orders == []

    async def test_out_of_tries_the_error_carries_the_exchanges_retry_after(
        self, venue: CcxtVenue, world: World, fake: FakeBinance
    ) -> None:
        fake.rate_limit(8, retry_after=7, method="POST", path="/api/v3/order")

        (result,) = await venue.execute([place(world.account_id, "bot_a:1")])

        assert isinstance(result.error, RateLimited) and result.error.retry_after == 7.0
