"""The RSI bot trades at Wilder's RSI crossings, checked against a plain numpy RSI."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR
from decimal import Decimal as D

import numpy as np
import pytest

from tradewind.domain import events as ev
from tradewind.domain.orders import Bracket, OrderRole, Side
from tradewind.marketdata import Candles
from tradewind.strategies.base import OrderLeg
from tradewind.strategies.rsi import RsiBot, RsiSettings
from tradewind.strategies.schema import InvalidSettings, parse_settings

from .conftest import HOUR
from .harness import Harness

SPOT = "BTC/USDT"
FIRST, START, STOP = 12000, 12100, 12500  # 100 bars of history, then 400 hours from 2018-11-17


def numpy_rsi(closes: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI, the textbook way: seed with the mean of the first n moves, then smooth."""
    moves = np.diff(closes)
    gains, losses = np.clip(moves, 0, None), np.clip(-moves, 0, None)
    out = np.full(len(closes), np.nan)
    avg_gain, avg_loss = gains[:n].mean(), losses[:n].mean()
    for i in range(n, len(closes)):
        if i > n:
            avg_gain = (avg_gain * (n - 1) + gains[i - 1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[i - 1]) / n
        out[i] = 100.0 if avg_loss == 0 else 100 - 100 / (1 + avg_gain / avg_loss)
    return out


def settings(**overrides: object) -> RsiSettings:
    base: dict[str, object] = {"symbol": SPOT, "orderSize": 500}
    return RsiSettings.model_validate(base | overrides)


def run(bot: RsiBot, candles: Candles, *, skip: bool = False) -> Harness:
    h = Harness(bot, candles[FIRST:STOP], symbol=SPOT, interval="1h",
                balances={"USDT": D(2000)}, start=START - FIRST, skip=skip)  # fmt: skip
    h.start()
    h.run()
    return h


def expected_trades(candles: Candles, oversold: float, overbought: float) -> list[tuple[int, Side]]:
    rsi = numpy_rsi(np.asarray(candles.close[FIRST:STOP], dtype=float), 14)
    holding, trades = False, []
    for t in range(START - FIRST, STOP - FIRST):
        before, after = rsi[t - 1], rsi[t]
        if not holding and before < oversold <= after:
            trades.append((t + FIRST, Side.BUY))
            holding = True
        elif holding and before > overbought >= after:
            trades.append((t + FIRST, Side.SELL))
            holding = False
    return trades


def test_the_bot_trades_at_the_crossings(btc_1h: Candles) -> None:
    h = run(RsiBot(settings()), btc_1h)
    trades = expected_trades(btc_1h, 30, 70)
    assert len(trades) == 5
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
    bot = h.strategy
    assert isinstance(bot, RsiBot)
    assert bot.state.rsi.value == pytest.approx(
        numpy_rsi(np.asarray(btc_1h.close[FIRST:STOP], dtype=float), 14)[-1], abs=1e-9
    )


def test_a_backtester_skipping_quiet_bars_gets_the_same_trades(btc_1h: Candles) -> None:
    every = run(RsiBot(settings()), btc_1h)
    skipping = run(RsiBot(settings()), btc_1h, skip=True)
    assert skipping.commands == every.commands
    assert [(f.ts_ms, f.price) for f in skipping.fills] == [(f.ts_ms, f.price) for f in every.fills]
    assert every.bars_seen == STOP - START
    assert skipping.bars_seen < (STOP - START) / 4


def test_stop_loss_and_take_profit_ride_on_the_entry_as_a_bracket(btc_1h: Candles) -> None:
    h = run(RsiBot(settings(stopLoss=2, takeProfit=3)), btc_1h)
    (first, *_) = expected_trades(btc_1h, 30, 70)
    entry = next(c for c in h.orders_placed() if c.tag == "entry:1")
    close = D(repr(float(btc_1h.close[first[0]])))
    assert entry.bracket == Bracket(
        stop_loss=(close * D("0.98")).quantize(D("0.01"), ROUND_FLOOR),
        take_profit=(close * D("1.03")).quantize(D("0.01"), ROUND_CEILING),
    )
    # the legs are the matching engine's: named after the entry, reduce-only, one OCO group
    legs = {
        e.order.client_order_id: e.order
        for e in h.events
        if isinstance(e, ev.OrderAccepted) and e.order.client_order_id.startswith("bot_test:1:")
    }
    assert sorted(legs) == ["bot_test:1:sl", "bot_test:1:tp"]
    assert legs["bot_test:1:sl"].stop_price == entry.bracket.stop_loss
    assert legs["bot_test:1:tp"].price == entry.bracket.take_profit
    assert all(o.reduce_only for o in legs.values())
    assert len({o.oco_group for o in legs.values()}) == 1
    exits = [f for f in h.fills if f.leg in (OrderLeg.STOP_LOSS, OrderLeg.TAKE_PROFIT)]
    assert exits and all(f.tag.startswith("entry:") for f in exits)
    bot = h.strategy
    assert isinstance(bot, RsiBot)
    # every position was closed by one leg or by a sell crossing, never both
    assert sum(f.side is Side.BUY for f in h.fills) - sum(f.side is Side.SELL for f in h.fills) in (
        0,
        1,
    )
    assert h.total("BTC") == bot.state.inventory.amount
    assert all(o.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
               for o in h.engine.open_orders())  # fmt: skip


def test_overbought_must_be_above_oversold() -> None:
    with pytest.raises(InvalidSettings) as caught:
        parse_settings(
            RsiSettings, {"symbol": SPOT, "orderSize": 10, "oversold": 60, "overbought": 40}
        )
    assert caught.value.field == "overbought"
