"""Small candle factories and the real bundled minutes the market-data tests share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow.parquet as pq

from tradewind.marketdata.bundled import BUNDLED_DIR
from tradewind.marketdata.candles import Candles

MINUTE = 60_000
HOUR = 60 * MINUTE
APR4 = 1_522_800_000_000  # 2018-04-04T00:00:00Z, the first bar of the bundled 1m files


def bars(*rows: Sequence[float]) -> Candles:
    """Candles from ``(ts, open, high, low, close, volume)`` rows."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6
    return Candles(np.array(columns[0], np.int64), *(np.array(c, np.float64) for c in columns[1:]))


def bundled(file: str) -> Candles:
    """A bundled file read directly, independent of the store."""
    return Candles.from_arrow(pq.read_table(BUNDLED_DIR / f"{file}.parquet"))
