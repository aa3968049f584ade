"""Bots: create with settings checked against the script and the instrument, list, get, edit
(editable fields only while running; never a follower directly; a master's edits reach its
followers), clone, start, pause, stop, delete, the preview of the orders a grid would place,
and each bot's orders, positions, logs and profit. Running them is the bot engine's
(``tradewind.engine.bots``); status changes of a running bot are written by the engine, so a
call that hands a bot to the engine first commits what the request has written."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.bots import PREFIX_BOT, RUNNING, BotStatus, check_bot_transition
from tradewind.domain.clock import Clock
from tradewind.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from tradewind.domain.ids import new_id
from tradewind.domain.instruments import Instrument
from tradewind.engine.bots import BotEngine, BotSpec
from tradewind.services import trading
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.db import execute_many_async
from tradewind.store.tables import BotLogRow, BotRow, FillRow, OrderRow, PositionRow
from tradewind.strategies.accounting import Inventory
from tradewind.strategies.base import Context
from tradewind.strategies.commands import PlaceOrder
from tradewind.strategies.registry import Script, get_script


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


def _script(script_id: str) -> Script:
    """The script a request names; an unknown one is bad input naming the field ``type``."""
    try:
        return get_script(script_id)
    except NotFound as e:
        raise ValidationFailed(e.message, details=[{"field": "type", "message": e.message}]) from e


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
    script = _script(new.script)
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
    takes its settings from its master and cannot be edited directly; every edit of a master
    reaches the bots that follow it (all of them, or none when one of them refuses it)."""
    row = await get(session, user_id, bot_id)
    applied: list[tuple[BotRow, Any]] = []
    if changes:
        if row.master_bot_id and row.follow_updates:
            raise Conflict(
                "this bot follows its master's settings; edit the master, or stop following"
            )
        applied.append((row, await _edited(session, venues, row, changes)))
        for follower in await followers(session, row.id):
            try:
                applied.append((follower, await _edited(session, venues, follower, changes)))
            except ValidationFailed as e:
                raise ValidationFailed(
                    f"follower {follower.id} cannot take this edit: {e.message}",
                    details=getattr(e, "details", None),
                ) from e
        for bot, settings in applied:
            bot.settings = settings.to_wire()
            bot.symbol = settings.symbol
            bot.updated_at = clock.now()
    if name is not None:
        row.name = name
    row.updated_at = clock.now()
    await session.flush()
    running = [(b.id, s, venues.running(b.id)) for b, s in applied]
    if any(engine is not None for _, _, engine in running):
        await session.commit()
        for running_id, settings, engine in running:
            if engine is not None:
                await engine.edited(running_id, settings)
        await session.refresh(row)
    return row


async def _edited(
    session: AsyncSession, venues: trading.Venues, row: BotRow, changes: dict[str, Any]
) -> Any:
    script = get_script(row.script)
    venue = await venues.for_account(session, row.user_id, row.account_id)
    instrument = venue.instrument(_symbol_of({**row.settings, **changes}))
    current = script.parse(row.settings)
    return script.edit(current, changes, running=row.status in RUNNING, instrument=instrument)


async def followers(session: AsyncSession, bot_id: str) -> list[BotRow]:
    """The live bots that follow this one's settings."""
    stmt = select(BotRow).where(
        BotRow.master_bot_id == bot_id, BotRow.follow_updates.is_(True), BotRow.deleted_at.is_(None)
    )
    return list((await session.scalars(stmt.order_by(BotRow.id))).all())


async def follower_counts(session: AsyncSession, bot_ids: list[str]) -> dict[str, int]:
    if not bot_ids:
        return {}
    stmt = (
        select(BotRow.master_bot_id, func.count())
        .where(
            BotRow.master_bot_id.in_(bot_ids),
            BotRow.follow_updates.is_(True),
            BotRow.deleted_at.is_(None),
        )
        .group_by(BotRow.master_bot_id)
    )
    return {k: int(v) for k, v in (await session.execute(stmt)).all() if k}


