"""``run_backtest`` on the bundled BTC/USDT hours: bot types against the strategy tests' driver
(``tests/strategies/harness.py``, whose scenarios are hand counted), a spot grid against a
hand count, jumps that change nothing, timed signals for a webhook bot, progress, cancel, bad
input, and results that agree with the fills they come from.

The driver and a backtest agree where a strategy's decisions do not hinge on when within a
path segment it reacts: grids (their re-arms are order programs the venue runs along the
path), a bot on bar closes. Elsewhere they may differ by design: the driver stops the walk
at the exact point a ``wake()`` is due, while a backtest, like the paper venue, matches a
whole segment (a third of a bar) before the bot acts (docs/backtests.md). A DCA's new deal
after its cooldown, a futures grid's max-loss stop, act at the segment's end. The DCA is in
the parity test instead (tests/backtest/test_parity.py)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.strategies.conftest import ohlc_points
from tests.strategies.harness import Harness
from tests.strategies.test_grid import HandCount
from tradewind.backtest.runner import (
    BacktestResult,
    BacktestSpec,
    Cancelled,
    TimedSignal,
    run_backtest,
)
from tradewind.domain.errors import DomainError
from tradewind.domain.orders import Side
from tradewind.marketdata import Candles, Timeframe, bundled_store
from tradewind.strategies.base import Signal, SignalAction
from tradewind.strategies.registry import get_script

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"
HOUR = 3_600_000
RANGING = (11420, 11590)  # 2018-10-20 to 10-27: 6,355 to 6,453
FALLING = (12000, 12060)  # 2018-11-13 to 11-15: 6,285 down to 5,190
GRID = {
    "symbol": SPOT, "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip
CASES: dict[str, tuple[str, dict[str, Any], tuple[int, int], int]] = {
    # script, settings, window, bars of history before the window
    "spot grid": ("spot_grid", GRID, RANGING, 0),
    "futures grid": ("futures_grid", {
        "symbol": PERP, "lowerLimit": 5800, "upperLimit": 6400, "gridCount": 6,
        "investmentAmount": 300, "leverage": 5, "direction": "long",
    }, FALLING, 0),
    "spot dca": ("dca_spot", {
        "symbol": SPOT, "baseOrderSize": 100, "safetyOrderSize": 100, "safetyOrderCount": 3,
        "priceDeviation": 1, "stepScale": "1.5", "volumeScale": "1.5", "takeProfit": "1.5",
        "cooldown": 3600,
    }, (11590, 12100), 0),
    "rsi": ("rsi_bot", {"symbol": SPOT, "orderSize": 500}, (12100, 12500), 100),
    "sma cross": ("sma_cross", {"symbol": SPOT, "orderSize": 500, "fastPeriod": 10,
                                "slowPeriod": 30}, (12100, 12400), 100),
    "sma cross, bracket": ("sma_cross", {"symbol": SPOT, "orderSize": 500, "fastPeriod": 10,
                                         "slowPeriod": 30, "stopLoss": 2, "takeProfit": 3},
                           (12100, 12700), 100),
    "smart trade": ("smart_trade", {
        "symbol": SPOT, "amount": 1000,
        "entries": [{"price": 6300, "share": 60}, {"price": 6220, "share": 40}],
        "takeProfits": [{"price": 6400, "share": 30}, {"price": 6500, "share": 30},
                        {"price": 6530, "share": 40}],
    }, (11630, 11900), 0),
}  # fmt: skip


@pytest.fixture(scope="module")
def btc_1h(tmp_path_factory: pytest.TempPathFactory) -> Candles:
    store = bundled_store(Path(tmp_path_factory.mktemp("data")))
    return store.read("paper", "BTC/USDT", Timeframe.H1)


def spec(
    candles: Candles, script: str, settings: dict[str, Any], window: tuple[int, int],
    history: int = 0, **extra: Any,
) -> BacktestSpec:  # fmt: skip
    start, stop = window
    return BacktestSpec(
        script=script, settings=settings, symbol=settings["symbol"], timeframe=Timeframe.H1,
        candles=candles[start - history : stop], balances={"USDT": D(2000)}, start=history,
        **extra,
    )  # fmt: skip


def fills_of(result: BacktestResult) -> list[tuple[Side, D, D]]:
    return [(f.side, f.amount, f.price) for f in result.fills]


@pytest.mark.parametrize("case", ["spot grid", "futures grid", "rsi", "sma cross", "smart trade"])
async def test_each_bot_type_trades_as_the_strategy_tests_driver_does(
    btc_1h: Candles, case: str
) -> None:
    script, settings, (start, stop), history = CASES[case]
    result = await run_backtest(spec(btc_1h, script, settings, (start, stop), history))
    found = get_script(script)
    h = Harness(
        found.build(found.parse(settings)), btc_1h[start - history : stop],
        symbol=settings["symbol"], interval="1h", balances={"USDT": D(2000)}, start=history,
    )  # fmt: skip
    h.start()
    h.run()
    assert len(result.fills) >= 2, "the window must make the bot trade"
    assert fills_of(result) == [(f.side, f.amount, f.price) for f in h.fills]
    assert {a: v for a, v in result.balances.items() if v} == {
        a: h.total(a) for a in result.balances if h.total(a)
    }
    assert result.bars == stop - start


async def test_a_spot_grid_in_a_ranging_week_matches_the_hand_count(btc_1h: Candles) -> None:
    start, stop = RANGING
    result = await run_backtest(spec(btc_1h, "spot_grid", GRID, RANGING))
    levels = [D(6370), D(6390), D(6410), D(6430), D(6450)]
    amounts = [
        (D(250) / level).quantize(D("0.00001"), rounding="ROUND_FLOOR") for level in levels[:4]
    ]
    points = ohlc_points(btc_1h, start, stop)
    count = HandCount(levels, amounts, points[0][1])
    count.walk(points)
    grid_fills = [(f.side, f.amount, f.price) for f in result.fills[1:]]  # after the market buy
    assert sorted(grid_fills) == sorted(
        [(Side.BUY, a, p) for a, p in count.buys] + [(Side.SELL, a, p) for a, p in count.sells]
    )
    assert count.trips >= 5
    # a level's sell closes that level's buy (they share a placement: the re-arm chain)
    level_trips = [t for t in result.round_trips if t.exit_price - t.entry_price == D(20)]
    assert len(level_trips) == count.trips
    assert sum((t.profit for t in level_trips), D(0)) == count.profit  # maker fees both ways


@pytest.mark.parametrize(
    "case", ["spot grid", "futures grid", "spot dca", "rsi", "sma cross", "sma cross, bracket"]
)
async def test_jumping_the_quiet_bars_changes_nothing(btc_1h: Candles, case: str) -> None:
    script, settings, window, history = CASES[case]
    jumped = await run_backtest(spec(btc_1h, script, settings, window, history))
    walked = await run_backtest(spec(btc_1h, script, settings, window, history), jump=False)
    assert fills_of(jumped) == fills_of(walked)
    assert walked.event_bars == walked.bars
    if case == "rsi":  # its Wilder average is not searched: every bar is walked (fewer ticks)
        assert jumped.event_bars == walked.event_bars
    else:
        assert jumped.event_bars < walked.event_bars
    assert [(o.side, o.price, o.status) for o in jumped.orders] == [
        (o.side, o.price, o.status) for o in walked.orders
    ]
    np.testing.assert_allclose(jumped.curve.equity, walked.curve.equity, rtol=1e-12)
    assert jumped.metrics.to_haas() == walked.metrics.to_haas()


async def test_a_webhook_bot_follows_its_timed_signals(btc_1h: Candles) -> None:
    start = RANGING[0]
    buy_at, sell_at = int(btc_1h.ts[start + 10]), int(btc_1h.ts[start + 50]) + HOUR // 2
    signals = [
        TimedSignal(buy_at, Signal(SignalAction.BUY, amount=D("0.05"), ts_ms=buy_at)),
        TimedSignal(sell_at, Signal(SignalAction.SELL, amount=D("0.05"), ts_ms=sell_at)),
    ]
    settings = {"symbol": SPOT, "signalToken": "backtest"}
    result = await run_backtest(spec(btc_1h, "webhook", settings, RANGING, signals=signals))
    assert [(f.side, f.amount) for f in result.fills] == [
        (Side.BUY, D("0.05")), (Side.SELL, D("0.05"))
    ]  # fmt: skip
    assert [f.ts_ms for f in result.fills] == [buy_at, sell_at]
    assert result.fills[0].price == D(repr(float(btc_1h.open[start + 10]))) + D("0.5")  # the ask
    (trip,) = result.round_trips
    assert trip.entry_ms == buy_at and trip.exit_ms == sell_at
    assert trip.profit == (trip.exit_price - trip.entry_price) * D("0.05") - trip.fees


async def test_results_agree_with_the_fills_they_come_from(btc_1h: Candles) -> None:
    result = await run_backtest(spec(btc_1h, "spot_grid", GRID, RANGING))
    usdt = D(2000) + sum(
        (-1 if f.side is Side.BUY else 1) * f.amount * f.price - f.fee for f in result.fills
    )
    btc = sum((1 if f.side is Side.BUY else -1) * f.amount for f in result.fills)
    assert result.balances == {"USDT": usdt, "BTC": btc}
    last_close = float(btc_1h.close[RANGING[1] - 1])
    assert result.curve.equity[-1] == pytest.approx(float(usdt) + float(btc) * last_close)
    haas = result.metrics.to_haas()
    assert haas["summary"]["realizedProfit"] == pytest.approx(
        float(sum(t.profit for t in result.round_trips))
        - float(sum(f.fee for f in result.fills) - sum(t.fees for t in result.round_trips))
    )
    assert haas["orders"]["filled"] == sum(1 for o in result.orders if o.status == "filled")
    assert len(result.curve) == result.bars
    assert [line.line for line in result.logs] == list(range(1, len(result.logs) + 1))
    assert result.logs[0].message == "Bot started"


async def test_progress_is_reported_and_a_cancel_stops_the_run(
    btc_1h: Candles, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the grid runs compiled (backtest/compiled.py) in chunks of bars, checking between them
    monkeypatch.setattr("tradewind.backtest.compiled.CHUNK", 16)
    seen: list[tuple[int, int]] = []
    await run_backtest(
        spec(btc_1h, "spot_grid", GRID, RANGING), progress=lambda done, total: seen.append((done, total))
    )  # fmt: skip
    assert seen[0] == (0, 170) and seen[-1] == (170, 170)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    asked = 0

    def cancelled() -> bool:
        nonlocal asked
        asked += 1
        return asked > 5

    with pytest.raises(Cancelled):
        await run_backtest(spec(btc_1h, "spot_grid", GRID, RANGING), cancelled=cancelled)


async def test_a_bot_that_fails_ends_the_run_with_its_status(btc_1h: Candles) -> None:
    """Nothing to buy with: the grid's market buy is refused and the bot fails, as live."""
    poor = BacktestSpec(
        script="spot_grid", settings=GRID, symbol=SPOT, timeframe=Timeframe.H1,
        candles=btc_1h[11420:11590], balances={"USDT": D(5)},
    )  # fmt: skip
    result = await run_backtest(poor)
    assert result.bot_status == "error"
    assert result.fills == [] and result.logs[-1].message.startswith("Bot failed: ")


