"""Backtest results: each metric against an independent computation on the same series.

The module computes with numpy and ``Decimal``; the references here are written differently on
purpose (calendar dates and dictionaries for the daily closes, the ``statistics`` module, plain
loops), so a shared mistake would have to be made twice. docs/backtest-metrics.md's worked
example is run from the page and its printed numbers are checked.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.backtest.metrics import (
    DAY_MS,
    BacktestMetrics,
    ClosedPosition,
    EquityCurve,
    OrderRecord,
    compute_metrics,
    daily_returns,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
)
from tradewind.domain.orders import OrderStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "backtest-metrics.md"
HOUR = 3_600_000
JAN_1 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
TINY = 1e-12

# ---- the independent computations -------------------------------------------------------


def ref_daily_returns(times: Sequence[int], equity: Sequence[float], start: float) -> list[float]:
    """Calendar dates, a dict of the last value seen each date, and a walk day by day."""
    closes: dict[date, float] = {}
    for ts, value in zip(times, equity, strict=True):
        closes[datetime.fromtimestamp(ts // 1000, UTC).date()] = value
    if not closes:
        return []
    day, last_day = min(closes), max(closes)
    returns, before, value = [], start, start
    while day <= last_day:
        value = closes.get(day, value)
        if before <= 0:
            return []
        returns.append(value / before - 1)
        before = value
        day += timedelta(days=1)
    return returns


def ref_daily_rate(annual: float) -> float:
    return math.expm1(math.log1p(annual) / 365)


def ref_sharpe(returns: list[float], annual_rf: float) -> float | None:
    if len(returns) < 2:
        return None
    excess = [r - ref_daily_rate(annual_rf) for r in returns]
    spread = statistics.stdev(excess)
    return None if spread <= TINY else statistics.fmean(excess) / spread * 365**0.5


def ref_sortino(returns: list[float], annual_rf: float) -> float | None:
    if len(returns) < 2:
        return None
    excess = [r - ref_daily_rate(annual_rf) for r in returns]
    squares = 0.0
    for r in excess:
        if r < 0:
            squares += r * r
    downside = (squares / len(excess)) ** 0.5
    return None if downside <= TINY else statistics.fmean(excess) / downside * 365**0.5


def ref_drawdown(equity: Sequence[float], start: float) -> tuple[float, float]:
    peak, worst, worst_percent = start, 0.0, 0.0
    for value in equity:
        peak = max(peak, value)
        worst = min(worst, value - peak)
        worst_percent = min(worst_percent, (value - peak) / peak * 100)
    return worst, worst_percent


@dataclass
class RefBooks:
    realized: D
    gross: D
    won: D
    lost: D
    wins: int
    losses: int
    best: D
    worst: D
    highest: D
    lowest: D
    filled: int
    partly: int
    open_seconds: float


def ref_books(positions: list[ClosedPosition], orders: list[OrderRecord], fees: D) -> RefBooks:
    gross = D(0)
    for p in positions:
        gross += p.profit + p.fees
    won = lost = best = worst = D(0)
    wins = losses = 0
    for p in positions:
        if p.profit > 0:
            wins, won, best = wins + 1, won + p.profit, max(best, p.profit)
        elif p.profit < 0:
            losses, lost, worst = losses + 1, lost - p.profit, min(worst, p.profit)
    by_exit: dict[int, list[D]] = {}
    for p in positions:
        by_exit.setdefault(p.exit_ms, []).append(p.profit)
    running = highest = lowest = D(0)
    for exit_ms in sorted(by_exit):
        for profit in by_exit[exit_ms]:
            running += profit
            highest, lowest = max(highest, running), min(lowest, running)
    realized = gross - fees
    highest, lowest = max(highest, realized), min(lowest, realized)
    filled = partly = 0
    seconds: list[float] = []
    for o in orders:
        filled += o.status == "filled"
        partly += o.status == "partially_filled" or (o.status == "cancelled" and o.filled > 0)
        if o.status in ("filled", "cancelled") and o.closed_ms is not None:
            seconds.append((o.closed_ms - o.created_ms) / 1000)
    return RefBooks(
        realized, gross, won, lost, wins, losses, best, worst, highest, lowest, filled, partly,
        statistics.fmean(seconds) if seconds else 0.0,
    )  # fmt: skip


# ---- inputs for hypothesis --------------------------------------------------------------

STEPS = st.one_of(
    st.sampled_from([0, 60_000, HOUR, 4 * HOUR, DAY_MS, 3 * DAY_MS]),
    st.integers(1, 2 * DAY_MS),
)
MONEY = st.integers(-(10**7), 10**7).map(lambda cents: D(cents).scaleb(-2))


@st.composite
def curves(draw: st.DrawFn) -> tuple[list[int], list[D]]:
    size = draw(st.integers(0, 60))
    ts = draw(st.integers(1_483_228_800_000, 1_893_456_000_000))  # 2017 to 2030
    times = []
    for step in draw(st.lists(STEPS, min_size=size, max_size=size)):
        ts += step
        times.append(ts)
    cents = st.one_of(st.integers(1, 10**9), st.integers(-(10**5), 10**5))
    equity = [D(c).scaleb(-2) for c in draw(st.lists(cents, min_size=size, max_size=size))]
    return times, equity


@st.composite
def books(draw: st.DrawFn) -> tuple[list[ClosedPosition], list[OrderRecord]]:
    positions = []
    for _ in range(draw(st.integers(0, 25))):
        entry = draw(st.integers(JAN_1, JAN_1 + 30 * DAY_MS))
        exit_ = entry + draw(st.sampled_from([0, HOUR, DAY_MS, 7 * HOUR]))
        fees = draw(st.integers(0, 10**4).map(lambda cents: D(cents).scaleb(-2)))
        margin = draw(st.integers(0, 10**7).map(lambda cents: D(cents).scaleb(-2)))
        positions.append(ClosedPosition(entry, exit_, draw(MONEY), fees, margin))
    orders = []
    for _ in range(draw(st.integers(0, 25))):
        status = draw(st.sampled_from(list(OrderStatus)))
        created = draw(st.integers(JAN_1, JAN_1 + 30 * DAY_MS))
        closed = None if status.value in ("open", "partially_filled") else created
        if closed is not None:
            closed += draw(st.integers(0, 3 * DAY_MS))
        filled = D(0) if status is OrderStatus.OPEN else draw(st.sampled_from([D(0), D("0.5")]))
        orders.append(OrderRecord(status, created, closed, filled))
    return positions, orders


def run(
    times: Sequence[int],
    equity: Sequence[D | float],
    start: D = D(10000),
    positions: Sequence[ClosedPosition] = (),
    orders: Sequence[OrderRecord] = (),
    **kwargs: Any,
) -> BacktestMetrics:
    return compute_metrics(
        curve=EquityCurve.of(times, equity),
        start_balance=start,
        positions=positions,
        orders=orders,
        first_price=kwargs.pop("first_price", D(100)),
        last_price=kwargs.pop("last_price", D(100)),
        profit_currency="USDT",
        **kwargs,
    )


def same(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return actual == pytest.approx(expected, rel=1e-7, abs=1e-9)


def well_formed(results: dict[str, dict[str, float | int | str | None]]) -> None:
    """The document's four objects with exactly its fields, and nothing JSON cannot carry."""
    assert {name: set(group) for name, group in results.items()} == {
        "summary": {"realizedProfit", "profitCurrency", "roi", "feeCosts", "grossProfit",
                    "priceChange"},
        "performance": {"profitFactor", "sharpeRatio", "sortinoRatio", "maxDrawdown",
                        "maxDrawdownPercent", "winPercentage", "biggestWin", "biggestLoss",
                        "highestProfit", "lowestProfit"},
        "orders": {"total", "filled", "partiallyFilled", "averageOpenTime"},
        "positions": {"closedPositions", "winningPositions", "losingPositions", "averageProfit",
                      "averageMargin"},
    }  # fmt: skip
    json.dumps(results, allow_nan=False)
    counts = {"total", "filled", "partiallyFilled", "closedPositions", "winningPositions",
              "losingPositions"}  # fmt: skip
    nullable = {"profitFactor", "sharpeRatio", "sortinoRatio"}
    for group in results.values():
        for key, value in group.items():
            if key == "profitCurrency":
                assert isinstance(value, str)
            elif key in counts:
                assert type(value) is int
            elif value is None:
                assert key in nullable
            else:
                assert type(value) is float
                assert math.isfinite(value)


