"""What a HaasOnline bot did: its open orders, its log, its open and closed positions, and
the orders of one position, in the document's fields (unix seconds, numbers, ``BUY``/``SELL``,
``LONG``/``SHORT``, HaasOnline symbols). Included in ``bots.router``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import select

from tradewind.api.deps import RuntimeDep, SessionDep
from tradewind.api.dialects.haas.envelope import ok
from tradewind.api.dialects.haas.routes import (
    DEFAULT_PAGE,
    Body,
    PageRequest,
    Partner,
    exchange_of,
    haas_symbol,
    page_args,
)
from tradewind.api.registry import public_router
from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.services import bots
from tradewind.store.tables import (
    BotLogRow,
    BotRow,
    OrderRow,
    PositionRow,
    TradingAccountRow,
    UserRow,
)

router = public_router(tags=["dialect: haas"])


class BotRecordsRef(Body):
    bot_id: str = Field(alias="botId", min_length=1)
    user_id: str | None = Field(
        default=None, alias="userId", description="Optional: the bot's owner, checked if given."
    )


class BotPageRequest(PageRequest):
    bot_id: str = Field(alias="botId", min_length=1)
    user_id: str | None = Field(default=None, alias="userId")


class BotLogsRequest(BotPageRequest):
    offset: int = Field(default=0, ge=0, description="Log lines to skip from the beginning.")


class PositionRef(BotRecordsRef):
    position_id: str = Field(alias="positionId", min_length=1)


async def partner_bot(
    session: SessionDep, partner_id: str, bot_id: str, user_id: str | None = None
) -> BotRow:
    """A live bot of one of the partner's users (of ``user_id`` if given), else NotFound."""
    stmt = (
        select(BotRow)
        .join(UserRow, UserRow.id == BotRow.user_id)
        .where(BotRow.id == bot_id, UserRow.partner_id == partner_id, BotRow.deleted_at.is_(None))
    )
    row = await session.scalar(stmt)
    if row is None or (user_id and row.user_id != user_id):
        raise NotFound("bot not found")
    return row


async def _bot(
    session: SessionDep, partner_id: str, body: BotRecordsRef | BotPageRequest
) -> BotRow:
    return await partner_bot(session, partner_id, body.bot_id, body.user_id)


async def bot_venues(
    session: SessionDep, runtime: RuntimeDep, rows: Sequence[BotRow]
) -> dict[str, tuple[Any, str]]:
    """Each bot's account -> the venue its views read (the one holding the account; the paper
    market's instruments and prices stand in while its exchange is not connected) and its
    exchange's HaasOnline id (``PAPER``, ``BINANCE``: the account's, from the store)."""
    ids = {r.account_id for r in rows}
    found = await session.execute(
        select(TradingAccountRow.id, TradingAccountRow.venue).where(TradingAccountRow.id.in_(ids))
    )
    names: dict[str, str] = {account: venue for account, venue in found.all()}
    return {
        a: (runtime.venues.venue_of(a), exchange_of(names.get(a, runtime.venues.paper.name)))
        for a in ids
    }


async def bot_venue(session: SessionDep, runtime: RuntimeDep, row: BotRow) -> tuple[Any, str]:
    """``bot_venues`` of one bot."""
    return (await bot_venues(session, runtime, [row]))[row.account_id]


def num(value: Decimal | None) -> float | int:
    if value is None:
        return 0
    return int(value) if value == value.to_integral_value() else float(value)


def unix(value: Any) -> int:
    return int(value.timestamp()) if value is not None else 0


def order_type(value: str) -> str:
    """``limit`` → ``Limit``, ``stop_market`` → ``StopMarket``."""
    return "".join(word.capitalize() for word in value.split("_"))


def _instrument(venue: Any, symbol: str) -> Any:
    try:
        return venue.instrument(symbol)
    except NotFound:
        return None


def _market(venue: Any, symbol: str, exchange: str) -> str:
    instrument = _instrument(venue, symbol)
    return haas_symbol(instrument, exchange) if instrument is not None else symbol


