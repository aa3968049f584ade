"""The fake exchange's vocabulary: markets, orders, trades, balances, candles, its errors."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

Number = Decimal | int | float | str

FEE_RATE = Decimal("0.001")  # maker and taker, in the asset received
_ZERO = Decimal(0)


def to_decimal(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class BinanceError(Exception):
    """A refusal in Binance's own words: HTTP status, error code and message."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"HTTP {status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    MARKET = "MARKET"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


@dataclass(frozen=True)
class Market:
    """A spot market: its filters (PRICE_FILTER, LOT_SIZE, NOTIONAL) and its starting price."""

    base: str
    quote: str
    price: Decimal
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    max_qty: Decimal = Decimal("9000")
    max_price: Decimal = Decimal("1000000")

    @property
    def symbol(self) -> str:
        return self.base + self.quote


DEFAULT_MARKETS = (
    Market("BTC", "USDT", price=Decimal("50000"), tick_size=Decimal("0.01"),
           step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal("5")),
    Market("ETH", "USDT", price=Decimal("3000"), tick_size=Decimal("0.01"),
           step_size=Decimal("0.0001"), min_qty=Decimal("0.0001"), min_notional=Decimal("5")),
)  # fmt: skip
DEFAULT_BALANCES: Mapping[str, Number] = {"USDT": 10_000, "BTC": 1, "ETH": 10}


@dataclass(frozen=True)
class Balance:
    free: Decimal
    locked: Decimal


@dataclass
class Order:
    """An order as the exchange holds it; what FakeBinance hands out is a copy."""

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: Decimal  # zero for a market order
    orig_qty: Decimal
    orig_quote_qty: Decimal  # quoteOrderQty of a market order, else zero
    time: int
    update_time: int
    status: OrderStatus = OrderStatus.NEW
    executed_qty: Decimal = _ZERO
    cummulative_quote_qty: Decimal = _ZERO  # Binance's spelling
    reserved: Decimal = _ZERO  # still locked for it: quote for a buy, base for a sell

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Trade:
    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    is_maker: bool
    time: int


@dataclass(frozen=True)
class Candle:
    open_time: int  # ms
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass
class TickerStats:
    open: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal = _ZERO
    quote_volume: Decimal = _ZERO
    count: int = 0