# ---- the worked example in the docs -----------------------------------------------------


def _doc_blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", DOC.read_text(), re.S | re.M)


def test_the_documented_example() -> None:
    """The page's example runs, and its printed results are the computed ones to the digits
    shown (the numbers on the page were worked out by hand, as the page shows)."""
    (code,) = _doc_blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - running our own docs
    results = namespace["results"]
    well_formed(results)
    printed = json.loads(_doc_blocks("json")[-1], parse_float=D)
    assert set(printed) == set(results)
    for group, fields in printed.items():
        assert set(fields) == set(results[group]), group
        for key, shown in fields.items():
            actual = results[group][key]
            if isinstance(shown, D):
                places = -int(shown.as_tuple().exponent)
                assert round(D(repr(actual)), places) == shown, (group, key, actual)
            else:
                assert actual == shown, (group, key)
    metrics: BacktestMetrics = namespace["metrics"]
    assert metrics.daily_returns.tolist() == pytest.approx([0.02, -0.01, 0.0, 0.01], abs=1e-12)


# ---- hand-made series -------------------------------------------------------------------


def test_the_bar_does_not_matter_only_the_daily_closes() -> None:
    """The same days closed the same way give the same ratios on minute, hour and day bars."""
    closes = [101.0, 99.0, 102.0, 100.0, 104.0]
    ratios = []
    for bar in (60_000, HOUR, DAY_MS):
        per_day = DAY_MS // bar
        times = [JAN_1 + i * bar for i in range(per_day * len(closes))]
        # each day wanders half a unit below its close until its last bar
        equity = [closes[i // per_day] - 0.5 for i in range(len(times))]
        equity[per_day - 1 :: per_day] = closes
        metrics = run(times, equity, start=D(100))
        assert metrics.daily_returns.tolist() == pytest.approx(
            [1.01 - 1, 99 / 101 - 1, 102 / 99 - 1, 100 / 102 - 1, 104 / 100 - 1]
        )
        ratios.append((metrics.performance.sharpe_ratio, metrics.performance.sortino_ratio))
    assert ratios[0] == pytest.approx(ratios[2])
    assert ratios[1] == pytest.approx(ratios[2])


def test_a_day_without_bars_keeps_the_day_before_close_and_midnight_starts_a_day() -> None:
    times = [JAN_1 + 23 * HOUR, JAN_1 + DAY_MS, JAN_1 + 3 * DAY_MS + HOUR]
    curve = EquityCurve.of(times, [110, 121, 133.1])
    assert daily_returns(curve, 100).tolist() == pytest.approx([0.1, 0.1, 0.0, 0.1])


def test_the_risk_free_rate_is_annual_and_compounds_daily() -> None:
    returns = np.array([0.01, -0.02, 0.015, 0.0, 0.005])
    rf = 0.05
    daily = 1.05 ** (1 / 365) - 1
    excess = returns - daily
    mean, deviation = excess.mean(), math.sqrt(sum((x - excess.mean()) ** 2 for x in excess) / 4)
    assert sharpe_ratio(returns, rf) == pytest.approx(mean / deviation * math.sqrt(365))
    downside = math.sqrt(sum(min(x, 0) ** 2 for x in excess) / 5)
    assert sortino_ratio(returns, rf) == pytest.approx(mean / downside * math.sqrt(365))
    with_rf, without = sharpe_ratio(returns, rf), sharpe_ratio(returns)
    assert with_rf is not None and without is not None and with_rf < without


def test_drawdowns_in_money_and_percent_are_each_their_own_deepest() -> None:
    """100 off a 10,000 peak is the deeper fall in money, 60 off 2,000 the deeper in percent."""
    curve = EquityCurve.of([JAN_1 + i * HOUR for i in range(4)], [2000, 1940, 10000, 9900])
    assert max_drawdown(curve, 1000) == pytest.approx((-100, -3.0))


def test_fees_of_a_position_still_open_count_in_fees_not_in_positions() -> None:
    positions = [ClosedPosition(JAN_1, JAN_1 + HOUR, D(10), D(1), D(100))]
    metrics = run([JAN_1], [10009], positions=positions, fees=D(3))
    s, p = metrics.summary, metrics.performance
    assert (s.realized_profit, s.fee_costs, s.gross_profit) == (D(8), D(3), D(11))
    assert (p.highest_profit, p.lowest_profit) == (D(10), D(0))
    assert metrics.positions.average_profit == D(10)


# ---- edge cases -------------------------------------------------------------------------


def test_no_trades_and_flat_equity() -> None:
    times = [JAN_1 + i * HOUR for i in range(24 * 5)]
    metrics = run(times, [10000] * len(times))
    results = metrics.to_haas()
    well_formed(results)
    assert results["performance"] == {
        "profitFactor": None, "sharpeRatio": None, "sortinoRatio": None, "maxDrawdown": 0.0,
        "maxDrawdownPercent": 0.0, "winPercentage": 0.0, "biggestWin": 0.0, "biggestLoss": 0.0,
        "highestProfit": 0.0, "lowestProfit": 0.0,
    }  # fmt: skip
    assert results["orders"] == {"total": 0, "filled": 0, "partiallyFilled": 0, "averageOpenTime": 0.0}  # fmt: skip
    assert results["positions"] == {
        "closedPositions": 0, "winningPositions": 0, "losingPositions": 0, "averageProfit": 0.0,
        "averageMargin": 0.0,
    }  # fmt: skip
    assert results["summary"]["roi"] == 0.0
    assert results["summary"]["realizedProfit"] == 0.0


def test_an_empty_curve() -> None:
    metrics = run([], [])
    well_formed(metrics.to_haas())
    assert metrics.daily_returns.size == 0
    assert (metrics.performance.max_drawdown, metrics.performance.max_drawdown_percent) == (0, 0)


def test_a_single_day_has_no_sharpe_or_sortino_but_a_drawdown() -> None:
    times = [JAN_1 + i * HOUR for i in range(24)]
    metrics = run(times, [10000 + (50 if i % 2 else -50) for i in range(24)])
    assert metrics.daily_returns.size == 1
    p = metrics.performance
    assert (p.sharpe_ratio, p.sortino_ratio) == (None, None)
    assert (p.max_drawdown, p.max_drawdown_percent) == pytest.approx((-100, -100 / 10050 * 100))


def test_steady_growth_has_no_sortino_and_no_spread() -> None:
    times = [JAN_1 + i * DAY_MS for i in range(10)]
    metrics = run(times, [10000 * 1.01 ** (i + 1) for i in range(10)])
    assert (metrics.performance.sharpe_ratio, metrics.performance.sortino_ratio) == (None, None)


def test_ruin_leaves_the_ratios_null() -> None:
    times = [JAN_1 + i * DAY_MS for i in range(4)]
    metrics = run(times, [9000, 0, 0, 500])
    well_formed(metrics.to_haas())
    assert (metrics.performance.sharpe_ratio, metrics.performance.sortino_ratio) == (None, None)
    assert metrics.performance.max_drawdown_percent == -100.0


def test_winners_only_losers_only_and_break_even() -> None:
    def position(profit: str) -> ClosedPosition:
        return ClosedPosition(JAN_1, JAN_1 + HOUR, D(profit), D("0.1"), D(50))

    winners = run([JAN_1], [10000], positions=[position("5"), position("7")]).performance
    assert (winners.profit_factor, winners.win_percentage) == (None, 1.0)
    assert (winners.biggest_win, winners.biggest_loss, winners.lowest_profit) == (D(7), D(0), D(0))
    losers = run([JAN_1], [10000], positions=[position("-5"), position("-7")]).performance
    assert (losers.profit_factor, losers.win_percentage) == (0.0, 0.0)
    assert (losers.biggest_win, losers.biggest_loss, losers.highest_profit) == (D(0), D(-7), D(0))
    mixed = run([JAN_1], [10000], positions=[position("0"), position("3"), position("-1")])
    assert (mixed.positions.winning_positions, mixed.positions.losing_positions) == (1, 1)
    assert mixed.positions.closed_positions == 3
    assert mixed.performance.win_percentage == pytest.approx(1 / 3)
    assert mixed.performance.profit_factor == 3.0


@pytest.mark.parametrize(
    ("times", "equity", "kwargs", "message"),
    [
        ([JAN_1], [1], {"start": D(0)}, "starting balance"),
        ([JAN_1], [1], {"first_price": D(0)}, "prices"),
        ([JAN_1 + 1, JAN_1], [1, 1], {}, "ascending"),
        ([JAN_1], [float("nan")], {}, "finite"),
    ],
)
def test_bad_inputs_are_refused(
    times: list[int], equity: list[float], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        run(times, equity, **kwargs)


def test_a_curve_needs_one_value_per_timestamp() -> None:
    with pytest.raises(ValueError, match="one value per timestamp"):
        EquityCurve(np.array([1, 2], dtype=np.int64), np.array([1.0]))


# ---- generated series -------------------------------------------------------------------


@given(curves(), st.integers(1, 10**9), st.sampled_from([0.0, 0.04, 0.25]))
def test_series_metrics_agree_with_the_reference(
    curve: tuple[list[int], list[D]], start_cents: int, rf: float
) -> None:
    times, equity = curve
    start = D(start_cents).scaleb(-2)
    metrics = run(times, equity, start=start, risk_free_rate=rf)
    floats, begin = [float(e) for e in equity], float(start)
    returns = ref_daily_returns(times, floats, begin)
    assert metrics.daily_returns.tolist() == pytest.approx(returns, rel=1e-12, abs=1e-12)
    p = metrics.performance
    assert same(p.sharpe_ratio, ref_sharpe(returns, rf))
    assert same(p.sortino_ratio, ref_sortino(returns, rf))
    drawdown, percent = ref_drawdown(floats, begin)
    assert p.max_drawdown == pytest.approx(drawdown, abs=1e-6)
    assert p.max_drawdown_percent == pytest.approx(percent, rel=1e-12, abs=1e-12)
    assert p.max_drawdown <= 0 and p.max_drawdown_percent <= 0
    well_formed(metrics.to_haas())


@given(curves(), st.integers(2, 1000))
def test_ratios_do_not_depend_on_the_size_of_the_account(
    curve: tuple[list[int], list[D]], factor: int
) -> None:
    times, equity = curve
    small = run(times, equity).performance
    large = run(times, [e * factor for e in equity], start=D(10000) * factor).performance
    assert same(large.sharpe_ratio, small.sharpe_ratio)
    assert same(large.sortino_ratio, small.sortino_ratio)
    assert large.max_drawdown_percent == pytest.approx(small.max_drawdown_percent, abs=1e-9)
    assert large.max_drawdown == pytest.approx(small.max_drawdown * factor, rel=1e-9, abs=1e-6)


@given(books(), st.integers(0, 10**4), st.integers(1, 10**6), st.integers(1, 10**6))
def test_book_metrics_agree_with_the_reference(
    book: tuple[list[ClosedPosition], list[OrderRecord]],
    open_fee_cents: int,
    first: int,
    last: int,
) -> None:
    positions, orders = book
    fees = sum((p.fees for p in positions), D(0)) + D(open_fee_cents).scaleb(-2)
    metrics = run(
        [JAN_1], [10000], start=D(5000), positions=positions, orders=orders, fees=fees,
        first_price=D(first), last_price=D(last),
    )  # fmt: skip
    ref = ref_books(positions, orders, fees)
    s, p, o, q = metrics.summary, metrics.performance, metrics.orders, metrics.positions
    assert (s.realized_profit, s.fee_costs, s.gross_profit) == (ref.realized, fees, ref.gross)
    assert s.gross_profit == s.realized_profit + s.fee_costs
    assert s.roi == pytest.approx(float(ref.realized) / 5000 * 100)
    assert s.price_change == pytest.approx((last - first) / first * 100)
    assert same(p.profit_factor, float(ref.won / ref.lost) if ref.lost else None)
    assert p.win_percentage == pytest.approx(ref.wins / len(positions) if positions else 0.0)
    assert (p.biggest_win, p.biggest_loss) == (ref.best, ref.worst)
    assert (p.highest_profit, p.lowest_profit) == (ref.highest, ref.lowest)
    assert p.lowest_profit <= min(D(0), s.realized_profit)
    assert p.highest_profit >= max(D(0), s.realized_profit)
    assert (o.total, o.filled, o.partially_filled) == (len(orders), ref.filled, ref.partly)
    assert o.average_open_time == pytest.approx(ref.open_seconds)
    assert (q.closed_positions, q.winning_positions, q.losing_positions) == (
        len(positions),
        ref.wins,
        ref.losses,
    )
    if positions:
        assert q.average_profit == pytest.approx(statistics.mean(x.profit for x in positions))
        assert q.average_margin == pytest.approx(statistics.mean(x.margin for x in positions))
    else:
        assert (q.average_profit, q.average_margin) == (D(0), D(0))
    well_formed(metrics.to_haas())
