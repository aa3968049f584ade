"""The compiled re-arm program (``venues/matching/compiled.py``, ``backtest/compiled.py``)
against the engine walking every bar tick by tick (``run_backtest(..., jump=False)``): the
same fills (time, side, amount, price, liquidity, fee), the same orders, the same equity to
the last bit, the same log lines at the same times, the same metrics. On the bundled hours,
and on generated minutes with price gaps between bars and missing bars; with a stop
condition the bot must act on; with re-armed buys the account cannot pay for; and with
prices off the tick grid, where the compiled walk must stand aside."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradewind.backtest.runner import BacktestResult, BacktestSpec, run_backtest
from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import AccountId, Order, OrderId, OrderType, Rearm, Side
from tradewind.marketdata import Candles, Timeframe, bundled_store
from tradewind.venues.matching import compiled
from tradewind.venues.paper.catalog import paper_instruments

SPOT = "BTC/USDT"
MINUTE = 60_000


@pytest.fixture(scope="module")
def btc_1h(tmp_path_factory: pytest.TempPathFactory) -> Candles:
    store = bundled_store(Path(tmp_path_factory.mktemp("data")))
    return store.read("paper", SPOT, Timeframe.H1)


def minutes(n: int, seed: int, *, gaps: bool) -> Candles:
    """A random walk on the 0.01 tick; with ``gaps``, some bars open away from the close
    before them and some bars are missing."""
    rng = np.random.default_rng(seed)
    steps = rng.standard_t(4, n) * 9.0
    close = np.round(6400.0 * 100 + np.cumsum(steps) * 100) / 100
    opens = np.concatenate(([close[0]], close[:-1]))
    if gaps:
        jump = rng.random(n) < 0.05
        opens = np.where(jump, np.round((opens + rng.normal(0, 15, n)) * 100) / 100, opens)
    wick = np.abs(rng.normal(0, 4, (2, n)))
    high = np.round((np.maximum(opens, close) + wick[0]) * 100) / 100
    low = np.round((np.minimum(opens, close) - wick[1]) * 100) / 100
    step = np.ones(n, np.int64)
    if gaps:
        step[rng.random(n) < 0.03] = 3  # two bars missing before this one
    ts = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE + np.cumsum(step) * MINUTE
    # prices on the tick as the venue reads them: the double nearest to ticks / 100
    tick = lambda a: np.rint(a * 100).astype(np.int64) / 100  # noqa: E731
    return Candles(ts, tick(opens), tick(high), tick(low), tick(close), np.ones(n))


def grid(candles: Candles, count: int, **extra: Any) -> dict[str, Any]:
    low, high = np.quantile(candles.close, [0.1, 0.9])
    return {
        "symbol": SPOT, "lowerLimit": f"{low:.2f}", "upperLimit": f"{high:.2f}",
        "gridCount": count, "investmentAsset": "Quote", "investmentAmount": 1500,
        "tradeToFillGrid": True, **extra,
    }  # fmt: skip


def spec(
    candles: Candles, settings: dict[str, Any], timeframe: Timeframe, **extra: Any
) -> BacktestSpec:
    return BacktestSpec(
        script="spot_grid", settings=settings, symbol=SPOT, timeframe=timeframe, candles=candles,
        balances={"USDT": D(2000)}, **extra,
    )  # fmt: skip


def assert_same(compiled_run: BacktestResult, walked: BacktestResult) -> None:
    def fills(r: BacktestResult) -> list[tuple[Any, ...]]:
        return [(f.ts_ms, f.side, f.amount, f.price, f.liquidity, f.fee, f.fee_asset)
                for f in r.fills]  # fmt: skip

    def orders(r: BacktestResult) -> list[tuple[Any, ...]]:
        return [(o.side, o.type, o.price, o.amount, o.status, o.created_ms, o.updated_ms,
                 o.client_order_id, o.filled, o.average_price, o.fee) for o in r.orders]  # fmt: skip

    def logs(r: BacktestResult) -> list[tuple[Any, ...]]:
        return [(line.ts_ms, line.severity, line.message) for line in r.logs]

    assert fills(compiled_run) == fills(walked)
    assert orders(compiled_run) == orders(walked)
    assert np.array_equal(compiled_run.curve.equity, walked.curve.equity)
    assert compiled_run.balances == walked.balances
    assert logs(compiled_run) == logs(walked)
    assert compiled_run.round_trips == walked.round_trips
    assert compiled_run.metrics.to_haas() == walked.metrics.to_haas()
    assert compiled_run.bot_status == walked.bot_status


async def test_a_grid_on_the_bundled_hours_is_the_grid_walked_bar_by_bar(btc_1h: Candles) -> None:
    candles = btc_1h[11000:12000]
    settings = grid(candles, 12)
    fast = await run_backtest(spec(candles, settings, Timeframe.H1))
    walked = await run_backtest(spec(candles, settings, Timeframe.H1), jump=False)
    assert len(walked.fills) > 40, "the window must make the grid trade"
    assert fast.compiled_bars > 900 and walked.compiled_bars == 0
    assert_same(fast, walked)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_gaps_in_price_and_time_fill_where_the_engine_fills_them(seed: int) -> None:
    candles = minutes(3000, seed, gaps=True)
    assert (candles.open[1:] != candles.close[:-1]).sum() > 50
    assert (np.diff(candles.ts) > MINUTE).sum() > 20
    settings = grid(candles, 40)
    fast = await run_backtest(spec(candles, settings, Timeframe.M1))
    walked = await run_backtest(spec(candles, settings, Timeframe.M1), jump=False)
    assert len(walked.fills) > 50
    assert fast.compiled_bars > 2500
    assert_same(fast, walked)


async def test_walking_in_small_chunks_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short calls of the loop (a few bars, a few dozen fills each), as a long run makes
    between its progress reports: the run goes on where each stopped."""
    candles = minutes(2000, 7, gaps=True)
    settings = grid(candles, 40)
    whole = await run_backtest(spec(candles, settings, Timeframe.M1))
    monkeypatch.setattr("tradewind.backtest.compiled.CHUNK", 7)
    monkeypatch.setattr("tradewind.backtest.compiled.ROWS", 1)  # room for one bar's worst case
    chunked = await run_backtest(spec(candles, settings, Timeframe.M1))
    walked = await run_backtest(spec(candles, settings, Timeframe.M1), jump=False)
    assert len(walked.fills) > 50
    assert chunked.compiled_bars > 1500
    assert_same(chunked, walked)
    assert_same(whole, walked)


