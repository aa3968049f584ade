"""The candles shipped inside the package, and the one table that names them.

The files are Parquet copies of permissively licensed CSVs (attribution in
``bundled/NOTICE.md``), made by ``scripts/bundle_data.py``. They are read in place, as a
read-only fallback of the store; nothing is copied into the data directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from tradewind.marketdata.store import CandleStore, SeriesKey
from tradewind.marketdata.timeframes import Timeframe

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"


class BundledSeries(NamedTuple):
    """One series the bundled data answers for, and the file (stem) holding it."""

    venue: str
    symbol: str
    timeframe: Timeframe
    file: str


BUNDLED: tuple[BundledSeries, ...] = (
    BundledSeries("paper", "BTC/USDT", Timeframe.H1, "BTC_USD-1h"),
    BundledSeries("paper", "BTC/USDT", Timeframe.M1, "BTC_USD-1m"),
    BundledSeries("paper", "BTC/USDT:USDT", Timeframe.H1, "BTC_USD-1h"),
    BundledSeries("paper", "BTC/USDT:USDT", Timeframe.M1, "BTC_USD-1m"),
    BundledSeries("paper", "ETH/USDT", Timeframe.M1, "ETH_USD-1m"),
    BundledSeries("paper", "ETH/USDT:USDT", Timeframe.M1, "ETH_USD-1m"),
    BundledSeries("paper", "LTC/USDT", Timeframe.M1, "LTC_USD-1m"),
    BundledSeries("paper", "EURUSD", Timeframe.H1, "EUR_USD-1h"),
    BundledSeries("paper-2017", "EURUSD", Timeframe.H1, "EUR_USD-1h-2017"),
)
"""Venue and symbol ← file. The sources are USD markets (Coinbase, OANDA, Dukascopy); the
paper venue quotes the crypto ones as USDT pairs, and the perpetual replays the spot data."""


def bundled_files(directory: Path = BUNDLED_DIR) -> dict[SeriesKey, Path]:
    """``BUNDLED`` as a fallback table for ``CandleStore``."""
    return {
        SeriesKey(s.venue, s.symbol, s.timeframe): directory / f"{s.file}.parquet" for s in BUNDLED
    }


def bundled_store(data_dir: Path) -> CandleStore:
    """The store of a data directory (``<data_dir>/marketdata``), falling back to the bundle."""
    return CandleStore(Path(data_dir) / "marketdata", fallbacks=[bundled_files()])
