"""Orders, fills, positions and the order programs the matching engine runs by itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NewType

from tradewind.domain.errors import InvalidTransition

AccountId = NewType("AccountId", str)
OrderId = NewType("OrderId", str)
FillId = NewType("FillId", str)
PositionId = NewType("PositionId", str)

PREFIX_ACCOUNT = "acc"
PREFIX_ORDER = "ord"
PREFIX_FILL = "fil"
PREFIX_POSITION = "pos"
PREFIX_OCO = "oco"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    """Becomes a market order when the price reaches ``stop_price``."""
    STOP_LIMIT = "stop_limit"
    """Becomes a limit order at ``price`` when the price reaches ``stop_price``."""


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


ORDER_TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.OPEN, OrderStatus.FILLED),
        (OrderStatus.OPEN, OrderStatus.CANCELLED),
        (OrderStatus.OPEN, OrderStatus.REJECTED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELLED),
    }
)


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    if (current, new) not in ORDER_TRANSITIONS:
        raise InvalidTransition(f"an order cannot go from {current} to {new}")


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class OrderRole(StrEnum):
    """Why an order exists; the venue and the APIs show it."""

    ENTRY = "entry"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    LIQUIDATION = "liquidation"
    CLOSE = "close"


class PositionMode(StrEnum):
    NETTING = "netting"
    """One position per symbol (crypto style)."""
    HEDGING = "hedging"
    """One position ("ticket") per opening trade (MetaTrader style)."""


# ---- order programs: declared on an order, run by the matching engine itself -------------


@dataclass(frozen=True, slots=True)
class Trailing:
    """On a STOP order: the stop follows the best price at ``callback`` (a fraction, 0.01 = 1%)
    behind it, once the price has reached ``activation_price`` (at once when None)."""

    callback: Decimal
    activation_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Rearm:
    """When this order fills, place a LIMIT order on the opposite side at ``price`` for the
    filled amount. With ``flip`` the new order re-arms back at this order's price, for ever:
    one grid level's buy/sell pair. ``None`` price fields are never allowed."""

    price: Decimal
    flip: bool = True


@dataclass(frozen=True, slots=True)
class Bracket:
    """On an entry order: when it fills, place a reduce-only STOP at ``stop_loss`` and a
    reduce-only LIMIT at ``take_profit`` (either may be None) in one OCO group, sized to the
    fill and bound to the position the fill opened."""

    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(slots=True)
class Order:
    """An order and its live state. Owned by the venue; the matching engine mutates status,
    fills, trigger and trailing state only through its own methods."""

    id: OrderId
    account_id: AccountId
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    created_ms: int
    price: Decimal | None = None
    stop_price: Decimal | None = None
    client_order_id: str | None = None
    reduce_only: bool = False
    position_id: PositionId | None = None
    role: OrderRole = OrderRole.ENTRY
    status: OrderStatus = OrderStatus.OPEN
    filled: Decimal = Decimal(0)
    average_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    triggered: bool = False
    oco_group: str | None = None
    trailing: Trailing | None = None
    trail_anchor: Decimal | None = None
    """Best price seen since the trailing stop activated."""
    rearm: Rearm | None = None
    bracket: Bracket | None = None
    reason: str | None = None
    updated_ms: int = 0
    reserved: Decimal = Decimal(0)
    """Funds (spot) or margin (derivatives) the account holds for this order, in its asset."""
    reserved_asset: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return not self.status.is_final


@dataclass(frozen=True, slots=True)
class Fill:
    id: FillId
    order_id: OrderId
    account_id: AccountId
    symbol: str
    side: Side
    amount: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    ts_ms: int
    position_id: PositionId | None = None
    realized_pnl: Decimal = Decimal(0)


@dataclass(slots=True)
class Position:
    """An open (or closed) derivative position. ``amount`` is in contracts, always positive;
    ``side`` says long (BUY) or short (SELL). Isolated margin is held per position."""

    id: PositionId
    account_id: AccountId
    symbol: str
    side: Side
    amount: Decimal
    entry_price: Decimal
    leverage: Decimal
    margin: Decimal
    opened_ms: int
    updated_ms: int
    realized_pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    liquidation_price: Decimal | None = None
    closed_ms: int | None = None
    close_price: Decimal | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.closed_ms is None
