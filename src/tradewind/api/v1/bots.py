"""Bots, natively: create, list, get, edit, delete, and the grid order preview. Start, pause,
stop, clone and the bot's orders, positions and logs come with the bot engine."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from tradewind.api.deps import ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.api.v1.trading_schemas import Dec, OptDec
from tradewind.domain.bots import BotStatus
from tradewind.services import bots
from tradewind.store.tables import BotRow

router = APIRouter(prefix="/bots", tags=["bots"])


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
    cloned: int
    realized_pnl: Dec
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: BotRow) -> BotRead:
        return cls(
            bot_id=row.id, type=row.script, name=row.name, account_id=row.account_id, symbol=row.symbol,
            status=BotStatus(row.status), status_reason=row.status_reason, settings=row.settings,
            master_bot_id=row.master_bot_id, follow_updates=row.follow_updates, cloned=row.cloned,
            realized_pnl=row.realized_pnl, created_at=row.created_at, updated_at=row.updated_at,
        )  # fmt: skip


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
    return BotRead.of(row)


@router.get("", response_model=PageOf[BotRead], responses=errors(401, 422), summary="Your bots")
async def list_bots(
    principal: ReadScope, session: SessionDep, status: BotStatus | None = None,
    type: str | None = Query(default=None, description="Script id or alias."), symbol: str | None = None,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[BotRead]:  # fmt: skip
    page = await bots.list_bots(
        session, principal.user_id, status=status.value if status else None, script=type, symbol=symbol,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    return PageOf[BotRead](data=[BotRead.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{bot_id}", response_model=BotRead, responses=errors(401, 404), summary="One bot")
async def get_bot(bot_id: str, principal: ReadScope, session: SessionDep) -> BotRead:
    return BotRead.of(await bots.get(session, principal.user_id, bot_id))


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
    return BotRead.of(row)


@router.delete("/{bot_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404, 409),
               summary="Delete a stopped bot (its history stays)")  # fmt: skip
async def delete_bot(
    bot_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> None:
    await bots.delete(session, runtime.clock, principal.user_id, bot_id)
