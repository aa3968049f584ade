"""Importing candle CSV files into the store."""

from __future__ import annotations

from pathlib import Path

from tradewind.marketdata.candles import Candles, InvalidCandles
from tradewind.marketdata.store import CandleStore
from tradewind.marketdata.timeframes import Timeframe


def import_csv(
    store: CandleStore, path: Path | str, venue: str, symbol: str, timeframe: Timeframe | str
) -> int:
    """Read, validate and merge a CSV into the store; returns the number of rows read.

    The format is ``timestamp_ms,open,high,low,close,volume`` (bar open time, UTC epoch ms,
    ascending). As a courtesy the header may be missing and the first column may hold ISO-8601
    times (``2018-04-04T00:00:00Z``; no offset means UTC). Rows already stored at the same
    timestamps are replaced. Raises ``InvalidCandles`` (a ``ValueError``) naming the file and
    the first bad row; nothing is written then.
    """
    candles = Candles.from_csv(path)
    try:
        store.write(venue, symbol, timeframe, candles)
    except InvalidCandles as e:
        raise InvalidCandles(f"{path}: {e.message}", row=e.row) from e
    return len(candles)
