"""Smart trade: one managed trade from a plan (a partner's channel signal, or by hand).

The plan (``SmartTradeSettings``): a side, entries (price + share of the budget), the
take-profit ladder (price + share of the position), a stop loss, an optional trailing stop,
leverage and the budget (a fixed quote amount, or a percentage of the free settle balance at
the start; derivatives trade budget x leverage worth of contracts).

Mechanics. Every entry is a resting LIMIT order placed at the start (a buy entry above the
market fills at once: the price is already in the zone). Each entry fill re-sizes the
take-profit ladder: target ``k`` is a resting LIMIT (reduce-only on derivatives) for
``share_k`` percent of everything entered so far; when the shares add up to 100 the last open
target takes the rest, so the ladder always sells exactly what is held. The matching engine
fills entries and targets by itself.

Decisions. The stop loss and the trailing stop are price wakes, not resting stops: on spot
the take-profit ladder already holds the coins, and a stop order beside it would need them a
second time. When the price reaches the stop (or, once the trailing stop is active, falls
``trailing_callback`` percent from the best price since ``trailing_activation``) the trade
cancels its orders and closes at market. The trade ends (``StopBot``) when it holds nothing
after a target, a stop or a close; a stop before any entry filled just cancels the entries.

Edits while running (a channel's calls): entries may be added (rebuy, DCA) or moved, targets
added or moved, the stop and the trailing rule set or changed; ``on_settings`` places,
amends and cancels to match.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import OrderRole, OrderType, Side
from tradewind.strategies.accounting import PRECISION, Inventory, floor_to, shown
from tradewind.strategies.base import (
    AmendOrder,
    BotFill,
    CancelOrder,
    Command,
    Context,
    Log,
    PlaceOrder,
    SetLeverage,
    Severity,
    StopBot,
    Strategy,
    Wake,
)
from tradewind.strategies.schema import SettingsModel, fail, setting

ZERO, HUNDRED = Decimal(0), Decimal(100)
MAX_TARGETS = 6


class EntryKind(StrEnum):
    ENTRY = "entry"
    REBUY = "rebuy"
    DCA = "dca"


class _Level(BaseModel):
    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid"
    )

    price: Decimal = Field(gt=0)
    share: Decimal = Field(gt=0, le=100)
    """Percent: of the budget (entries), of the position entered (targets)."""


class Entry(_Level):
    kind: EntryKind = EntryKind.ENTRY


class Target(_Level):
    pass


class SmartTradeSettings(SettingsModel):
    """``smart_trade``."""

    side: Literal["buy", "sell"] = setting(
        "buy", title="Side", description="buy: long; sell: short"
    )
    amount: Decimal = setting(
        title="Amount", gt=0, group="Order Settings",
        description="The budget: quote amount, or percent of the free balance (amountType).",
    )  # fmt: skip
    amount_type: Literal["quote", "percent"] = setting(
        "quote", title="Amount type", group="Order Settings",
        description="quote: a fixed amount of the quote asset; percent: of the free balance.",
    )  # fmt: skip
    leverage: Decimal = setting(
        Decimal(1), title="Leverage", group="Order Settings", ge=1,
        description="Derivatives: each entry trades its budget share times this.",
    )  # fmt: skip
    margin_type: Literal["isolated", "cross"] = setting(
        "isolated", title="Margin type", group="Order Settings",
        description="As the signal asked; the paper venue margins per account currency.",
    )  # fmt: skip
    entries: tuple[Entry, ...] = setting(
        title="Entries", group="Entry", editable=True, min_length=1, max_length=20,
        description="Entry prices with their share of the budget (percent); rebuy and DCA "
        "entries add to the budget.",
    )  # fmt: skip
    entry_low: Decimal | None = setting(
        None, title="Entry zone low", group="Entry", editable=True, gt=0,
        description="The signal's entry zone, shown with the trade.",
    )  # fmt: skip
    entry_high: Decimal | None = setting(
        None, title="Entry zone high", group="Entry", editable=True, gt=0,
        description="The signal's entry zone, shown with the trade.",
    )  # fmt: skip
    take_profits: tuple[Target, ...] = setting(
        (), title="Take-profit targets", group="Exit", editable=True, max_length=MAX_TARGETS,
        description="Target prices with their share of the position (percent, at most 100).",
    )  # fmt: skip
    stop_loss: Decimal | None = setting(
        None, title="Stop loss", group="Exit", editable=True, gt=0,
        description="Close everything at market when the price reaches this.",
    )  # fmt: skip
    trailing_callback: Decimal | None = setting(
        None, title="Trailing callback %", group="Exit", editable=True, gt=0, lt=100,
        description="Close at market this far (percent) behind the best price since activation.",
    )  # fmt: skip
    trailing_activation: Decimal | None = setting(
        None, title="Trailing activation price", group="Exit", editable=True, gt=0,
        description="The trailing stop starts following here (at once when unset).",
    )  # fmt: skip
    trailing_activation_pct: Decimal | None = setting(
        None, title="Trailing activation %", group="Exit", editable=True, gt=0,
        description="Or: this far (percent) beyond the average entry price.",
    )  # fmt: skip

    @field_validator("entries")
    @classmethod
    def _entries_share(cls, entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
        main = sum((e.share for e in entries if e.kind is EntryKind.ENTRY), ZERO)
        if main != HUNDRED:
            raise ValueError(f"the shares of the entries must add up to 100, not {main}")
        return entries

    @field_validator("take_profits")
    @classmethod
    def _targets_share(cls, targets: tuple[Target, ...]) -> tuple[Target, ...]:
        total = sum((t.share for t in targets), ZERO)
        if total > HUNDRED:
            raise ValueError(f"the shares of the targets add up to {total}, more than 100")
        return targets

    @property
    def trade_side(self) -> Side:
        return Side(self.side)

    @model_validator(mode="after")
    def _sides(self) -> SmartTradeSettings:
        sign = self.trade_side.sign
        first = self.entries[0].price
        for k, target in enumerate(self.take_profits):
            if (target.price - first) * sign <= 0:
                raise ValueError(
                    f"takeProfits.{k}: a {self.side} trade's targets are "
                    f"{'above' if sign > 0 else 'below'} its first entry"
                )
        if self.stop_loss is not None and (first - self.stop_loss) * sign <= 0:
            raise ValueError(
                f"stopLoss: a {self.side} trade's stop is {'below' if sign > 0 else 'above'} "
                "its first entry"
            )
        if (
            self.entry_low is not None
            and self.entry_high is not None
            and self.entry_low > self.entry_high
        ):
            raise ValueError("entryLow: the entry zone's low is above its high")
        return self

    def validate_for(self, instrument: Instrument) -> None:
        super().validate_for(instrument)
        if not instrument.is_derivative and self.trade_side is Side.SELL:
            fail("side", f"{self.symbol} is spot: a smart trade there buys, then sells")
        if not instrument.is_derivative and self.leverage != 1:
            fail("leverage", f"{self.symbol} is spot: leverage must be 1")
        if self.leverage > instrument.max_leverage:
            fail("leverage", f"must be at most {instrument.max_leverage} on {self.symbol}")


class Phase(StrEnum):
    OPEN = "open"
    """Entries resting or filled, targets working."""
    CLOSING = "closing"
    """Closing at market (stop, trailing stop or the user's stop)."""
    CLOSED = "closed"


class SmartTradeState(BaseModel):
    phase: Phase = Phase.OPEN
    budget: Decimal | None = None
    """Quote value of a 100% share, fixed at the start."""
    placed: list[int] = Field(default_factory=list)
    filled: list[int] = Field(default_factory=list)
    entered: Decimal = ZERO
    book: Inventory = Field(default_factory=Inventory)
    targets_hit: list[int] = Field(default_factory=list)
    trailing_active: bool = False
    anchor: Decimal | None = None
    closed_by: str | None = None


class SmartTrade(Strategy[SmartTradeSettings, SmartTradeState]):
    """``smart_trade`` (module docstring)."""

    script_id = "smart_trade"

    def new_state(self) -> SmartTradeState:
        return SmartTradeState()

    @property
    def _side(self) -> Side:
        return self.settings.trade_side

    def _held(self) -> Decimal:
        return abs(self.state.book.amount)

    # ---- events --------------------------------------------------------------------------

    def on_start(self, ctx: Context) -> list[Command]:
        s, state = self.settings, self.state
        if s.amount_type == "percent":
            with localcontext() as c:
                c.prec = PRECISION
                state.budget = ctx.free(ctx.instrument.settle) * s.amount / HUNDRED
        else:
            state.budget = s.amount
        setup: list[Command] = [SetLeverage(s.leverage)] if ctx.instrument.is_derivative else []
        setup.append(
            Log(
                f"Smart trade: {s.side} {s.symbol}, budget {shown(state.budget, 2)} "
                f"{ctx.instrument.settle}, {len(s.entries)} entries, "
                f"{len(s.take_profits)} targets",
                Severity.TRADE,
            )
        )
        return setup + self._place_entries(ctx)

    def on_fill(self, fill: BotFill, ctx: Context) -> list[Command]:
        state = self.state
        state.book.apply(fill.side, fill.amount, fill.price, fill.fee, ctx.instrument.contract_size)
        kind, _, index = fill.tag.partition(":")
        if kind == "e":
            state.entered += fill.amount
            if fill.order_done:
                state.filled.append(int(index))
            log = Log(
                f"Entry {int(index) + 1} filled: {shown(fill.amount)} at {shown(fill.price, 2)}",
                Severity.TRADE,
            )
            if state.phase is not Phase.OPEN:
                return [log]
            return [log, *self._sync_targets(ctx)]
        if kind == "tp":
            if fill.order_done:
                state.targets_hit.append(int(index))
            commands: list[Command] = [
                Log(
                    f"Target {int(index) + 1} reached: {shown(fill.amount)} at "
                    f"{shown(fill.price, 2)}",
                    Severity.TRADE,
                )
            ]
            if self._held() == 0 and self._all_entries_done():
                commands += self._finish(ctx, "take-profit")
            return commands
        if kind == "exit" and self._held() == 0 and state.phase is Phase.CLOSING:
            return self._finish(ctx, state.closed_by or "close")
        return []

    def on_timer(self, now_ms: int, ctx: Context) -> list[Command]:
        s, state = self.settings, self.state
        if state.phase is not Phase.OPEN:
            return []
        sign, price = self._side.sign, ctx.price
        if s.stop_loss is not None and (price - s.stop_loss) * sign <= 0:
            return self._close(ctx, "stop-loss")
        if s.trailing_callback is None or self._held() == 0:
            return []
        commands: list[Command] = []
        if not state.trailing_active:
            activation = self._activation()
            if activation is not None and (price - activation) * sign < 0:
                return []
            state.trailing_active, state.anchor = True, price
            commands.append(Log(f"Trailing stop active at {shown(price, 2)}", Severity.TRADE))
        assert state.anchor is not None
        if (price - state.anchor) * sign > 0:
            state.anchor = price
        trail = self._trail_level()
        if trail is not None and (price - trail) * sign <= 0:
            return commands + self._close(ctx, "trailing stop")
        return commands

    def on_stop(self, ctx: Context, close_positions: bool) -> list[Command]:
        state = self.state
        held = self._held()
        if state.phase is Phase.CLOSED:
            return []
        state.phase, state.closed_by = Phase.CLOSED, state.closed_by or "stop"
        if not close_positions or held == 0:
            return [Log("Smart trade stopped", Severity.TRADE)]
        return [
            Log("Smart trade cancelled: closing at market", Severity.TRADE),
            self._exit_order(ctx, OrderRole.CLOSE, "close"),
        ]

    def on_settings(self, settings: SmartTradeSettings, ctx: Context) -> list[Command]:
        old, self.settings = self.settings, settings
        if self.state.phase is not Phase.OPEN:
            return []
        commands: list[Command] = [Log(_changes(old, settings), Severity.INFO)]
        for i, entry in enumerate(settings.entries):
            if i >= len(old.entries) or i not in self.state.placed or i in self.state.filled:
                continue
            if entry.price != old.entries[i].price and ctx.orders(f"e:{i}"):
                amount = self._entry_amount(entry, ctx.instrument)
                commands.append(AmendOrder(f"e:{i}", price=entry.price, amount=amount))
        commands += self._place_entries(ctx)
        for k in range(len(settings.take_profits), len(old.take_profits)):
            commands.append(CancelOrder(tag=f"tp:{k}"))
        if not settings.trailing_callback:
            self.state.trailing_active, self.state.anchor = False, None
        return commands + self._sync_targets(ctx)

    def wake(self, ctx: Context) -> Wake:
        s, state = self.settings, self.state
        if state.phase is not Phase.OPEN:
            return Wake()
        stops = [] if s.stop_loss is None else [s.stop_loss]
        toward: Decimal | None = None
        if s.trailing_callback is not None and self._held() > 0:
            if state.trailing_active:
                assert state.anchor is not None
                tick = ctx.instrument.tick_size * self._side.sign
                toward = state.anchor + tick
                trail = self._trail_level()
                if trail is not None:
                    stops.append(trail)
            else:
                toward = self._activation() or ctx.price
        buying = self._side is Side.BUY
        stop = (max(stops) if buying else min(stops)) if stops else None
        return Wake(below=stop, above=toward) if buying else Wake(above=stop, below=toward)

    # ---- orders --------------------------------------------------------------------------

    def _entry_amount(self, entry: Entry, instrument: Instrument) -> Decimal:
        assert self.state.budget is not None
        with localcontext() as c:
            c.prec = PRECISION
            value = self.state.budget * entry.share / HUNDRED * self.settings.leverage
            return floor_to(
                value / (entry.price * instrument.contract_size), instrument.amount_step
            )

    def _place_entries(self, ctx: Context) -> list[Command]:
        s, state, instrument = self.settings, self.state, ctx.instrument
        commands: list[Command] = []
        for i, entry in enumerate(s.entries):
            if i in state.placed:
                continue
            state.placed.append(i)
            price = instrument.round_price(entry.price)
            amount = self._entry_amount(entry, instrument)
            if amount < instrument.min_amount or amount * price < instrument.min_notional:
                commands.append(
                    Log(f"Entry {i + 1} at {shown(price, 2)} is below the minimum order; "
                        "skipped", Severity.WARNING)
                )  # fmt: skip
                state.filled.append(i)
                continue
            commands.append(
                PlaceOrder(
                    tag=f"e:{i}", symbol=s.symbol, side=self._side, type=OrderType.LIMIT,
                    amount=amount, price=price, note=f"{entry.kind.value} {i + 1}",
                )
            )  # fmt: skip
        return commands

    def _sync_targets(self, ctx: Context) -> list[Command]:
        """Place or amend every target not yet reached to its share of what was entered."""
        s, state, instrument = self.settings, self.state, ctx.instrument
        open_targets = [k for k in range(len(s.take_profits)) if k not in state.targets_hit]
        if not open_targets or self._held() == 0:
            return []
        whole = sum((t.share for t in s.take_profits), ZERO) == HUNDRED
        left = self._held()
        sizes: dict[int, Decimal] = {}
        for k in open_targets:
            with localcontext() as c:
                c.prec = PRECISION
                size = floor_to(state.entered * s.take_profits[k].share / HUNDRED,
                                instrument.amount_step)  # fmt: skip
            sizes[k] = min(size, left)
            left -= sizes[k]
        if whole:
            sizes[open_targets[-1]] += left
        commands: list[Command] = []
        for k in open_targets:
            tag, price = f"tp:{k}", instrument.round_price(s.take_profits[k].price)
            amount = sizes[k]
            existing = ctx.orders(tag)
            if amount < instrument.min_amount:
                if existing:
                    commands.append(CancelOrder(tag=tag))
                continue
            if existing:
                order = existing[0]
                if order.price != price or order.amount - order.filled != amount:
                    commands.append(AmendOrder(tag, price=price, amount=order.filled + amount))
                continue
            commands.append(
                PlaceOrder(
                    tag=tag, symbol=s.symbol, side=self._side.opposite, type=OrderType.LIMIT,
                    amount=amount, price=price, reduce_only=instrument.is_derivative,
                    role=OrderRole.TAKE_PROFIT, note=f"target {k + 1}",
                )
            )  # fmt: skip
        return commands

    def _exit_order(self, ctx: Context, role: OrderRole, note: str) -> PlaceOrder:
        return PlaceOrder(
            tag="exit", symbol=self.settings.symbol, side=self._side.opposite,
            type=OrderType.MARKET, amount=self._held(),
            reduce_only=ctx.instrument.is_derivative, role=role, note=note,
        )  # fmt: skip

    def _close(self, ctx: Context, how: str) -> list[Command]:
        state = self.state
        state.closed_by = how
        cancels: list[Command] = [
            CancelOrder(tag=t) for t in dict.fromkeys(o.tag for o in ctx.orders())
        ]
        log = Log(f"{how.capitalize()} at {shown(ctx.price, 2)}", Severity.WARNING)
        if self._held() == 0:
            return [log, *cancels, *self._finish(ctx, how)]
        state.phase = Phase.CLOSING
        return [log, *cancels, self._exit_order(ctx, OrderRole.STOP_LOSS, how)]

    def _finish(self, ctx: Context, how: str) -> list[Command]:
        state = self.state
        state.phase, state.closed_by = Phase.CLOSED, how
        profit = state.book.realized - state.book.fees
        return [
            Log(f"Smart trade closed by {how}: {shown(profit)} {ctx.instrument.settle}",
                Severity.TRADE),
            StopBot(f"closed by {how}"),
        ]  # fmt: skip

    def _all_entries_done(self) -> bool:
        return len(self.state.filled) >= len(self.settings.entries)

    def _activation(self) -> Decimal | None:
        s, book = self.settings, self.state.book
        if s.trailing_activation is not None:
            return s.trailing_activation
        if s.trailing_activation_pct is not None and book.amount:
            with localcontext() as c:
                c.prec = PRECISION
                return book.entry * (1 + self._side.sign * s.trailing_activation_pct / HUNDRED)
        return None

    def _trail_level(self) -> Decimal | None:
        s, anchor = self.settings, self.state.anchor
        if anchor is None or s.trailing_callback is None:
            return None
        with localcontext() as c:
            c.prec = PRECISION
            return anchor * (1 - self._side.sign * s.trailing_callback / HUNDRED)


def _changes(old: SmartTradeSettings, new: SmartTradeSettings) -> str:
    keys = [
        (info.alias or name)
        for name, info in type(new).model_fields.items()
        if getattr(old, name) != getattr(new, name)
    ]
    return "Plan updated: " + (", ".join(keys) or "no change")
