"""Bots as records: create with settings checked against the script and the instrument, list,
get, edit (editable fields only while running; never a follower directly), delete, and the
preview of the orders a grid would place. Starting and running them is the bot engine's."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.bots import PREFIX_BOT, BotStatus
from tradewind.domain.clock import Clock
from tradewind.domain.errors import Conflict, NotFound, ValidationFailed
from tradewind.domain.ids import new_id
from tradewind.services import trading
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.tables import BotRow
from tradewind.strategies.base import Context
from tradewind.strategies.commands import PlaceOrder
from tradewind.strategies.registry import Script, get_script

RUNNING = (BotStatus.ACTIVE.value, BotStatus.PAUSED.value)


@dataclass(frozen=True, slots=True)
class NewBot:
    script: str
    name: str
    settings: dict[str, Any]
    account_id: str | None = None
    investment: Decimal | None = None
    leverage: Decimal = Decimal(1)
    stop_loss_pct: Decimal | None = None
    extra: dict[str, Any] | None = None


def _symbol_of(settings: dict[str, Any]) -> str:
    symbol = settings.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise ValidationFailed(
            "settings need a symbol", details=[{"field": "settings.symbol", "message": "required"}]
        )
    return symbol


async def create(
    session: AsyncSession, venues: trading.Venues, clock: Clock, user_id: str, new: NewBot
) -> BotRow:
    """A new bot, status ``stopped``, on the named account (else the user's default one)."""
    script = get_script(new.script)
    account_id = await trading.resolve_account(session, venues, user_id, account_id=new.account_id)
    venue = await venues.for_account(session, user_id, account_id)
    instrument = venue.instrument(_symbol_of(new.settings))
    settings = script.parse(new.settings, instrument)
    now = clock.now()
    row = BotRow(
        id=new_id(PREFIX_BOT), user_id=user_id, account_id=account_id, name=new.name, script=script.id,
        symbol=instrument.symbol, settings=settings.to_wire(), status=BotStatus.STOPPED.value,
        status_reason=None, master_bot_id=None, follow_updates=False, cloned=0, investment=new.investment,
        leverage=new.leverage, stop_loss_pct=new.stop_loss_pct, extra=new.extra or {}, state={}, order_seq=0,
        realized_pnl=Decimal(0), created_at=now, updated_at=now, deleted_at=None,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, user_id: str, bot_id: str) -> BotRow:
    row = await session.get(BotRow, bot_id)
    if row is None or row.user_id != user_id or row.deleted_at is not None:
        raise NotFound("bot not found")
    return row


async def list_bots(
    session: AsyncSession, user_id: str, *, status: str | None, script: str | None, symbol: str | None,
    limit: int, cursor: str | None,
) -> Page[BotRow]:  # fmt: skip
    stmt = select(BotRow).where(BotRow.user_id == user_id, BotRow.deleted_at.is_(None))
    if status:
        stmt = stmt.where(BotRow.status == status)
    if script:
        stmt = stmt.where(BotRow.script == get_script(script).id)
    if symbol:
        stmt = stmt.where(BotRow.symbol == symbol)
    rows = (await session.scalars(paginate(stmt, BotRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def edit(
    session: AsyncSession, venues: trading.Venues, clock: Clock, user_id: str, bot_id: str,
    *, name: str | None = None, changes: dict[str, Any] | None = None,
) -> BotRow:  # fmt: skip
    """Rename, or change settings: while running only the script's editable ones. A follower
    takes its settings from its master and cannot be edited directly."""
    row = await get(session, user_id, bot_id)
    if changes:
        if row.master_bot_id and row.follow_updates:
            raise Conflict(
                "this bot follows its master's settings; edit the master, or stop following"
            )
        script = get_script(row.script)
        venue = await venues.for_account(session, user_id, row.account_id)
        instrument = venue.instrument(_symbol_of({**row.settings, **changes}))
        current = script.parse(row.settings)
        updated = script.edit(
            current, changes, running=row.status in RUNNING, instrument=instrument
        )
        row.settings = updated.to_wire()
        row.symbol = instrument.symbol
    if name is not None:
        row.name = name
    row.updated_at = clock.now()
    await session.flush()
    return row


async def delete(session: AsyncSession, clock: Clock, user_id: str, bot_id: str) -> None:
    """Remove a bot from its owner's lists; its history stays for the account's records.
    A running bot must be stopped first (stopping cancels its orders)."""
    row = await get(session, user_id, bot_id)
    if row.status in RUNNING:
        raise Conflict("stop the bot before deleting it")
    row.deleted_at = clock.now()
    await session.flush()


async def preview(
    session: AsyncSession, venues: trading.Venues, user_id: str, script_id: str, settings: dict[str, Any],
    *, account_id: str | None = None,
) -> tuple[Script, list[PlaceOrder]]:  # fmt: skip
    """The exact orders a grid bot would place at the current price; nothing is created."""
    script = get_script(script_id)
    if not script.previewable:
        raise ValidationFailed(
            f"{script.id} has no order preview",
            details=[{"field": "type", "message": "grid bots only"}],
        )
    account = await trading.resolve_account(session, venues, user_id, account_id=account_id)
    venue = await venues.for_account(session, user_id, account)
    instrument = venue.instrument(_symbol_of(settings))
    parsed = script.parse(settings, instrument)
    strategy: Any = script.build(parsed)
    quote = venue.quote(instrument.symbol)
    balances = {asset: b.free for asset, b in venue.balances(account).items()}
    ctx = Context(
        bot_id="preview",
        instrument=instrument,
        now_ms=quote.ts_ms,
        price=quote.last,
        balances=balances,
    )
    orders: list[PlaceOrder] = strategy.preview(ctx)
    return script, orders
