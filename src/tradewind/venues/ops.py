"""What a client asks of a venue and what the venue answers: order requests, the operations the
bot engine runs in batches, their outcomes, and the listeners a venue tells of what happened.
Every venue (paper, exchanges through CCXT) takes and gives these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain import events as ev
from tradewind.domain.errors import DomainError
from tradewind.domain.orders import (
    Bracket,
    Fill,
    Order,
    OrderRole,
    OrderType,
    PositionId,
    Rearm,
    Side,
    Trailing,
)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A client's order, before the venue checks it against the instrument."""

    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    client_order_id: str | None = None
    reduce_only: bool = False
    position_id: PositionId | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    bracket: Bracket | None = None
    """The bracket as is (``stop_loss``/``take_profit`` are the shorthand that rounds)."""
    trailing: Trailing | None = None
    role: OrderRole = OrderRole.ENTRY
    rearm: Rearm | None = None
    oco_group: str | None = None


# ---- batches: many operations under one lock and one commit (the bot engine's path) ----


@dataclass(frozen=True, slots=True)
class PlaceOp:
    account_id: str
    request: OrderRequest


@dataclass(frozen=True, slots=True)
class CancelOp:
    """Cancel an open order; an order no longer open is not an error (already done)."""

    account_id: str
    order_id: str
    reason: str = "cancelled by user"


@dataclass(frozen=True, slots=True)
class AmendOp:
    account_id: str
    order_id: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LeverageOp:
    account_id: str
    symbol: str
    leverage: Decimal


Op = PlaceOp | CancelOp | AmendOp | LeverageOp


@dataclass(slots=True)
class OpResult:
    """One operation's outcome: the order it placed or touched, or the refusal."""

    order: Order | None = None
    error: DomainError | None = None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


Listener = Callable[[Sequence[ev.Event]], None]
"""Told of every committed change (after the commit); must not block or raise."""
PriceListener = Callable[[str, Sequence[tuple[int, Decimal]]], None]
"""Told of every symbol's price path after each tick (after the tick's commit)."""


@dataclass(slots=True)
class Placed:
    """The order as it stands after placement, and the fills it got at once."""

    order: Order
    fills: list[Fill] = field(default_factory=list)
    duplicate: bool = False
