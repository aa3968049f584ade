"""The machinery the spot and futures grid bots share (``grid`` describes them): the grid's
pairs, its state, start and stop conditions, grid-profit counting."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import OrderRole, OrderType, Rearm, Side
from tradewind.strategies.accounting import Inventory, shown
from tradewind.strategies.base import (
    Bar,
    BotFill,
    Command,
    Context,
    IndicatorWake,
    Log,
    PlaceOrder,
    Severity,
    StopBot,
    Strategy,
    Wake,
)
from tradewind.strategies.grid_settings import (
    CONDITION_RSI_PERIOD,
    FuturesGridSettings,
    SpotGridSettings,
    StartCondition,
    StopCondition,
    Trigger,
    grid_levels,
    pair_amounts,
)
from tradewind.strategies.indicators import WilderRSI

ZERO = Decimal(0)
FILL_TAG, EXIT_TAG = "fill", "exit"


class GridPair(BaseModel):
    index: int
    low: Decimal
    high: Decimal
    amount: Decimal
    opens: Side
    first: Side
    """The side of the pair's first order."""
    active: bool = True
    opened_at: Decimal | None = None
    open_fee: Decimal = ZERO

    @property
    def tag(self) -> str:
        return f"grid:{self.index}"

    def order(self, symbol: str) -> PlaceOrder:
        buying = self.first is Side.BUY
        return PlaceOrder(
            tag=self.tag, symbol=symbol, side=self.first, type=OrderType.LIMIT,
            amount=self.amount, price=self.low if buying else self.high,
            rearm=Rearm(price=self.high if buying else self.low, flip=True),
            note=f"Grid {'entry' if self.first is self.opens else 'exit'} order #{self.index}",
        )  # fmt: skip


class GridState(BaseModel):
    phase: Literal["idle", "waiting", "filling", "running", "stopped"] = "idle"
    pairs: list[GridPair] = Field(default_factory=list)
    pending: list[int] = Field(default_factory=list)
    """Pairs whose first order waits for the fill order."""
    inventory: Inventory = Field(default_factory=Inventory)
    round_trips: int = 0
    grid_profit: Decimal = ZERO
    rsi: WilderRSI | None = None
    stop_reason: str | None = None


G = TypeVar("G", SpotGridSettings, FuturesGridSettings)


