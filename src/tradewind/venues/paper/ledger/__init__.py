"""The paper ledger: balances, reservations, positions and margin of paper accounts.

It is the ``AccountBook`` the matching engine fills for (``accounts``: values and bookkeeping;
``contracts``: derivative positions; ``core``: ``PaperLedger``). Pure: Decimal only, no I/O,
no clock; ids from an injected ``new_id`` (entries are ``led_...``, positions ``pos_...``).

Exactness
  Every change to a balance's total is a ``LedgerEntry`` (deposit, withdrawal, trade, fee,
  realized_pnl, reset), so for every account and asset ``free + locked == sum of its entries``
  exactly, at all times (after ``restore_account`` without entries: the restored total plus
  the entries since). Reserving and releasing move free to locked and back, and make no entry.
  Arithmetic runs in a 60-digit context; the only rounding is explicit: margin rounded up to
  ``margin_step``, a partly released margin rounded down to it, average entry prices to a
  millionth of a tick, liquidation prices to the tick (toward the position).
  ``locked`` = what open orders reserve + the margin of open positions, per asset.

Spot (kind SPOT)
  A buy reserves ``amount * price * (1 + taker_fee)`` of the quote asset (price: the limit or
  stop price, or the market price for a market order); a sell reserves the base amount. A fill
  moves base and quote exactly and charges the fee in the quote asset; the order's leftover
  reservation is freed with its last fill. A fill costing more than reserved (a stop filled
  past its price) takes the rest from the free balance. Refusal: "Insufficient funds".

Derivatives (PERPETUAL, CFD), settled in the instrument's quote, which must be the account's
currency. Isolated margin per position; leverage is the account's, capped by the instrument's
``max_leverage``.
  - Opening or increasing reserves ``notional / leverage`` (rounded up) plus the taker fee on
    that notional; in netting mode only the part that would open counts (an opposite order
    first reduces the position). Refusal: "Insufficient margin".
  - A fill's opening part takes its margin from the order's reservation, then the free balance;
    a reduce frees its share of the position's margin and realises
    ``(exit - entry) * amount * contract_size * side sign``.
  - Netting: one position per symbol; an opposite fill reduces it, a larger one closes it and
    opens the other way with the remainder (``PositionClosed`` then ``PositionOpened``).
    Hedging: every opening fill is a new position (a ticket); an order with ``position_id``
    reduces exactly that ticket. Increases average the entry price (weighted).
  - A closed position keeps the amount it last had, with ``closed_ms`` and ``close_price``.
  - An isolated position never costs more than its margin: when a reduce's fee minus its
    P&L would exceed the margin it frees (after a gap through the liquidation price), the
    loss is limited to that, and the venue absorbs the rest, as an insurance fund would.
  - Liquidation price: where the unrealised loss equals ``margin - maintenance_margin_rate *
    notional at that price``; long ``(E*S - M) / (S * (1 - mmr))``, short ``(E*S + M) / (S *
    (1 + mmr))`` with ``S = amount * contract_size``; None when not positive.

Reduce-only and position-bound orders reserve nothing and may not exceed what they reduce:
the position (spot: the free base asset); in hedging mode they must name their ticket.

Margin (``summary``, ``check_margin``): balance = total of the account currency; profit = the
open positions' unrealised P&L at the marks given; equity = balance + profit; margin = open
positions' margin; free margin = equity - locked; margin level = equity / margin * 100 (two
decimals, rounded down; None without margin). ``check_margin`` first returns positions whose
liquidation price the mark has reached ("liquidation"); otherwise, below ``margin_call_level``
it emits ``MarginCall`` once until the level recovers, and at or below ``stop_out_level`` it
emits ``StopOut`` and returns the position with the worst unrealised P&L ("stop_out"). The venue
closes what is returned, then asks again. The margin-call flag lives in memory; pass it to
``restore_account`` to carry an episode across a restart.

Every method of the ``AccountBook`` protocol that changes a balance returns a ``BalanceChanged``
per asset it touched; ``settle`` also returns ``PositionOpened``/``Changed``/``Closed``. Events
carry copies; ``positions()`` returns the ledger's own objects. ``restore_account`` rebuilds an
account from stored balances (free, locked), positions and, optionally, entries and open
orders, and checks that they agree.
"""

from tradewind.venues.paper.ledger.accounts import (
    ENTRY_KINDS,
    PREFIX_ENTRY,
    AccountSummary,
    Balance,
    LedgerEntry,
)
from tradewind.venues.paper.ledger.core import PaperLedger

__all__ = ["ENTRY_KINDS", "PREFIX_ENTRY", "AccountSummary", "Balance", "LedgerEntry", "PaperLedger"]
