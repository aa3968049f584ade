"""What a bot holds and what it has earned, counted from its own fills (serialisable state).

A bot counts its own inventory rather than reading the account's, so two bots on one account
keep separate books and a backtest needs nothing but the fills. The rules are the paper
ledger's netting rules: increases average the entry price (weighted by amount), a reduction
realises ``(exit - entry) * amount * contract_size`` (sign of the position), a reduction
larger than the position closes it and opens the other way at the fill price.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from pydantic import BaseModel

from tradewind.domain.numbers import decimal_text
from tradewind.domain.orders import Side

ZERO = Decimal(0)
PRECISION = 40
"""Digits for averages and derived levels; sums of fills stay exact."""


class Inventory(BaseModel):
    """Signed ``amount`` (long > 0, short < 0) at ``entry``; ``realized`` P&L and ``fees``
    paid (both in the quote asset) since it was opened or ``reset``."""

    amount: Decimal = ZERO
    entry: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    bought: Decimal = ZERO
    sold: Decimal = ZERO

    def apply(
        self, side: Side, amount: Decimal, price: Decimal, fee: Decimal, contract_size: Decimal
    ) -> Decimal:
        """Count one fill (fee in the quote asset); returns the P&L it realised."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            signed = amount * side.sign
            pnl = ZERO
            if self.amount == 0 or (self.amount > 0) == (signed > 0):
                total = abs(self.amount) + amount
                self.entry = (self.entry * abs(self.amount) + price * amount) / total
                self.amount += signed
            else:
                closed = min(amount, abs(self.amount))
                direction = 1 if self.amount > 0 else -1
                pnl = (price - self.entry) * closed * contract_size * direction
                self.amount += signed
                if self.amount == 0:
                    self.entry = ZERO
                elif (self.amount > 0) != (direction > 0):
                    self.entry = price
            self.realized += pnl
            self.fees += fee
            if side is Side.BUY:
                self.bought += amount
            else:
                self.sold += amount
            return pnl

    def unrealized(self, price: Decimal, contract_size: Decimal) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return (price - self.entry) * self.amount * contract_size

    def profit(self, price: Decimal, contract_size: Decimal) -> Decimal:
        """Realised less fees plus unrealised at ``price``."""
        return self.realized - self.fees + self.unrealized(price, contract_size)

    def level_for(self, profit: Decimal, contract_size: Decimal) -> Decimal | None:
        """The price at which ``profit()`` equals ``profit``; None when flat."""
        if self.amount == 0:
            return None
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return self.entry + (profit - self.realized + self.fees) / (self.amount * contract_size)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` that is <= ``value``."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return ((value / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(step)


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of ``step`` that is >= ``value``."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return ((value / step).to_integral_value(rounding=ROUND_CEILING) * step).quantize(step)


def shown(value: Decimal, places: int = 8) -> str:
    """A decimal for a log line: rounded to ``places``, without trailing zeros."""
    return decimal_text(value.quantize(Decimal(1).scaleb(-places)))
