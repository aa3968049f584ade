"""Market data: the candle store, CSV import, resampling, the bundled candles and price feeds."""

from tradewind.marketdata.bundled import BUNDLED, BundledSeries, bundled_store
from tradewind.marketdata.candles import Candles, InvalidCandles
from tradewind.marketdata.feeds import (
    DEFAULT_HALF_SPREADS,
    ManualFeed,
    NoPrice,
    PriceFeed,
    Quote,
    ReplayFeed,
)
from tradewind.marketdata.importer import import_csv
from tradewind.marketdata.resample import resample
from tradewind.marketdata.store import CandleStore, SeriesInfo, SeriesKey, SeriesNotFound
from tradewind.marketdata.timeframes import Timeframe

__all__ = [
    "BUNDLED",
    "DEFAULT_HALF_SPREADS",
    "BundledSeries",
    "CandleStore",
    "Candles",
    "InvalidCandles",
    "ManualFeed",
    "NoPrice",
    "PriceFeed",
    "Quote",
    "ReplayFeed",
    "SeriesInfo",
    "SeriesKey",
    "SeriesNotFound",
    "Timeframe",
    "bundled_store",
    "import_csv",
    "resample",
]
