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
from decimal import Decimal, localcontext

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
    IndicatorWake,
    Log,
    OrderLeg,
    PlaceOrder,
    Severity,
    Strategy,
    Wake,
)
from tradewind.strategies.indicators import WilderRSI
from tradewind.strategies.schema import Interval, SettingsModel, fail, setting

ZERO, HUNDRED = Decimal(0), Decimal(100)


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
    stop_loss: Decimal = setting(
        ZERO, title="Stop loss %", group="Exit Settings", ge=0, lt=100, editable=True,
        description="Disabled if zero. Stop below the entry by this percentage.",
    )  # fmt: skip
    take_profit: Decimal = setting(
        ZERO, title="Take profit %", group="Exit Settings", ge=0, editable=True,
        description="Disabled if zero. Take profit above the entry by this percentage.",
    )  # fmt: skip

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


class RsiState(BaseModel):
    rsi: WilderRSI
    inventory: Inventory = Field(default_factory=Inventory)
    trades: int = 0
    entry_tag: str | None = None
    stopped: bool = False


class RsiBot(Strategy[RsiSettings, RsiState]):
    """``rsi_bot`` (module docstring)."""

    script_id = "rsi_bot"

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

    def _holding(self) -> bool:
        return self.state.inventory.amount > 0

    def _buy(self, ctx: Context, value: float) -> list[Command]:
        s, instrument, price = self.settings, ctx.instrument, ctx.price
        with localcontext() as c:
            c.prec = PRECISION
            amount = floor_to(s.order_size / (price * instrument.contract_size),
                              instrument.amount_step)  # fmt: skip
            stop = floor_to(price * (1 - s.stop_loss / HUNDRED), instrument.tick_size)
            take = ceil_to(price * (1 + s.take_profit / HUNDRED), instrument.tick_size)
        if amount < instrument.min_amount:
            return [Log(f"{s.order_size} {instrument.quote} buys less than the minimum order",
                        Severity.ERROR)]  # fmt: skip
        bracket = None
        if s.stop_loss or s.take_profit:
            bracket = Bracket(stop_loss=stop if s.stop_loss else None,
                              take_profit=take if s.take_profit else None)  # fmt: skip
        self.state.trades += 1
        tag = self.state.entry_tag = f"entry:{self.state.trades}"
        return [
            Log(f"RSI crossed up through {s.oversold}: {value:.2f}; buying {amount}",
                Severity.TRADE),
            PlaceOrder(tag=tag, symbol=s.symbol, side=Side.BUY, type=OrderType.MARKET,
                       amount=amount, bracket=bracket, note="RSI entry"),
        ]  # fmt: skip

    def _sell(self, ctx: Context, why: str) -> list[Command]:
        return [Log(why, Severity.TRADE), *self._exit(ctx)]

    def _exit(self, ctx: Context) -> list[Command]:
        instrument = ctx.instrument
        amount = self.state.inventory.amount
        cancel: list[Command] = []
        if self.state.entry_tag and ctx.orders(self.state.entry_tag):
            cancel.append(CancelOrder(tag=self.state.entry_tag))
        amount = floor_to(amount, instrument.amount_step)
        if amount < instrument.min_amount:
            return [*cancel, Log(f"{amount} {instrument.base} is too small to sell",
                                 Severity.WARNING)]  # fmt: skip
        return [
            *cancel,
            PlaceOrder(tag=f"exit:{self.state.trades}", symbol=self.settings.symbol,
                       side=Side.SELL, type=OrderType.MARKET, amount=amount,
                       reduce_only=instrument.is_derivative, role=OrderRole.CLOSE,
                       note="RSI exit"),
        ]  # fmt: skip
