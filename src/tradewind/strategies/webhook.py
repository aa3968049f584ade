"""The webhook bot: trades only on signals addressed to its ``signalToken``.

Each signal becomes market orders (a LIMIT at ``price`` when the signal carries one). The
amount is in the instrument's amount unit, rounded down to its step; "holds" is the bot's own
inventory, counted from its fills.
  buy / sell      buy / sell ``amount``;
  close           close everything the bot holds (sell a long, buy back a short);
  enter_long      close a short first, then buy ``amount``;
  exit_long       sell ``amount`` (all without one) of a long, at most what it holds;
  enter_short     close a long first, then sell ``amount`` (derivatives only);
  exit_short      buy back ``amount`` (all without one) of a short, at most what it holds.
On derivatives, orders that only close are reduce-only. A signal the bot cannot follow
(no amount, too small, a short on spot, nothing to exit) is logged as an error and ignored.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from tradewind.domain.orders import OrderRole, OrderType, Side
from tradewind.strategies.accounting import Inventory, floor_to
from tradewind.strategies.base import (
    BotFill,
    Command,
    Context,
    Log,
    PlaceOrder,
    Severity,
    Signal,
    SignalAction,
    Strategy,
)
from tradewind.strategies.schema import SettingsModel, setting

ZERO = Decimal(0)


class WebhookSettings(SettingsModel):
    """``webhook``: HaasOnline's two settings."""

    signal_token: str = setting(title="Token", editable=True, min_length=1)


class WebhookState(BaseModel):
    inventory: Inventory = Field(default_factory=Inventory)
    signals: int = 0
    stopped: bool = False


Leg = tuple[Side, Decimal, bool]
"""side, amount, reduce-only"""


class WebhookBot(Strategy[WebhookSettings, WebhookState]):
    """``webhook`` (module docstring)."""

    script_id = "webhook"

    def new_state(self) -> WebhookState:
        return WebhookState()

    def on_start(self, ctx: Context) -> list[Command]:
        self.state.stopped = False
        return [Log(f"Waiting for signals on {self.settings.symbol}")]

    def on_signal(self, signal: Signal, ctx: Context) -> list[Command]:
        if self.state.stopped:
            return []
        self.state.signals += 1
        legs = self._legs(signal, ctx)
        if isinstance(legs, str):
            return [Log(f"Signal {signal.action} ignored: {legs}", Severity.ERROR)]
        return [
            Log(f"Signal {signal.action}" + (f" {signal.amount}" if signal.amount else ""),
                Severity.INFO),
            *(self._order(ctx, signal, n, leg) for n, leg in enumerate(legs, start=1)),
        ]  # fmt: skip

    def on_fill(self, fill: BotFill, ctx: Context) -> list[Command]:
        self.state.inventory.apply(
            fill.side, fill.amount, fill.price, fill.fee, ctx.instrument.contract_size
        )
        return []

    def on_stop(self, ctx: Context, close_positions: bool) -> list[Command]:
        self.state.stopped = True
        if not close_positions:
            return []
        legs = self._close(ctx)
        self.state.signals += 1
        signal = Signal(SignalAction.CLOSE, id="stop")
        return [self._order(ctx, signal, n, leg) for n, leg in enumerate(legs, start=1)]

    # ---- signals -> orders ---------------------------------------------------------------

    def _legs(self, signal: Signal, ctx: Context) -> list[Leg] | str:
        action, instrument = signal.action, ctx.instrument
        held = self.state.inventory.amount
        amount = None if signal.amount is None else floor_to(signal.amount, instrument.amount_step)
        if action is SignalAction.CLOSE:
            return self._close(ctx) or "nothing to close"
        if action is SignalAction.EXIT_LONG:
            if held <= 0:
                return "no long to exit"
            return [(Side.SELL, held if amount is None else min(amount, held), True)]
        if action is SignalAction.EXIT_SHORT:
            if held >= 0:
                return "no short to exit"
            return [(Side.BUY, -held if amount is None else min(amount, -held), True)]
        if action is SignalAction.ENTER_SHORT and not instrument.is_derivative:
            return "a spot market cannot be shorted"
        if amount is None:
            return "the signal has no amount"
        if amount < instrument.min_amount:
            return f"{amount} is below the minimum order of {instrument.min_amount}"
        if action is SignalAction.ENTER_LONG:
            return ([(Side.BUY, -held, True)] if held < 0 else []) + [(Side.BUY, amount, False)]
        if action is SignalAction.ENTER_SHORT:
            return ([(Side.SELL, held, True)] if held > 0 else []) + [(Side.SELL, amount, False)]
        return [(Side.BUY if action is SignalAction.BUY else Side.SELL, amount, False)]

    def _close(self, ctx: Context) -> list[Leg]:
        held = floor_to(self.state.inventory.amount, ctx.instrument.amount_step)
        if held == 0:
            return []
        return [(Side.SELL, held, True) if held > 0 else (Side.BUY, -held, True)]

    def _order(self, ctx: Context, signal: Signal, n: int, leg: Leg) -> PlaceOrder:
        side, amount, closing = leg
        price = None if signal.price is None else ctx.instrument.round_price(signal.price)
        return PlaceOrder(
            tag=f"signal:{self.state.signals}:{n}", symbol=self.settings.symbol, side=side,
            type=OrderType.MARKET if price is None else OrderType.LIMIT, amount=amount,
            price=price, reduce_only=closing and ctx.instrument.is_derivative,
            role=OrderRole.CLOSE if closing else OrderRole.ENTRY,
            note=f"Signal {signal.action}" + (f" {signal.id}" if signal.id else ""),
        )  # fmt: skip