async def test_the_bot_acts_on_its_stop_condition_as_when_walked() -> None:
    candles = minutes(3000, 4, gaps=False)
    settings = grid(candles, 10, stopCondition="Price", stopType="Above value",
                    stopValue=f"{float(np.max(candles.high[:2000])) - 5:.2f}", stopExit=True)  # fmt: skip
    fast = await run_backtest(spec(candles, settings, Timeframe.M1))
    walked = await run_backtest(spec(candles, settings, Timeframe.M1), jump=False)
    assert walked.bot_status == "stopped"
    assert fast.compiled_bars > 0
    assert_same(fast, walked)


@pytest.mark.parametrize(("maker", "taker"), [("0.008", "0.008"), ("0.01", "0.002")])
async def test_a_fill_the_account_cannot_pay_for_is_left_to_the_engine(
    maker: str, taker: str
) -> None:
    """Fees larger than a grid's step, and little else free: the proceeds of a sell do not pay
    for the buy its re-arm places (or, with the maker fee above the taker fee a buy holds
    for, a buy's fill costs more than it held). The compiled walk stops before that bar; the
    engine refuses the order, and the bot fails, as when walked."""
    candles = minutes(1500, 5, gaps=False)
    settings = grid(candles, 40)
    settings["investmentAmount"] = 1990
    kwargs = {"maker_fee": D(maker), "taker_fee": D(taker)}
    fast = await run_backtest(spec(candles, settings, Timeframe.M1, **kwargs))
    walked = await run_backtest(spec(candles, settings, Timeframe.M1, **kwargs), jump=False)
    assert walked.bot_status == "error"
    assert any("Insufficient funds" in line.message for line in walked.logs)
    assert fast.compiled_bars > 500
    assert_same(fast, walked)


