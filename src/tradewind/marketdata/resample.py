"""Resampling candles to a longer bar, aligned to UTC epoch multiples of its length."""

from __future__ import annotations

import numpy as np

from tradewind.marketdata.candles import Candles
from tradewind.marketdata.timeframes import Timeframe


def resample(candles: Candles, bar: Timeframe | int) -> Candles:
    """Aggregate ascending ``candles`` into bars of ``bar`` (a timeframe or a length in ms).

    Each output bar opens at a multiple of its length since the epoch and takes the first
    open, the highest high, the lowest low, the last close and the summed volume of the
    source bars that open inside it. An interval with no source bar yields no bar (gaps stay
    gaps); an interval with only some of its source bars yields a bar made of those.
    """
    length = bar.ms if isinstance(bar, Timeframe) else int(bar)
    if length <= 0:
        raise ValueError("bar length must be positive")
    if not len(candles):
        return candles
    offset = candles.ts % length
    if not offset.any():  # ascending bars each on an interval's start: one an interval
        return candles  # nothing to merge (a bot on the bars)
    bucket = candles.ts - offset
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    lasts = np.concatenate((starts[1:], [len(candles)])) - 1
    return Candles(
        ts=bucket[starts],
        open=candles.open[starts],
        high=np.maximum.reduceat(candles.high, starts),
        low=np.minimum.reduceat(candles.low, starts),
        close=candles.close[lasts],
        volume=np.add.reduceat(candles.volume, starts),
    )