class GridBot(Strategy[G, GridState], Generic[G]):
    """A grid bot; subclasses say what fills the grid, what its pairs open with, how it
    closes, and any profit limits."""

    def new_state(self) -> GridState:
        return GridState(rsi=WilderRSI(period=CONDITION_RSI_PERIOD) if self._uses_rsi() else None)

    def _uses_rsi(self) -> bool:
        s = self.settings
        return StartCondition.RSI is s.start_condition or StopCondition.RSI is s.stop_condition

    @property
    def timeframe(self) -> str | None:
        return self.settings.interval if self.state.rsi is not None else None

    # ---- events --------------------------------------------------------------------------

    def on_start(self, ctx: Context) -> list[Command]:
        state = self.state
        state.pairs, state.pending, state.stop_reason = [], [], None
        commands: list[Command] = self._setup()
        if state.rsi is not None and state.rsi.seen == 0:
            state.rsi.feed(ctx.closes)
        if self._start_met(ctx.price):
            return commands + self._begin(ctx)
        state.phase = "waiting"
        s = self.settings
        return [*commands, Log(f"Waiting for the start condition: {s.start_condition} "
                               f"{s.start_type.lower()} {s.start_value}")]  # fmt: skip

    def on_bar(self, bar: Bar, ctx: Context) -> list[Command]:
        rsi = self.state.rsi
        if rsi is None or rsi.update(bar.close) is None:
            return []
        if self.state.phase == "waiting" and self.settings.start_condition is StartCondition.RSI:
            return self._begin(ctx) if self._start_met(ctx.price) else []
        if self._running() and self.settings.stop_condition is StopCondition.RSI:
            return self._stop_if_met(ctx.price)
        return []

    def on_timer(self, now_ms: int, ctx: Context) -> list[Command]:
        if self.state.phase == "waiting" and self.settings.start_condition is StartCondition.PRICE:
            return self._begin(ctx) if self._start_met(ctx.price) else []
        if not self._running():
            return []
        if self.settings.stop_condition is StopCondition.PRICE:
            found = self._stop_if_met(ctx.price)
            if found:
                return found
        return self._limits(ctx)

    def on_fill(self, fill: BotFill, ctx: Context) -> list[Command]:
        state = self.state
        state.inventory.apply(
            fill.side, fill.amount, fill.price, fill.fee, ctx.instrument.contract_size
        )
        commands: list[Command] = []
        if fill.tag.startswith("grid:"):
            commands += self._count(state.pairs[int(fill.tag[5:])], fill, ctx.instrument)
        elif fill.tag == FILL_TAG and fill.order_done and state.phase == "filling":
            state.phase = "running"
            commands += [state.pairs[i].order(self.settings.symbol) for i in state.pending]
            state.pending = []
        if self._running():
            commands += self._limits(ctx)
        return commands

    def on_stop(self, ctx: Context, close_positions: bool) -> list[Command]:
        self.state.phase = "stopped"
        return self._flatten(ctx) if close_positions else []

    def on_settings(self, settings: G, ctx: Context) -> list[Command]:
        self.settings = settings
        if self.state.rsi is None and self._uses_rsi():
            self.state.rsi = WilderRSI(period=CONDITION_RSI_PERIOD)
            self.state.rsi.feed(ctx.closes)
        return self._limits(ctx) if self._running() else []

    def catch_up(self, closes: Sequence[float]) -> None:
        if self.state.rsi is not None:
            self.state.rsi.feed(closes)

    def wake(self, ctx: Context) -> Wake:
        s, state = self.settings, self.state
        if state.phase == "waiting":
            return self._condition_wake(s.start_condition.value, s.start_type, s.start_value)
        if not self._running():
            return Wake()
        found = self._condition_wake(s.stop_condition.value, s.stop_type, s.stop_value)
        return found.merge(self._limit_wake(ctx))

    # ---- what the grid looks like --------------------------------------------------------

    def preview(self, ctx: Context) -> list[PlaceOrder]:
        """The orders the grid would place now, in order (the fill order first, if any),
        changing nothing."""
        pairs, fill = self._layout(ctx)
        first = [] if fill is None else [fill]
        return first + [p.order(self.settings.symbol) for p in pairs if p.active]

    def _layout(self, ctx: Context) -> tuple[list[GridPair], PlaceOrder | None]:
        s, instrument = self.settings, ctx.instrument
        levels = grid_levels(s, instrument)
        amounts = pair_amounts(s, instrument, levels)
        pairs = []
        for i, amount in enumerate(amounts):
            first = Side.BUY if levels[i] < ctx.price else Side.SELL
            pairs.append(
                GridPair(
                    index=i, low=levels[i], high=levels[i + 1], amount=amount,
                    opens=self._opens(first), first=first,
                )
            )  # fmt: skip
        return pairs, self._fill_order(pairs, ctx)

    # ---- subclass hooks ------------------------------------------------------------------

    def _setup(self) -> list[Command]:
        return []

    def _opens(self, first: Side) -> Side:
        return Side.BUY

    def _fill_order(self, pairs: list[GridPair], ctx: Context) -> PlaceOrder | None:
        return None

    def _flatten(self, ctx: Context) -> list[Command]:
        return []

    def _limits(self, ctx: Context) -> list[Command]:
        return []

    def _limit_wake(self, ctx: Context) -> Wake:
        return Wake()

    # ---- helpers -------------------------------------------------------------------------

    def _running(self) -> bool:
        return self.state.phase in ("filling", "running")

    def _begin(self, ctx: Context) -> list[Command]:
        state = self.state
        state.pairs, fill = self._layout(ctx)
        s = self.settings
        commands: list[Command] = [
            Log(f"Grid started at {shown(ctx.price, 2)}: {s.grid_count} grids from {s.lower_limit} "
                f"to {s.upper_limit}", Severity.INFO),
        ]  # fmt: skip
        commands += [Log(f"Grid #{p.index} left out: not enough {ctx.instrument.base} to fund "
                         "its sell order", Severity.WARNING)
                     for p in state.pairs if not p.active]  # fmt: skip
        if fill is None:
            state.phase = "running"
            return commands + [p.order(s.symbol) for p in state.pairs if p.active]
        state.phase = "filling"
        state.pending = [p.index for p in state.pairs if p.active and p.first is fill.side.opposite]
        placed: list[Command] = [
            p.order(s.symbol) for p in state.pairs if p.active and p.first is fill.side
        ]
        return [*commands, fill, *placed]

    def _start_met(self, price: Decimal) -> bool:
        s = self.settings
        if s.start_condition is StartCondition.INSTANT:
            return True
        return self._met(s.start_condition.value, s.start_type, s.start_value, price)

    def _stop_if_met(self, price: Decimal) -> list[Command]:
        s = self.settings
        if not self._met(s.stop_condition.value, s.stop_type, s.stop_value, price):
            return []
        reason = f"Stop condition: {s.stop_condition} {s.stop_type.lower()} {s.stop_value}"
        self.state.stop_reason = reason
        return [Log(reason, Severity.WARNING), StopBot(reason, close_positions=s.stop_exit)]

    def _met(self, condition: str, trigger: Trigger, value: Decimal, price: Decimal) -> bool:
        if condition == "Price":
            return price >= value if trigger is Trigger.ABOVE else price <= value
        if condition == "RSI":
            rsi = None if self.state.rsi is None else self.state.rsi.value
            if rsi is None:
                return False
            return rsi >= float(value) if trigger is Trigger.ABOVE else rsi <= float(value)
        return False

    def _condition_wake(self, condition: str, trigger: Trigger, value: Decimal) -> Wake:
        above = trigger is Trigger.ABOVE
        if condition == "Price":
            return Wake(above=value) if above else Wake(below=value)
        if condition == "RSI":
            limit = float(value)
            return Wake(
                indicator=IndicatorWake(
                    period=CONDITION_RSI_PERIOD, interval=self.settings.interval,
                    at_or_above=limit if above else None, at_or_below=None if above else limit,
                )
            )  # fmt: skip
        return Wake()

    def _count(self, pair: GridPair, fill: BotFill, instrument: Instrument) -> list[Command]:
        """Grid profit: an opening fill, then the pair's closing fill, is one round trip."""
        if fill.side is pair.opens:
            pair.opened_at, pair.open_fee = fill.price, pair.open_fee + fill.fee
            return []
        if pair.opened_at is None:
            return []  # closing what the fill order (or the account) brought: no round trip
        gain = (fill.price - pair.opened_at) * fill.amount * instrument.contract_size
        profit = gain * pair.opens.sign - pair.open_fee - fill.fee
        self.state.grid_profit += profit
        if fill.order_done:
            self.state.round_trips += 1
            pair.opened_at, pair.open_fee = None, ZERO
        return [
            Log(
                f"Grid #{pair.index} round trip: {shown(profit)} {instrument.quote}", Severity.TRADE
            )
        ]


def close_orders(
    symbol: str, side: Side, amount: Decimal, ctx: Context, *, reduce_only: bool = False
) -> list[Command]:
    instrument = ctx.instrument
    if amount <= 0:
        return []
    if amount < instrument.min_amount or instrument.notional(amount, ctx.price) < (
        instrument.min_notional
    ):
        return [Log(f"{amount} {instrument.base} is too small to close", Severity.WARNING)]
    return [
        Log(f"Closing: {side} {amount} {instrument.base} at market", Severity.TRADE),
        PlaceOrder(
            tag=EXIT_TAG, symbol=symbol, side=side, type=OrderType.MARKET, amount=amount,
            reduce_only=reduce_only, role=OrderRole.CLOSE, note="Stop exit",
        ),
    ]  # fmt: skip
