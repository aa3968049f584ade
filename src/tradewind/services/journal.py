"""The trade journal: strategies (workspaces), their trade records, the workspace profile and
public profiles, and the records Tradewind writes itself from linked bots' closed positions.

Every strategy belongs to one user; another user's strategy (and its records) is NotFound.
A record made by an API client (``origin`` manual) may be changed, closed and deleted; one
written from a bot's closed position (``origin`` tradewind) is never changed or deleted, so a
public journal shows fills, not claims. An ``update`` or ``exit`` event naming the
``external_reference`` of an open record changes that record instead of adding one.

Bot records are written by :func:`sync_strategy`, keyed by the position (one record per
position, however often it runs): when a bot is linked and before the strategy's records are
read (its list, a record, its statistics, the public profile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.clock import Clock
from tradewind.domain.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from tradewind.domain.ids import new_id
from tradewind.domain.journal import (
    ClosedResult,
    Origin,
    StrategyStats,
    TradeEvent,
    TradeResult,
    TradeSide,
    TradeStatus,
    Visibility,
    can_move,
    strategy_stats,
    trade_result,
)
from tradewind.services import accounts, bots
from tradewind.services.journal_sync import PREFIX_TRADE
from tradewind.services.journal_sync import sync_strategy as sync_strategy
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.tables import (
    ApiKeyRow,
    JournalBotLinkRow,
    JournalStrategyRow,
    JournalTradeRow,
    UserRow,
)

PREFIX_STRATEGY = "strat"
OBJECT_FIELDS = ("signal", "market", "risk", "context", "meta")
"""The free-form objects of a record; an update event merges them key by key."""
UPDATABLE = ("entry", "stop_loss", "take_profit", "close_price", "timeframe", "source")


# ---- strategies --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewStrategy:
    title: str
    description: str | None = None
    tags: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PUBLIC


async def create_strategy(
    session: AsyncSession, clock: Clock, user_id: str, new: NewStrategy
) -> JournalStrategyRow:
    now = clock.now()
    row = JournalStrategyRow(
        id=new_id(PREFIX_STRATEGY), user_id=user_id, title=new.title, description=new.description,
        tags=list(new.tags), visibility=new.visibility.value, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def list_strategies(
    session: AsyncSession, user_id: str, limit: int | None, cursor: str | None
) -> Page[JournalStrategyRow]:
    """Newest first; ``limit`` None: all of them."""
    stmt = select(JournalStrategyRow).where(JournalStrategyRow.user_id == user_id)
    return await _page(session, stmt, JournalStrategyRow, limit, cursor)


async def get_strategy(session: AsyncSession, user_id: str, strategy_id: str) -> JournalStrategyRow:
    row = await session.get(JournalStrategyRow, strategy_id)
    if row is None or row.user_id != user_id:
        raise NotFound("strategy not found")
    return row


async def update_strategy(
    session: AsyncSession, clock: Clock, user_id: str, strategy_id: str, changes: dict[str, Any]
) -> JournalStrategyRow:
    """Change ``title``, ``description``, ``tags`` or ``visibility``."""
    row = await get_strategy(session, user_id, strategy_id)
    for name, value in changes.items():
        if name == "tags":
            value = list(value)
        elif name == "visibility":
            value = Visibility(value).value
        setattr(row, name, value)
    row.updated_at = clock.now()
    await session.flush()
    return row


async def delete_strategy(session: AsyncSession, user_id: str, strategy_id: str) -> None:
    """Delete the strategy with its records and bot links."""
    await get_strategy(session, user_id, strategy_id)
    await _delete_strategies(session, [strategy_id])


async def _delete_strategies(session: AsyncSession, ids: list[str]) -> None:
    if not ids:
        return
    await session.execute(delete(JournalTradeRow).where(JournalTradeRow.strategy_id.in_(ids)))
    await session.execute(delete(JournalBotLinkRow).where(JournalBotLinkRow.strategy_id.in_(ids)))
    await session.execute(delete(JournalStrategyRow).where(JournalStrategyRow.id.in_(ids)))
    session.expire_all()


async def trade_counts(session: AsyncSession, strategy_ids: list[str]) -> dict[str, int]:
    if not strategy_ids:
        return {}
    stmt = (
        select(JournalTradeRow.strategy_id, func.count())
        .where(JournalTradeRow.strategy_id.in_(strategy_ids))
        .group_by(JournalTradeRow.strategy_id)
    )
    return {k: int(v) for k, v in (await session.execute(stmt)).all()}


# ---- trade records -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewTrade:
    """A record as an API client sends it; ``given`` names the fields it actually sent (an
    update event changes only those)."""

    symbol: str
    side: TradeSide
    event: TradeEvent = TradeEvent.ENTRY
    status: TradeStatus | None = None
    entry: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    close_price: Decimal | None = None
    signal_time: datetime | None = None
    timeframe: str | None = None
    source: str | None = None
    external_reference: str | None = None
    signal: dict[str, Any] | None = None
    market: dict[str, Any] | None = None
    risk: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    given: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class TradeFilter:
    status: TradeStatus | None = None
    symbol: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None


async def record_trade(
    session: AsyncSession, clock: Clock, user_id: str, strategy_id: str, new: NewTrade
) -> tuple[JournalTradeRow, bool]:
    """Store a record; an ``update``/``exit`` naming an open record's ``external_reference``
    changes that one instead. Returns the record and whether it is new."""
    await get_strategy(session, user_id, strategy_id)
    now = clock.now()
    if new.event is not TradeEvent.ENTRY and new.external_reference:
        stmt = (
            select(JournalTradeRow)
            .where(
                JournalTradeRow.strategy_id == strategy_id,
                JournalTradeRow.external_reference == new.external_reference,
                JournalTradeRow.status == TradeStatus.OPEN.value,
                JournalTradeRow.origin == Origin.MANUAL.value,
            )
            .order_by(JournalTradeRow.id.desc())
            .limit(1)
        )
        found = await session.scalar(stmt)
        if found is not None:
            _apply_event(found, new, now)
            await session.flush()
            return found, False
    status = new.status or (
        TradeStatus.CLOSED if new.event is TradeEvent.EXIT else TradeStatus.OPEN
    )
    opened_at = new.signal_time or now
    row = JournalTradeRow(
        id=new_id(PREFIX_TRADE), strategy_id=strategy_id, user_id=user_id,
        symbol=new.symbol, side=new.side.value, status=status.value, event=new.event.value,
        entry=new.entry, stop_loss=new.stop_loss, take_profit=new.take_profit,
        close_price=new.close_price, opened_at=opened_at,
        closed_at=None if status is TradeStatus.OPEN else opened_at,
        signal_time=new.signal_time, timeframe=new.timeframe, source=new.source,
        external_reference=new.external_reference, signal=new.signal, market=new.market,
        risk=new.risk, context=new.context, meta=new.meta, origin=Origin.MANUAL.value,
        bot_id=None, position_ref=None, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row, True


def _apply_event(row: JournalTradeRow, new: NewTrade, now: datetime) -> None:
    old = TradeStatus(row.status)
    status = new.status or (TradeStatus.CLOSED if new.event is TradeEvent.EXIT else old)
    _check_move(old, status)
    for name in UPDATABLE:
        if name in new.given:
            setattr(row, name, getattr(new, name))
    for name in OBJECT_FIELDS:
        value = getattr(new, name)
        if name in new.given and value is not None:
            setattr(row, name, {**(getattr(row, name) or {}), **value})
    if new.signal_time is not None:
        row.signal_time = new.signal_time
    if status is not TradeStatus.OPEN and old is TradeStatus.OPEN:
        row.closed_at = max(new.signal_time or now, row.opened_at)
    row.status = status.value
    row.event = new.event.value
    row.updated_at = now


def _check_move(old: TradeStatus, new: TradeStatus) -> None:
    if not can_move(old, new):
        raise InvalidTransition(f"a {old.value} record cannot become {new.value}")


async def list_trades(
    session: AsyncSession, clock: Clock, user_id: str, strategy_id: str, filters: TradeFilter,
    limit: int | None, cursor: str | None,
) -> Page[JournalTradeRow]:  # fmt: skip
    """Newest first; ``limit`` None: all of them."""
    await get_strategy(session, user_id, strategy_id)
    await sync_strategy(session, clock, strategy_id)
    stmt = select(JournalTradeRow).where(JournalTradeRow.strategy_id == strategy_id)
    if filters.status is not None:
        stmt = stmt.where(JournalTradeRow.status == filters.status.value)
    if filters.symbol:
        stmt = stmt.where(JournalTradeRow.symbol == filters.symbol)
    if filters.opened_from is not None:
        stmt = stmt.where(JournalTradeRow.opened_at >= filters.opened_from)
    if filters.opened_to is not None:
        stmt = stmt.where(JournalTradeRow.opened_at <= filters.opened_to)
    return await _page(session, stmt, JournalTradeRow, limit, cursor)


async def get_trade(
    session: AsyncSession, user_id: str, strategy_id: str, trade_id: str
) -> JournalTradeRow:
    await get_strategy(session, user_id, strategy_id)
    row = await session.get(JournalTradeRow, trade_id)
    if row is None or row.strategy_id != strategy_id:
        raise NotFound("trade not found")
    return row


async def _manual_trade(
    session: AsyncSession, user_id: str, strategy_id: str, trade_id: str
) -> JournalTradeRow:
    row = await get_trade(session, user_id, strategy_id, trade_id)
    if row.origin != Origin.MANUAL.value:
        raise Conflict(
            "this record was written by Tradewind from a bot's closed position: it cannot be "
            "changed or deleted"
        )
    return row


async def update_trade(
    session: AsyncSession, clock: Clock, user_id: str, strategy_id: str, trade_id: str,
    changes: dict[str, Any],
) -> JournalTradeRow:  # fmt: skip
    """Change ``status``, ``close_price`` and ``closed_at`` (only those given)."""
    row = await _manual_trade(session, user_id, strategy_id, trade_id)
    old = TradeStatus(row.status)
    status = TradeStatus(changes.get("status") or old)
    _check_move(old, status)
    now = clock.now()
    closed_at = changes.get("closed_at")
    if closed_at is not None and status is TradeStatus.OPEN:
        raise ValidationFailed(
            "an open record has no close time",
            details=[{"field": "closed_at", "message": "set status CLOSED or CANCELLED too"}],
        )
    if "close_price" in changes:
        row.close_price = changes["close_price"]
    if status is not TradeStatus.OPEN:
        row.closed_at = _closing_time(row, closed_at or row.closed_at or now)
    if status is TradeStatus.CLOSED and old is TradeStatus.OPEN:
        row.event = TradeEvent.EXIT.value
    row.status = status.value
    row.updated_at = now
    await session.flush()
    return row


async def close_trade(
    session: AsyncSession, clock: Clock, user_id: str, strategy_id: str, trade_id: str,
    close_price: Decimal | None, closed_at: datetime | None,
) -> JournalTradeRow:  # fmt: skip
    row = await _manual_trade(session, user_id, strategy_id, trade_id)
    if row.status != TradeStatus.OPEN.value:
        raise InvalidTransition(f"the record is {row.status} already")
    now = clock.now()
    if close_price is not None:
        row.close_price = close_price
    row.closed_at = _closing_time(row, closed_at or now)
    row.status = TradeStatus.CLOSED.value
    row.event = TradeEvent.EXIT.value
    row.updated_at = now
    await session.flush()
    return row


def _closing_time(row: JournalTradeRow, closed_at: datetime) -> datetime:
    if closed_at < row.opened_at:
        raise ValidationFailed(
            "a record cannot close before it opened",
            details=[{"field": "closed_at", "message": f"before opened_at {row.opened_at}"}],
        )
    return closed_at


async def delete_trade(
    session: AsyncSession, user_id: str, strategy_id: str, trade_id: str
) -> JournalTradeRow:
    """Delete a record made by hand; a record from a bot's fills is a Conflict."""
    row = await _manual_trade(session, user_id, strategy_id, trade_id)
    await session.delete(row)
    await session.flush()
    return row


