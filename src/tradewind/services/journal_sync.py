"""Tradewind's own journal records: each position a bot linked to a journal strategy closes
becomes one record (``origin`` tradewind), keyed by the position, so writing them again, or
from two requests at once, adds nothing.

A derivative bot's closed positions are its ``positions`` rows. A spot bot holds balances,
not positions: its closed positions are its round trips, paired from its fills exactly as the
backtester pairs them (``tradewind.backtest.runner``: each sell closes the buys it sold, those
of its own placement first, then first in, first out), keyed by their ordinal (a trip depends
only on the fills before its sell, so its ordinal never changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.clock import Clock
from tradewind.domain.errors import NotFound
from tradewind.domain.ids import new_id
from tradewind.domain.journal import Origin, TradeEvent, TradeSide, TradeStatus
from tradewind.domain.orders import AccountId, Fill, FillId, Liquidity, OrderId, Side
from tradewind.domain.round_trips import spot_round_trips
from tradewind.services import bots
from tradewind.services.pagination import MAX_LIMIT
from tradewind.store.tables import (
    BotRow,
    FillRow,
    JournalBotLinkRow,
    JournalStrategyRow,
    JournalTradeRow,
    OrderRow,
)
from tradewind.strategies.commands import parse_client_order_id
from tradewind.venues.paper.catalog import paper_instruments

PREFIX_TRADE = "trd"
TRADEWIND_SOURCE = "tradewind"


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A position a bot closed, as the journal records it."""

    ref: str
    symbol: str
    side: TradeSide
    entry: Decimal
    close_price: Decimal | None
    opened_at: datetime
    closed_at: datetime | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    meta: dict[str, Any]


async def sync_strategy(session: AsyncSession, clock: Clock, strategy_id: str) -> int:
    """Write each linked bot's closed positions not yet in the strategy; returns how many."""
    strategy = await session.get(JournalStrategyRow, strategy_id)
    if strategy is None:
        return 0
    links = (
        await session.scalars(
            select(JournalBotLinkRow).where(JournalBotLinkRow.strategy_id == strategy_id)
        )
    ).all()
    added = 0
    for link in links:
        try:
            bot = await bots.get(session, strategy.user_id, link.bot_id)
        except NotFound:  # the bot was deleted: what it wrote stays
            continue
        known = set(
            (
                await session.scalars(
                    select(JournalTradeRow.position_ref).where(
                        JournalTradeRow.strategy_id == strategy_id,
                        JournalTradeRow.bot_id == bot.id,
                    )
                )
            ).all()
        )
        closed = await closed_positions(session, bot)
        now = clock.now()
        values = [_record(c, strategy, bot.id, now) for c in closed if c.ref not in known]
        if values:
            await _insert_ignoring_duplicates(session, values)
            added += len(values)
    return added


async def closed_positions(session: AsyncSession, bot: BotRow) -> list[ClosedPosition]:
    """The bot's closed positions, in the order they closed."""
    found = await _derivative_positions(session, bot) + await _spot_round_trips_of(session, bot)
    return sorted(found, key=lambda c: (c.closed_at or c.opened_at, c.ref))


async def _derivative_positions(session: AsyncSession, bot: BotRow) -> list[ClosedPosition]:
    found: list[ClosedPosition] = []
    cursor = None
    while True:
        page = await bots.positions(
            session, bot.user_id, bot.id, status="closed", limit=MAX_LIMIT, cursor=cursor
        )
        found += [
            ClosedPosition(
                ref=p.id,
                symbol=p.symbol,
                side=TradeSide.BUY if p.side == "buy" else TradeSide.SELL,
                entry=p.entry_price,
                close_price=p.close_price,
                opened_at=p.opened_at,
                closed_at=p.closed_at,
                stop_loss=p.stop_loss,
                take_profit=p.take_profit,
                meta={
                    "bot_id": bot.id,
                    "position_id": p.id,
                    "amount": str(p.amount),
                    "realized_pnl": str(p.realized_pnl),
                    "fees": str(p.fees),
                },
            )
            for p in page.items
        ]
        cursor = page.next_cursor
        if cursor is None:
            return found


async def _spot_round_trips_of(session: AsyncSession, bot: BotRow) -> list[ClosedPosition]:
    instrument = paper_instruments().get(bot.symbol)
    if instrument is None or instrument.is_derivative:
        return []
    stmt = (
        select(FillRow, OrderRow.client_order_id)
        .join(OrderRow, FillRow.order_id == OrderRow.id)
        .where(
            OrderRow.account_id == bot.account_id,
            OrderRow.client_order_id.startswith(f"{bot.id}:", autoescape=True),
            FillRow.position_id.is_(None),
        )
        .order_by(FillRow.ts, FillRow.id)
    )
    fills: list[Fill] = []
    seq_of: dict[str, int | None] = {}
    for row, client_id in (await session.execute(stmt)).all():
        key = parse_client_order_id(client_id)
        seq_of[row.order_id] = None if key is None else key.seq
        fills.append(Fill(
            id=FillId(row.id), order_id=OrderId(row.order_id), account_id=AccountId(row.account_id),
            symbol=row.symbol, side=Side(row.side), amount=row.amount, price=row.price,
            fee=row.fee, fee_asset=row.fee_asset, liquidity=Liquidity(row.liquidity),
            ts_ms=int(row.ts.timestamp() * 1000),
        ))  # fmt: skip
    trips = spot_round_trips(fills, instrument, seq_of)
    return [
        ClosedPosition(
            ref=f"{bot.id}:trip:{n}",
            symbol=bot.symbol,
            side=TradeSide.BUY,
            entry=t.entry_price,
            close_price=t.exit_price,
            opened_at=_dt(t.entry_ms),
            closed_at=_dt(t.exit_ms),
            stop_loss=None,
            take_profit=None,
            meta={
                "bot_id": bot.id,
                "round_trip": n,
                "amount": str(t.amount),
                "profit": str(t.profit),
                "fees": str(t.fees),
            },
        )
        for n, t in enumerate(trips, start=1)
    ]


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _record(
    c: ClosedPosition, strategy: JournalStrategyRow, bot_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(PREFIX_TRADE), "strategy_id": strategy.id, "user_id": strategy.user_id,
        "symbol": c.symbol, "side": c.side.value, "status": TradeStatus.CLOSED.value,
        "event": TradeEvent.EXIT.value, "entry": c.entry, "stop_loss": c.stop_loss,
        "take_profit": c.take_profit, "close_price": c.close_price, "opened_at": c.opened_at,
        "closed_at": c.closed_at, "signal_time": None, "timeframe": None,
        "source": TRADEWIND_SOURCE, "external_reference": c.ref, "signal": None,
        "market": None, "risk": None, "context": None, "meta": c.meta,
        "origin": Origin.TRADEWIND.value, "bot_id": bot_id, "position_ref": c.ref,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


async def _insert_ignoring_duplicates(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    table = cast(Table, JournalTradeRow.__table__)
    name = session.get_bind().dialect.name
    if name == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(
            constraint="uq_journal_trades_strategy_id_position_ref"
        )
    elif name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:
        stmt = insert(table)
    await session.execute(stmt, values)
