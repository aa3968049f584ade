"""The SMA crossover bot: long-only trades when a fast moving average crosses a slow one.

On each closed bar of ``timeframe`` the bot takes the close, in whole ticks of the instrument
(so the averages compare exactly, with no rounding of floats deciding a tie), and keeps the
last ``slowPeriod`` of them. Once it has that many, with d = fast SMA - slow SMA on this bar and
d' on the previous one:
  - flat, and d' <= 0 < d: the fast average crossed up through the slow one: BUY ``orderSize``
    at market;
  - holding, and d' >= 0 > d: it crossed down: SELL everything the bot holds at market (its
    bracket orders are cancelled first).
A bar where the two are equal is neither above nor below; crossing through it counts once, on
the bar that leaves it. One position at a time: a cross up while holding and a cross down while
flat do nothing. ``orderSize`` is in the quote asset (``sizeAsset: "Quote"``, the default) or
in the base asset. The optional ``stopLoss`` / ``takeProfit`` (percent from the price at the
decision) ride on the entry as a ``Bracket`` program, as the RSI bot's do.

The averages compare as ``sum_fast * slow - sum_slow * fast`` (integers): the sign of the
difference of the two means without dividing.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Bracket, OrderRole, OrderType, Side
from tradewind.strategies.accounting import PRECISION, Inventory, ceil_to, floor_to
from tradewind.strategies.base import (
    Bar,
    BotFill,
    CancelOrder,
    Command,
    Context,
    Log,
    OrderLeg,
    PlaceOrder,
    Severity,
    Strategy,
    Wake,
)
from tradewind.strategies.schema import Interval, SettingsModel, fail, setting
from tradewind.strategies.wake import SmaSignWake

ZERO, HUNDRED = Decimal(0), Decimal(100)


class SmaCrossSettings(SettingsModel):
    """``sma_cross``."""

    fast_period: int = setting(
        20, title="Fast SMA", group="Averages", ge=1, le=1000,
        description="Bars in the fast simple moving average.",
    )  # fmt: skip
    slow_period: int = setting(
        50, title="Slow SMA", group="Averages", ge=2, le=5000,
        description="Bars in the slow simple moving average (more than the fast one).",
    )  # fmt: skip
    timeframe: Interval = setting(
        "1h", title="Timeframe", group="Averages", description="Bar length the averages use."
    )
    order_size: Decimal = setting(
        title="Order size", group="Order Settings", gt=0, editable=True,
        description="Size of each buy, in the asset ``sizeAsset`` names.",
    )  # fmt: skip
    size_asset: Literal["Quote", "Base"] = setting(
        "Quote", title="Size asset", group="Order Settings", editable=True,
        description="Quote: the order size is a value in the quote asset; Base: an amount of "
        "the base asset.",
    )  # fmt: skip
    stop_loss: Decimal = setting(
        ZERO, title="Stop loss %", group="Exit Settings", ge=0, lt=100, editable=True,
        description="Disabled if zero. Stop below the entry by this percentage.",
    )  # fmt: skip
    take_profit: Decimal = setting(
        ZERO, title="Take profit %", group="Exit Settings", ge=0, editable=True,
        description="Disabled if zero. Take profit above the entry by this percentage.",
    )  # fmt: skip

    @field_validator("slow_period")
    @classmethod
    def _slower(cls, value: int, info: ValidationInfo) -> int:
        fast = info.data.get("fast_period")
        if fast is not None and value <= fast:
            raise ValueError(f"must be more than the fast period ({fast})")
        return value

    def validate_for(self, instrument: Instrument) -> None:
        super().validate_for(instrument)
        if self.size_asset == "Quote" and self.order_size < instrument.min_notional:
            fail("order_size", f"{self.order_size} {instrument.quote} is below the minimum "
                               f"order value of {instrument.min_notional} {instrument.quote}")  # fmt: skip
        if self.size_asset == "Base" and self.order_size < instrument.min_amount:
            fail("order_size", f"{self.order_size} {instrument.base} is below the minimum "
                               f"order amount of {instrument.min_amount} {instrument.base}")  # fmt: skip


class SmaCrossState(BaseModel):
    closes: list[int] = Field(default_factory=list)
    """The last ``slowPeriod`` closes, in ticks."""
    tick: Decimal | None = None
    """The instrument's tick the closes are counted in (set at start)."""
    sign: int | None = None
    """The sign of fast - slow on the last bar both were defined (None before)."""
    inventory: Inventory = Field(default_factory=Inventory)
    trades: int = 0
    entry_tag: str | None = None
    stopped: bool = False


