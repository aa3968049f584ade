"""One long position at a time, entered at market and left at market: what the indicator bots
(RSI, SMA crossover) share. A bot decides when; this decides how: the entry's size in the
instrument's unit, its optional stop-loss / take-profit ``Bracket`` (percent from the price at
the decision), the books kept from the fills, and an exit that cancels an unfilled entry and
sells everything held."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Protocol, TypeVar, cast

from pydantic import BaseModel, Field

from tradewind.domain.orders import Bracket, OrderRole, OrderType, Side
from tradewind.strategies.accounting import PRECISION, Inventory, ceil_to, floor_to
from tradewind.strategies.base import (
    BotFill,
    CancelOrder,
    Command,
    Context,
    Log,
    OrderLeg,
    PlaceOrder,
    Severity,
    Strategy,
)
from tradewind.strategies.schema import SettingsModel, setting

HUNDRED = Decimal(100)


def stop_loss_setting() -> Decimal:
    """The ``stopLoss`` setting every long-only bot takes (a fresh field for each model)."""
    stop: Decimal = setting(
        Decimal(0), title="Stop loss %", group="Exit Settings", ge=0, lt=100, editable=True,
        description="Disabled if zero. Stop below the entry by this percentage.",
    )  # fmt: skip
    return stop


def take_profit_setting() -> Decimal:
    """The ``takeProfit`` setting every long-only bot takes (a fresh field for each model)."""
    take: Decimal = setting(
        Decimal(0), title="Take profit %", group="Exit Settings", ge=0, editable=True,
        description="Disabled if zero. Take profit above the entry by this percentage.",
    )  # fmt: skip
    return take


class LongOnlySettings(Protocol):
    symbol: str
    stop_loss: Decimal
    take_profit: Decimal


class LongOnlyState(BaseModel):
    inventory: Inventory = Field(default_factory=Inventory)
    trades: int = 0
    entry_tag: str | None = None
    stopped: bool = False


S = TypeVar("S", bound=SettingsModel)
St = TypeVar("St", bound=LongOnlyState)


class LongOnly(Strategy[S, St]):
    """The shared part of a long-only bot (module docstring); ``name`` labels its orders."""

    name = ""

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

    def _holding(self) -> bool:
        return self.state.inventory.amount > 0

    def _enter(self, ctx: Context, size: Decimal, *, quote: bool, why: str) -> list[Command]:
        """Buy ``size`` (a value in the quote asset with ``quote``, else an amount of the base
        asset) at market, with the settings' bracket."""
        s, instrument, price = cast(LongOnlySettings, self.settings), ctx.instrument, ctx.price
        with localcontext() as c:
            c.prec = PRECISION
            amount = size / (price * instrument.contract_size) if quote else size
            amount = floor_to(amount, instrument.amount_step)
            stop = floor_to(price * (1 - s.stop_loss / HUNDRED), instrument.tick_size)
            take = ceil_to(price * (1 + s.take_profit / HUNDRED), instrument.tick_size)
        if amount < instrument.min_amount:
            unit = instrument.quote if quote else instrument.base
            return [Log(f"{size} {unit} buys less than the minimum order", Severity.ERROR)]
        bracket = None
        if s.stop_loss or s.take_profit:
            bracket = Bracket(stop_loss=stop if s.stop_loss else None,
                              take_profit=take if s.take_profit else None)  # fmt: skip
        self.state.trades += 1
        tag = self.state.entry_tag = f"entry:{self.state.trades}"
        return [
            Log(f"{why}; buying {amount}", Severity.TRADE),
            PlaceOrder(tag=tag, symbol=s.symbol, side=Side.BUY, type=OrderType.MARKET,
                       amount=amount, bracket=bracket, note=f"{self.name} entry"),
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
            PlaceOrder(tag=f"exit:{self.state.trades}", symbol=cast(LongOnlySettings, self.settings).symbol,
                       side=Side.SELL, type=OrderType.MARKET, amount=amount,
                       reduce_only=instrument.is_derivative, role=OrderRole.CLOSE,
                       note=f"{self.name} exit"),
        ]  # fmt: skip
