"""The journal's arithmetic against hand computations (a record's points, % and R; a
strategy's trade count, win rate, total return and max drawdown), and a journal written by a
futures DCA bot that ran on the bundled BTC hours: one record per closed position, the same
prices, sides and times, written once however often it is read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from tests.conftest import Harness
from tests.engine.test_stored_candles import PERP, hours, trader, walk
from tests.strategies.conftest import ohlc_points
from tradewind.domain.journal import (
    ClosedResult,
    TradeResult,
    TradeSide,
    TradeStatus,
    strategy_stats,
    trade_result,
)

BUY, SELL, CLOSED, OPEN = TradeSide.BUY, TradeSide.SELL, TradeStatus.CLOSED, TradeStatus.OPEN


class TestTradeResult:
    def test_a_long_with_a_stop(self) -> None:
        # entry 100, stop 95 (risk 5), closed at 110: +10 points, +10%, +2 R
        assert trade_result(BUY, CLOSED, D(100), D(110), D(95)) == TradeResult(
            D(10), D("10.00000000"), D("2.00000000")
        )

    def test_a_short_that_lost(self) -> None:
        # short at 1.2000, stop 1.2050 (risk 0.0050), closed at 1.2030: -0.0030 points,
        # -0.0030 / 1.2 = -0.25%, -0.0030 / 0.0050 = -0.6 R
        got = trade_result(SELL, CLOSED, D("1.2000"), D("1.2030"), D("1.2050"))
        assert got == TradeResult(D("-0.0030"), D("-0.25"), D("-0.6"))

    def test_no_stop_no_r_and_no_result_until_closed(self) -> None:
        got = trade_result(BUY, CLOSED, D(200), D(190), None)
        assert got is not None and got.r_multiple is None and got.return_pct == D(-5)
        assert trade_result(BUY, OPEN, D(200), D(190), D(180)) is None
        assert trade_result(BUY, CLOSED, None, D(190), D(180)) is None
        assert trade_result(BUY, CLOSED, D(200), None, D(180)) is None

    def test_percent_is_rounded_to_eight_places(self) -> None:
        # 1/3 of a point on 3: 11.111111111...%
        got = trade_result(BUY, CLOSED, D(3), D(3) + D(1) / D(3), None)
        assert got is not None and got.return_pct == D("11.11111111")


def closed(order: int, pct: str) -> ClosedResult:
    return ClosedResult((order,), TradeResult(D(pct), D(pct), None))


class TestStrategyStats:
    def test_hand_computed(self) -> None:
        # returns in close order: +4, -2, -3, +5, -1 (given shuffled)
        # running sum: 4, 2, -1, 4, 3 -> total 3; peak 4 then trough -1: drawdown 5
        # wins 2 of 5: 40%
        results = [
            closed(3, "-3"),
            closed(1, "4"),
            closed(5, "-1"),
            closed(2, "-2"),
            closed(4, "5"),
        ]
        s = strategy_stats(7, results)
        assert (s.trade_count, s.closed_count) == (7, 5)
        assert s.win_rate == D(40)
        assert s.total_return_pct == D(3)
        assert s.max_drawdown_pct == D(5)

    def test_a_loss_first_is_a_drawdown_from_zero(self) -> None:
        s = strategy_stats(2, [closed(1, "-2.5"), closed(2, "1")])
        assert (s.total_return_pct, s.max_drawdown_pct, s.win_rate) == (D("-1.5"), D("2.5"), D(50))

    def test_nothing_closed(self) -> None:
        s = strategy_stats(3, [])
        assert (s.closed_count, s.win_rate, s.total_return_pct, s.max_drawdown_pct) == (
            0,
            None,
            D(0),
            D(0),
        )


# ---- a bot's journal ----------------------------------------------------------------------


async def test_a_bots_journal_matches_its_closed_positions_one_for_one(
    tw: Harness, tmp_path: Path
) -> None:
    candles = hours(tmp_path)
    start, stop = 12000, 12100  # 6,285 falling to 5,190: a short DCA takes profit again and again
    points = ohlc_points(candles, start, stop)
    t = await trader(tw)
    await tw.move(PERP, float(points[0][1]))
    settings = {
        "symbol": PERP, "direction": "Sell", "baseOrderSize": 100, "safetyOrderSize": 100,
        "safetyOrderCount": 2, "priceDeviation": 1.5, "takeProfit": 1, "leverage": 2,
    }  # fmt: skip
    bot = await t.bot(settings, type="futures_dollar_cost_averaging")
    bot_id = bot["bot_id"]
    early = await t.call("POST", "/strategies", 201, json={"title": "Short DCA"})
    await t.call("PUT", f"/bots/{bot_id}/journal", json={"strategy_id": early["strategy_id"]})
    await t.call("POST", f"/bots/{bot_id}/start")
    await tw.runtime.bots.settle()
    await walk(tw, PERP, points)

    page = await t.call("GET", f"/bots/{bot_id}/positions?status=closed&limit=200")
    positions = page["data"]
    assert len(positions) >= 3, "the window must close several deals"
    expected = sorted(_position_fields(p) for p in positions)

    records = await _records(t, early["strategy_id"])
    assert sorted(_record_fields(r) for r in records) == expected
    assert all(r["origin"] == "tradewind" and r["bot_id"] == bot_id for r in records)
    assert all(r["result"]["points"] and D(r["result"]["points"]) > 0 for r in records)
    # read again: nothing is added
    assert len(await _records(t, early["strategy_id"])) == len(positions)

    # a strategy linked after the run gets the same records at once (the link moves)
    late = await t.call("POST", "/strategies", 201, json={"title": "Linked later"})
    await t.call("PUT", f"/bots/{bot_id}/journal", json={"strategy_id": late["strategy_id"]})
    assert sorted(_record_fields(r) for r in await _records(t, late["strategy_id"])) == expected
    assert len(await _records(t, early["strategy_id"])) == len(positions)  # those stay

    # a record from fills is neither deleted nor changed
    one = records[0]["trade_id"]
    path = f"/strategies/{early['strategy_id']}/trades/{one}"
    await t.call("DELETE", path, 409)
    await t.call("PATCH", path, 409, json={"status": "CANCELLED"})
    await t.call("POST", f"{path}/close", 409)

    detail = await t.call("GET", f"/strategies/{early['strategy_id']}")
    stats = detail["statistics"]
    assert (stats["trade_count"], stats["closed_count"], D(stats["win_rate"])) == (
        len(positions),
        len(positions),
        D(100),
    )
    pcts = [D(r["result"]["return_pct"]) for r in records]
    assert D(stats["total_return_pct"]) == sum(pcts)


def _position_fields(p: dict[str, Any]) -> tuple[Any, ...]:
    return (
        p["position_id"], p["symbol"], "BUY" if p["side"] == "buy" else "SELL",
        D(p["entry_price"]), D(p["close_price"]), datetime.fromisoformat(p["opened_at"]),
        datetime.fromisoformat(p["closed_at"]),
    )  # fmt: skip


def _record_fields(r: dict[str, Any]) -> tuple[Any, ...]:
    assert (r["status"], r["source"]) == ("CLOSED", "tradewind")
    return (
        r["external_reference"], r["symbol"], r["side"], D(r["entry"]), D(r["close_price"]),
        datetime.fromisoformat(r["opened_at"]), datetime.fromisoformat(r["closed_at"]),
    )  # fmt: skip


async def _records(t: Any, strategy_id: str) -> list[dict[str, Any]]:
    page = await t.call("GET", f"/strategies/{strategy_id}/trades?limit=200")
    return list(page["data"])