def result_of(row: JournalTradeRow) -> TradeResult | None:
    return trade_result(
        TradeSide(row.side), TradeStatus(row.status), row.entry, row.close_price, row.stop_loss
    )


# ---- statistics and profiles -------------------------------------------------------------


async def statistics(session: AsyncSession, strategy_ids: list[str]) -> dict[str, StrategyStats]:
    """The summary of each strategy's records (see ``StrategyStats``)."""
    rows: dict[str, list[JournalTradeRow]] = {sid: [] for sid in strategy_ids}
    if strategy_ids:
        stmt = select(JournalTradeRow).where(JournalTradeRow.strategy_id.in_(strategy_ids))
        for row in (await session.scalars(stmt)).all():
            rows[row.strategy_id].append(row)
    out = {}
    for sid, records in rows.items():
        counted = [r for r in records if r.status != TradeStatus.CANCELLED.value]
        closed = []
        for r in counted:
            result = result_of(r)
            if result is not None:
                closed.append(ClosedResult((r.closed_at or r.opened_at, r.id), result))
        out[sid] = strategy_stats(len(counted), closed)
    return out


async def get_profile(session: AsyncSession, user_id: str) -> UserRow:
    """The user with their workspace profile; NotFound until one was created."""
    row = await accounts.get_user(session, user_id)
    if row.user_name is None:
        raise NotFound("no profile yet: create one with a user_name")
    return row


