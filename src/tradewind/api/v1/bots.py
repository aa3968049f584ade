"""Bots, natively: create, list, get, edit, delete, start, pause, stop, clone, the grid order
preview, and each bot's orders, positions, logs and profit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query, status
from pydantic import BaseModel, Field

from tradewind.api.deps import ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.api.v1.trading_schemas import Dec, OptDec, OrderRead, PositionRead
from tradewind.api.v1.trading_views import order_row_read, position_row_read
from tradewind.domain.accounts import Role
from tradewind.domain.bots import BotStatus
from tradewind.domain.errors import NotFound
from tradewind.services import accounts, bots
from tradewind.services.api_keys import Principal
from tradewind.store.tables import BotLogRow, BotRow

router = public_router(prefix="/bots", tags=["bots"])


class BotCreate(Model):
    type: str = Field(
        description="A script id (GET /api/v1/scripts) or a TrynQuant alias such as grid_standard."
    )
    name: str = Field(min_length=1, max_length=100)
    settings: dict[str, Any] = Field(
        description="The script's settings (its JSON Schema), symbol included."
    )
    account_id: str | None = Field(
        default=None, description="Your account to trade on; the default paper one if omitted."
    )


class BotUpdate(Model):
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    settings: dict[str, Any] | None = Field(
        default=None, description="Settings to change (only editable ones while running)."
    )


class BotRead(BaseModel):
    bot_id: str
    type: str
    name: str
    account_id: str
    symbol: str
    status: BotStatus
    status_reason: str | None
    settings: dict[str, Any]
    master_bot_id: str | None
    follow_updates: bool
    cloned: int = Field(description="How many copies were made of this bot.")
    followers: int = Field(description="Copies that follow this bot's edits.")
    realized_pnl: Dec = Field(description="Realised from the bot's own fills, less fees.")
    unrealized_pnl: Dec = Field(description="What the bot holds, at the last price.")
    investment: OptDec
    roi: OptDec = Field(description="(realised + unrealised) / investment; 0.05 is 5%.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: BotRow, runtime: Any, followers: int = 0) -> BotRead:
        profit = bots.profit(row, runtime.venues.venue_of(row.account_id))
        return cls(
            bot_id=row.id, type=row.script, name=row.name, account_id=row.account_id, symbol=row.symbol,
            status=BotStatus(row.status), status_reason=row.status_reason, settings=row.settings,
            master_bot_id=row.master_bot_id, follow_updates=row.follow_updates, cloned=row.cloned,
            followers=followers, realized_pnl=profit.realized, unrealized_pnl=profit.unrealized,
            investment=profit.investment, roi=profit.roi, created_at=row.created_at,
            updated_at=row.updated_at,
        )  # fmt: skip


async def _read(session: SessionDep, runtime: Any, row: BotRow) -> BotRead:
    counts = await bots.follower_counts(session, [row.id])
    return BotRead.of(row, runtime, counts.get(row.id, 0))


class PreviewRequest(Model):
    type: str
    settings: dict[str, Any]
    account_id: str | None = None


class PreviewOrder(BaseModel):
    side: str
    type: str
    amount: Dec
    price: OptDec
    stop_price: OptDec
    rearm_price: OptDec = Field(
        description="Where the opposite order is placed when this one fills."
    )


class Preview(BaseModel):
    type: str
    symbol: str
    orders: list[PreviewOrder]


@router.post("/preview", response_model=Preview, responses=errors(401, 404, 422),
             summary="The exact orders a grid bot would place now (nothing is created)")  # fmt: skip
async def preview(
    body: PreviewRequest, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> Preview:
    script, orders = await bots.preview(
        session,
        runtime.venues,
        principal.user_id,
        body.type,
        body.settings,
        account_id=body.account_id,
    )
    return Preview(type=script.id, symbol=orders[0].symbol if orders else str(body.settings.get("symbol")), orders=[
        PreviewOrder(side=o.side.value, type=o.type.value, amount=o.amount, price=o.price, stop_price=o.stop_price,
                     rearm_price=o.rearm.price if o.rearm else None)
        for o in orders
    ])  # fmt: skip


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BotRead, responses=errors(401, 403, 404, 422),
             summary="Create a bot (status stopped)")  # fmt: skip
async def create(
    body: BotCreate, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> BotRead:
    row = await bots.create(session, runtime.venues, runtime.clock, principal.user_id, bots.NewBot(
        script=body.type, name=body.name, settings=body.settings, account_id=body.account_id,
        leverage=Decimal(str(body.settings.get("leverage", 1))),
    ))  # fmt: skip
    return await _read(session, runtime, row)


@router.get("", response_model=PageOf[BotRead], responses=errors(401, 422), summary="Your bots")
async def list_bots(
    principal: ReadScope, session: SessionDep, runtime: RuntimeDep, status: BotStatus | None = None,
    type: str | None = Query(default=None, description="Script id or alias."), symbol: str | None = None,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[BotRead]:  # fmt: skip
    page = await bots.list_bots(
        session, principal.user_id, status=status.value if status else None, script=type, symbol=symbol,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    counts = await bots.follower_counts(session, [r.id for r in page.items])
    return PageOf[BotRead](
        data=[BotRead.of(r, runtime, counts.get(r.id, 0)) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/{bot_id}", response_model=BotRead, responses=errors(401, 404), summary="One bot")
async def get_bot(
    bot_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> BotRead:
    return await _read(session, runtime, await bots.get(session, principal.user_id, bot_id))


@router.patch(
    "/{bot_id}",
    response_model=BotRead,
    responses=errors(401, 403, 404, 409, 422),
    summary="Edit a bot",
)
async def edit_bot(
    bot_id: str, body: BotUpdate, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> BotRead:
    row = await bots.edit(
        session,
        runtime.venues,
        runtime.clock,
        principal.user_id,
        bot_id,
        name=body.name,
        changes=body.settings,
    )
    return await _read(session, runtime, row)


@router.delete("/{bot_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404),
               summary="Delete a bot: stopped first if it runs (its history stays)")  # fmt: skip
async def delete_bot(
    bot_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> None:
    await bots.delete(session, runtime.clock, principal.user_id, bot_id, venues=runtime.venues)


# ---- lifecycle ---------------------------------------------------------------------------


class StopRequest(Model):
    close_positions: bool | None = Field(
        default=None,
        description="Also close what the bot holds; default: the settings' stopExit, if any.",
    )


class CloneRequest(Model):
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    user_id: str | None = Field(
        default=None, description="Clone for a user you manage (partners); yourself if omitted."
    )
    account_id: str | None = Field(
        default=None, description="The copy's account on the same venue (default: the user's)."
    )
    settings: dict[str, Any] = Field(default_factory=dict, description="Settings to override.")
    follow_updates: bool = Field(
        default=False, description="Every later edit of this bot reaches the copy."
    )


@router.post("/{bot_id}/start", response_model=BotRead, responses=errors(401, 403, 404, 409),
             summary="Start a stopped or failed bot, or resume a paused one")  # fmt: skip
async def start_bot(
    bot_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> BotRead:
    row = await bots.start(session, runtime.venues, principal.user_id, bot_id)
    return await _read(session, runtime, row)


@router.post("/{bot_id}/pause", response_model=BotRead, responses=errors(401, 403, 404, 409),
             summary="Pause: open orders stay, nothing new is placed")  # fmt: skip
async def pause_bot(
    bot_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> BotRead:
    row = await bots.pause(session, runtime.venues, principal.user_id, bot_id)
    return await _read(session, runtime, row)


@router.post("/{bot_id}/stop", response_model=BotRead, responses=errors(401, 403, 404, 409, 422),
             summary="Stop: cancel the bot's open orders (and close what it holds)")  # fmt: skip
async def stop_bot(
    bot_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep,
    body: StopRequest | None = None,
) -> BotRead:  # fmt: skip
    row = await bots.stop(
        session, runtime.venues, principal.user_id, bot_id,
        close_positions=body.close_positions if body else None,
    )  # fmt: skip
    return await _read(session, runtime, row)


async def clone_target(
    session: SessionDep, principal: Principal, user_id: str | None
) -> str | None:
    """Who a clone is for: the caller, or (partners) a user they manage; else 404."""
    if user_id is None or user_id == principal.user_id:
        return None
    if principal.role is not Role.PARTNER:
        raise NotFound("user not found")
    await accounts.get_managed_user(session, principal.user_id, user_id)
    return user_id


@router.post("/{bot_id}/clone", status_code=status.HTTP_201_CREATED, response_model=BotRead,
             responses=errors(401, 403, 404, 422), summary="Copy a bot (stopped), optionally following its edits")  # fmt: skip
async def clone_bot(
    bot_id: str, body: CloneRequest, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> BotRead:
    target = await clone_target(session, principal, body.user_id)
    row = await bots.clone(
        session, runtime.venues, runtime.clock, principal.user_id, bot_id, target_user_id=target,
        name=body.name, overrides=body.settings, follow_updates=body.follow_updates,
        account_id=body.account_id,
    )  # fmt: skip
    return await _read(session, runtime, row)


# ---- what a bot did ----------------------------------------------------------------------


class BotLogRead(BaseModel):
    line: int
    ts: datetime
    severity: str = Field(description="info, trade, warning, error or custom.")
    color: str | None
    message: str

    @classmethod
    def of(cls, row: BotLogRow) -> BotLogRead:
        return cls(
            line=row.line, ts=row.ts, severity=row.severity, color=row.color, message=row.message
        )


@router.get("/{bot_id}/orders", response_model=PageOf[OrderRead], responses=errors(401, 404, 422),
            summary="The bot's orders, newest first")  # fmt: skip
async def bot_orders(
    bot_id: str, principal: ReadScope, session: SessionDep,
    status: Literal["open", "closed", "all"] = "all", limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
) -> PageOf[OrderRead]:  # fmt: skip
    page = await bots.orders(
        session, principal.user_id, bot_id, status=status, limit=limit, cursor=cursor
    )
    return PageOf[OrderRead](
        data=[order_row_read(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/{bot_id}/positions", response_model=PageOf[PositionRead], responses=errors(401, 404, 422),
            summary="Positions the bot opened (derivative bots), newest first")  # fmt: skip
async def bot_positions(
    bot_id: str, principal: ReadScope, session: SessionDep,
    status: Literal["open", "closed"] = "open", limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
) -> PageOf[PositionRead]:  # fmt: skip
    page = await bots.positions(
        session, principal.user_id, bot_id, status=status, limit=limit, cursor=cursor
    )
    return PageOf[PositionRead](
        data=[position_row_read(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/{bot_id}/positions/{position_id}/orders", response_model=list[OrderRead],
            responses=errors(401, 404), summary="The bot's orders that made one position")  # fmt: skip
async def bot_position_orders(
    bot_id: str, position_id: str, principal: ReadScope, session: SessionDep
) -> list[OrderRead]:
    rows = await bots.position_orders(session, principal.user_id, bot_id, position_id)
    return [order_row_read(r) for r in rows]


@router.get("/{bot_id}/logs", response_model=PageOf[BotLogRead], responses=errors(401, 404, 422),
            summary="The bot's log, newest first")  # fmt: skip
async def bot_logs(
    bot_id: str, principal: ReadScope, session: SessionDep, limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
) -> PageOf[BotLogRead]:  # fmt: skip
    page = await bots.logs(session, principal.user_id, bot_id, limit=limit, cursor=cursor)
    return PageOf[BotLogRead](
        data=[BotLogRead.of(r) for r in page.items], next_cursor=page.next_cursor
    )
