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
        """Count one fill (fee in the quote asset); returns the P&L it realised. (Worked out
        in locals and stored at once: pydantic's ``__setattr__`` for each of six fields was
        half the cost of a call, and a grid's backtest counts every fill twice.)"""
        held, entry = self.amount, self.entry
        with localcontext() as ctx:
            ctx.prec = PRECISION
            signed = amount * side.sign
            pnl = ZERO
            if held == 0 or (held > 0) == (signed > 0):
                total = abs(held) + amount
                entry = (entry * abs(held) + price * amount) / total
                held += signed
            else:
                closed = min(amount, abs(held))
                direction = 1 if held > 0 else -1
                pnl = (price - entry) * closed * contract_size * direction
                held += signed
                if held == 0:
                    entry = ZERO
                elif (held > 0) != (direction > 0):
                    entry = price
            values = {
                "amount": held, "entry": entry, "realized": self.realized + pnl,
                "fees": self.fees + fee,
            }  # fmt: skip
            if side is Side.BUY:
                values["bought"] = self.bought + amount
            else:
                values["sold"] = self.sold + amount
        self.__dict__.update(values)  # plain fields, no validation on assignment: as setattr
        self.__pydantic_fields_set__.update(values)
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
