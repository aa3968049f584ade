"""The trade journal's rules, pure: record statuses and their transitions, the realised
result of one record, and the summary statistics of a strategy's records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum

PLACES = Decimal("1e-8")
"""Percentages and R multiples are rounded to 8 decimal places (points stay exact)."""


class TradeSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is TradeSide.BUY else -1


class TradeStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class TradeEvent(StrEnum):
    """What a record says happened: a new position (``entry``), a change to an open one
    (``update``), or its end (``exit``)."""

    ENTRY = "entry"
    UPDATE = "update"
    EXIT = "exit"


class Origin(StrEnum):
    """Who made a record: an API client by hand, or Tradewind from a bot's fills."""

    MANUAL = "manual"
    TRADEWIND = "tradewind"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


TRADE_TRANSITIONS = {
    (TradeStatus.OPEN, TradeStatus.OPEN),
    (TradeStatus.OPEN, TradeStatus.CLOSED),
    (TradeStatus.OPEN, TradeStatus.CANCELLED),
    (TradeStatus.CLOSED, TradeStatus.CLOSED),  # correcting the close price or time
    (TradeStatus.CANCELLED, TradeStatus.CANCELLED),
}
"""A closed or cancelled record is not reopened: a new entry is a new record."""


def can_move(old: TradeStatus, new: TradeStatus) -> bool:
    return (old, new) in TRADE_TRANSITIONS


@dataclass(frozen=True, slots=True)
class TradeResult:
    """The realised result of one closed record: ``points`` (price distance in the trade's
    favour), ``return_pct`` (points over entry, in percent) and ``r_multiple`` (points over
    the initial risk ``|entry - stop_loss|``; None without a stop)."""

    points: Decimal
    return_pct: Decimal
    r_multiple: Decimal | None


def trade_result(
    side: TradeSide,
    status: TradeStatus,
    entry: Decimal | None,
    close_price: Decimal | None,
    stop_loss: Decimal | None,
) -> TradeResult | None:
    """None until the record is closed with both an entry and a close price."""
    if status is not TradeStatus.CLOSED or entry is None or close_price is None or entry <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        points = (close_price - entry) * side.sign
        pct = (points / entry * 100).quantize(PLACES)
        risk = abs(entry - stop_loss) if stop_loss is not None else Decimal(0)
        r = (points / risk).quantize(PLACES) if risk > 0 else None
    return TradeResult(points=points, return_pct=pct, r_multiple=r)


@dataclass(frozen=True, slots=True)
class StrategyStats:
    """Summary of a strategy's records. ``trade_count``: records not cancelled;
    ``closed_count``: closed records with a result; ``win_rate``: percent of those with
    positive points; ``total_return_pct``: the sum of their returns in percent (a journal
    record has no size, so returns add, as equal stakes would); ``max_drawdown_pct``: the
    largest fall, in percentage points, of that running sum (starting at 0) from a peak,
    taking closed records in the order they closed."""

    trade_count: int
    closed_count: int
    win_rate: Decimal | None
    total_return_pct: Decimal
    max_drawdown_pct: Decimal


@dataclass(frozen=True, slots=True)
class ClosedResult:
    closed_order: tuple[object, ...]
    """What sorts it among the others (close time, then id)."""
    result: TradeResult


def strategy_stats(trade_count: int, closed: Iterable[ClosedResult]) -> StrategyStats:
    ordered = sorted(closed, key=lambda c: c.closed_order)
    wins = sum(1 for c in ordered if c.result.points > 0)
    running = peak = drawdown = Decimal(0)
    for c in ordered:
        running += c.result.return_pct
        peak = max(peak, running)
        drawdown = max(drawdown, peak - running)
    win_rate = (Decimal(wins) * 100 / len(ordered)).quantize(PLACES) if ordered else None
    return StrategyStats(
        trade_count=trade_count,
        closed_count=len(ordered),
        win_rate=win_rate,
        total_return_pct=running,
        max_drawdown_pct=drawdown,
    )
