"""A fake Binance spot exchange for tests: CCXT's own binance client trades against it.

``FakeBinance`` serves Binance's spot REST API on 127.0.0.1 (markets, tickers, klines,
account, orders, trades) with HMAC signatures checked and Binance's error codes, holds its
state in memory, and lets a test move prices, fill orders, set balances and arm faults
(rate limits, server errors, timeouts, lost answers). ``ccxt_binance`` builds a CCXT client
pointed at it. Nothing here touches the internet.
"""

from tests.fakes.binance.api import RecordedRequest
from tests.fakes.binance.client import SPOT_ONLY_OPTIONS, FakeClients, ccxt_binance, point_ccxt
from tests.fakes.binance.faults import Fault, FaultKind
from tests.fakes.binance.model import (
    DEFAULT_BALANCES,
    DEFAULT_MARKETS,
    FEE_RATE,
    Balance,
    Candle,
    Market,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    Trade,
)
from tests.fakes.binance.server import DEFAULT_API_KEY, DEFAULT_SECRET, FakeBinance

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_BALANCES",
    "DEFAULT_MARKETS",
    "DEFAULT_SECRET",
    "FEE_RATE",
    "SPOT_ONLY_OPTIONS",
    "Balance",
    "Candle",
    "FakeBinance",
    "FakeClients",
    "Fault",
    "FaultKind",
    "Market",
    "Order",
    "OrderStatus",
    "OrderType",
    "RecordedRequest",
    "Side",
    "TimeInForce",
    "Trade",
    "ccxt_binance",
    "point_ccxt",
]
