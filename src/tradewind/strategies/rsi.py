"""The RSI bot: long-only trades on Wilder's RSI crossings.

On each closed bar of ``timeframe`` the RSI (Wilder's, ``rsiPeriod`` bars; see
``indicators``) is updated in O(1). With r the RSI after the previous bar and r' after this
one (both defined):
  - flat, and r < oversold <= r': the RSI crossed up through oversold: BUY ``orderSize``
    worth (quote asset) at market;
  - holding, and r > overbought >= r': it crossed down through overbought: SELL everything
    the bot holds at market (its bracket orders are cancelled first).
One position at a time: a buy crossing while holding and a sell crossing while flat do
nothing. The optional ``stopLoss`` / ``takeProfit`` (percent from the price at the decision)
ride on the entry as a ``Bracket`` program: the matching engine places both, reduce-only, in
one OCO group, when the entry fills; when one fills the bot is flat again. On derivatives the
bot goes long only, with the account's leverage.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import ValidationInfo, field_validator

from tradewind.domain.instruments import Instrument
from tradewind.strategies.base import (
    Bar,
    Command,
    Context,
    IndicatorWake,
    Log,
    Wake,
)
from tradewind.strategies.indicators import WilderRSI
from tradewind.strategies.long_only import (
    LongOnly,
    LongOnlyState,
    stop_loss_setting,
    take_profit_setting,
)
from tradewind.strategies.schema import Interval, SettingsModel, fail, setting


class RsiSettings(SettingsModel):
    """``rsi_bot``."""

    rsi_period: int = setting(
        14, title="RSI period", group="RSI", ge=2, le=500,
        description="Bars in Wilder's RSI.",
    )  # fmt: skip
    timeframe: Interval = setting(
        "1h", title="Timeframe", group="RSI", description="Bar length the RSI is computed on."
    )
    oversold: float = setting(
        30.0, title="Oversold", group="RSI", gt=0, lt=100, editable=True,
        description="Buy when the RSI crosses up through this level.",
    )  # fmt: skip
    overbought: float = setting(
        70.0, title="Overbought", group="RSI", gt=0, lt=100, editable=True,
        description="Sell when the RSI crosses down through this level.",
    )  # fmt: skip
    order_size: Decimal = setting(
        title="Order size", group="Order Settings", gt=0, editable=True,
        description="Value of each buy, in the quote asset.",
    )  # fmt: skip
    stop_loss: Decimal = stop_loss_setting()
    take_profit: Decimal = take_profit_setting()

    @field_validator("overbought")
    @classmethod
    def _above_oversold(cls, value: float, info: ValidationInfo) -> float:
        oversold = info.data.get("oversold")
        if oversold is not None and value <= oversold:
            raise ValueError(f"must be above oversold ({oversold})")
        return value

    def validate_for(self, instrument: Instrument) -> None:
        super().validate_for(instrument)
        if self.order_size < instrument.min_notional:
            fail("order_size", f"{self.order_size} {instrument.quote} is below the minimum "
                               f"order value of {instrument.min_notional} {instrument.quote}")  # fmt: skip


class RsiState(LongOnlyState):
    rsi: WilderRSI


class RsiBot(LongOnly[RsiSettings, RsiState]):
    """``rsi_bot`` (module docstring)."""

    script_id = "rsi_bot"
    name = "RSI"

    def new_state(self) -> RsiState:
        return RsiState(rsi=WilderRSI(period=self.settings.rsi_period))

    @property
    def timeframe(self) -> str | None:
        return self.settings.timeframe

    def on_start(self, ctx: Context) -> list[Command]:
        self.state.stopped = False
        if self.state.rsi.seen == 0:
            self.state.rsi.feed(ctx.closes)
        value = self.state.rsi.value
        shown = "warming up" if value is None else f"{value:.2f}"
        return [Log(f"RSI({self.settings.rsi_period}, {self.settings.timeframe}): {shown}")]

    def on_bar(self, bar: Bar, ctx: Context) -> list[Command]:
        rsi, s = self.state.rsi, self.settings
        before = rsi.value
        after = rsi.update(bar.close)
        if before is None or after is None or self.state.stopped:
            return []
        if not self._holding() and before < s.oversold <= after:
            return self._buy(ctx, after)
        if self._holding() and before > s.overbought >= after:
            return self._sell(ctx, f"RSI crossed down through {s.overbought}: {after:.2f}")
        return []

    def catch_up(self, closes: Sequence[float]) -> None:
        self.state.rsi.feed(closes)

    def wake(self, ctx: Context) -> Wake:
        if self.state.stopped:
            return Wake()
        s, value = self.settings, self.state.rsi.value
        if not self._holding():  # arm below oversold, then fire at or above it
            firing = value is None or value < s.oversold
            level = s.oversold
        else:  # arm above overbought, then fire at or below it
            firing = value is not None and value > s.overbought
            level = s.overbought
        fire_up = firing != self._holding()
        return Wake(
            indicator=IndicatorWake(
                period=s.rsi_period, interval=s.timeframe,
                at_or_above=level if fire_up else None, at_or_below=None if fire_up else level,
            )
        )  # fmt: skip

    # ---- decisions -----------------------------------------------------------------------

    def _buy(self, ctx: Context, value: float) -> list[Command]:
        s = self.settings
        return self._enter(ctx, s.order_size, quote=True,
                           why=f"RSI crossed up through {s.oversold}: {value:.2f}")  # fmt: skip
