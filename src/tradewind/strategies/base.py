"""The strategy contract: what the engine (live, paper or backtest) gives a strategy, and what
the strategy gives back. Pure: no I/O, no clock, no randomness.

Events in (each returns a list of commands, executed in order)
  ``on_start(ctx)``           the bot is started (stopped -> active); not called on a resume
                              after a restart, which restores the state instead.
  ``on_bar(bar, ctx)``        a closed bar of ``strategy.timeframe`` (None: no bars wanted;
                              read it again after ``on_settings``, an edit may change it).
  ``on_fill(fill, ctx)``      one of the bot's orders filled (also orders its programs placed).
  ``on_signal(signal, ctx)``  a signal addressed to the bot.
  ``on_timer(now_ms, ctx)``   the wake-up call: ``wake().at_ms`` has come, or the price has
                              reached ``wake().below`` / ``wake().above`` (``ctx.price`` is there).
  ``on_stop(ctx, close_positions)``  the bot is being stopped (by the user, or by the strategy's
                              own ``StopBot``). The engine has already cancelled every open
                              order of the bot; the strategy returns what closes its holdings
                              when ``close_positions`` is set (HaasOnline's ``stopExit``).
  ``on_settings(settings, ctx)``  settings were edited while running.

Commands out (imperative): ``PlaceOrder``, ``CancelOrder``, ``AmendOrder``, ``Log``,
``StopBot``, ``SetLeverage``. The engine runs a list in order, at the quote of the moment,
then delivers the fills it caused (first in, first out: also fills caused by the commands of
those fills). Fills reach the strategy at the moment they happen: a backtester walking a bar's
price path cuts it at the levels of the bot's resting orders (live: per tick).
``StopBot``: the engine runs nothing after it but ``Log`` lines, still delivers every fill that
has already happened (so the strategy's books are whole), then stops the bot: it cancels the
bot's open orders, calls ``on_stop`` and runs what it returns.

Order ids. A strategy never makes ids. It names each order with a ``tag`` of its own; the
engine gives the order the client id ``<bot_id>:<seq>`` (``client_order_id()``; ``seq`` counts
the bot's placements and is persisted with the bot) and remembers seq -> tag. Programs name
their orders after it (``<root>:r<n>`` re-arms, ``<root>:sl`` / ``<root>:tp`` bracket legs;
``parse_client_order_id()``), and ``BotFill`` / ``OrderView`` carry the root's tag and the leg.
Given the same events a strategy makes the same commands, so an engine that persists the bot's
state and sequence before executing, and re-executes after a crash, sends the same client ids
again, which the venue recognises: no order is placed twice. ``PlaceOrder.oco_group`` is local
to the bot; the engine prefixes it with the bot id.

Waking (``wake(ctx)``). Fills and signals always reach the strategy. ``wake`` says what else
would make it act, so a backtester may skip everything else: a price level ``below``
(last <= below) or ``above`` (last >= above) and a time ``at_ms``, all answered with
``on_timer``; an ``indicator`` threshold, answered with ``on_bar`` on the first closed bar
whose value is at or beyond it (``IndicatorWake``), or on the first closed bar after which the
sign of fast SMA - slow SMA changes (``SmaSignWake``); or ``every_bar``. The engine asks again after every event. A
wake is a promise that nothing happens sooner; waking early is harmless (the strategy returns
nothing); a condition that still holds after ``on_timer`` is due again at the next point of
the path (never twice at the same one). A backtester that skips bars passes their closes to
``catch_up`` before the next ``on_bar``, so indicators stay exact. ``ctx.closes`` at
``on_start`` seeds indicators with history.

State. ``snapshot()`` is JSON-compatible (decimals as strings), ``restore()`` takes it back;
the engine persists it after each event and a restored strategy carries on exactly as the
original would have.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Fill, Order, OrderType, Position, PositionId, Side
from tradewind.strategies.commands import (
    AmendOrder,
    CancelOrder,
    Command,
    Log,
    OrderKey,
    OrderLeg,
    PlaceOrder,
    SetLeverage,
    Severity,
    StopBot,
    client_order_id,
    parse_client_order_id,
)
from tradewind.strategies.schema import SettingsModel
from tradewind.strategies.wake import IndicatorWake, Wake

__all__ = [
    "AmendOrder", "Bar", "BotFill", "CancelOrder", "Command", "Context", "IndicatorWake", "Log",
    "OrderKey", "OrderLeg", "OrderView", "PlaceOrder", "SetLeverage", "Severity", "Signal",
    "SignalAction", "StopBot", "Strategy", "Wake", "client_order_id", "parse_client_order_id",
]  # fmt: skip

# ---- events in --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    """A closed bar (floats: market data is a model of the market, not money)."""

    ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    interval: str


@dataclass(frozen=True, slots=True)
class OrderView:
    """One of the bot's open orders, as the strategy sees it."""

    tag: str
    leg: OrderLeg
    client_order_id: str
    side: Side
    type: OrderType
    amount: Decimal
    filled: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    reduce_only: bool
    generation: int = 0

    @classmethod
    def of(cls, order: Order, tag: str) -> OrderView:
        key = parse_client_order_id(order.client_order_id)
        return cls(
            tag=tag, leg=key.leg if key else OrderLeg.ORDER,
            client_order_id=order.client_order_id or order.id, side=order.side, type=order.type,
            amount=order.amount, filled=order.filled, price=order.price,
            stop_price=order.stop_price, reduce_only=order.reduce_only,
            generation=key.generation if key else 0,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BotFill:
    """A fill of one of the bot's orders. ``order_done``: the order has nothing left to fill."""

    tag: str
    leg: OrderLeg
    client_order_id: str
    side: Side
    amount: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    ts_ms: int
    order_done: bool = True
    realized_pnl: Decimal = Decimal(0)
    position_id: PositionId | None = None
    generation: int = 0

    @classmethod
    def of(cls, fill: Fill, order: Order, tag: str) -> BotFill:
        """From the venue's fill and its order (as it is after the fill)."""
        key = parse_client_order_id(order.client_order_id)
        return cls(
            tag=tag, leg=key.leg if key else OrderLeg.ORDER,
            client_order_id=order.client_order_id or order.id, side=fill.side,
            amount=fill.amount, price=fill.price, fee=fill.fee, fee_asset=fill.fee_asset,
            ts_ms=fill.ts_ms, order_done=order.remaining <= 0,
            realized_pnl=fill.realized_pnl, position_id=fill.position_id,
            generation=key.generation if key else 0,
        )  # fmt: skip


class SignalAction(StrEnum):
    BUY = "buy"
    SELL = "sell"
    CLOSE = "close"
    ENTER_LONG = "enter_long"
    EXIT_LONG = "exit_long"
    ENTER_SHORT = "enter_short"
    EXIT_SHORT = "exit_short"


@dataclass(frozen=True, slots=True)
class Signal:
    """A trade signal for the bot (TradingView alert, signal token, channel)."""

    action: SignalAction
    amount: Decimal | None = None
    """In the instrument's amount unit (base asset, or contracts); None: the strategy decides."""
    price: Decimal | None = None
    ts_ms: int = 0
    id: str | None = None


V = TypeVar("V")


class Deferred(Sequence[V]):
    """A tuple made the first time it is read: what an engine shows a strategy but most
    strategies never look at (a hundred-level grid's open orders on each of its fills)."""

    __slots__ = ("_items", "_make")

    def __init__(self, make: Callable[[], tuple[V, ...]]) -> None:
        self._make: Callable[[], tuple[V, ...]] | None = make
        self._items: tuple[V, ...] = ()

    def _get(self) -> tuple[V, ...]:
        if self._make is not None:
            self._items, self._make = self._make(), None
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[V]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self._get() == tuple(other)

    def __hash__(self) -> int:
        return hash(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


@dataclass(frozen=True, slots=True)
class Context:
    """Read-only facts at the moment of an event."""

    bot_id: str
    instrument: Instrument
    now_ms: int
    price: Decimal
    """The last price."""
    balances: Mapping[str, Decimal] = field(default_factory=dict)
    """Free balance per asset of the bot's account."""
    position: Position | None = None
    """Derivatives: the account's open position on the symbol (a copy), if any."""
    open_orders: Sequence[OrderView] = ()
    """The bot's open orders (a ``Deferred``: made when first read)."""
    closes: tuple[float, ...] = ()
    """Closes of the most recent closed bars of ``strategy.timeframe``, oldest first."""

    def free(self, asset: str) -> Decimal:
        return self.balances.get(asset, Decimal(0))

    def orders(self, tag: str | None = None, *, prefix: str | None = None) -> list[OrderView]:
        """Open orders with this tag, or whose tag starts with ``prefix`` (all: neither)."""
        return [
            o
            for o in self.open_orders
            if (tag is None or o.tag == tag) and (prefix is None or o.tag.startswith(prefix))
        ]


# ---- the strategy -----------------------------------------------------------------------

S = TypeVar("S", bound=SettingsModel)
St = TypeVar("St", bound=BaseModel)


class Strategy(ABC, Generic[S, St]):
    """A bot script: its settings, its state (a pydantic model) and its decisions.

    Subclasses implement ``new_state`` and ``on_start`` and override the events they use;
    the defaults do nothing. ``self.state`` holds everything that must survive a restart.
    """

    script_id: str = ""
    records_program_fills: bool = False
    """True when, for a fill of an order that carries a re-arm program, ``on_fill`` only
    updates the strategy's books and returns log lines (it decides nothing the fill's moment
    matters for). A backtest may then run the re-arms compiled and give it those fills in a
    batch, each with the context as it is after the batch (``BotEngine.take_program_fills``);
    any other command from it there is an error."""

    def __init__(self, settings: S) -> None:
        self.settings = settings
        self.state: St = self.new_state()

    @abstractmethod
    def new_state(self) -> St: ...

    @property
    def timeframe(self) -> str | None:
        """The bars the strategy wants (``on_bar``); None: none."""
        return None

    @abstractmethod
    def on_start(self, ctx: Context) -> list[Command]: ...

    def on_bar(self, bar: Bar, ctx: Context) -> list[Command]:
        return []

    def on_fill(self, fill: BotFill, ctx: Context) -> list[Command]:
        return []

    def on_signal(self, signal: Signal, ctx: Context) -> list[Command]:
        return []

    def on_timer(self, now_ms: int, ctx: Context) -> list[Command]:
        return []

    def on_stop(self, ctx: Context, close_positions: bool) -> list[Command]:
        return []

    def on_settings(self, settings: S, ctx: Context) -> list[Command]:
        self.settings = settings
        return []

    def catch_up(self, closes: Sequence[float]) -> None:
        """Closes of bars a backtester skipped (their ``on_bar`` would have done nothing)."""

    def wake(self, ctx: Context) -> Wake:
        return Wake()

    def snapshot(self) -> dict[str, Any]:
        return self.state.model_dump(mode="json")

    def restore(self, data: Mapping[str, Any]) -> None:
        self.state = type(self.state).model_validate(dict(data))