@pytest.mark.parametrize(
    ("script", "settings", "start", "message"),
    [
        ("no_such_bot", GRID, 0, "unknown bot script"),
        ("spot_grid", {**GRID, "gridCount": 1}, 0, "gridCount"),
        ("spot_grid", {**GRID, "symbol": "DOGE/EUR"}, 0, "DOGE/EUR"),
        ("spot_grid", GRID, 10_000, "no bars"),
    ],
)
async def test_bad_input_is_refused_with_the_reason(
    btc_1h: Candles, script: str, settings: dict[str, Any], start: int, message: str
) -> None:
    bad = BacktestSpec(
        script=script, settings=settings, symbol=settings["symbol"], timeframe=Timeframe.H1,
        candles=btc_1h[11420:11590], balances={"USDT": D(2000)}, start=start,
    )  # fmt: skip
    with pytest.raises(DomainError, match=message):
        await run_backtest(bad)


@pytest.mark.parametrize("gap_to", [6301, 6350])
async def test_an_order_a_gap_jumps_over_fills_at_the_gap(gap_to: int) -> None:
    """A limit sell rests at 6,300 through quiet bars at 6,250; the market then opens at (or
    above) it and stays there. Jumping the quiet bars moves the price past the order without
    walking the gap, so the order rests on the wrong side of the price: it must fill at the
    next tick (at the gap, as a walk of every bar fills it), not wait for the price to come
    back."""
    start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
    closes = [6250.0] * 10 + [float(gap_to)] * 10
    ts = np.arange(len(closes), dtype=np.int64) * HOUR + start
    prices = np.array(closes)
    candles = Candles(ts, prices, prices, prices, prices, np.ones(len(closes)))
    sell_at = int(ts[2])
    signals = [TimedSignal(sell_at, Signal(SignalAction.SELL, amount=D("0.05"), price=D(6300),
                                           ts_ms=sell_at))]  # fmt: skip
    spec = BacktestSpec(
        script="webhook", settings={"symbol": SPOT, "signalToken": "gap"}, symbol=SPOT,
        timeframe=Timeframe.H1, candles=candles, balances={"USDT": D(1000), "BTC": D(1)},
        signals=signals,
    )  # fmt: skip
    jumped = await run_backtest(spec)
    walked = await run_backtest(spec, jump=False)
    assert [(f.ts_ms, f.side, f.price) for f in walked.fills] == [(int(ts[10]), Side.SELL, D(6300))]
    assert [(f.ts_ms, f.side, f.price) for f in jumped.fills] == [
        (f.ts_ms, f.side, f.price) for f in walked.fills
    ]
    assert jumped.event_bars < walked.event_bars