async def delete(
    session: AsyncSession, clock: Clock, user_id: str, bot_id: str, *, venues: trading.Venues
) -> None:
    """Stop the bot if it runs (its open orders are cancelled), then remove it from its
    owner's lists; its orders, fills and logs stay for the account's records."""
    row = await get(session, user_id, bot_id)
    engine = venues.running(row.id)
    if engine is not None:
        await session.commit()
        await engine.stop(row.id, close_positions=False, reason="bot deleted")
        await session.refresh(row)
    row.deleted_at = clock.now()
    if row.status == BotStatus.ERROR.value:
        row.status = BotStatus.STOPPED.value
    await session.flush()


# ---- lifecycle ---------------------------------------------------------------------------


async def start(session: AsyncSession, venues: trading.Venues, user_id: str, bot_id: str) -> BotRow:
    """Start a stopped or failed bot, or resume a paused one, on its account's venue (a live
    one polls the symbol's price first: a bot starts with a price)."""
    row = await get(session, user_id, bot_id)
    current = BotStatus(row.status)
    check_bot_transition(current, BotStatus.ACTIVE)
    engine = await venues.engine_for(session, user_id, row.account_id)
    await venues.priced(engine, row.symbol)
    await session.commit()
    if current is BotStatus.PAUSED:
        await engine.resume(row.id)
    else:
        await engine.start(BotSpec.of(row))
    await session.refresh(row)
    return row


async def pause(session: AsyncSession, venues: trading.Venues, user_id: str, bot_id: str) -> BotRow:
    """Keep the bot's open orders, place nothing new (their fills wait for the resume)."""
    row = await get(session, user_id, bot_id)
    check_bot_transition(BotStatus(row.status), BotStatus.PAUSED)
    engine = await venues.engine_for(session, user_id, row.account_id)
    await session.commit()
    await engine.pause(row.id)
    await session.refresh(row)
    return row


async def stop(
    session: AsyncSession, venues: trading.Venues, user_id: str, bot_id: str,
    *, close_positions: bool | None = None,
) -> BotRow:  # fmt: skip
    """Cancel the bot's open orders; with ``close_positions`` (default: the settings'
    ``stopExit`` where the script has one) also close what it holds."""
    row = await get(session, user_id, bot_id)
    current = BotStatus(row.status)
    check_bot_transition(current, BotStatus.STOPPED)
    close = (
        bool(row.settings.get("stopExit", False)) if close_positions is None else close_positions
    )
    engine = venues.running(row.id)
    await session.commit()
    if engine is not None:
        await engine.stop(row.id, close_positions=close, reason="stopped by the user")
        await session.refresh(row)
    else:  # an error'd bot: its orders were cancelled when it failed
        row.status, row.status_reason = BotStatus.STOPPED.value, None
        await session.flush()
    return row


async def clone(
    session: AsyncSession, venues: trading.Venues, clock: Clock, owner_id: str, bot_id: str,
    *, target_user_id: str | None = None, name: str | None = None,
    overrides: dict[str, Any] | None = None, follow_updates: bool = False,
    account_id: str | None = None,
) -> BotRow:  # fmt: skip
    """A stopped copy of a bot, for its owner or another user (who must be allowed: the
    caller checks), on the same venue, with ``overrides`` applied to the settings. With
    ``follow_updates`` every later edit of the master reaches the copy."""
    source = await get(session, owner_id, bot_id)
    user_id = target_user_id or owner_id
    venue = await venues.for_account(session, owner_id, source.account_id)
    if account_id is None:
        account_id = await trading.resolve_account(session, venues, user_id, account_id=None)
    target_venue = await venues.for_account(session, user_id, account_id)
    if target_venue is not venue:
        raise ValidationFailed(
            "a clone trades on the same venue as its master",
            details=[{"field": "account_id", "message": "an account on the master's venue"}],
        )
    script = get_script(source.script)
    settings_in = {**source.settings, **(overrides or {})}
    instrument = venue.instrument(_symbol_of(settings_in))
    settings = script.parse(settings_in, instrument)
    now = clock.now()
    row = BotRow(
        id=new_id(PREFIX_BOT), user_id=user_id, account_id=account_id,
        name=name or f"{source.name} (copy)", script=source.script, symbol=instrument.symbol,
        settings=settings.to_wire(), status=BotStatus.STOPPED.value, status_reason=None,
        master_bot_id=source.id, follow_updates=follow_updates, cloned=0,
        investment=source.investment, leverage=source.leverage, stop_loss_pct=source.stop_loss_pct,
        extra=dict(source.extra or {}), state={}, order_seq=0, realized_pnl=Decimal(0),
        created_at=now, updated_at=now, deleted_at=None,
    )  # fmt: skip
    session.add(row)
    source.cloned += 1
    await session.flush()
    return row


