"""HaasOnline's bot endpoints: list (all the partner's users, or one), get, create (which
starts the bot, as the document says), edit, clone, start, stop, preview and delete. A bot is
found among the bots of the users the partner manages, so another partner's bot is "not
found". Settings travel in the document's shape: numbers as numbers, the market as a
HaasOnline symbol (``PAPER_BTC_USDT_``), ``symbol`` last."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select

from tradewind.api.deps import RuntimeDep, SessionDep
from tradewind.api.dialects.haas import bot_records, signals
from tradewind.api.dialects.haas.bot_records import bot_venue, bot_venues, partner_bot
from tradewind.api.dialects.haas.envelope import ok
from tradewind.api.dialects.haas.routes import (
    Body,
    PageRequest,
    Partner,
    exchange_of,
    haas_symbol,
    page_args,
)
from tradewind.api.registry import public_router
from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.services import accounts, bots, exchange_accounts
from tradewind.services.pagination import make_page, paginate
from tradewind.store.tables import BotRow, UserRow
from tradewind.strategies.commands import PlaceOrder
from tradewind.strategies.registry import get_script

router = public_router(prefix="/compat/haas", tags=["dialect: haas"])

ScriptType = Literal[
    "spot_grid",
    "futures_grid",
    "spot_dollar_cost_averaging",
    "futures_dollar_cost_averaging",
    "webhook",
]
"""The document's ``WhiteLabelScriptType``."""


# ---- bodies ------------------------------------------------------------------------------


class BotRef(Body):
    bot_id: str = Field(alias="botId", min_length=1)
    user_id: str | None = Field(
        default=None, alias="userId", description="Optional: the bot's owner, checked if given."
    )


class UserBotRef(Body):
    user_id: str = Field(alias="userId", min_length=1)
    bot_id: str = Field(alias="botId", min_length=1)


class UserBotsRequest(PageRequest):
    user_id: str = Field(alias="userId", min_length=1)


class BotCreate(Body):
    user_id: str | None = Field(default=None, alias="userId")
    type: ScriptType
    settings: Any = Field(
        default=None, description="The script's settings (POST /compat/haas/scripts/script)."
    )
    master_bot_id: str | None = Field(
        default=None,
        alias="masterBotId",
        description="Follow this bot's settings updates (a copy of it, with these settings "
        "as overrides).",
    )


class BotEdit(Body):
    user_id: str | None = Field(default=None, alias="userId")
    bot_id: str | None = Field(default=None, alias="botId")
    settings: Any = None


class BotClone(Body):
    user_id: str = Field(alias="userId", min_length=1, description="Who receives the copy.")
    bot_id: str = Field(alias="botId", min_length=1, description="The bot to copy.")
    follow_updates: bool = Field(alias="followUpdates")
    settings: Any = Field(description="Settings to override in the copy ({} or null: none).")


class BotPreview(Body):
    user_id: str = Field(alias="userId", min_length=1)
    exchange_id: str = Field(alias="exchangeId", min_length=1)
    type: ScriptType
    settings: Any


# ---- translation -------------------------------------------------------------------------


def _number(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_number(v) for v in value]
    return value


def settings_out(row: BotRow, venue: Any, exchange: str) -> dict[str, Any]:
    """The stored settings in the document's shape (the market on ``exchange``)."""
    parsed = get_script(row.script).parse(row.settings)
    data = parsed.model_dump(mode="python", by_alias=True)
    out = {key: _number(value) for key, value in data.items() if key != "symbol"}
    try:
        out["symbol"] = haas_symbol(venue.instrument(row.symbol), exchange)
    except NotFound:
        out["symbol"] = row.symbol
    return out


def native_symbol(symbol: str, venue: Any) -> str:
    """``PAPER_BTC_USDT_`` → ``BTC/USDT`` on the paper venue, ``BINANCE_BTC_USDT_`` on
    Binance's; a native symbol passes as it is."""
    exchange = exchange_of(venue.name)
    for instrument in venue.instruments.values():
        if symbol in (haas_symbol(instrument, exchange), instrument.symbol):
            return str(instrument.symbol)
    raise ValidationFailed(
        f"unknown market {symbol}",
        details=[
            {
                "field": "settings.symbol",
                "message": f"unknown market {symbol} on {exchange}; see GET /compat/haas/markets",
            }
        ],
    )


