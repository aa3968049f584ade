"""The paper ledger: reservations, netting and hedging, P&L, margin, liquidation, exactness."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tradewind.domain import events as ev
from tradewind.domain.errors import Conflict, InsufficientFunds
from tradewind.domain.instruments import InvalidOrder
from tradewind.domain.orders import (
    AccountId,
    OrderRole,
    OrderType,
    PositionMode,
    Side,
)
from tradewind.venues.matching import MatchingEngine
from tradewind.venues.paper.ledger import Balance, PaperLedger

from ..conftest import CFD, INSTRUMENTS, PERP, SPOT, Sim, fills

BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT = OrderType.MARKET, OrderType.LIMIT


def entry_sums(ledger: PaperLedger, account_id: AccountId) -> dict[str, D]:
    sums: dict[str, D] = {}
    for entry in ledger.entries(account_id):
        sums[entry.asset] = sums.get(entry.asset, D(0)) + entry.delta
    return sums


def assert_exact(ledger: PaperLedger, account_id: AccountId) -> None:
    sums = entry_sums(ledger, account_id)
    for asset, balance in ledger.balances(account_id).items():
        assert balance.total == sums.get(asset, D(0)), asset


def market(
    sim: Sim, acc: AccountId, symbol: str, side: Side, amount: str, last: str, **options: Any
) -> list[ev.Event]:
    return sim.submit(sim.order(acc, symbol, side, MARKET, amount, **options), last)


class TestReservations:
    def test_a_spot_sell_reserves_the_base_amount(self, sim: Sim) -> None:
        acc = sim.account(BTC=1)
        sim.submit(sim.order(acc, SPOT, SELL, LIMIT, "0.25", price="60000"), "50000")
        assert sim.ledger.balances(acc)["BTC"] == Balance("BTC", D("0.75"), D("0.25"))

    def test_netting_reserves_only_the_part_that_would_open(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        market(sim, acc, PERP, BUY, "0.15", "50000")
        order = sim.order(acc, PERP, SELL, LIMIT, "0.25", price="50000")
        sim.ledger.reserve(order, D("50000"))
        assert order.reserved == D("500") + D("2.5")  # 0.1 opens: 5000 / 10, + taker fee

    def test_a_closing_order_reserves_nothing(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        order = sim.order(acc, PERP, SELL, LIMIT, "0.1", price="60000")
        assert sim.ledger.reserve(order, D("60000")) == [] and order.reserved == 0

    def test_reduce_only_may_not_exceed_the_position(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        with pytest.raises(InvalidOrder, match="exceeds"):
            market(sim, acc, PERP, SELL, "0.2", "50000", reduce_only=True)
        with pytest.raises(InvalidOrder, match="no position"):
            market(sim, acc, PERP, BUY, "0.1", "50000", reduce_only=True)

    def test_hedging_reduce_only_must_name_its_ticket(self, sim: Sim) -> None:
        acc = sim.account(mode=PositionMode.HEDGING, USDT=10000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        with pytest.raises(InvalidOrder, match="names its position"):
            market(sim, acc, PERP, SELL, "0.1", "50000", reduce_only=True)

    def test_leverage_is_capped_by_the_instrument(self, sim: Sim) -> None:
        acc = sim.account(currency="USD", leverage=D(500), USD=10000)
        market(sim, acc, CFD, BUY, "1", "1.10000")
        (position,) = sim.ledger.positions(acc)
        assert position.leverage == 100 and position.margin == D("1100.05")

    def test_a_derivative_needs_margin_in_its_own_settle_asset(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        with pytest.raises(InsufficientFunds, match="Insufficient margin"):
            market(sim, acc, CFD, BUY, "1", "1.1")

    def test_margin_is_counted_per_settle_asset(self, sim: Sim) -> None:
        acc = sim.account(currency="USD", USD=10000, USDT=10000)
        market(sim, acc, CFD, BUY, "0.1", "1.10000")
        market(sim, acc, PERP, BUY, "0.1", "50000")
        usd = sim.ledger.summary(acc, {"EURUSD": D("1.10000"), PERP: D("50000")})
        usdt = sim.ledger.summary(acc, {"EURUSD": D("1.10000"), PERP: D("50000")}, "USDT")
        (cfd,) = [p for p in sim.ledger.positions(acc) if p.symbol == "EURUSD"]
        (perp,) = [p for p in sim.ledger.positions(acc) if p.symbol == PERP]
        assert (usd.currency, usd.margin) == ("USD", cfd.margin)
        assert (usdt.currency, usdt.margin) == ("USDT", perp.margin)


class TestNetting:
    def test_increase_reduce_and_flip_through_zero(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        (position,) = sim.ledger.positions(acc)
        assert (position.margin, position.liquidation_price) == (D("500"), D("45226.2"))

        market(sim, acc, PERP, BUY, "0.1", "52000")
        assert (position.amount, position.entry_price, position.margin) == (
            D("0.2"),
            D("51000"),
            D("1020"),
        )

        (fill,) = fills(market(sim, acc, PERP, SELL, "0.05", "53000"))
        assert (
            fill.realized_pnl == D("100") and fill.position_id == position.id
        )  # (53000 - 51000) * 0.05
        assert (position.amount, position.margin) == (D("0.15"), D("765"))

        events = market(sim, acc, PERP, SELL, "0.25", "50000")
        (fill,) = fills(events)
        assert [type(e).__name__ for e in events[1:3]] == ["PositionClosed", "PositionOpened"]
        (short,) = sim.ledger.positions(acc)
        assert (
            fill.realized_pnl == D("-150") and fill.position_id == short.id
        )  # (50000 - 51000) * 0.15
        assert (short.side, short.amount, short.entry_price, short.margin) == (
            SELL,
            D("0.1"),
            D("50000"),
            D("500"),
        )
        assert short.liquidation_price == D("54726.3")  # 5500 / (0.1 * 1.005), down to the tick
        assert not position.is_open and position.close_price == D("50000")
        assert position.realized_pnl == D("-50")

        fees = D("2.5") + D("2.6") + D("1.325") + D("6.25")
        assert sim.total(acc, "USDT") == D("10000") + D("100") - D("150") - fees
        assert sim.ledger.balances(acc)["USDT"].locked == D("500")
        assert_exact(sim.ledger, acc)

    def test_cfd_pnl_by_hand(self, sim: Sim) -> None:
        acc = sim.account(currency="USD", leverage=D(100), USD=10000)
        market(sim, acc, CFD, BUY, "1", "1.10000")  # at the ask, 1.10005
        (fill,) = fills(market(sim, acc, CFD, SELL, "1", "1.10500"))  # at the bid, 1.10495
        assert fill.realized_pnl == D("490")  # 0.0049 * 1 lot * 100000
        assert sim.ledger.balances(acc)["USD"] == Balance("USD", D("10490"), D("0"))


class TestHedging:
    def test_each_opening_fill_is_a_ticket_and_a_close_reduces_only_its_ticket(
        self, sim: Sim
    ) -> None:
        acc = sim.account(mode=PositionMode.HEDGING, USDT=10000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        market(sim, acc, PERP, BUY, "0.1", "51000")
        first, second = sim.ledger.positions(acc)
        (fill,) = fills(market(sim, acc, PERP, SELL, "0.04", "52000", position_id=first.id))
        assert (
            fill.realized_pnl == D("80") and first.amount == D("0.06") and second.amount == D("0.1")
        )
        market(sim, acc, PERP, SELL, "0.05", "52000")  # no ticket named: a new short ticket
        assert [(p.side, p.amount) for p in sim.ledger.positions(acc)] == [
            (BUY, D("0.06")), (BUY, D("0.1")), (SELL, D("0.05")),
        ]  # fmt: skip
        assert sim.ledger.balances(acc)["USDT"].locked == sum(
            p.margin for p in sim.ledger.positions(acc)
        )
        assert_exact(sim.ledger, acc)


class TestLiquidation:
    def test_a_crash_liquidates_and_the_loss_stops_at_the_margin(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        (position,) = sim.ledger.positions(acc)
        sim.walk(PERP, 50000, 47000, 44000)
        found, due = sim.ledger.check_margin(acc, {PERP: D("44000")}, sim.now)
        assert found == [] and due == [(position, "liquidation")]
        close = sim.order(acc, PERP, SELL, MARKET, "0.1", reduce_only=True, position_id=position.id)
        close.role = OrderRole.LIQUIDATION
        (fill,) = fills(sim.submit(close, "44000"))
        # (44000 - 50000) * 0.1 = -600 is beyond the 500 margin: the loss stops at 500 - fee.
        assert (fill.fee, fill.realized_pnl) == (D("2.2"), D("-497.8"))
        assert sim.ledger.balances(acc)["USDT"] == Balance(
            "USDT", D("1000") - D("2.5") - D("500"), D(0)
        )
        assert sim.ledger.positions(acc) == [] and sim.ledger.check_margin(acc, {}, sim.now) == (
            [],
            [],
        )

    def test_a_liquidation_just_past_the_price_realises_the_plain_loss(self, sim: Sim) -> None:
        acc = sim.account(USDT=1000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        (position,) = sim.ledger.positions(acc)
        assert sim.ledger.check_margin(acc, {PERP: D("45226.3")}, sim.now) == ([], [])
        assert sim.ledger.check_margin(acc, {PERP: D("45226.2")}, sim.now)[1] == [
            (position, "liquidation")
        ]
        close = sim.order(acc, PERP, SELL, MARKET, "0.1", position_id=position.id)
        (fill,) = fills(sim.submit(close, "45200"))
        assert fill.realized_pnl == D("-480")


class TestMarginCallAndStopOut:
    def test_margin_call_once_per_episode_then_stop_out_of_the_worst_position(self) -> None:
        sim = Sim()
        acc = sim.account(mode=PositionMode.HEDGING, currency="USD", leverage=D(20), USD=2000)
        market(sim, acc, CFD, BUY, "0.2", "1.10000")  # 1.10005, margin 1100.05
        market(sim, acc, CFD, BUY, "0.1", "1.10200")  # 1.10205, margin 551.025
        worst, other = sim.ledger.positions(acc)

        def check(mark: str) -> tuple[list[ev.Event], list[object]]:
            events, due = sim.ledger.check_margin(acc, {CFD: D(mark)}, sim.now)
            return events, list(due)

        assert check("1.095") == ([], [])
        summary = sim.ledger.summary(acc, {CFD: D("1.088")})
        assert (summary.balance, summary.profit, summary.equity, summary.margin) == (
            D("2000"), D("-381.5"), D("1618.5"), D("1651.075"),
        )  # fmt: skip
        assert summary.margin_level == D("98.02") and summary.free_margin == D("-32.575")
        assert check("1.088") == ([ev.MarginCall(acc, D("98.02"))], [])
        assert check("1.088") == ([], []) and check("1.07") == ([], [])  # same episode
        assert check("1.09") == ([], [])  # recovered: 101.66
        assert check("1.088")[0] == [ev.MarginCall(acc, D("98.02"))]  # a new episode
        events, due = check("1.06")
        assert events == [ev.StopOut(acc, D("47.15"), worst.id)] and due == [(worst, "stop_out")]

        close = sim.order(acc, CFD, SELL, MARKET, "0.2", position_id=worst.id)
        (fill,) = fills(sim.submit(close, "1.06"))
        assert fill.realized_pnl == D("-802")  # (1.05995 - 1.10005) * 0.2 * 100000
        assert check("1.06") == ([], []) and sim.ledger.positions(acc) == [other]


class TestExactnessAndRestore:
    def test_entries_explain_every_balance(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000, BTC="0.5")
        market(sim, acc, SPOT, BUY, "0.01234", "50123.45")
        market(sim, acc, SPOT, SELL, "0.3", "50999.99")
        market(sim, acc, PERP, BUY, "0.123", "50000.1")
        market(sim, acc, PERP, SELL, "0.2", "49876.5")
        sim.ledger.deposit(acc, "USDT", D("1.23"), sim.now)
        sim.ledger.withdraw(acc, "BTC", D("0.1"), sim.now)
        with pytest.raises(InsufficientFunds):
            sim.ledger.withdraw(acc, "BTC", D("1"), sim.now)
        assert {e.kind for e in sim.ledger.entries(acc)} == {
            "deposit", "withdrawal", "trade", "fee", "realized_pnl",
        }  # fmt: skip
        assert_exact(sim.ledger, acc)

    def test_reset_needs_nothing_locked_and_records_the_change(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000, BTC=1)
        entries = sim.ledger.reset(acc, {"USDT": D("5000")}, sim.now)
        assert [(e.asset, e.delta, e.kind) for e in entries] == [
            ("USDT", D("-5000"), "reset"), ("BTC", D("-1"), "reset"),
        ]  # fmt: skip
        market(sim, acc, PERP, BUY, "0.01", "50000")
        with pytest.raises(Conflict):
            sim.ledger.reset(acc, {"USDT": D("5000")}, sim.now)

    def test_restore_from_stored_rows_continues_where_it_was(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        market(sim, acc, PERP, BUY, "0.1", "50000")
        resting = sim.order(acc, PERP, BUY, LIMIT, "0.1", price="48000")
        sim.submit(resting, "50000")
        rows = {a: (b.free, b.locked) for a, b in sim.ledger.balances(acc).items()}
        orders = [o for o in sim.engine.open_orders()]

        ledger = PaperLedger(INSTRUMENTS, new_id=sim.ids)
        ledger.restore_account(
            acc, mode=PositionMode.NETTING, leverage=D(10), currency="USDT", balances=rows,
            positions=sim.ledger.positions(acc, open_only=False), entries=sim.ledger.entries(acc),
            orders=orders,
        )  # fmt: skip
        assert ledger.balances(acc) == sim.ledger.balances(acc)
        engine = MatchingEngine(INSTRUMENTS, ledger, new_id=sim.ids)
        engine.restore(orders)
        (fill,) = fills(engine.on_prices(PERP, [(sim.now, D(50000)), (sim.now + 1000, D(47000))]))
        assert fill.order_id == resting.id
        (position,) = ledger.positions(acc)
        assert (position.amount, position.entry_price) == (D("0.2"), D("49000"))
        assert ledger.balances(acc)["USDT"].locked == position.margin
        assert_exact(ledger, acc)

    def test_restore_refuses_rows_that_disagree(self, sim: Sim) -> None:
        acc = sim.account(USDT=10000)
        market(sim, acc, PERP, BUY, "0.1", "50000")  # total 9997.5, of which 500 margin

        def restore(free: str, locked: str, **rows: Any) -> None:
            PaperLedger(INSTRUMENTS).restore_account(
                acc, mode=PositionMode.NETTING, leverage=D(10), currency="USDT",
                balances={"USDT": (D(free), D(locked))}, positions=sim.ledger.positions(acc),
                **rows,
            )  # fmt: skip

        restore("9497.5", "500", entries=sim.ledger.entries(acc), orders=[])
        with pytest.raises(Conflict, match="entries"):
            restore("9500", "500", entries=sim.ledger.entries(acc))
        with pytest.raises(Conflict, match="locked"):
            restore("9597.5", "400", orders=[])
        with pytest.raises(Conflict, match="negative"):
            restore("-1", "500")