# ---- one bot for many owners -------------------------------------------------------------


async def create_for(
    session: AsyncSession, venues: trading.Venues, clock: Clock, new: NewBot,
    owners: Sequence[tuple[str, str]],
) -> list[BotSpec | DomainError]:  # fmt: skip
    """``create`` of the same bot for many owners, each a (user, account): checked as
    ``create`` checks it, the settings parsed once per venue, and the bots written in one
    statement (not committed). Each owner's result in its place: the bot, or why it was not
    created (the account is not the user's, its venue refuses the settings)."""
    script = _script(new.script)
    symbol = _symbol_of(new.settings)
    parsed: dict[str, tuple[Instrument, dict[str, Any], Any] | DomainError] = {}
    found: list[BotSpec | DomainError] = []
    rows: list[dict[str, Any]] = []
    now = clock.now()
    for user_id, account_id in owners:
        try:
            venue = await venues.for_account(session, user_id, account_id)
        except DomainError as e:
            found.append(e)
            continue
        if venue.name not in parsed:
            parsed[venue.name] = _parsed(script, new.settings, venue, symbol)
        checked = parsed[venue.name]
        if isinstance(checked, DomainError):
            found.append(checked)
            continue
        instrument, wire, model = checked
        bot_id, settings = new_id(PREFIX_BOT), dict(wire)
        rows.append({
            "id": bot_id, "user_id": user_id, "account_id": account_id, "name": new.name,
            "script": script.id, "symbol": instrument.symbol, "settings": settings,
            "status": BotStatus.STOPPED.value,
            "status_reason": None, "master_bot_id": None, "follow_updates": False, "cloned": 0,
            "investment": new.investment, "leverage": new.leverage,
            "stop_loss_pct": new.stop_loss_pct, "extra": new.extra or {}, "state": {},
            "order_seq": 0, "pending": [], "fill_cursor": None, "log_seq": 0, "stop_exit": False,
            "realized_pnl": Decimal(0), "created_at": now, "updated_at": now, "deleted_at": None,
        })  # fmt: skip
        found.append(BotSpec.new(
            bot_id, user_id, account_id, script.id, instrument.symbol, settings, parsed=model
        ))  # fmt: skip
    await execute_many_async(session, _INSERT_BOTS, rows)
    return found


_BOTS = cast(Table, BotRow.__table__)
_INSERT_BOTS = insert(_BOTS)


def _parsed(
    script: Script, settings: dict[str, Any], venue: trading.TradingVenue, symbol: str
) -> tuple[Instrument, dict[str, Any], Any] | DomainError:
    """The instrument, the settings checked against it (stored form), and the stored form
    parsed as the engine parses it (one frozen model for every bot of the plan), or why not."""
    try:
        instrument = venue.instrument(symbol)
        wire = script.parse(settings, instrument).to_wire()
        return instrument, wire, script.parse(wire)
    except DomainError as e:
        return e


