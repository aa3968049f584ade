"""The trading terminal, natively: accounts, balances, orders, positions and fills, on a paper
account or an exchange account (its venue: paper, or the exchange's through CCXT)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.api.deps import FullScope, ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, PageOf, errors
from tradewind.api.v1.trading_schemas import (
    AccountBalances,
    AccountCreate,
    AccountRead,
    FillRead,
    OrderAmend,
    OrderCreate,
    OrderRead,
    PositionClose,
    PositionProtect,
    PositionRead,
)
from tradewind.api.v1.trading_views import (
    account_read,
    balances_read,
    fill_read,
    order_read,
    order_row_read,
    position_read,
    position_row_read,
)
from tradewind.domain.orders import Fill, Order, PositionId, Trailing
from tradewind.services import trading
from tradewind.venues.ops import OrderRequest
from tradewind.venues.paper.venue import PaperVenue

router = public_router(prefix="/accounts", tags=["trading"])
ACCOUNT = "/{account_id}"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AccountRead, responses=errors(401, 403, 422),
             summary="Open a paper account")  # fmt: skip
async def create_account(
    body: AccountCreate, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> AccountRead:
    info = await trading.open_paper_account(
        runtime.venues, principal.user_id, name=body.name, balances=body.balances, mode=body.mode,
        leverage=body.leverage, currency=body.currency,
    )  # fmt: skip
    return account_read(await trading.owned_account(session, principal.user_id, info.account_id))


@router.get(
    "", response_model=list[AccountRead], responses=errors(401), summary="Your trading accounts"
)
async def list_accounts(
    principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> list[AccountRead]:
    await trading.default_account(session, runtime.venues, principal.user_id)
    return [account_read(r) for r in await trading.list_accounts(session, principal.user_id)]


@router.get(
    ACCOUNT, response_model=AccountRead, responses=errors(401, 404), summary="One trading account"
)
async def get_account(account_id: str, principal: ReadScope, session: SessionDep) -> AccountRead:
    return account_read(await trading.owned_account(session, principal.user_id, account_id))


@router.post(ACCOUNT + "/reset", response_model=AccountBalances, responses=errors(401, 403, 404, 422),
             summary="Cancel all orders, close all positions and restore the starting balances")  # fmt: skip
async def reset_account(
    account_id: str, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> AccountBalances:
    venue = await runtime.venues.paper_account(
        session, principal.user_id, account_id, what="a reset"
    )
    await venue.reset_account(account_id)
    return balances_read(venue, account_id)


@router.get(ACCOUNT + "/balances", response_model=AccountBalances, responses=errors(401, 404),
            summary="Balances, equity and margin")  # fmt: skip
async def get_balances(
    account_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> AccountBalances:
    return balances_read(
        await runtime.venues.for_account(session, principal.user_id, account_id), account_id
    )


# ---- orders ------------------------------------------------------------------------------------


@router.post(ACCOUNT + "/orders", status_code=status.HTTP_201_CREATED, response_model=OrderRead,
             responses=errors(400, 401, 403, 404, 422, 429, 503), summary="Place an order")  # fmt: skip
async def place_order(
    account_id: str,
    body: OrderCreate,
    principal: TradeScope,
    session: SessionDep,
    runtime: RuntimeDep,
) -> OrderRead:
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    placed = await venue.place_order(account_id, OrderRequest(
        symbol=body.symbol, side=body.side, type=body.type, amount=body.amount, price=body.price,
        stop_price=body.stop_price, client_order_id=body.client_order_id, reduce_only=body.reduce_only,
        stop_loss=body.stop_loss, take_profit=body.take_profit,
        trailing=Trailing(body.trailing.callback, body.trailing.activation_price) if body.trailing else None,
    ))  # fmt: skip
    if placed.duplicate:  # the first order's fills are in the store, not in this answer
        stored = await trading.get_order(session, account_id, placed.order.id)
        return order_row_read(stored, await trading.order_fills(session, stored.id))
    return await _answer(session, venue, placed.order, placed.fills)


async def _answer(
    session: AsyncSession,
    venue: trading.TradingVenue,
    order: Order,
    fills: list[Fill] | None = None,
) -> OrderRead:
    """The order as the venue left it: the paper venue's own (with its ticket, from memory);
    an exchange's from the store, where the venue wrote it (and the fills it got at once)
    before answering."""
    if isinstance(venue, PaperVenue):
        return order_read(venue, order, fills)
    row = await trading.get_order(session, order.account_id, order.id)
    return order_row_read(row, await trading.order_fills(session, order.id) if fills else None)


@router.get(
    ACCOUNT + "/orders",
    response_model=PageOf[OrderRead],
    responses=errors(401, 404),
    summary="Orders",
)
async def list_orders(
    account_id: str, principal: ReadScope, session: SessionDep,
    status: Literal["open", "closed", "all"] = "all", symbol: str | None = None,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[OrderRead]:  # fmt: skip
    await trading.owned_account(session, principal.user_id, account_id)
    page = await trading.list_orders(
        session, account_id, status=status, symbol=symbol, limit=limit, cursor=cursor
    )
    return PageOf[OrderRead](
        data=[order_row_read(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get(
    ACCOUNT + "/orders/{order_id}",
    response_model=OrderRead,
    responses=errors(401, 404),
    summary="One order",
)
async def get_order(
    account_id: str, order_id: str, principal: ReadScope, session: SessionDep
) -> OrderRead:
    await trading.owned_account(session, principal.user_id, account_id)
    row = await trading.get_order(session, account_id, order_id)
    return order_row_read(row, await trading.order_fills(session, order_id))


@router.patch(ACCOUNT + "/orders/{order_id}", response_model=OrderRead, responses=errors(400, 401, 403, 404, 422, 429, 503),
              summary="Amend an open order's price, stop price or amount")  # fmt: skip
async def amend_order(
    account_id: str,
    order_id: str,
    body: OrderAmend,
    principal: TradeScope,
    session: SessionDep,
    runtime: RuntimeDep,
) -> OrderRead:
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    order = await venue.amend_order(
        account_id, order_id, price=body.price, stop_price=body.stop_price, amount=body.amount
    )
    return await _answer(session, venue, order)


@router.delete(ACCOUNT + "/orders/{order_id}", response_model=OrderRead, responses=errors(401, 403, 404, 429, 503),
               summary="Cancel an open order")  # fmt: skip
async def cancel_order(
    account_id: str, order_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> OrderRead:
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    return await _answer(session, venue, await venue.cancel_order(account_id, order_id))


@router.get(
    ACCOUNT + "/fills", response_model=PageOf[FillRead], responses=errors(401, 404), summary="Fills"
)
async def list_fills(
    account_id: str, principal: ReadScope, session: SessionDep, symbol: str | None = None,
    since: datetime | None = Query(default=None, alias="from"), until: datetime | None = Query(default=None, alias="to"),
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[FillRead]:  # fmt: skip
    await trading.owned_account(session, principal.user_id, account_id)
    page = await trading.list_fills(
        session, account_id, symbol=symbol, since=since, until=until, limit=limit, cursor=cursor
    )
    return PageOf[FillRead](data=[fill_read(r) for r in page.items], next_cursor=page.next_cursor)


# ---- positions ---------------------------------------------------------------------------------


@router.get(
    ACCOUNT + "/positions",
    response_model=PageOf[PositionRead],
    responses=errors(401, 404),
    summary="Positions",
)
async def list_positions(
    account_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep,
    status: Literal["open", "closed"] = "open", limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[PositionRead]:  # fmt: skip
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    if status == "open":
        return PageOf[PositionRead](
            data=[position_read(venue, p) for p in venue.positions(account_id)], next_cursor=None
        )
    page = await trading.closed_positions(session, account_id, limit=limit, cursor=cursor)
    return PageOf[PositionRead](
        data=[position_row_read(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get(ACCOUNT + "/positions/{position_id}", response_model=PositionRead, responses=errors(401, 404),
            summary="One position")  # fmt: skip
async def get_position(
    account_id: str,
    position_id: str,
    principal: ReadScope,
    session: SessionDep,
    runtime: RuntimeDep,
) -> PositionRead:
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    for p in venue.positions(account_id):
        if p.id == position_id:
            return position_read(venue, p)
    return position_row_read(await trading.get_position_row(session, account_id, position_id))


@router.post(ACCOUNT + "/positions/{position_id}/close", response_model=OrderRead,
             responses=errors(400, 401, 403, 404, 422), summary="Close a position in full or in part")  # fmt: skip
async def close_position(
    account_id: str, position_id: str, body: PositionClose, principal: TradeScope, session: SessionDep,
    runtime: RuntimeDep,
) -> OrderRead:  # fmt: skip
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    placed = await venue.close_position(account_id, PositionId(position_id), body.amount)
    return await _answer(session, venue, placed.order, placed.fills)


@router.patch(ACCOUNT + "/positions/{position_id}", response_model=PositionRead,
              responses=errors(400, 401, 403, 404, 422), summary="Set or clear a position's stop-loss and take-profit")  # fmt: skip
async def protect_position(
    account_id: str, position_id: str, body: PositionProtect, principal: TradeScope, session: SessionDep,
    runtime: RuntimeDep,
) -> PositionRead:  # fmt: skip
    venue = await runtime.venues.for_account(session, principal.user_id, account_id)
    position = await venue.set_protection(
        account_id, position_id, stop_loss=body.stop_loss, take_profit=body.take_profit
    )
    return position_read(venue, position)
