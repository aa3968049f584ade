"""TrynQuant's bots: list, create, get with its 20 most recent trades, start / stop / pause,
delete. Each parses, translates (``translate``) and calls the bots service; the bot engine
runs them like any other bot.

Where a bot trades: a paper bot (``is_paper_trading: true``) on the user's default paper
account, whatever ``exchange`` it names; a live one on the user's account on ``exchange``.
Tradewind's own exchange is ``paper`` (``/exchanges/supported/``), so a live bot there, or
one naming no exchange, trades the user's default paper account; any other exchange needs
an account of the user's there (the trading account that came with the user's keys for it,
docs/exchanges.md), else 400 saying so."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.api.deps import RuntimeDep, SessionDep, require_scope
from tradewind.api.dialects.trynquant import translate
from tradewind.api.dialects.trynquant.paths import both
from tradewind.api.dialects.trynquant.schemas import (
    BotAction,
    BotConfig,
    BotCreate,
    BotDetail,
    BotEnvelope,
    BotList,
    Message,
)
from tradewind.api.registry import public_router
from tradewind.domain.accounts import Scope
from tradewind.domain.bots import BotStatus
from tradewind.domain.errors import ValidationFailed
from tradewind.services import bots, trading
from tradewind.services.api_keys import Principal
from tradewind.services.pagination import MAX_LIMIT
from tradewind.store.tables import BotRow, FillRow, OrderRow
from tradewind.strategies.schema import InvalidSettings

router = public_router()

# The document's Authorization is an API key pair (``Bearer pk_…:sk_…``), not a login token.
Reader = Annotated[Principal, Depends(require_scope(Scope.READ, allow_jwt=False))]
Trader = Annotated[Principal, Depends(require_scope(Scope.TRADE, allow_jwt=False))]

RECENT_TRADES = 20
PAPER = "paper"
_TARGET = {"start": BotStatus.ACTIVE, "stop": BotStatus.STOPPED, "pause": BotStatus.PAUSED}


def _config(row: BotRow, runtime: Any) -> BotConfig:
    profit = bots.profit(row, runtime.venues.venue_of(row.account_id))
    return translate.bot_config(row, profit.total, PAPER)


async def _account(
    session: AsyncSession, venues: trading.Venues, user_id: str, body: BotCreate
) -> tuple[str, str]:
    """The account the bot trades on, and the exchange it shows (module docstring)."""
    named = (body.exchange or "").strip()
    shown = named or PAPER
    if body.is_paper_trading or named.lower() in ("", PAPER):
        return await trading.default_account(session, venues, user_id), shown
    accounts = [
        a for a in await trading.list_accounts(session, user_id) if a.venue == named.lower()
    ]
    if not accounts:
        message = (
            f"you have no {named} account: a live bot trades your own exchange account; add "
            f"your {named} keys first (POST /api/v1/exchange-accounts), or send "
            f"is_paper_trading: true to run this bot on paper, or exchange: {PAPER!r}"
        )
        raise ValidationFailed(message, details=[{"field": "exchange", "message": message}])
    accounts.sort(key=lambda a: (not a.is_default, a.id))
    return accounts[0].id, shown


async def _recent_fills(session: AsyncSession, row: BotRow, limit: int) -> list[FillRow]:
    """The newest fills of the bot's orders (its client ids are ``<bot id>:<seq>…``)."""
    stmt = (
        select(FillRow)
        .join(OrderRow, FillRow.order_id == OrderRow.id)
        .where(
            FillRow.account_id == row.account_id,
            OrderRow.account_id == row.account_id,
            OrderRow.client_order_id.startswith(f"{row.id}:", autoescape=True),
        )
        .order_by(FillRow.ts.desc(), FillRow.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def list_bots(principal: Reader, session: SessionDep, runtime: RuntimeDep) -> BotList:
    """The caller's bots (deleted ones are gone), newest first."""
    rows: list[BotRow] = []
    cursor: str | None = None
    while True:
        page = await bots.list_bots(
            session, principal.user_id, status=None, script=None, symbol=None, limit=MAX_LIMIT,
            cursor=cursor,
        )  # fmt: skip
        rows.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return BotList(bots=[_config(r, runtime) for r in rows])


async def create_bot(
    body: BotCreate, principal: Trader, session: SessionDep, runtime: RuntimeDep
) -> BotEnvelope:
    """A new bot, status ``stopped``."""
    script = translate.script_of(body.bot_type)
    account_id, exchange = await _account(session, runtime.venues, principal.user_id, body)
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    symbol = translate.market_symbol(
        venue.instruments, body.symbol, translate.is_derivative(script)
    )
    settings = translate.settings_for(script, body, symbol)
    new = bots.NewBot(
        script=script.id, name=body.name, settings=settings.values, account_id=account_id,
        investment=translate.dec(body.investment_usdt), leverage=Decimal(str(body.leverage)),
        stop_loss_pct=translate.dec(body.stop_loss), extra=translate.extra_for(body, exchange),
    )  # fmt: skip
    try:
        row = await bots.create(session, runtime.venues, runtime.clock, principal.user_id, new)
    except InvalidSettings as e:
        raise settings.named(e) from None
    return BotEnvelope(bot=_config(row, runtime))


async def get_bot(
    bot_id: str,
    principal: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
) -> BotDetail:
    """The bot and its 20 most recent trades, newest first."""
    row = await bots.get(session, principal.user_id, bot_id)
    config = _config(row, runtime)
    fills = await _recent_fills(session, row, RECENT_TRADES)
    return BotDetail(bot=config, trades=[translate.trade(f, row.id, config.symbol) for f in fills])


async def control_bot(
    bot_id: str,
    body: BotAction,
    principal: Trader,
    session: SessionDep,
    runtime: RuntimeDep,
) -> BotEnvelope:
    """start → active, stop → stopped, pause → paused; asking for the status the bot already
    has changes nothing and answers the bot."""
    row = await bots.get(session, principal.user_id, bot_id)
    if row.status != _TARGET[body.action].value:
        user = principal.user_id
        if body.action == "start":
            row = await bots.start(session, runtime.venues, user, bot_id)
        elif body.action == "pause":
            row = await bots.pause(session, runtime.venues, user, bot_id)
        else:
            row = await bots.stop(session, runtime.venues, user, bot_id)
    return BotEnvelope(bot=_config(row, runtime))


async def delete_bot(
    bot_id: str,
    principal: Trader,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Message:
    """Stopped first if it runs; its orders and fills stay in the account's records."""
    await bots.delete(session, runtime.clock, principal.user_id, bot_id, venues=runtime.venues)
    return Message(message=f"Bot {bot_id} deleted")


_ERRORS: dict[int | str, dict[str, Any]] = {400: {}, 401: {}}
_ONE: dict[int | str, dict[str, Any]] = {**_ERRORS, 404: {}}

for path in both("/bots/"):
    listed = path.endswith("/")
    router.add_api_route(path, list_bots, methods=["GET"], response_model=BotList, responses=_ERRORS,
                         summary="List all bots for the authenticated user", include_in_schema=listed)  # fmt: skip
    router.add_api_route(path, create_bot, methods=["POST"], status_code=status.HTTP_201_CREATED,
                         response_model=BotEnvelope, responses=_ERRORS, summary="Create a new bot",
                         include_in_schema=listed)  # fmt: skip
for path in both("/bots/{bot_id}/"):
    listed = path.endswith("/")
    router.add_api_route(path, get_bot, methods=["GET"], response_model=BotDetail, responses=_ONE,
                         summary="Get bot details and recent trades", include_in_schema=listed)  # fmt: skip
    router.add_api_route(path, control_bot, methods=["POST"], response_model=BotEnvelope, responses=_ONE,
                         summary="Control a bot (start / stop / pause)", include_in_schema=listed)  # fmt: skip
    router.add_api_route(path, delete_bot, methods=["DELETE"], response_model=Message, responses=_ONE,
                         summary="Delete a bot permanently", include_in_schema=listed)  # fmt: skip