async def price_checks(
    venues: trading.Venues, targets: Sequence[tuple[str, str]]
) -> list[DomainError | None]:
    """For each ``(account, symbol)``, why a bot there could not start now (its venue is not
    connected, or has no price for the symbol: an exchange's is polled once), else None;
    each venue and symbol asked once."""
    engines: dict[str, BotEngine | DomainError] = {}
    checked: dict[tuple[str, str], DomainError | None] = {}
    found: list[DomainError | None] = []
    for account_id, symbol in targets:
        if account_id not in engines:
            try:
                engines[account_id] = venues.engine_of(account_id)
            except DomainError as e:
                engines[account_id] = e
        engine = engines[account_id]
        if isinstance(engine, DomainError):
            found.append(engine)
            continue
        key = (engine.venue.name, symbol)
        if key not in checked:
            try:
                await venues.priced(engine, symbol)
                checked[key] = None
            except DomainError as e:
                checked[key] = e
        found.append(checked[key])
    return found


async def start_created(
    venues: trading.Venues, specs: Sequence[BotSpec]
) -> list[DomainError | None]:
    """Start bots ``create_for`` made (committed by the caller) all at once: each venue's
    engine takes its bots in one cycle and runs their orders as one venue batch. Each bot's
    refusal in its place (None: started); any other exception is raised once every bot has
    been handled."""
    why_not = await price_checks(venues, [(spec.account_id, spec.symbol) for spec in specs])
    todo = [spec for spec, why in zip(specs, why_not, strict=True) if why is None]
    done = await asyncio.gather(
        *(venues.engine_of(spec.account_id).start(spec) for spec in todo),
        return_exceptions=True,
    )
    refused: dict[str, DomainError] = {}
    for spec, outcome in zip(todo, done, strict=True):
        if isinstance(outcome, DomainError):
            refused[spec.id] = outcome
        elif isinstance(outcome, BaseException):
            raise outcome
    return [why or refused.get(spec.id) for spec, why in zip(specs, why_not, strict=True)]


# ---- what a bot did ----------------------------------------------------------------------


def _bot_orders(row: BotRow) -> Any:
    """The orders the bot placed (and its programs placed for it): its client ids. A prefix
    match (LIKE), not a range: a range of strings depends on the database's collation."""
    return (OrderRow.account_id == row.account_id) & OrderRow.client_order_id.startswith(
        f"{row.id}:", autoescape=True
    )


