"""Things that happened, in the past tense. The venue persists them and the streams push them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradewind.domain.orders import AccountId, Fill, Order, Position


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """An order is resting on the venue (placed by a client or by an order program)."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderTriggered:
    """A stop or stop-limit order's trigger price was reached."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderFilled:
    order: Order
    fill: Fill


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class OrderRejected:
    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class OrderAmended:
    order: Order


@dataclass(frozen=True, slots=True)
class PositionOpened:
    position: Position


@dataclass(frozen=True, slots=True)
class PositionChanged:
    position: Position


@dataclass(frozen=True, slots=True)
class PositionClosed:
    position: Position


@dataclass(frozen=True, slots=True)
class BalanceChanged:
    account_id: AccountId
    asset: str
    free: Decimal
    locked: Decimal


@dataclass(frozen=True, slots=True)
class MarginCall:
    """Margin level fell below the margin-call level (100% by default)."""

    account_id: AccountId
    margin_level: Decimal


@dataclass(frozen=True, slots=True)
class StopOut:
    """Margin level fell to the stop-out level; the worst position is being closed."""

    account_id: AccountId
    margin_level: Decimal
    position_id: str


@dataclass(frozen=True, slots=True)
class Liquidated:
    """An isolated position lost its margin and was closed by the venue."""

    position: Position


@dataclass(frozen=True, slots=True)
class OrderReconciled:
    """A live venue found the exchange's record of an order different from its own (after a
    restart or a reconnect) and took the exchange's; ``note`` says what differed. Any fills
    found come as their own ``OrderFilled``."""

    order: Order
    note: str


Event = (
    OrderAccepted | OrderTriggered | OrderFilled | OrderCancelled | OrderRejected | OrderAmended
    | PositionOpened | PositionChanged | PositionClosed | BalanceChanged | MarginCall | StopOut | Liquidated
    | OrderReconciled
)  # fmt: skip