class SmaCrossBot(Strategy[SmaCrossSettings, SmaCrossState]):
    """``sma_cross`` (module docstring)."""

    script_id = "sma_cross"

    def new_state(self) -> SmaCrossState:
        return SmaCrossState()

    @property
    def timeframe(self) -> str | None:
        return self.settings.timeframe

    def on_start(self, ctx: Context) -> list[Command]:
        self.state.stopped = False
        self.state.tick = ctx.instrument.tick_size
        if not self.state.closes:
            self.catch_up(ctx.closes)
        s, sign = self.settings, self.state.sign
        shown = {None: "warming up", 1: "fast above slow", -1: "fast below slow"}.get(sign, "equal")
        return [Log(f"SMA({s.fast_period}) / SMA({s.slow_period}), {s.timeframe}: {shown}")]

    def on_bar(self, bar: Bar, ctx: Context) -> list[Command]:
        before = self.state.sign
        self.state.tick = ctx.instrument.tick_size
        after = self._take(bar.close)
        if before is None or after is None or self.state.stopped:
            return []
        s = self.settings
        if not self._holding() and before <= 0 < after:
            return self._buy(ctx, f"SMA({s.fast_period}) crossed up through SMA({s.slow_period})")
        if self._holding() and before >= 0 > after:
            return self._sell(ctx, f"SMA({s.fast_period}) crossed down through "
                                   f"SMA({s.slow_period})")  # fmt: skip
        return []

    def on_fill(self, fill: BotFill, ctx: Context) -> list[Command]:
        self.state.inventory.apply(
            fill.side, fill.amount, fill.price, fill.fee, ctx.instrument.contract_size
        )
        if fill.leg in (OrderLeg.STOP_LOSS, OrderLeg.TAKE_PROFIT):
            name = "Stop-loss" if fill.leg is OrderLeg.STOP_LOSS else "Take-profit"
            return [Log(f"{name} filled at {fill.price}", Severity.TRADE)]
        return []

    def on_stop(self, ctx: Context, close_positions: bool) -> list[Command]:
        self.state.stopped = True
        return self._exit(ctx) if close_positions and self._holding() else []

    def catch_up(self, closes: Sequence[float]) -> None:
        """Bars the bot was not woken for: only the last ``slowPeriod`` closes stay, and the
        sign is the one after the last of them (O(slowPeriod), however many bars)."""
        slow = self.settings.slow_period
        if len(closes) <= slow:
            for close in closes:
                self._take(float(close))
            return
        tick = self.state.tick
        if tick is None:
            raise RuntimeError("closes before the bot started: its instrument's tick is unknown")
        self.state.closes = [round(float(c) / float(tick)) for c in closes[-slow - 1 : -1]]
        self._take(float(closes[-1]))

    def wake(self, ctx: Context) -> Wake:
        s, state = self.settings, self.state
        if state.stopped:
            return Wake()
        if state.sign is None or state.tick is None:
            return Wake(every_bar=True)  # warming up
        # a bar that leaves the sign as it is only moves the averages
        return Wake(indicator=SmaSignWake(
            fast=s.fast_period, slow=s.slow_period, interval=s.timeframe, tick=state.tick,
            sign=state.sign,
        ))  # fmt: skip

    # ---- the averages ----------------------------------------------------------------------

    def _take(self, close: float) -> int | None:
        """Add a close; the sign of fast - slow after it (None while warming up)."""
        s, closes, tick = self.settings, self.state.closes, self.state.tick
        if tick is None:
            raise RuntimeError("closes before the bot started: its instrument's tick is unknown")
        closes.append(round(close / float(tick)))
        if len(closes) > s.slow_period:
            del closes[0]
        if len(closes) < s.slow_period:
            return None
        d = sum(closes[-s.fast_period :]) * s.slow_period - sum(closes) * s.fast_period
        self.state.sign = (d > 0) - (d < 0)
        return self.state.sign

    # ---- decisions -----------------------------------------------------------------------

    def _holding(self) -> bool:
        return self.state.inventory.amount > 0

    def _buy(self, ctx: Context, why: str) -> list[Command]:
        s, instrument, price = self.settings, ctx.instrument, ctx.price
        with localcontext() as c:
            c.prec = PRECISION
            size = s.order_size
            if s.size_asset == "Quote":
                size = s.order_size / (price * instrument.contract_size)
            amount = floor_to(size, instrument.amount_step)
            stop = floor_to(price * (1 - s.stop_loss / HUNDRED), instrument.tick_size)
            take = ceil_to(price * (1 + s.take_profit / HUNDRED), instrument.tick_size)
        if amount < instrument.min_amount:
            return [Log(f"{s.order_size} {s.size_asset.lower()} buys less than the minimum "
                        "order", Severity.ERROR)]  # fmt: skip
        bracket = None
        if s.stop_loss or s.take_profit:
            bracket = Bracket(stop_loss=stop if s.stop_loss else None,
                              take_profit=take if s.take_profit else None)  # fmt: skip
        self.state.trades += 1
        tag = self.state.entry_tag = f"entry:{self.state.trades}"
        return [
            Log(f"{why}; buying {amount}", Severity.TRADE),
            PlaceOrder(tag=tag, symbol=s.symbol, side=Side.BUY, type=OrderType.MARKET,
                       amount=amount, bracket=bracket, note="SMA cross entry"),
        ]  # fmt: skip

    def _sell(self, ctx: Context, why: str) -> list[Command]:
        return [Log(why, Severity.TRADE), *self._exit(ctx)]

    def _exit(self, ctx: Context) -> list[Command]:
        instrument = ctx.instrument
        cancel: list[Command] = []
        if self.state.entry_tag and ctx.orders(self.state.entry_tag):
            cancel.append(CancelOrder(tag=self.state.entry_tag))
        amount = floor_to(self.state.inventory.amount, instrument.amount_step)
        if amount < instrument.min_amount:
            return [*cancel, Log(f"{amount} {instrument.base} is too small to sell",
                                 Severity.WARNING)]  # fmt: skip
        return [
            *cancel,
            PlaceOrder(tag=f"exit:{self.state.trades}", symbol=self.settings.symbol,
                       side=Side.SELL, type=OrderType.MARKET, amount=amount,
                       reduce_only=instrument.is_derivative, role=OrderRole.CLOSE,
                       note="SMA cross exit"),
        ]  # fmt: skip
