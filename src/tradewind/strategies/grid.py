"""Spot and futures grid bots.

The range ``lowerLimit..upperLimit`` is cut into ``gridCount`` grids at ``gridCount + 1``
levels. Each grid is one pair of orders, run mechanically by the matching engine: the order
carries ``Rearm(price=<the other level>, flip=True)``, so when it fills the engine places the
opposite order one level away, and so on for ever. Python runs only to start and stop.

At start, at price p: a grid whose lower level is below p gets a BUY at its lower level
(re-arming a SELL one level above); any other grid gets a SELL at its upper level (re-arming
a BUY one level below). The sells need the base asset (or, on futures, a position):
  - spot with ``tradeToFillGrid``: one market BUY of what the sells need, then the sells;
    without it the sells are funded from the account's free base asset, lowest first, and
    grids it cannot fund are left out (logged);
  - futures long: one market BUY opens the position the sells reduce; short: one market
    SELL opens the short the buys reduce; neutral: nothing (the account nets the two sides).
Grid profit counts completed round trips: a grid's opening fill (BUY; SELL for a futures
short grid, and for a neutral grid above the price) followed by its closing fill, worth
``(close - open) * amount`` less both fees.

Conditions (HaasOnline): start Instant, or when the price (RSI(14) of ``interval``) is at or
above / at or below ``startValue``; stop Manual, or likewise with ``stopValue``: the bot
deactivates and, with ``stopExit``, closes what it holds (sells the base it bought, buys
back the base it sold, closes a futures position). Futures: when the total profit (realised
less fees plus unrealised) reaches ``maxWin`` or ``-maxLoss`` the bot closes its position and
deactivates. Price conditions and maxWin/maxLoss are price wakes (exact, intrabar); RSI
conditions are checked on closed bars.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.orders import OrderType, Side
from tradewind.strategies.accounting import floor_to
from tradewind.strategies.base import (
    Command,
    Context,
    Log,
    PlaceOrder,
    SetLeverage,
    Severity,
    StopBot,
    Wake,
)
from tradewind.strategies.grid_base import EXIT_TAG, FILL_TAG, GridBot, GridPair, close_orders
from tradewind.strategies.grid_settings import (
    FuturesGridSettings,
    GridDirection,
    SpotGridSettings,
    grid_levels,
    pair_amounts,
)

__all__ = [
    "EXIT_TAG", "FILL_TAG", "FuturesGrid", "FuturesGridSettings", "GridBot", "SpotGrid",
    "SpotGridSettings", "grid_levels", "pair_amounts",
]  # fmt: skip

ZERO = Decimal(0)


class SpotGrid(GridBot[SpotGridSettings]):
    """``spot_grid`` (module docstring)."""

    script_id = "spot_grid"
    records_program_fills = True  # a grid fill: the inventory, grid profit and a log line

    def _fill_order(self, pairs: list[GridPair], ctx: Context) -> PlaceOrder | None:
        sells = [p for p in pairs if p.first is Side.SELL]
        if self.settings.trade_to_fill_grid:
            need = sum((p.amount for p in sells), ZERO)
            if need <= 0:
                return None
            return PlaceOrder(
                tag=FILL_TAG, symbol=self.settings.symbol, side=Side.BUY,
                type=OrderType.MARKET, amount=need, note="Fill the sell grids",
            )  # fmt: skip
        available = ctx.free(ctx.instrument.base)
        for pair in sells:  # lowest first
            pair.active = available >= pair.amount
            available -= pair.amount if pair.active else ZERO
        return None

    def _flatten(self, ctx: Context) -> list[Command]:
        """Sell the base the bot bought (at most the free base), or buy back what it sold."""
        instrument, held = ctx.instrument, self.state.inventory.amount
        if held > 0:
            side, amount = Side.SELL, min(held, ctx.free(instrument.base))
        else:
            side, amount = Side.BUY, -held
        return close_orders(
            self.settings.symbol, side, floor_to(amount, instrument.amount_step), ctx
        )


class FuturesGrid(GridBot[FuturesGridSettings]):
    """``futures_grid`` (module docstring)."""

    script_id = "futures_grid"

    def _setup(self) -> list[Command]:
        return [SetLeverage(self.settings.leverage)]

    def _opens(self, first: Side) -> Side:
        direction = self.settings.direction
        if direction is GridDirection.NEUTRAL:
            return first
        return Side.BUY if direction is GridDirection.LONG else Side.SELL

    def _fill_order(self, pairs: list[GridPair], ctx: Context) -> PlaceOrder | None:
        direction = self.settings.direction
        if direction is GridDirection.NEUTRAL:
            return None
        side = Side.BUY if direction is GridDirection.LONG else Side.SELL
        need = sum((p.amount for p in pairs if p.first is side.opposite), ZERO)
        if need <= 0:
            return None
        return PlaceOrder(
            tag=FILL_TAG, symbol=self.settings.symbol, side=side, type=OrderType.MARKET,
            amount=need, note=f"Open the {direction} position",
        )  # fmt: skip

    def _flatten(self, ctx: Context) -> list[Command]:
        held = self.state.inventory.amount
        amount = abs(held)
        if ctx.position is not None:
            amount = min(amount, ctx.position.amount)
        side = Side.SELL if held > 0 else Side.BUY
        return close_orders(self.settings.symbol, side, amount, ctx, reduce_only=True)

    def _limits(self, ctx: Context) -> list[Command]:
        s, inventory, price = self.settings, self.state.inventory, ctx.price
        below, above = self._limit_levels(ctx.instrument.contract_size)
        if inventory.amount == 0:  # flat: only fills change the total
            total = inventory.realized - inventory.fees
            hit_win = s.max_win > 0 and total >= s.max_win
            hit_loss = s.max_loss > 0 and total <= -s.max_loss
        else:
            hit_low = below is not None and price <= below
            hit_high = above is not None and price >= above
            hit_win = hit_high if inventory.amount > 0 else hit_low
            hit_loss = hit_low if inventory.amount > 0 else hit_high
        if not (hit_win or hit_loss):
            return []
        name, limit = ("maxWin", s.max_win) if hit_win else ("maxLoss", -s.max_loss)
        reason = f"{name} reached: total profit {limit} {ctx.instrument.settle}"
        self.state.stop_reason = reason
        return [Log(reason, Severity.WARNING), StopBot(reason, close_positions=True)]

    def _limit_levels(self, unit: Decimal) -> tuple[Decimal | None, Decimal | None]:
        """(below, above): the prices at which the total profit reaches maxWin / -maxLoss
        (None: disabled, or flat)."""
        s, inventory = self.settings, self.state.inventory
        win = inventory.level_for(s.max_win, unit) if s.max_win > 0 else None
        loss = inventory.level_for(-s.max_loss, unit) if s.max_loss > 0 else None
        return (loss, win) if inventory.amount > 0 else (win, loss)

    def _limit_wake(self, ctx: Context) -> Wake:
        below, above = self._limit_levels(ctx.instrument.contract_size)
        return Wake(below=below, above=above)
