"""What the engine needs from the accounts it fills for, and the quote it fills against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tradewind.domain.events import Event
from tradewind.domain.orders import Fill, Order


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask (and the last price they are derived from) at one moment."""

    symbol: str
    bid: Decimal
    ask: Decimal
    last: Decimal
    ts_ms: int

    @classmethod
    def at(cls, symbol: str, last: Decimal, half_spread: Decimal, ts_ms: int) -> Quote:
        """The paper spread model: bid = last - half_spread, ask = last + half_spread."""
        return cls(symbol, last - half_spread, last + half_spread, last, ts_ms)


class AccountBook(Protocol):
    """The accounts behind the engine (the paper ledger; the backtester's own book).

    Every method that changes a balance returns the ``BalanceChanged`` events it caused.
    """

    def reserve(self, order: Order, reference_price: Decimal) -> list[Event]:
        """Hold what ``order`` needs and record it in ``order.reserved``/``reserved_asset``.

        Raises ``InsufficientFunds`` or ``InvalidOrder`` and then holds nothing.
        """
        ...

    def release(self, order: Order) -> list[Event]:
        """Free whatever ``order`` still holds (after a cancel, a reject or its last fill)."""
        ...

    def settle(self, order: Order, fill: Fill) -> tuple[Fill, list[Event]]:
        """Apply ``fill`` (``order`` is as it was before the fill).

        Returns the fill with ``position_id`` and ``realized_pnl`` set, and the Position* and
        BalanceChanged events. Raises ``InsufficientFunds``/``InvalidOrder`` having changed
        nothing when the account cannot take the fill.
        """
        ...

    def settle_batch(self, fills: Sequence[Fill]) -> list[Event]:
        """Apply many spot fills at once (the backtester's compiled re-arm program): the same
        balances as ``settle`` one by one, for orders that hold nothing any more."""
        ...

    def reducible(self, order: Order) -> Decimal:
        """How much a reduce-only (or position-bound) order may still fill: the size of the
        position it reduces (spot: the free base asset), 0 when there is none."""
        ...