async def orders(
    session: AsyncSession, user_id: str, bot_id: str, *, status: str = "all",
    limit: int, cursor: str | None,
) -> Page[OrderRow]:  # fmt: skip
    row = await get(session, user_id, bot_id)
    stmt = select(OrderRow).where(_bot_orders(row))
    if status == "open":
        stmt = stmt.where(OrderRow.status.in_(trading.OPEN_STATUSES))
    elif status == "closed":
        stmt = stmt.where(OrderRow.status.not_in(trading.OPEN_STATUSES))
    rows = (await session.scalars(paginate(stmt, OrderRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def positions(
    session: AsyncSession, user_id: str, bot_id: str, *, status: str = "open",
    limit: int, cursor: str | None,
) -> Page[PositionRow]:  # fmt: skip
    """Positions the bot's fills opened or changed (derivative bots; spot bots hold balances)."""
    row = await get(session, user_id, bot_id)
    touched = (
        select(FillRow.position_id)
        .join(OrderRow, FillRow.order_id == OrderRow.id)
        .where(_bot_orders(row), FillRow.position_id.is_not(None))
    )
    stmt = select(PositionRow).where(PositionRow.id.in_(touched))
    if status == "open":
        stmt = stmt.where(PositionRow.closed_at.is_(None))
    elif status == "closed":
        stmt = stmt.where(PositionRow.closed_at.is_not(None))
    rows = (await session.scalars(paginate(stmt, PositionRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def position_orders(
    session: AsyncSession, user_id: str, bot_id: str, position_id: str
) -> list[OrderRow]:
    """The bot's orders that filled into this position, oldest first."""
    row = await get(session, user_id, bot_id)
    order_ids = select(FillRow.order_id).where(FillRow.position_id == position_id)
    stmt = select(OrderRow).where(_bot_orders(row), OrderRow.id.in_(order_ids))
    found = list((await session.scalars(stmt.order_by(OrderRow.id))).all())
    if not found:
        raise NotFound("position not found for this bot")
    return found


async def logs(
    session: AsyncSession, user_id: str, bot_id: str, *, limit: int, cursor: str | None
) -> Page[BotLogRow]:
    """The bot's log, newest first."""
    await get(session, user_id, bot_id)
    stmt = select(BotLogRow).where(BotLogRow.bot_id == bot_id)
    rows = (await session.scalars(paginate(stmt, BotLogRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


@dataclass(frozen=True, slots=True)
class Profit:
    realized: Decimal
    """Realised from the bot's own fills, less their fees (quote asset)."""
    unrealized: Decimal
    """What the bot holds, valued at the last price against its average entry."""
    investment: Decimal | None
    roi: Decimal | None
    """``(realized + unrealized) / investment``, a fraction (0.05 = 5%)."""

    @property
    def total(self) -> Decimal:
        return self.realized + self.unrealized


def profit(row: BotRow, venue: Any) -> Profit:
    """The bot's profit, counted from its own fills (two bots on one account keep separate
    books)."""
    book = Inventory.model_validate((row.state or {}).get("book", {}))
    realized = book.realized - book.fees
    mark = venue.mark(row.symbol) if book.amount else None
    try:
        contract = venue.instrument(row.symbol).contract_size
    except NotFound:
        contract = Decimal(1)
    unrealized = book.unrealized(mark, contract) if mark is not None else Decimal(0)
    investment = row.investment or _investment(row.settings, mark or book.entry)
    roi = None
    if investment:
        roi = ((realized + unrealized) / investment).quantize(Decimal("0.000001"))
    return Profit(realized, unrealized, investment, roi)


def _investment(settings: dict[str, Any], price: Decimal) -> Decimal | None:
    """What the bot puts to work, in the quote asset, from the settings that say it."""
    amount = settings.get("investmentAmount")
    if amount is not None:
        value = Decimal(str(amount))
        if settings.get("investmentAsset") == "Base":
            value = value * price if price else Decimal(0)
        return value or None
    size = settings.get("baseOrderSize")
    if size is not None:
        total = Decimal(str(size))
        step = Decimal(str(settings.get("safetyOrderSize", 0)))
        scale = Decimal(str(settings.get("volumeScale", 1)))
        for _ in range(int(settings.get("safetyOrderCount", 0))):
            total += step
            step *= scale
        return total
    size = settings.get("orderSize")
    return Decimal(str(size)) if size is not None else None


async def preview(
    session: AsyncSession, venues: trading.Venues, user_id: str, script_id: str, settings: dict[str, Any],
    *, account_id: str | None = None,
) -> tuple[Script, list[PlaceOrder]]:  # fmt: skip
    """The exact orders a grid bot would place at the current price; nothing is created."""
    script = _script(script_id)
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
    await venue.prime_price(instrument.symbol)  # (an exchange's: polled once if not watched)
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


# ---- a user's bots -----------------------------------------------------------------------


async def status_counts(session: AsyncSession, user_id: str) -> dict[str, int]:
    """The user's live bots by status."""
    stmt = (
        select(BotRow.status, func.count())
        .where(BotRow.user_id == user_id, BotRow.deleted_at.is_(None))
        .group_by(BotRow.status)
    )
    return {status: int(n) for status, n in (await session.execute(stmt)).all()}


async def check_user_deletable(session: AsyncSession, user_id: str) -> None:
    """A user whose bots run (active or paused) is not deleted: stop them first."""
    counts = await status_counts(session, user_id)
    running = sum(counts.get(status, 0) for status in RUNNING)
    if running:
        raise Conflict(
            f"the user has {running} active bot(s); stop and delete its bots before deleting it"
        )