def settings_in(settings: Any, venue: Any) -> dict[str, Any]:
    """The client's settings for the services: the market translated, the rest as sent (the
    script's model checks them and names any bad field)."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ValidationFailed(
            "settings must be an object",
            details=[{"field": "settings", "message": "an object of the script's settings"}],
        )
    out = dict(settings)
    if isinstance(out.get("symbol"), str):
        out["symbol"] = native_symbol(out["symbol"], venue)
    return out


def roi_percent(roi: Decimal | None) -> float:
    return float(round(roi * 100, 4)) if roi else 0.0


def bot_view(row: BotRow, venue: Any, exchange: str, followers: int) -> dict[str, Any]:
    """One bot as the document shows it, ``exchangeId`` its account's exchange. ``profit`` is
    realised plus unrealised (quote asset); ``roi`` is that over the investment, in percent
    (as the document's 1.19)."""
    profit = bots.profit(row, venue)
    return {
        "userId": row.user_id, "botId": row.id, "status": row.status,
        "masterBotId": row.master_bot_id or "", "createdAt": int(row.created_at.timestamp()),
        "type": row.script, "exchangeId": exchange, "settings": settings_out(row, venue, exchange),
        "profit": float(profit.total), "roi": roi_percent(profit.roi), "cloned": row.cloned,
        "followers": followers,
    }  # fmt: skip


async def _views(session: SessionDep, runtime: RuntimeDep, rows: list[BotRow]) -> list[Any]:
    counts = await bots.follower_counts(session, [r.id for r in rows])
    venues = await bot_venues(session, runtime, rows)
    return [bot_view(r, *venues[r.account_id], counts.get(r.id, 0)) for r in rows]


async def _same_exchange(
    session: SessionDep, runtime: RuntimeDep, source: BotRow, target: Any, field: str
) -> None:
    """A copy trades on its source's exchange: refused naming ``field`` when the user's
    (``target``'s) is another."""
    _, exchange = await bot_venue(session, runtime, source)
    theirs = exchange_of(target.name)
    if exchange != theirs:
        message = f"the bot trades on {exchange}, the user on {theirs}"
        raise ValidationFailed(message, details=[{"field": field, "message": message}])


async def _users_market(
    session: SessionDep, runtime: RuntimeDep, user_id: str
) -> tuple[str | None, Any]:
    """The account a user's bots trade on and its venue: the trading account of the exchange
    keys the user was made with, else (None) the user's paper account."""
    account = await exchange_accounts.user_trading_account(session, user_id)
    if account is None:
        return None, runtime.venues.paper
    return account, await runtime.venues.for_account(session, user_id, account)


# ---- routes ------------------------------------------------------------------------------


@router.post("/bots/list", summary="Every bot of the partner's users, paginated")
async def list_bots(
    body: PageRequest, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    limit, cursor = page_args(body)
    stmt = (
        select(BotRow)
        .join(UserRow, UserRow.id == BotRow.user_id)
        .where(UserRow.partner_id == principal.user_id, BotRow.deleted_at.is_(None))
    )
    rows = (await session.scalars(paginate(stmt, BotRow.id, limit, cursor))).all()
    page = make_page(rows, limit, lambda r: r.id)
    return ok({"items": await _views(session, runtime, page.items), "nextPageId": page.next_cursor})


@router.post("/bots/user", summary="One user's bots, paginated")
async def user_bots(
    body: UserBotsRequest, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    limit, cursor = page_args(body)
    await accounts.get_managed_user(session, principal.user_id, body.user_id)
    page = await bots.list_bots(
        session, body.user_id, status=None, script=None, symbol=None, limit=limit, cursor=cursor
    )
    return ok({"items": await _views(session, runtime, page.items), "nextPageId": page.next_cursor})


@router.post("/bots/get", summary="One bot")
async def get_bot(
    body: UserBotRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await partner_bot(session, principal.user_id, body.bot_id, body.user_id)
    return ok((await _views(session, runtime, [row]))[0])


@router.post("/bots/create", summary="Create a bot for a user and start it")
async def create_bot(
    body: BotCreate, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    if not body.user_id:
        raise ValidationFailed(
            "userId is required", details=[{"field": "userId", "message": "required"}]
        )
    await accounts.get_managed_user(session, principal.user_id, body.user_id)
    account, venue = await _users_market(session, runtime, body.user_id)
    settings = settings_in(body.settings, venue)
    if body.master_bot_id:
        master = await partner_bot(session, principal.user_id, body.master_bot_id)
        if master.script != body.type:
            raise ValidationFailed(
                f"the master bot is a {master.script} bot",
                details=[{"field": "type", "message": f"{master.script}, the master's type"}],
            )
        await _same_exchange(session, runtime, master, venue, "masterBotId")
        row = await bots.clone(
            session, runtime.venues, runtime.clock, master.user_id, master.id,
            target_user_id=body.user_id, overrides=settings, follow_updates=True,
            account_id=account,
        )  # fmt: skip
    else:
        script = get_script(body.type)
        row = await bots.create(session, runtime.venues, runtime.clock, body.user_id, bots.NewBot(
            script=script.id, name=script.name, settings=settings, account_id=account,
            leverage=Decimal(str(settings.get("leverage", 1))),
        ))  # fmt: skip
    row = await bots.start(session, runtime.venues, body.user_id, row.id)
    return ok((await _views(session, runtime, [row]))[0])


@router.post("/bots/edit", summary="Change a bot's settings (a copy that follows is refused)")
async def edit_bot(
    body: BotEdit, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    if not body.bot_id:
        raise ValidationFailed(
            "botId is required", details=[{"field": "botId", "message": "required"}]
        )
    row = await partner_bot(session, principal.user_id, body.bot_id, body.user_id)
    venue, _ = await bot_venue(session, runtime, row)
    changes = settings_in(body.settings, venue)
    await bots.edit(
        session, runtime.venues, runtime.clock, row.user_id, row.id, changes=changes,
    )  # fmt: skip
    return ok(True)


def _known_overrides(script_id: str, overrides: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The overrides the script has, and the keys it does not (the document's own example
    overrides ``orderSize``, which no grid has)."""
    fields = get_script(script_id).settings_model.model_fields
    keys = {name for name in fields} | {f.alias for f in fields.values() if f.alias}
    known = {k: v for k, v in overrides.items() if k in keys}
    return known, sorted(k for k in overrides if k not in keys)


@router.post("/bots/clone", summary="Copy a bot for one of the partner's users")
async def clone_bot(
    body: BotClone, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    source = await partner_bot(session, principal.user_id, body.bot_id)
    await accounts.get_managed_user(session, principal.user_id, body.user_id)
    venue, _ = await bot_venue(session, runtime, source)
    overrides, ignored = _known_overrides(source.script, settings_in(body.settings, venue))
    account, target = await _users_market(session, runtime, body.user_id)
    await _same_exchange(session, runtime, source, target, "userId")
    row = await bots.clone(
        session, runtime.venues, runtime.clock, source.user_id, source.id,
        target_user_id=body.user_id, overrides=overrides, follow_updates=body.follow_updates,
        account_id=account,
    )  # fmt: skip
    answer = ok((await _views(session, runtime, [row]))[0])
    if ignored:
        answer["message"] = f"ignored settings a {source.script} bot does not have: " + ", ".join(
            ignored
        )
    return answer


@router.post("/bots/start", summary="Start a stopped bot (or resume a paused one)")
async def start_bot(
    body: BotRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await partner_bot(session, principal.user_id, body.bot_id, body.user_id)
    await bots.start(session, runtime.venues, row.user_id, row.id)
    return ok(True)


@router.post("/bots/stop", summary="Stop a bot: its open orders are cancelled")
async def stop_bot(
    body: BotRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await partner_bot(session, principal.user_id, body.bot_id, body.user_id)
    await bots.stop(session, runtime.venues, row.user_id, row.id)
    return ok(True)


@router.post("/bots/delete", summary="Delete a bot (stopped first if it runs)")
async def delete_bot(
    body: BotRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await partner_bot(session, principal.user_id, body.bot_id, body.user_id)
    await bots.delete(session, runtime.clock, row.user_id, row.id, venues=runtime.venues)
    return ok(True)


def preview_order(order: PlaceOrder, venue: Any) -> dict[str, Any]:
    return {
        "direction": order.side.value.upper(),
        "orderType": bot_records.order_type(order.type.value),
        "price": _number(order.price) if order.price is not None else 0,
        "triggerPrice": _number(order.stop_price) if order.stop_price is not None else 0,
        "amount": _number(order.amount),
        "market": haas_symbol(venue.instrument(order.symbol), exchange_of(venue.name)),
        "note": order.note,
    }


@router.post("/bots/preview", summary="The orders a grid bot would place now (nothing created)")
async def preview_bot(
    body: BotPreview, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    await accounts.get_managed_user(session, principal.user_id, body.user_id)
    account, venue = await _users_market(session, runtime, body.user_id)
    exchange = exchange_of(venue.name)
    if body.exchange_id.upper() != exchange:
        wrong = f"{body.exchange_id} is not the user's exchange, {exchange}"
        raise ValidationFailed(wrong, details=[{"field": "exchangeId", "message": wrong}])
    _, orders = await bots.preview(
        session, runtime.venues, body.user_id, body.type, settings_in(body.settings, venue),
        account_id=account,
    )  # fmt: skip
    return ok([preview_order(o, venue) for o in orders])


router.include_router(bot_records.router)
router.include_router(signals.router)
