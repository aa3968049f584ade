"""Tradewind's own journal records: each position a bot linked to a journal strategy closes
becomes one record (``origin`` tradewind), keyed by the position, so writing them again, or
from two requests at once, adds nothing.

A derivative bot's closed positions are its ``positions`` rows. A spot bot holds balances,
not positions: its closed positions are its round trips, paired from its fills exactly as the
backtester pairs them (``tradewind.backtest.runner``: each sell closes the buys it sold, those
of its own placement first, then first in, first out), keyed by their ordinal (a trip depends
only on the fills before its sell, so its ordinal never changes).

A strategy is synced before each of its reads, so a read that finds nothing new must cost
next to nothing: what a bot's records are made from changes only with a new fill on its
account (every position closes with one: a close, a take profit, a liquidation), so each
(strategy, bot) remembers the account's last fill and last close it was synced to (once that
sync has committed) and the next sync skips the bot at once while both are unchanged. Fill ids
only grow (``domain.ids``: the engine's ``fill_cursor`` relies on it too). The memory is per
process and per store; a process that does not have it (after a restart) syncs in full.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Table, event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tradewind.domain.clock import Clock, from_ms, to_ms
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
    PositionRow,
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
    """Write each linked bot's closed positions not yet in the strategy; returns how many
    were not there when this sync looked (another sync at once may have written some)."""
    strategy = await session.get(JournalStrategyRow, strategy_id)
    if strategy is None:
        return 0
    links = (
        await session.scalars(
            select(JournalBotLinkRow).where(JournalBotLinkRow.strategy_id == strategy_id)
        )
    ).all()
    synced = _synced(session)
    added = 0
    for link in links:
        try:
            bot = await bots.get(session, strategy.user_id, link.bot_id)
        except NotFound:  # the bot was deleted: what it wrote stays
            continue
        key = (strategy_id, bot.id)
        mark = await _account_mark(session, bot)  # before reading: a later fill changes it
        if synced.get(key) == mark:
            synced.move_to_end(key)
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
        _remember_on_commit(session, key, mark)
    return added


# ---- what each (strategy, bot) was synced to ----------------------------------------------

Mark = tuple[Any, ...]
MEMORY = 10_000
"""(strategy, bot) pairs remembered per store, the least recently read forgotten first."""
_SYNCED: WeakKeyDictionary[Engine, OrderedDict[tuple[str, str], Mark]] = WeakKeyDictionary()
_PENDING = "tradewind.journal_sync.pending"


def _synced(session: AsyncSession) -> OrderedDict[tuple[str, str], Mark]:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    return _SYNCED.setdefault(engine, OrderedDict())


async def _account_mark(session: AsyncSession, bot: BotRow) -> Mark:
    """The account's last fill and last position close (both read off an index: the same
    cost however many fills the bot has), with what the bot's records are read by."""
    last_fill = (
        select(func.max(FillRow.id)).where(FillRow.account_id == bot.account_id).scalar_subquery()
    )
    last_close = (
        select(func.max(PositionRow.closed_at))
        .where(PositionRow.account_id == bot.account_id)
        .scalar_subquery()
    )
    fill, close = (await session.execute(select(last_fill, last_close))).one()
    return (bot.account_id, bot.symbol, fill, close)


def _remember_on_commit(session: AsyncSession, key: tuple[str, str], mark: Mark) -> None:
    """Remember ``mark`` for ``key`` once the session's transaction commits (the records it
    wrote are then there for every later reader); forget it if it rolls back."""
    pending: dict[tuple[str, str], Mark] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
        sync_session = session.sync_session
        event.listen(sync_session, "after_commit", _committed)
        event.listen(sync_session, "after_soft_rollback", _rolled_back)
    pending[key] = mark


def _committed(session: Session) -> None:
    pending: dict[tuple[str, str], Mark] = session.info.get(_PENDING) or {}
    if not pending:
        return
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    synced = _SYNCED.setdefault(bind, OrderedDict())
    for key, mark in pending.items():
        synced[key] = mark
        synced.move_to_end(key)
    while len(synced) > MEMORY:
        synced.popitem(last=False)
    pending.clear()


def _rolled_back(session: Session, _previous: Any) -> None:
    pending: dict[tuple[str, str], Mark] = session.info.get(_PENDING) or {}
    pending.clear()


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


def _spot_base(symbol: str) -> str | None:
    """The base asset of a spot market (``SOL/USDT``: an exchange's, not the paper venue's,
    too), None for a contract (``BTC/USDT:USDT``, ``EURUSD``)."""
    known = paper_instruments().get(symbol)
    if known is not None:
        return None if known.is_derivative else known.base
    base, slash, quote = symbol.partition("/")
    return base if slash and base and quote and ":" not in quote else None


async def _spot_round_trips_of(session: AsyncSession, bot: BotRow) -> list[ClosedPosition]:
    base = _spot_base(bot.symbol)
    if base is None:
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
            ts_ms=to_ms(row.ts),
        ))  # fmt: skip
    trips = spot_round_trips(fills, base, seq_of)
    return [
        ClosedPosition(
            ref=f"{bot.id}:trip:{n}",
            symbol=bot.symbol,
            side=TradeSide.BUY,
            entry=t.entry_price,
            close_price=t.exit_price,
            opened_at=from_ms(t.entry_ms),
            closed_at=from_ms(t.exit_ms),
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
