"""The venue contract for requests a venue refuses, run on the paper venue and on the CCXT venue
(FakeBinance): a bad request names its field with the same words on both, a symbol the venue
does not trade is not found, more than the account holds is insufficient funds, and a refusal
changes nothing (balances, open orders, nothing told to the listeners). A price off the tick is
not refused: both round it to the nearest tick."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.venues.contract.conftest import Desk
from tests.venues.contract.helpers import limit, market, state
from tradewind.domain.errors import InsufficientFunds, NotFound
from tradewind.domain.instruments import InvalidOrder
from tradewind.domain.orders import OrderType, Side
from tradewind.venues.ops import OrderRequest


def buy(amount: str, price: str | None, kind: OrderType = OrderType.LIMIT) -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT", side=Side.BUY, type=kind, amount=D(amount),
        price=None if price is None else D(price),
    )  # fmt: skip


BAD = {
    "zero amount": (buy("0", "49000"), "amount", "amount must be positive"),
    "negative amount": (buy("-0.01", "49000"), "amount", "amount must be positive"),
    "amount off the step": (
        buy("0.000015", "49000"), "amount", "amount 0.000015 is not a multiple of the step 0.00001",
    ),
    "under the minimum order value": (
        buy("0.0001", "49000"), "amount", "order value 4.9000000 USDT is below the minimum 5 USDT",
    ),
    "limit without a price": (buy("0.01", None), "price", "a limit order needs a price"),
    "zero price": (buy("0.01", "0"), "price", "price must be positive"),
    "market with a price": (
        buy("0.01", "50000", OrderType.MARKET), "price", "a market order takes no price",
    ),
}  # fmt: skip


async def test_a_bad_request_is_refused_naming_its_field_and_changes_nothing(
    desk: Desk,
) -> None:
    """One test over the table (not one per row: each row would cost a venue's start-up)."""
    before, told = state(desk), len(desk.events)
    for case, (request, field, message) in BAD.items():
        with pytest.raises(InvalidOrder) as refused:
            await desk.venue.place_order(desk.account_id, request)

        assert (refused.value.field, refused.value.message) == (field, message), case
        assert refused.value.details == [{"field": field, "message": message}], case
        assert state(desk) == before and len(desk.events) == told, case


async def test_a_symbol_the_venue_does_not_trade_is_not_found_and_changes_nothing(
    desk: Desk,
) -> None:
    before, told = state(desk), len(desk.events)

    with pytest.raises(NotFound, match="DOGE/USDT"):
        await desk.venue.place_order(
            desk.account_id, limit(Side.BUY, "100", "0.1", symbol="DOGE/USDT")
        )
    with pytest.raises(NotFound, match="DOGE/USDT"):
        await desk.venue.prime_price("DOGE/USDT")

    assert state(desk) == before and len(desk.events) == told


async def test_a_price_off_the_tick_is_rounded_to_the_nearest_tick(desk: Desk) -> None:
    """Half-even on a tie (``Instrument.round_price``); the exchange gets the rounded price."""
    up = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000.015"))
    even = await desk.venue.place_order(desk.account_id, limit(Side.BUY, "0.01", "49000.005"))

    assert (up.order.price, even.order.price) == (D("49000.02"), D("49000.00"))
    listed = {o.id: o.price for o in desk.venue.open_orders(desk.account_id)}
    assert listed == {up.order.id: D("49000.02"), even.order.id: D("49000.00")}


TOO_MUCH = {
    "a buy costing more than the quote held": limit(Side.BUY, "1", "49000"),
    "a sell of more than held": limit(Side.SELL, "2", "51000"),
    "a market buy costing more than the quote held": market(Side.BUY, "1"),
    "a market sell of more than held": market(Side.SELL, "2"),
}


async def test_more_than_the_account_holds_is_insufficient_funds_and_changes_nothing(
    desk: Desk,
) -> None:
    before = state(desk)
    for case, request in TOO_MUCH.items():
        with pytest.raises(InsufficientFunds):
            await desk.venue.place_order(desk.account_id, request)

        assert state(desk) == before, case


class TestAmends:
    @pytest.mark.parametrize(
        ("amount", "refusal"),
        [(D("0.00001"), InvalidOrder), (D(2), InsufficientFunds)],
        ids=["value under the minimum", "more than held"],
    )
    async def test_an_amend_refused_for_its_new_amount_leaves_the_order_as_it_was(
        self, desk: Desk, amount: D, refusal: type[Exception]
    ) -> None:
        """An amend is checked as a placement would be; refused, the order rests unchanged
        (on an exchange it is refused before the order is cancelled there to be replaced)."""
        placed = await desk.venue.place_order(desk.account_id, limit(Side.SELL, "0.01", "51000"))
        before = state(desk)

        with pytest.raises(refusal):
            await desk.venue.amend_order(desk.account_id, placed.order.id, amount=amount)

        assert state(desk) == before
        (listed,) = desk.venue.open_orders(desk.account_id)
        assert (listed.amount, listed.price) == (D("0.01"), D(51_000))


class TestTheTerminalsTrade:
    async def test_checking_a_trade_says_what_it_needs_and_changes_nothing(
        self, desk: Desk
    ) -> None:
        before = state(desk)

        check = await desk.venue.check_trade(desk.account_id, desk.symbol, Side.BUY, D("0.02"))

        assert check.valid and check.error is None and check.price == desk.price
        assert check.required_margin == D(1000) * (1 + desk.instrument.taker_fee)
        assert check.free_margin == D(10_000)
        assert state(desk) == before

    async def test_checking_a_trade_too_large_says_so_and_changes_nothing(self, desk: Desk) -> None:
        before = state(desk)

        check = await desk.venue.check_trade(desk.account_id, desk.symbol, Side.BUY, D(1))

        assert not check.valid and check.error == "Insufficient funds"
        assert state(desk) == before

    async def test_a_trade_with_a_stop_on_the_wrong_side_is_refused_naming_it(
        self, desk: Desk
    ) -> None:
        before = state(desk)
        for stops, field in (({"stop_loss": D(51_000)}, "sl"), ({"take_profit": D(49_000)}, "tp")):
            check = await desk.venue.check_trade(
                desk.account_id, desk.symbol, Side.BUY, D("0.02"), **stops
            )
            with pytest.raises(InvalidOrder) as refused:
                await desk.venue.trade(desk.account_id, desk.symbol, Side.BUY, D("0.02"), **stops)

            assert refused.value.field == field
            assert "on the wrong side of 50000" in refused.value.message
            assert not check.valid and check.error == refused.value.message
            assert state(desk) == before, field
