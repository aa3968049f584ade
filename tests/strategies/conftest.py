"""Stored real candles for the strategy scenarios, and an independent price-path helper."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from tradewind.marketdata import Candles, Timeframe, bundled_store

HOUR = 3_600_000


@pytest.fixture(scope="session")
def btc_1h(tmp_path_factory: pytest.TempPathFactory) -> Candles:
    """Coinbase BTC/USD hours, 2017-07 to 2019-10, as the paper venue's BTC/USDT."""
    store = bundled_store(Path(tmp_path_factory.mktemp("data")))
    return store.read("paper", "BTC/USDT", Timeframe.H1)


def ohlc_points(candles: Candles, start: int, stop: int) -> list[tuple[int, Decimal]]:
    """The path rule of docs/market-data.md, written out again: each bar is open, then (up
    bar) low at 1/3 and high at 2/3 or (down bar) high then low, then close at its end; the
    next bar's open follows at the same instant."""
    points: list[tuple[int, Decimal]] = []
    for i in range(start, stop):
        ts = int(candles.ts[i])
        o, h, lo, c = (
            Decimal(repr(float(x)))
            for x in (candles.open[i], candles.high[i], candles.low[i], candles.close[i])
        )
        first, second = (lo, h) if c >= o else (h, lo)
        points += [(ts, o), (ts + HOUR // 3, first), (ts + 2 * HOUR // 3, second), (ts + HOUR, c)]
    return points


def first_time_at_or_below(
    points: list[tuple[int, Decimal]], level: Decimal
) -> tuple[int, Decimal] | None:
    """When a linear path first reaches ``level`` from above (time rounded down)."""
    if points[0][1] <= level:
        return points[0]
    for (t0, p0), (t1, p1) in pairwise(points):
        if p0 > level >= p1:
            return t0 + int((t1 - t0) * (level - p0) / (p1 - p0)), level
    return None


def first_time_at_or_above(
    points: list[tuple[int, Decimal]], level: Decimal, after_ms: int = 0
) -> tuple[int, Decimal] | None:
    """When a linear path first reaches ``level`` from below, after ``after_ms``."""
    for (t0, p0), (t1, p1) in pairwise(points):
        if t1 <= after_ms:
            continue
        if p0 >= level and t0 >= after_ms:
            return t0, p0
        if p0 < level <= p1:
            t = t0 + int((t1 - t0) * (level - p0) / (p1 - p0))
            if t >= after_ms:
                return t, level
    return None
