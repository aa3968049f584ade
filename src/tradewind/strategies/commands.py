"""Commands a strategy returns (imperative), and the client order ids the engine gives the
orders it places (``<bot_id>:<seq>``, and the names order programs derive from them)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradewind.domain.orders import Bracket, OrderRole, OrderType, Rearm, Side, Trailing


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place an order. ``tag`` is the strategy's name for it (and for every order its
    programs place); prices and amounts must already fit the instrument's tick and step."""

    tag: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    role: OrderRole = OrderRole.ENTRY
    rearm: Rearm | None = None
    bracket: Bracket | None = None
    trailing: Trailing | None = None
    oco_group: str | None = None
    note: str = ""
    """Shown with the order (HaasOnline's ``note``)."""

    def __post_init__(self) -> None:
        if not self.tag:
            raise ValueError("an order needs a tag")
        if self.amount <= 0:
            raise ValueError(f"order {self.tag}: amount must be positive")
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.price is None:
            raise ValueError(f"order {self.tag}: a {self.type} order needs a price")


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel the bot's open orders with this tag (every leg), or the one with this client id."""

    tag: str | None = None
    client_order_id: str | None = None

    def __post_init__(self) -> None:
        if (self.tag is None) == (self.client_order_id is None):
            raise ValueError("cancel by tag or by client_order_id, exactly one")


@dataclass(frozen=True, slots=True)
class AmendOrder:
    """Change the open order with this tag (its main leg: the order or its latest re-arm)."""

    tag: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    amount: Decimal | None = None


class Severity(StrEnum):
    INFO = "info"
    TRADE = "trade"
    WARNING = "warning"
    ERROR = "error"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Log:
    """A line in the bot's log (the engine adds the time and the line number)."""

    message: str
    severity: Severity = Severity.INFO
    color: str | None = None


@dataclass(frozen=True, slots=True)
class StopBot:
    """Deactivate the bot; with ``close_positions`` it also closes what it holds."""

    reason: str
    close_positions: bool = False


@dataclass(frozen=True, slots=True)
class SetLeverage:
    """Trade the bot's symbol at this leverage (derivatives; issued before the first order)."""

    leverage: Decimal


Command = PlaceOrder | CancelOrder | AmendOrder | Log | StopBot | SetLeverage

# ---- client order ids -------------------------------------------------------------------


class OrderLeg(StrEnum):
    """Which order of a tag: the one the strategy placed, a re-arm, or a bracket leg."""

    ORDER = "order"
    REARM = "rearm"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


@dataclass(frozen=True, slots=True)
class OrderKey:
    bot_id: str
    seq: int
    leg: OrderLeg = OrderLeg.ORDER
    generation: int = 0
    """Re-arms: 1 for the first re-armed order, 2 for the next, ..."""


_CLIENT_ID = re.compile(
    r"^(?P<bot>[^:]+):(?P<seq>[0-9]+)(?::r(?P<gen>[0-9]+))?(?::(?P<leg>sl|tp))?$"
)


def client_order_id(bot_id: str, seq: int) -> str:
    """The client id of the bot's ``seq``-th placement."""
    return f"{bot_id}:{seq}"


@functools.lru_cache(maxsize=1 << 16)
def parse_client_order_id(value: str | None) -> OrderKey | None:
    """The bot, placement and leg a client id names; None when no bot made it. (Cached: the
    engine asks for every open order of a bot each time it shows the bot its orders, a
    hundred a fill for a hundred-level grid.)"""
    found = _CLIENT_ID.match(value or "")
    if found is None:
        return None
    generation = int(found["gen"] or 0)
    if found["leg"]:
        leg = OrderLeg.STOP_LOSS if found["leg"] == "sl" else OrderLeg.TAKE_PROFIT
    else:
        leg = OrderLeg.REARM if generation else OrderLeg.ORDER
    return OrderKey(found["bot"], int(found["seq"]), leg, generation)
