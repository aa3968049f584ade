"""Closed positions as round trips, from fills: what a backtest's results and a bot's
journal records count (the same pairing for both). Pure: fills in, round trips out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any

from tradewind.domain.orders import Fill, Side


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A closed position with its entry and exit: a spot sell matched against the buys it
    sold (first in, first out), or a derivative position from open to close."""

    side: Side
    amount: Decimal
    entry_ms: int
    entry_price: Decimal
    exit_ms: int
    exit_price: Decimal
    profit: Decimal
    fees: Decimal
    margin: Decimal


def quote_fee(fill: Fill, base: str) -> Decimal:
    """The fill's fee in the quote asset (a fee in the ``base`` asset at the fill's price)."""
    return fill.fee if fill.fee_asset != base else fill.fee * fill.price


def spot_round_trips(
    fills: Sequence[Fill], base: str, seq_of: Mapping[str, int | None]
) -> list[RoundTrip]:
    """Each sell closes what it sells of the buys still held: first those of its own placement
    (a grid level's buy and the sell its re-arm made share one), then the earliest others
    (first in, first out). A sell of more than was bought here (a starting balance) is matched
    as far as it goes."""
    # the buys still held, in the order they filled, by a number of their own; and by their
    # placement (a sell looks at its own placement's first: a dict each, not a scan of all of
    # them at every sell, which made a 200-level grid's results quadratic)
    held: dict[int, list[Any]] = {}  # [amount left, price, ts, fee per unit, placement]
    placed: dict[int | None, dict[int, None]] = {}
    trips: list[RoundTrip] = []
    for n, fill in enumerate(fills):
        fee = quote_fee(fill, base)
        seq = seq_of.get(fill.order_id)
        if fill.side is Side.BUY:
            held[n] = [fill.amount, fill.price, fill.ts_ms, fee / fill.amount, seq]
            placed.setdefault(seq, {})[n] = None
            continue
        left, cost, entry_fees, amount, entry_ms = (
            fill.amount,
            Decimal(0),
            Decimal(0),
            Decimal(0),
            None,
        )
        own = list(placed.get(seq, ())) if seq is not None else []
        emptied = []
        for key in chain(own, (k for k in held if k not in own)):
            if left <= 0:
                break
            lot = held[key]
            take = min(left, lot[0])
            cost += take * lot[1]
            entry_fees += take * lot[3]
            amount += take
            entry_ms = lot[2] if entry_ms is None else min(entry_ms, lot[2])
            lot[0] -= take
            left -= take
            if lot[0] <= 0:
                emptied.append(key)
        for key in emptied:
            del placed[held.pop(key)[4]][key]
        if amount <= 0 or entry_ms is None:
            continue
        exit_fee = fee * amount / fill.amount
        proceeds = amount * fill.price
        total_fees = entry_fees + exit_fee
        trips.append(RoundTrip(
            side=Side.BUY, amount=amount, entry_ms=entry_ms, entry_price=cost / amount,
            exit_ms=fill.ts_ms, exit_price=fill.price, profit=proceeds - cost - total_fees,
            fees=total_fees, margin=cost,
        ))  # fmt: skip
    return trips
