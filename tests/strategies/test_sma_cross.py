"""The SMA crossover bot trades where a plain numpy moving average says the two cross."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from tradewind.domain.orders import Side
from tradewind.marketdata import Candles
from tradewind.strategies.schema import InvalidSettings, parse_settings
from tradewind.strategies.sma_cross import SmaCrossBot, SmaCrossSettings

from .conftest import HOUR
from .harness import Harness

SPOT = "BTC/USDT"
FIRST, START, STOP = 12000, 12100, 12700  # 100 bars of history, then 600 hours from 2018-11-17


def settings(**overrides: object) -> SmaCrossSettings:
    base: dict[str, object] = {"symbol": SPOT, "orderSize": 500, "fastPeriod": 10, "slowPeriod": 30}
    return SmaCrossSettings.model_validate(base | overrides)


def run(bot: SmaCrossBot, candles: Candles) -> Harness:
    h = Harness(bot, candles[FIRST:STOP], symbol=SPOT, interval="1h",
                balances={"USDT": D(2000)}, start=START - FIRST)  # fmt: skip
    h.start()
    h.run()
    return h


def expected_trades(candles: Candles, fast: int, slow: int) -> list[tuple[int, Side]]:
    """Crossings of the two means, counted the textbook way (convolutions over the closes)."""
    closes = np.asarray(candles.close[FIRST:STOP], dtype=float)
    mean_fast = np.convolve(closes, np.ones(fast) / fast, mode="full")[: len(closes)]
    mean_slow = np.convolve(closes, np.ones(slow) / slow, mode="full")[: len(closes)]
    diff = mean_fast - mean_slow
    holding, trades = False, []
    for t in range(START - FIRST, STOP - FIRST):
        before, after = diff[t - 1], diff[t]
        if not holding and before <= 0 < after:
            trades.append((t + FIRST, Side.BUY))
            holding = True
        elif holding and before >= 0 > after:
            trades.append((t + FIRST, Side.SELL))
            holding = False
    return trades


def test_the_bot_trades_at_the_crossings(btc_1h: Candles) -> None:
    h = run(SmaCrossBot(settings()), btc_1h)
    trades = expected_trades(btc_1h, 10, 30)
    assert len(trades) >= 6
    # each decision is taken at the crossing bar's close and filled there, across the spread
    assert [(f.ts_ms, f.side) for f in h.fills] == [
        (int(btc_1h.ts[i]) + HOUR, side) for i, side in trades
    ]
    for fill, (i, side) in zip(h.fills, trades, strict=True):
        close = D(repr(float(btc_1h.close[i])))
        assert fill.price == close + (D("0.5") if side is Side.BUY else D("-0.5"))
    buys = [f for f in h.fills if f.side is Side.BUY]
    sells = [f for f in h.fills if f.side is Side.SELL]
    assert [s.amount for s in sells] == [b.amount for b in buys[: len(sells)]]  # sells all
    # 500 USDT at the price the decision saw (the close; the fill pays the spread on top)
    assert all(b.amount == (D(500) / (b.price - D("0.5"))).quantize(D("0.00001"), "ROUND_FLOOR")
               for b in buys)  # fmt: skip
    bot = h.strategy
    assert isinstance(bot, SmaCrossBot)
    assert h.total("BTC") == bot.state.inventory.amount


def test_an_order_size_in_the_base_asset_buys_that_amount(btc_1h: Candles) -> None:
    h = run(SmaCrossBot(settings(orderSize="0.05", sizeAsset="Base")), btc_1h)
    buys = [f for f in h.fills if f.side is Side.BUY]
    assert buys and all(b.amount == D("0.05") for b in buys)


def test_the_state_survives_a_restore_mid_run(btc_1h: Candles) -> None:
    bot = SmaCrossBot(settings())
    h = run(bot, btc_1h)
    copy = SmaCrossBot(settings())
    copy.restore(bot.snapshot())
    assert copy.snapshot() == bot.snapshot()
    assert len(copy.state.closes) == 30 and copy.state.sign in (-1, 0, 1)
    assert h.fills


def test_the_slow_period_must_be_longer_than_the_fast_one() -> None:
    with pytest.raises(InvalidSettings) as caught:
        parse_settings(
            SmaCrossSettings, {"symbol": SPOT, "orderSize": 10, "fastPeriod": 50, "slowPeriod": 20}
        )
    assert caught.value.field == "slowPeriod"
