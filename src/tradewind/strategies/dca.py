"""Spot and futures dollar-cost-averaging (DCA) bots.

A deal opens with a market base order (``baseOrderSize`` worth, in the quote asset; futures:
that margin times ``leverage``). Its fill price is the deal's entry. At once the whole
safety-order ladder is placed as resting limit orders (mechanical: the matching engine fills
them, no Python runs): safety order k (k = 1..safetyOrderCount) sits at deviation
``d_k = priceDeviation * (1 + stepScale + ... + stepScale^(k-1))`` percent from the entry
(below it for Buy, above for Sell; rounded to the tick) and is worth
``safetyOrderSize * volumeScale^(k-1)``.

The take-profit is a limit order on the other side for everything the deal holds, at
``average entry * (1 +/- takeProfit%)`` (rounded away from the entry to the tick). It is a
decision, re-made on each fill: placed after the base order fills and amended (price and
amount) after each safety order fills. A single program cannot do this: the average moves
with every fill. When it fills the deal is closed: the remaining safety orders are
cancelled, and the next deal starts ``cooldown`` seconds later (at once when 0).

The optional stop-loss (``stopLoss`` percent from the entry, beyond the last safety order)
is a price wake: when the price reaches it the bot cancels the deal's orders and closes it at
market; the next deal follows after the cooldown. Futures orders that close are reduce-only.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from tradewind.domain.instruments import Instrument, InstrumentKind
from tradewind.domain.orders import OrderRole, OrderType, Side
from tradewind.strategies.accounting import PRECISION, Inventory, ceil_to, floor_to, shown
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
    Strategy,
    Wake,
)
from tradewind.strategies.schema import SettingsModel, fail, setting

ZERO, HUNDRED = Decimal(0), Decimal(100)


class DcaDirection(StrEnum):
    BUY = "Buy"
    SELL = "Sell"


class SpotDcaSettings(SettingsModel):
    """``spot_dollar_cost_averaging``."""

    direction: DcaDirection = setting(
        DcaDirection.BUY, title="Direction", description="Trading direction",
        group="Price Settings",
    )  # fmt: skip
    price_deviation: Decimal = setting(
        Decimal(2), title="Price Deviation %", description="Gap between each order",
        group="Price Settings", gt=0, lt=100,
    )  # fmt: skip
    step_scale: Decimal = setting(
        Decimal(1), title="Safety order step scale", group="Price Settings", gt=0,
        description="Each gap is the previous one multiplied by this.",
    )  # fmt: skip
    base_order_size: Decimal = setting(
        title="Base order size", group="Order Settings", gt=0,
        description="Value of the order that opens a deal, in the quote asset.",
    )  # fmt: skip
    safety_order_size: Decimal = setting(
        title="Safety order size", group="Order Settings", gt=0,
        description="Value of the first safety order, in the quote asset.",
    )  # fmt: skip
    safety_order_count: int = setting(
        3, title="Max. safety orders", group="Order Settings", ge=0, le=100,
        description="How many safety orders each deal may place.",
    )  # fmt: skip
    volume_scale: Decimal = setting(
        Decimal(1), title="Safety order volume scale", group="Order Settings", gt=0,
        description="Each safety order is worth the previous one multiplied by this.",
    )  # fmt: skip
    take_profit: Decimal = setting(
        Decimal("1.5"), title="Take profit %", group="Exit Settings", gt=0, editable=True,
        description="Close the deal at this gain on its average entry price.",
    )  # fmt: skip
    stop_loss: Decimal = setting(
        ZERO, title="Stop loss %", group="Exit Settings", ge=0, lt=100, editable=True,
        description="Disabled if zero. Close the deal at market this far from its entry price.",
    )  # fmt: skip
    cooldown: int = setting(
        0, title="Cooldown (seconds)", group="Advanced Settings", ge=0, editable=True,
        description="Time between a deal closing and the next one opening.",
    )  # fmt: skip

    @field_validator("safety_order_count")
    @classmethod
    def _ladder_fits(cls, count: int, info: ValidationInfo) -> int:
        deviation, scale = info.data.get("price_deviation"), info.data.get("step_scale")
        if deviation is not None and scale is not None and count:
            last = deviations(deviation, scale, count)[-1]
            buying = info.data.get("direction", DcaDirection.BUY) is DcaDirection.BUY
            if buying and last >= HUNDRED:
                raise ValueError(f"the last safety order would be {last}% below the entry")
        return count

    @field_validator("stop_loss")
    @classmethod
    def _beyond_ladder(cls, stop_loss: Decimal, info: ValidationInfo) -> Decimal:
        deviation, scale = info.data.get("price_deviation"), info.data.get("step_scale")
        count = info.data.get("safety_order_count")
        if stop_loss and deviation is not None and scale is not None and count:
            last = deviations(deviation, scale, count)[-1]
            if stop_loss <= last:
                raise ValueError(f"must be beyond the last safety order's deviation ({last}%)")
        return stop_loss

    def validate_for(self, instrument: Instrument) -> None:
        super().validate_for(instrument)
        if instrument.kind is not InstrumentKind.SPOT:
            fail("symbol", f"a spot DCA bot trades a spot market; {self.symbol} is not spot")
        _check_sizes(self, instrument)


class FuturesDcaSettings(SpotDcaSettings):
    """``futures_dollar_cost_averaging``: Buy opens longs, Sell opens shorts; sizes are
    margin, each order trades size x leverage worth of contracts."""

    leverage: Decimal = setting(
        Decimal(1), title="Leverage", description="Leverage multiplier.",
        group="Order Settings", ge=1,
    )  # fmt: skip

    def validate_for(self, instrument: Instrument) -> None:
        SettingsModel.validate_for(self, instrument)
        if not instrument.is_derivative:
            fail("symbol", f"a futures DCA bot trades a derivative; {self.symbol} is spot")
        if self.leverage > instrument.max_leverage:
            fail("leverage", f"must be at most {instrument.max_leverage} on {self.symbol}")
        _check_sizes(self, instrument)


def _check_sizes(settings: SpotDcaSettings, instrument: Instrument) -> None:
    leverage = settings.leverage if isinstance(settings, FuturesDcaSettings) else Decimal(1)
    for field, size in (("base_order_size", settings.base_order_size),
                        ("safety_order_size", settings.safety_order_size)):  # fmt: skip
        if size * leverage < instrument.min_notional:
            fail(field, f"order value {size * leverage} {instrument.quote} is below the "
                        f"minimum of {instrument.min_notional} {instrument.quote}")  # fmt: skip


def deviations(deviation: Decimal, step_scale: Decimal, count: int) -> list[Decimal]:
    """Cumulative deviation (percent) of safety orders 1..count from the entry."""
    found, gap, total = [], deviation, ZERO
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for _ in range(count):
            total += gap
            found.append(total)
            gap *= step_scale
    return found


class DcaState(BaseModel):
    deal: int = 0
    in_deal: bool = False
    entry: Decimal | None = None
    filled_safety: int = 0
    inventory: Inventory = Field(default_factory=Inventory)
    next_deal_ms: int | None = None
    deals_closed: int = 0
    profit: Decimal = ZERO
    stopped: bool = False


D = TypeVar("D", SpotDcaSettings, FuturesDcaSettings)


class _Dca(Strategy[D, DcaState], Generic[D]):
    derivative = False

    def new_state(self) -> DcaState:
        return DcaState()

    @property
    def _side(self) -> Side:
        return Side.BUY if self.settings.direction is DcaDirection.BUY else Side.SELL

    @property
    def _leverage(self) -> Decimal:
        s = self.settings
        return s.leverage if isinstance(s, FuturesDcaSettings) else Decimal(1)

    def on_start(self, ctx: Context) -> list[Command]:
        self.state.stopped = False
        setup: list[Command] = [SetLeverage(self._leverage)] if self.derivative else []
        return setup + self._open_deal(ctx)

    def on_fill(self, fill: BotFill, ctx: Context) -> list[Command]:
        state = self.state
        deal, _, part = fill.tag.partition(":")
        if deal != str(state.deal):  # a late fill of an earlier deal's order
            return [Log(f"Fill of {fill.client_order_id} after its deal closed", Severity.WARNING)]
        unit = ctx.instrument.contract_size
        state.inventory.apply(fill.side, fill.amount, fill.price, fill.fee, unit)
        if part == "base" and fill.order_done:
            state.entry = fill.price
            return [*self._ladder(ctx), self._take_profit(ctx)]
        if part.startswith("so") and fill.order_done:
            state.filled_safety += 1
            tp = self._take_profit(ctx)
            return [AmendOrder(self._tag("tp"), price=tp.price, amount=tp.amount)]
        if part in ("tp", "exit") and state.inventory.amount == 0:
            how = "take-profit" if part == "tp" else "stop" if state.stopped else "stop-loss"
            return self._close_deal(ctx, how)
        return []

    def on_timer(self, now_ms: int, ctx: Context) -> list[Command]:
        state = self.state
        if state.stopped:
            return []
        if not state.in_deal:
            due = state.next_deal_ms is not None and now_ms >= state.next_deal_ms
            return self._open_deal(ctx) if due else []
        level = self._stop_level(ctx.instrument)
        if level is None or (ctx.price > level if self._side is Side.BUY else ctx.price < level):
            return []
        return [
            Log(f"Deal {state.deal}: stop-loss at {shown(ctx.price, 2)}", Severity.WARNING),
            *self._cancel_deal_orders(ctx),
            self._exit(ctx, "exit", OrderType.MARKET, None, OrderRole.STOP_LOSS),
        ]

    def on_stop(self, ctx: Context, close_positions: bool) -> list[Command]:
        self.state.stopped = True
        if not close_positions or self.state.inventory.amount == 0:
            return []
        return [self._exit(ctx, "exit", OrderType.MARKET, None, OrderRole.CLOSE)]

    def on_settings(self, settings: D, ctx: Context) -> list[Command]:
        changed = settings.take_profit != self.settings.take_profit
        self.settings = settings
        if changed and self.state.in_deal and ctx.orders(self._tag("tp")):
            tp = self._take_profit(ctx)
            return [AmendOrder(self._tag("tp"), price=tp.price, amount=tp.amount)]
        return []

    def wake(self, ctx: Context) -> Wake:
        state = self.state
        if state.stopped:
            return Wake()
        if not state.in_deal:
            return Wake(at_ms=state.next_deal_ms)
        level = self._stop_level(ctx.instrument)
        if level is None:
            return Wake()
        return Wake(below=level) if self._side is Side.BUY else Wake(above=level)

    # ---- deals ---------------------------------------------------------------------------

    def _tag(self, part: str) -> str:
        return f"{self.state.deal}:{part}"

    def _open_deal(self, ctx: Context) -> list[Command]:
        state = self.state
        state.deal += 1
        state.in_deal, state.entry, state.filled_safety = True, None, 0
        state.inventory, state.next_deal_ms = Inventory(), None
        amount = self._amount(self.settings.base_order_size, ctx.price, ctx.instrument)
        return [
            Log(f"Deal {state.deal} opened at {shown(ctx.price, 2)}", Severity.TRADE),
            PlaceOrder(
                tag=self._tag("base"), symbol=self.settings.symbol, side=self._side,
                type=OrderType.MARKET, amount=amount, note=f"Deal {state.deal} base order",
            ),
        ]  # fmt: skip

    def _ladder(self, ctx: Context) -> list[Command]:
        s, entry, instrument = self.settings, self.state.entry, ctx.instrument
        assert entry is not None
        orders: list[Command] = []
        size = s.safety_order_size
        sign = -1 if self._side is Side.BUY else 1
        for k, deviation in enumerate(deviations(s.price_deviation, s.step_scale,
                                                 s.safety_order_count), start=1):  # fmt: skip
            with localcontext() as c:
                c.prec = PRECISION
                price = instrument.round_price(entry * (1 + sign * deviation / HUNDRED))
            orders.append(
                PlaceOrder(
                    tag=self._tag(f"so{k}"), symbol=s.symbol, side=self._side,
                    type=OrderType.LIMIT, amount=self._amount(size, price, instrument),
                    price=price, note=f"Deal {self.state.deal} safety order #{k}",
                )
            )  # fmt: skip
            size *= s.volume_scale
        return orders

    def _take_profit(self, ctx: Context) -> PlaceOrder:
        inventory, instrument = self.state.inventory, ctx.instrument
        with localcontext() as c:
            c.prec = PRECISION
            factor = self.settings.take_profit / HUNDRED
            if self._side is Side.BUY:
                price = ceil_to(inventory.entry * (1 + factor), instrument.tick_size)
            else:
                price = floor_to(inventory.entry * (1 - factor), instrument.tick_size)
        return self._exit(ctx, "tp", OrderType.LIMIT, price, OrderRole.TAKE_PROFIT)

    def _exit(
        self, ctx: Context, part: str, kind: OrderType, price: Decimal | None, role: OrderRole
    ) -> PlaceOrder:
        amount = abs(self.state.inventory.amount)
        return PlaceOrder(
                tag=self._tag(part), symbol=self.settings.symbol, side=self._side.opposite,
                type=kind, amount=amount, price=price, reduce_only=self.derivative, role=role,
                note=f"Deal {self.state.deal} {role.value.replace('_', ' ')}",
            )  # fmt: skip

    def _stop_level(self, instrument: Instrument) -> Decimal | None:
        s, entry = self.settings, self.state.entry
        if not s.stop_loss or entry is None:
            return None
        sign = -1 if self._side is Side.BUY else 1
        with localcontext() as c:
            c.prec = PRECISION
            return entry * (1 + sign * s.stop_loss / HUNDRED)

    def _cancel_deal_orders(self, ctx: Context) -> list[Command]:
        tags = dict.fromkeys(o.tag for o in ctx.orders(prefix=f"{self.state.deal}:"))
        return [CancelOrder(tag=tag) for tag in tags]

    def _close_deal(self, ctx: Context, how: str) -> list[Command]:
        state = self.state
        profit = state.inventory.realized - state.inventory.fees
        state.profit += profit
        state.deals_closed += 1
        state.in_deal = False
        commands: list[Command] = [
            Log(f"Deal {state.deal} closed by {how}: {shown(profit)} {ctx.instrument.settle}",
                Severity.TRADE),
            *self._cancel_deal_orders(ctx),
        ]  # fmt: skip
        if state.stopped:
            return commands
        if self.settings.cooldown == 0:
            return commands + self._open_deal(ctx)
        state.next_deal_ms = ctx.now_ms + self.settings.cooldown * 1000
        return commands

    def _amount(self, size: Decimal, price: Decimal, instrument: Instrument) -> Decimal:
        with localcontext() as c:
            c.prec = PRECISION
            value = size * self._leverage / (price * instrument.contract_size)
        return floor_to(value, instrument.amount_step)


class SpotDca(_Dca[SpotDcaSettings]):
    """``spot_dollar_cost_averaging`` (module docstring)."""

    script_id = "spot_dollar_cost_averaging"


class FuturesDca(_Dca[FuturesDcaSettings]):
    """``futures_dollar_cost_averaging`` (module docstring)."""

    script_id = "futures_dollar_cost_averaging"
    derivative = True
