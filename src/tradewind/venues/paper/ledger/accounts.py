"""The ledger's values, and one account's bookkeeping: the one place a balance changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain.events import BalanceChanged
from tradewind.domain.orders import AccountId, Position, PositionId, PositionMode

PREFIX_ENTRY = "led"
ZERO = Decimal(0)
ENTRY_KINDS = ("deposit", "withdrawal", "trade", "fee", "realized_pnl", "reset")


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One change to one balance's total. ``kind`` is one of ``ENTRY_KINDS``; ``ref`` is the
    fill (or transfer) it comes from."""

    id: str
    account_id: AccountId
    asset: str
    delta: Decimal
    kind: str
    ref: str | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """MetaTrader's account figures, in the account currency."""

    balance: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal | None
    profit: Decimal
    currency: str
    leverage: Decimal


@dataclass(slots=True)
class Account:
    """One account's state. ``totals`` change only through ``entry``; ``locked`` is what open
    orders hold plus the open positions' margin."""

    id: AccountId
    mode: PositionMode
    leverage: Decimal
    currency: str
    totals: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    entries: list[LedgerEntry] = field(default_factory=list)
    positions: dict[PositionId, Position] = field(default_factory=dict)
    netting: dict[str, PositionId] = field(default_factory=dict)
    """The open position per symbol, in netting mode."""
    margin_call: bool = False
    symbol_leverage: dict[str, Decimal] = field(default_factory=dict)
    """Leverage chosen for one symbol (a bot's ``SetLeverage``), instead of the account's."""

    def free(self, asset: str) -> Decimal:
        return self.totals.get(asset, ZERO) - self.locked.get(asset, ZERO)

    def lock(self, asset: str, delta: Decimal) -> None:
        """Move ``delta`` from free to locked (negative: back)."""
        self.locked[asset] = self.locked.get(asset, ZERO) + delta
        self.totals.setdefault(asset, ZERO)

    def entry(
        self,
        new_id: Callable[[str], str],
        asset: str,
        delta: Decimal,
        kind: str,
        ref: str | None,
        ts_ms: int,
    ) -> LedgerEntry | None:
        """Change a balance's total, recording why; nothing to record for a zero change."""
        if not delta:
            return None
        entry = LedgerEntry(new_id(PREFIX_ENTRY), self.id, asset, delta, kind, ref, ts_ms)
        self.entries.append(entry)
        self.totals[asset] = self.totals.get(asset, ZERO) + delta
        return entry

    def balance(self, asset: str) -> Balance:
        locked = self.locked.get(asset, ZERO)
        return Balance(asset, self.totals.get(asset, ZERO) - locked, locked)

    def balance_event(self, asset: str) -> BalanceChanged:
        balance = self.balance(asset)
        return BalanceChanged(self.id, asset, balance.free, balance.locked)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.is_open]

    def netted(self, symbol: str) -> Position | None:
        position_id = self.netting.get(symbol)
        return None if position_id is None else self.positions[position_id]


def snapshot(position: Position) -> Position:
    """Events carry copies: the ledger's position keeps changing."""
    return dataclasses.replace(position, extra=dict(position.extra))


def unrealised(position: Position, mark: Decimal, contract_size: Decimal) -> Decimal:
    return (mark - position.entry_price) * position.amount * contract_size * position.side.sign