async def save_profile(
    session: AsyncSession, clock: Clock, user_id: str, changes: dict[str, Any], *,
    require_existing: bool = False,
) -> tuple[UserRow, bool]:  # fmt: skip
    """Create the profile (a ``user_name`` is needed) or change it; returns whether it is new."""
    row = await accounts.get_user(session, user_id)
    created = row.user_name is None
    if created and require_existing:
        raise NotFound("no profile yet: create one with a user_name")
    if "user_name" in changes and changes["user_name"] is None:
        raise ValidationFailed(
            "user_name cannot be removed",
            details=[{"field": "user_name", "message": "delete the profile instead"}],
        )
    if created and not changes.get("user_name"):
        raise ValidationFailed(
            "a profile needs a user_name", details=[{"field": "user_name", "message": "required"}]
        )
    return await accounts.update_profile(session, clock, user_id, changes), created


@dataclass(frozen=True, slots=True)
class DeletedProfile:
    user_id: str
    deleted_strategy_count: int
    deleted_api_key_count: int


async def delete_profile(session: AsyncSession, clock: Clock, user_id: str) -> DeletedProfile:
    """Remove the workspace profile (its public fields), every journal strategy with its
    records, and every API key of the user. The login itself stays."""
    await accounts.get_user(session, user_id)
    ids = list(
        (await session.scalars(select(JournalStrategyRow.id).where(JournalStrategyRow.user_id == user_id))).all()
    )  # fmt: skip
    keys = int(await session.scalar(select(func.count()).where(ApiKeyRow.user_id == user_id)) or 0)
    await _delete_strategies(session, ids)
    await session.execute(delete(ApiKeyRow).where(ApiKeyRow.user_id == user_id))
    row = await accounts.get_user(session, user_id)
    row.user_name = None
    row.display_name = None
    row.bio = None
    row.public_profile_enabled = False
    row.updated_at = clock.now()
    await session.flush()
    return DeletedProfile(user_id, len(ids), keys)


