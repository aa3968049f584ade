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
from decimal import Decimal
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from tradewind.domain.instruments import Instrument
from tradewind.strategies.base import (
    Bar,
    Command,
    Context,
    Log,
    Wake,
)
from tradewind.strategies.long_only import (
    LongOnly,
    LongOnlyState,
    stop_loss_setting,
    take_profit_setting,
)
from tradewind.strategies.schema import Interval, SettingsModel, fail, setting
from tradewind.strategies.wake import SmaSignWake


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
    stop_loss: Decimal = stop_loss_setting()
    take_profit: Decimal = take_profit_setting()

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


class SmaCrossState(LongOnlyState):
    closes: list[int] = Field(default_factory=list)
    """The last ``slowPeriod`` closes, in ticks."""
    tick: Decimal | None = None
    """The instrument's tick the closes are counted in (set at start)."""
    sign: int | None = None
    """The sign of fast - slow on the last bar both were defined (None before)."""


class SmaCrossBot(LongOnly[SmaCrossSettings, SmaCrossState]):
    """``sma_cross`` (module docstring)."""

    script_id = "sma_cross"
    name = "SMA cross"

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

    def catch_up(self, closes: Sequence[float]) -> None:
        """Bars the bot was not woken for: only the last ``slowPeriod`` closes stay, and the
        sign is the one after the last of them (O(slowPeriod), however many bars)."""
        if not len(closes):
            return
        slow, tick = self.settings.slow_period, self.state.tick
        if tick is None:
            raise RuntimeError("closes before the bot started: its instrument's tick is unknown")
        before = [round(float(c) / float(tick)) for c in closes[-slow - 1 : -1]]
        self.state.closes = (self.state.closes + before)[-slow:]
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

    def _buy(self, ctx: Context, why: str) -> list[Command]:
        s = self.settings
        return self._enter(ctx, s.order_size, quote=s.size_asset == "Quote", why=why)