async def test_prices_off_the_tick_grid_are_left_to_the_engine() -> None:
    base = minutes(500, 6, gaps=False)
    off = Candles(base.ts, base.open + 0.004, base.high + 0.004, base.low + 0.004,
                  base.close + 0.004, base.volume)  # fmt: skip
    settings = grid(off, 10)
    fast = await run_backtest(spec(off, settings, Timeframe.M1))
    walked = await run_backtest(spec(off, settings, Timeframe.M1), jump=False)
    assert fast.compiled_bars == 0
    assert len(walked.fills) > 5
    assert_same(fast, walked)


# ---- the pieces -------------------------------------------------------------------------------


def instrument() -> Instrument:
    return paper_instruments()[SPOT]  # tick 0.01, half spread 0.5


def limit(n: int, side: Side, price: str, back: str, *, flip: bool = True) -> Order:
    return Order(
        id=OrderId(f"ord_{n}"), account_id=AccountId("acc"), symbol=SPOT, side=side,
        type=OrderType.LIMIT, amount=D("0.01"), created_ms=0, price=D(price),
        rearm=Rearm(D(back), flip),
    )  # fmt: skip


def test_a_ladder_is_buys_below_sells_in_pairs_apart() -> None:
    orders = [limit(1, Side.SELL, "110", "105"), limit(2, Side.BUY, "95", "100"),
              limit(3, Side.BUY, "100", "105")]  # fmt: skip
    ladder = compiled.Ladder.of(orders, instrument(), 10_400)
    assert ladder is not None
    assert ladder.lows.tolist() == [9500, 10000, 10500] and ladder.k == 2
    assert [o.id for o in ladder.orders] == ["ord_2", "ord_3", "ord_1"]


@pytest.mark.parametrize(
    ("orders", "price"),
    [
        ([limit(1, Side.BUY, "95", "100", flip=False)], 10_000),  # no flip
        ([limit(1, Side.BUY, "95", "101"), limit(2, Side.BUY, "100", "105")], 10_400),  # overlap
        ([limit(1, Side.SELL, "100", "95"), limit(2, Side.BUY, "100", "105")], 10_200),  # a sell below a buy
        ([limit(1, Side.BUY, "100", "105")], 9_950),  # the ask already reaches the buy
        ([limit(1, Side.BUY, "100.005", "105")], 10_400),  # off the tick
    ],
)  # fmt: skip
def test_anything_else_is_not_a_ladder(orders: list[Order], price: int) -> None:
    assert compiled.Ladder.of(orders, instrument(), price) is None


def test_tick_scale_reads_prices_as_the_venue_does() -> None:
    assert compiled.tick_scale(D("0.01")) == (1, 100)
    assert compiled.tick_scale(D("0.5")) == (5, 10)
    assert compiled.tick_scale(D("25")) == (25, 1)


async def test_a_strategy_that_answers_a_program_fill_with_more_than_log_lines_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``records_program_fills`` is a promise: a grid that answered its re-arm fills with an
    order change would act at the batch's end instead of at the fill, so the batch refuses."""
    from tradewind.strategies.base import CancelOrder
    from tradewind.strategies.grid import SpotGrid

    keeps = SpotGrid.on_fill

    def on_fill(self: SpotGrid, fill: Any, ctx: Any) -> list[Any]:
        commands = keeps(self, fill, ctx)
        return [*commands, CancelOrder(tag=fill.tag)] if fill.tag.startswith("grid:") else commands

    monkeypatch.setattr(SpotGrid, "on_fill", on_fill)
    candles = minutes(800, 8, gaps=False)
    with pytest.raises(RuntimeError, match="records_program_fills promises log lines only"):
        await run_backtest(spec(candles, grid(candles, 20), Timeframe.M1))
