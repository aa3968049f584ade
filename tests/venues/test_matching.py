"""The matching engine's fill model: order types, prices, fees, paths, refusals, determinism."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tradewind.domain import events as ev
from tradewind.domain.errors import InsufficientFunds, NotFound
from tradewind.domain.orders import (
    Bracket,
    Fill,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    PositionMode,
    Rearm,
    Side,
    Trailing,
)
from tradewind.venues.matching import MatchingEngine
from tradewind.venues.paper.ledger import PaperLedger

from .conftest import CFD, INSTRUMENTS, PERP, SPOT, T0, Sim, fills, kinds, of

BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP, STOP_LIMIT = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
)


class CountingBook:
    """An AccountBook that counts the calls it passes on to the ledger."""

    def __init__(self, ledger: PaperLedger) -> None:
        self.ledger = ledger
        self.calls: list[str] = []

    def reserve(self, order: Order, reference_price: D) -> list[ev.Event]:
        self.calls.append("reserve")
        return self.ledger.reserve(order, reference_price)

    def release(self, order: Order) -> list[ev.Event]:
        self.calls.append("release")
        return self.ledger.release(order)

    def settle(self, order: Order, fill: Fill) -> tuple[Fill, list[ev.Event]]:
        self.calls.append("settle")
        return self.ledger.settle(order, fill)

    def reducible(self, order: Order) -> D:
        self.calls.append("reducible")
        return self.ledger.reducible(order)


class TestMarketOrders:
    def test_spot_buy_fills_at_the_ask_as_taker_and_moves_both_assets_exactly(
        self, sim: Sim
    ) -> None:
        acc = sim.account(USDT=10000)
        events = sim.submit(sim.order(acc, SPOT, BUY, MARKET, "0.1"), "50000", half_spread="0.5")
        (fill,) = fills(events)
        assert (fill.price, fill.liquidity, fill.fee, fill.fee_asset) == (
            D("50000.50"), Liquidity.TAKER, D("5.00005"), "USDT",
        )  # fmt: skip
        assert sim.total(acc, "USDT") == D("10000") - D("5000.05") - D("5.00005")
        assert sim.total(acc, "BTC") == D("0.1")
        assert sim.ledger.balances(acc)["USDT"].locked == 0
        assert kinds(events) == ["OrderFilled", "BalanceChanged", "BalanceChanged"]

    @pytest.mark.parametrize(("side", "expected"), [(BUY, D("50050.38")), (SELL, D("49950.36"))])
    def test_slippage_worsens_the_price_and_rounds_against_the_taker(
        self, side: Side, expected: D
    ) -> None:
        sim = Sim(slippage=D("0.001"))
        acc = sim.account(USDT=100000, BTC=1)
        # 50000.37 * 1.001 = 50050.37037 -> up to 50050.38; * 0.999 = 49950.36963 -> down to 49950.36
        (fill,) = fills(sim.submit(sim.order(acc, SPOT, side, MARKET, "0.01"), "50000.37"))
        assert fill.price == expected

    def test_cfd_buy_pays_the_spread(self, sim: Sim) -> None:
        acc = sim.account(currency="USD", leverage=D(100), USD=10000)
        (fill,) = fills(sim.submit(sim.order(acc, CFD, BUY, MARKET, "1"), "1.10000"))
        assert fill.price == D("1.10005") and fill.fee == 0
        (position,) = sim.ledger.positions(acc)
        assert position.margin == D("1100.05")  # 1 lot * 100000 * 1.10005 / 100


class TestLimitOrders:
    def test_a_resting_limit_fills_at_its_price_as_maker_when_the_path_crosses_it(
        self, sim: Sim
    ) -> None:
        acc = sim.account(USDT=10000)
        order = sim.order(acc, PERP, BUY, LIMIT, "0.1", price="49000")
        assert kinds(sim.submit(order, "50000")) == ["OrderAccepted", "BalanceChanged"]
        assert order.reserved == D("492.45")  # 4900 / 10 margin + 2.45 taker fee estimate
        events = sim.walk(PERP, 50000, 48000)
        (fill,) = fills(events)
        assert (fill.price, fill.liquidity, fill.fee) == (D("49000"), Liquidity.MAKER, D("0.98"))
        assert fill.ts_ms == T0 + 500  # halfway along the segment
        assert sim.total(acc, "USDT") == D("9999.02")
        assert sim.ledger.balances(acc)["USDT"].locked == D("490")  # the position's margin
        assert order.status is OrderStatus.FILLED and order.reserved == 0

    @pytest.mark.parametrize(
        ("side", "limit", "expected"),
        [(BUY, "51000", D("50000.50")), (SELL, "49000", D("49999.50"))],
    )
    def test_a_marketable_limit_takes_at_the_quote_not_at_its_limit(
        self, sim: Sim, side: Side, limit: str, expected: D
    ) -> None:
        acc = sim.account(USDT=100000, BTC=1)
        events = sim.submit(
            sim.order(acc, SPOT, side, LIMIT, "0.01", price=limit), "50000", half_spread="0.5"
        )
        (fill,) = fills(events)
        assert (fill.price, fill.liquidity) == (expected, Liquidity.TAKER)
        assert of(ev.OrderAccepted, events) == []

    def test_orders_crossed_on_one_segment_fill_in_price_order(self, sim: Sim) -> None:
        acc = sim.account(BTC=1)
        for price in ("50300", "50100", "50200"):
            sim.submit(sim.order(acc, SPOT, SELL, LIMIT, "0.1", price=price), "50000")
        done = fills(sim.walk(SPOT, 50000, 50400))
        assert [(f.price, f.ts_ms - T0) for f in done] == [
            (D("50100"), 250), (D("50200"), 500), (D("50300"), 750),
        ]  # fmt: skip

    def test_equal_prices_fill_in_arrival_order(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        first = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        second = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        sim.submit(first, "50000")
        sim.submit(second, "50000")
        assert [f.order_id for f in fills(sim.walk(SPOT, 50000, 48000))] == [first.id, second.id]

    def test_a_gap_fills_a_resting_limit_at_its_own_price(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        sim.submit(sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000"), "50000")
        (fill,) = fills(sim.walk(SPOT, 47000, 47500))
        assert (fill.price, fill.liquidity) == (D("49000"), Liquidity.MAKER)


class TestStops:
    def test_a_buy_stop_triggers_at_the_ask_and_fills_as_taker_with_slippage(self) -> None:
        sim = Sim(slippage=D("0.0001"))
        acc = sim.account(USDT=10000)
        sim.submit(sim.order(acc, PERP, BUY, STOP, "0.01", stop="51000"), "50000")
        events = sim.walk(PERP, 50000, 52000)
        assert kinds(events)[:2] == ["OrderTriggered", "OrderFilled"]
        (fill,) = fills(events)
        # 51000 * 1.0001 = 51005.1; taker fee 0.01 * 51005.1 * 0.0005
        assert (fill.price, fill.fee, fill.ts_ms) == (D("51005.1"), D("0.2550255"), T0 + 500)

    def test_a_stop_the_market_gapped_through_fills_at_the_gap_price(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        sim.submit(sim.order(acc, PERP, SELL, STOP, "0.01", stop="49000"), "50000")
        (fill,) = fills(sim.walk(PERP, 47000, 46000))
        assert fill.price == D("47000") and fill.ts_ms == T0

    def test_a_stop_already_reached_on_arrival_triggers_at_once(self, sim: Sim) -> None:
        acc = sim.account(BTC=1)
        events = sim.submit(sim.order(acc, SPOT, SELL, STOP, "0.1", stop="50500"), "50000")
        assert kinds(events)[:2] == ["OrderTriggered", "OrderFilled"]
        assert fills(events)[0].price == D("50000")

    def test_a_stop_limit_below_its_trigger_rests_as_a_limit_and_fills_later_in_the_walk(
        self, sim: Sim
    ) -> None:
        acc = sim.account(USDT=10000)
        order = sim.order(acc, PERP, BUY, STOP_LIMIT, "0.01", price="50900", stop="51000")
        sim.submit(order, "50000")
        events = sim.walk(PERP, 50000, 52000, 50800)
        assert kinds(events)[0] == "OrderTriggered"
        (fill,) = fills(events)
        assert (fill.price, fill.liquidity) == (D("50900"), Liquidity.MAKER)
        assert fill.ts_ms > T0 + 1000  # on the way back down

    def test_a_stop_limit_above_its_trigger_takes_when_it_triggers(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        sim.submit(
            sim.order(acc, PERP, BUY, STOP_LIMIT, "0.01", price="51100", stop="51000"), "50000"
        )
        (fill,) = fills(sim.walk(PERP, 50000, 52000))
        assert (fill.price, fill.liquidity) == (D("51000"), Liquidity.TAKER)

    def test_a_spot_stop_filled_past_its_reservation_pays_the_rest_from_free_funds(
        self, sim: Sim
    ) -> None:
        acc = sim.account(USDT=1000)
        sim.submit(sim.order(acc, SPOT, BUY, STOP, "0.01", stop="51000"), "50000")
        (fill,) = fills(sim.walk(SPOT, 52000, 52001))
        assert fill.price == D("52000")
        assert sim.total(acc, "USDT") == D("1000") - D("520") - D("0.52")
        assert sim.ledger.balances(acc)["USDT"].locked == 0

    def test_a_stop_fill_the_account_cannot_pay_cancels_the_order(self, sim: Sim) -> None:
        acc = sim.account(USDT="510.51")  # exactly the reservation at the stop price
        order = sim.order(acc, SPOT, BUY, STOP, "0.01", stop="51000")
        sim.submit(order, "50000")
        events = sim.walk(SPOT, 52000, 52001)
        assert kinds(events)[:2] == ["OrderTriggered", "OrderCancelled"]
        assert order.status is OrderStatus.CANCELLED and order.reason == "Insufficient funds"
        assert sim.free(acc, "USDT") == D("510.51") and sim.total(acc, "BTC") == 0


class TestRefusals:
    def test_spot_insufficient_funds_raises_and_changes_nothing(self, sim: Sim) -> None:
        acc = sim.account(USDT=100)
        order = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="50000")
        with pytest.raises(InsufficientFunds, match=r"^Insufficient funds$"):
            sim.submit(order, "50000")
        assert order.status is OrderStatus.REJECTED and order.reason == "Insufficient funds"
        assert order.reserved == 0 and sim.events == [] and sim.engine.open_orders() == []
        assert sim.ledger.balances(acc)["USDT"].free == 100

    def test_derivative_insufficient_margin_raises_and_changes_nothing(self, sim: Sim) -> None:
        acc = sim.account(USDT=100)
        order = sim.order(acc, PERP, BUY, MARKET, "0.1")
        with pytest.raises(InsufficientFunds, match=r"^Insufficient margin$"):
            sim.submit(order, "50000")
        assert order.status is OrderStatus.REJECTED and sim.events == []
        assert sim.ledger.balances(acc)["USDT"].free == 100 and sim.ledger.positions(acc) == []


class TestCancelAmendRestore:
    def test_cancel_frees_the_reservation(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        order = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        sim.submit(order, "50000")
        assert sim.ledger.balances(acc)["USDT"].locked == D("490.49")
        events = sim.engine.cancel(order.id, T0 + 1)
        assert kinds(events) == ["OrderCancelled", "BalanceChanged"]
        assert (
            events[0].order.status is OrderStatus.CANCELLED
            and events[0].reason == "cancelled by user"
        )
        assert sim.ledger.balances(acc)["USDT"].locked == 0
        with pytest.raises(NotFound):
            sim.engine.cancel(order.id, T0 + 2)

    def test_amend_reserves_for_the_new_terms(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        order = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        sim.submit(order, "50000")
        events = sim.engine.amend(order.id, T0 + 1, price=D("48000"))
        assert kinds(events)[0] == "OrderAmended" and order.price == D("48000")
        assert sim.ledger.balances(acc)["USDT"].locked == D("480.48")
        assert fills(sim.walk(SPOT, 50000, 48500)) == []
        assert fills(sim.walk(SPOT, 48500, 47000))[0].price == D("48000")

    def test_a_refused_amend_leaves_the_order_as_it_was(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        order = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        sim.submit(order, "50000")
        with pytest.raises(InsufficientFunds):
            sim.engine.amend(order.id, T0 + 1, amount=D("1"))
        assert (order.amount, order.reserved) == (D("0.01"), D("490.49"))
        assert sim.ledger.balances(acc)["USDT"].locked == D("490.49")
        assert fills(sim.walk(SPOT, 50000, 48000))[0].amount == D("0.01")

    def test_an_amend_that_crosses_the_last_quote_takes(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        order = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        sim.submit(order, "50000")
        (fill,) = fills(sim.engine.amend(order.id, T0 + 1, price=D("51000")))
        assert (fill.price, fill.liquidity) == (D("50000"), Liquidity.TAKER)

    def test_restored_orders_rest_and_fill_without_reserving_again(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        order = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        sim.submit(order, "50000")
        engine = MatchingEngine(INSTRUMENTS, sim.ledger, new_id=sim.ids)
        engine.restore(sim.engine.open_orders())
        assert sim.ledger.balances(acc)["USDT"].locked == D("490.49")
        (fill,) = fills(engine.on_prices(SPOT, [(T0, D(50000)), (T0 + 1000, D(48000))]))
        assert fill.price == D("49000")
        assert sim.ledger.balances(acc)["USDT"].locked == 0
        assert sim.total(acc, "USDT") == D("1000") - D("490") - D("0.49")


class TestPathsAndDeterminism:
    def test_events_carry_snapshots_of_the_order(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        order = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000")
        (accepted,) = of(ev.OrderAccepted, sim.submit(order, "50000"))
        sim.walk(SPOT, 50000, 48000)
        assert accepted.order.status is OrderStatus.OPEN and order.status is OrderStatus.FILLED

    def test_path_points_older_than_the_last_quote_are_not_replayed(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        sim.now = T0 + 5000
        sim.submit(sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="48500"), "49000")
        # The path was at 48000 before the order existed; from T0 + 5000 it only rises.
        events = sim.engine.on_prices(SPOT, [(T0, D(48000)), (T0 + 10000, D(50000))])
        quote = sim.engine.last_quote(SPOT)
        assert events == [] and quote is not None and quote.last == D(50000)

    def test_orders_far_from_the_price_cost_the_walk_nothing(self) -> None:
        sim = Sim()
        book = CountingBook(sim.ledger)
        engine = MatchingEngine(INSTRUMENTS, book, new_id=sim.ids)
        acc = sim.account(USDT=10_000_000)
        for i in range(500):
            order = sim.order(acc, SPOT, BUY, LIMIT, "0.001", price=str(30000 + i))
            engine.submit(order, sim.quote(SPOT, "50000"), sim.now)
        book.calls.clear()
        path = [(T0 + i, D(50000 + (i % 7) * 100)) for i in range(1000)]
        assert engine.on_prices(SPOT, path) == [] and book.calls == []

    def test_the_same_inputs_give_the_same_events(self) -> None:
        def run() -> list[ev.Event]:
            sim = Sim(slippage=D("0.0002"))
            spot = sim.account("spot", USDT=100000, BTC=1)
            perp = sim.account("perp", USDT=100000)
            hedge = sim.account(
                "cfd", mode=PositionMode.HEDGING, currency="USD", leverage=D(100), USD=10000
            )
            for k in range(5):
                low, high = 49000 + 200 * k, 49100 + 200 * k
                sim.submit(sim.order(spot, SPOT, BUY, LIMIT, "0.01", price=str(low), client_order_id=f"g{k}",
                                     rearm=Rearm(price=D(high))), "50000")  # fmt: skip
            sim.submit(
                sim.order(perp, PERP, BUY, MARKET, "0.1", bracket=Bracket(D("48000"), D("51500"))),
                "50000",
            )
            sim.submit(sim.order(perp, PERP, SELL, STOP, "0.05", reduce_only=True,
                                 trailing=Trailing(D("0.01"))), "50000")  # fmt: skip
            sim.submit(sim.order(hedge, CFD, SELL, MARKET, "0.5"), "1.1")
            sim.walk(SPOT, 50000, 48800, 50100, 49000, 50300)
            sim.walk(PERP, 50000, 50900, 50200, 51600)
            sim.walk(CFD, "1.1", "1.095", "1.102")
            return sim.events

        first, second = run(), run()
        assert len(first) > 40 and first == second