@dataclass(frozen=True, slots=True)
class PublicProfile:
    user: UserRow
    strategies: list[tuple[JournalStrategyRow, StrategyStats]]


async def public_profile(session: AsyncSession, clock: Clock, user_name: str) -> PublicProfile:
    """A profile whose owner enabled sharing, with its public strategies; otherwise (unknown
    name, sharing off) the same NotFound."""
    user = await session.scalar(
        select(UserRow).where(UserRow.user_name == user_name.strip().lower())
    )
    if user is None or not user.public_profile_enabled:
        raise NotFound("profile not found")
    stmt = select(JournalStrategyRow).where(
        JournalStrategyRow.user_id == user.id,
        JournalStrategyRow.visibility == Visibility.PUBLIC.value,
    )
    strategies = list((await session.scalars(stmt.order_by(JournalStrategyRow.id))).all())
    for s in strategies:
        await sync_strategy(session, clock, s.id)
    stats = await statistics(session, [s.id for s in strategies])
    return PublicProfile(user, [(s, stats[s.id]) for s in strategies])


# ---- records from the platform -----------------------------------------------------------


async def link_bot(
    session: AsyncSession, clock: Clock, user_id: str, bot_id: str, strategy_id: str
) -> JournalBotLinkRow:
    """Write the bot's closed positions into the strategy from now on (and those it has
    closed already, at once). A bot feeds one strategy; linking it again moves it."""
    await bots.get(session, user_id, bot_id)
    await get_strategy(session, user_id, strategy_id)
    link = await session.get(JournalBotLinkRow, bot_id)
    if link is None:
        link = JournalBotLinkRow(bot_id=bot_id, strategy_id=strategy_id, created_at=clock.now())
        session.add(link)
    else:
        link.strategy_id = strategy_id
    await session.flush()
    await sync_strategy(session, clock, strategy_id)
    return link


async def bot_link(session: AsyncSession, user_id: str, bot_id: str) -> JournalBotLinkRow:
    await bots.get(session, user_id, bot_id)
    link = await session.get(JournalBotLinkRow, bot_id)
    if link is None:
        raise NotFound("the bot is not linked to a journal strategy")
    return link


async def unlink_bot(session: AsyncSession, user_id: str, bot_id: str) -> None:
    """Stop writing the bot's positions; the records written stay."""
    link = await bot_link(session, user_id, bot_id)
    await session.delete(link)
    await session.flush()


async def _page(
    session: AsyncSession, stmt: Select[Any], row_type: Any, limit: int | None, cursor: str | None
) -> Page[Any]:
    if limit is None:
        rows = (await session.scalars(stmt.order_by(row_type.id.desc()))).all()
        return Page(items=list(rows), next_cursor=None)
    rows = (await session.scalars(paginate(stmt, row_type.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)