def _fee_currency(venue: Any, symbol: str) -> str:
    instrument = _instrument(venue, symbol)
    return str(instrument.quote) if instrument is not None else ""


def open_order_view(row: OrderRow, bot: BotRow, venue: Any, exchange: str) -> dict[str, Any]:
    return {
        "orderId": row.id, "exchangeOrderId": str(row.ticket), "positionId": row.position_id or "",
        "status": row.status.upper(), "timestamp": unix(row.created_at),
        "direction": row.side.upper(), "orderType": order_type(row.type), "price": num(row.price),
        "triggerPrice": num(row.stop_price), "tradePrice": num(row.average_price or row.price),
        "amount": num(row.amount), "amountFilled": num(row.filled), "feeCosts": num(row.fee),
        "feeCurrency": _fee_currency(venue, row.symbol), "grossProfit": 0, "roi": 0,
        "market": _market(venue, row.symbol, exchange), "leverage": num(bot.leverage),
        "note": row.reason or row.role,
    }  # fmt: skip


@router.post("/bots/orders", summary="A bot's open orders")
async def open_orders(
    body: BotRecordsRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    bot = await _bot(session, principal.user_id, body)
    page = await bots.orders(
        session, bot.user_id, bot.id, status="open", limit=DEFAULT_PAGE, cursor=None
    )
    venue, exchange = await bot_venue(session, runtime, bot)
    return ok([open_order_view(r, bot, venue, exchange) for r in reversed(page.items)])


# ---- logs --------------------------------------------------------------------------------


def _line_token(line: int) -> str:
    return base64.urlsafe_b64encode(str(line).encode()).decode().rstrip("=")


def _after_line(token: str | None) -> int:
    if not token:
        return 0
    try:
        value = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            "invalid nextPageId",
            details=[{"field": "nextPageId", "message": "not a nextPageId from this API"}],
        ) from None


def log_view(row: BotLogRow) -> dict[str, Any]:
    return {
        "lineNumber": row.line, "timestamp": unix(row.ts), "severity": row.severity,
        "color": row.color, "message": row.message,
    }  # fmt: skip


@router.post("/bots/logs", summary="A bot's log, oldest first, paginated")
async def bot_logs(body: BotLogsRequest, principal: Partner, session: SessionDep) -> dict[str, Any]:
    bot = await _bot(session, principal.user_id, body)
    limit, _ = page_args(PageRequest(limit=body.limit))
    after = _after_line(body.next_page_id)
    stmt = (
        select(BotLogRow)
        .where(BotLogRow.bot_id == bot.id, BotLogRow.line > after)
        .order_by(BotLogRow.line)
        .offset(body.offset)
        .limit(limit + 1)
    )
    rows = list((await session.scalars(stmt)).all())
    items = rows[:limit]
    token = _line_token(items[-1].line) if len(rows) > limit and items else None
    return ok({"items": [log_view(r) for r in items], "nextPageId": token})


# ---- positions ---------------------------------------------------------------------------


def _enters(order: OrderRow, position: PositionRow) -> bool:
    return order.side == position.side


def position_view(
    row: PositionRow, orders: list[OrderRow], venue: Any, exchange: str
) -> dict[str, Any]:
    instrument = _instrument(venue, row.symbol)
    base = instrument.base if instrument is not None else ""
    quote = instrument.quote if instrument is not None else ""
    contract = instrument.contract_size if instrument is not None else Decimal(1)
    sign = 1 if row.side == "buy" else -1
    is_open = row.closed_at is None
    amount = (
        row.amount if is_open else sum((o.filled for o in orders if _enters(o, row)), Decimal(0))
    )
    mark = venue.mark(row.symbol) if is_open and instrument is not None else None
    unrealized = (mark - row.entry_price) * row.amount * contract * sign if mark else Decimal(0)
    invested = row.entry_price * amount * contract / (row.leverage or Decimal(1))
    roi = (row.realized_pnl + unrealized) / invested * 100 if invested else Decimal(0)
    return {
        "positionId": row.id, "status": "OPEN" if is_open else "CLOSED",
        "timestamp": unix(row.opened_at), "direction": "LONG" if sign > 0 else "SHORT",
        "enterPrice": num(row.entry_price), "exitPrice": None if is_open else num(row.close_price),
        "amount": num(amount), "amountLabel": f"{amount.normalize():f} {base}",
        "unrealizedProfit": num(unrealized), "realizedProfit": num(row.realized_pnl),
        "profitLabel": f"{row.realized_pnl:.2f} {quote}", "roi": round(float(roi), 2),
        "feeCosts": num(row.fees), "market": _market(venue, row.symbol, exchange), "leverage": num(row.leverage),
        "openTime": unix(row.opened_at), "closeTime": unix(row.closed_at), "orderCount": len(orders),
    }  # fmt: skip


async def _position_orders(session: SessionDep, bot: BotRow, position_id: str) -> list[OrderRow]:
    try:
        return await bots.position_orders(session, bot.user_id, bot.id, position_id)
    except NotFound:
        return []


@router.post("/bots/positions", summary="A bot's open positions")
async def open_positions(
    body: BotRecordsRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    bot = await _bot(session, principal.user_id, body)
    page = await bots.positions(
        session, bot.user_id, bot.id, status="open", limit=DEFAULT_PAGE, cursor=None
    )
    venue, exchange = await bot_venue(session, runtime, bot)
    return ok([
        position_view(p, await _position_orders(session, bot, p.id), venue, exchange)
        for p in page.items
    ])  # fmt: skip


@router.post("/bots/positions/closed", summary="A bot's closed positions, paginated")
async def closed_positions(
    body: BotPageRequest, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    bot = await _bot(session, principal.user_id, body)
    limit, cursor = page_args(body)
    page = await bots.positions(
        session, bot.user_id, bot.id, status="closed", limit=limit, cursor=cursor
    )
    venue, exchange = await bot_venue(session, runtime, bot)
    items = [
        position_view(p, await _position_orders(session, bot, p.id), venue, exchange)
        for p in page.items
    ]
    return ok({"items": items, "nextPageId": page.next_cursor})


def position_order_view(order: OrderRow, position: PositionRow, venue: Any) -> dict[str, Any]:
    price = order.average_price or order.price or Decimal(0)
    profit = Decimal(0)
    if not _enters(order, position) and position.entry_price:
        sign = 1 if position.side == "buy" else -1
        instrument = _instrument(venue, order.symbol)
        contract = instrument.contract_size if instrument is not None else Decimal(1)
        profit = (price - position.entry_price) * order.filled * contract * sign - order.fee
    cost = position.entry_price * order.filled
    return {
        "orderId": order.id, "timestamp": unix(order.created_at), "direction": order.side.upper(),
        "orderType": order_type(order.type), "price": num(price), "amount": num(order.filled),
        "feeCosts": num(order.fee), "feeCurrency": _fee_currency(venue, order.symbol),
        "profit": num(profit), "roi": round(float(profit / cost * 100), 2) if cost else 0,
        "note": order.reason or order.role,
    }  # fmt: skip


@router.post("/bots/positions/orders", summary="The enter and exit orders of one position")
async def position_orders(
    body: PositionRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    bot = await _bot(session, principal.user_id, body)
    orders = await bots.position_orders(session, bot.user_id, bot.id, body.position_id)
    position = await session.get(PositionRow, body.position_id)
    if position is None:
        raise NotFound("position not found for this bot")
    venue, _ = await bot_venue(session, runtime, bot)
    views = [(o, position_order_view(o, position, venue)) for o in orders]
    return ok({
        "positionId": position.id,
        "enterOrders": [v for o, v in views if _enters(o, position)],
        "exitOrders": [v for o, v in views if not _enters(o, position)],
    })  # fmt: skip
