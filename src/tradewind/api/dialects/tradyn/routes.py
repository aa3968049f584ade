"""The 17 Tradyn endpoints. Each parses, resolves the key's account, calls the venue or the
trading service, and answers in Tradyn's shapes; no trading rule lives here.

The terminal trades the key's account on its venue (``for_account``), as the native terminal
does: a paper account, or an exchange account through CCXT. An exchange account is spot only:
it has no positions (what it holds is in ``/api/account``'s ``balances``), so what addresses
a position is refused naming its field, and its perpetuals do not exist."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Body, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.api.deps import RuntimeDep, SessionDep, require_scope
from tradewind.api.dialects.tradyn import views
from tradewind.api.dialects.tradyn.envelope import ok
from tradewind.api.dialects.tradyn.schemas import (
    CloseAllRequest,
    OrderModify,
    PendingOrderRequest,
    PositionCloseRequest,
    PositionModify,
    TradeRequest,
)
from tradewind.api.registry import public_router
from tradewind.domain.accounts import Scope
from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.domain.orders import Order, OrderType, PositionId, Side
from tradewind.services import trading
from tradewind.services.api_keys import Principal
from tradewind.venues.ops import OrderRequest
from tradewind.venues.paper.venue import PaperVenue

router = public_router(prefix="/compat/tradyn/v1", tags=["dialect: tradyn"])


@dataclass(frozen=True)
class Terminal:
    """The caller's venue account: the key's bound account, else the default paper one."""

    principal: Principal
    account_id: str
    venue: trading.TradingVenue
    session: AsyncSession

    async def tickets(self, orders: Iterable[Order]) -> views.Tickets:
        """The tickets of ``orders`` (and of the account's positions)."""
        found = await trading.tickets(self.session, self.venue, [o.id for o in orders])
        return views.Tickets(*found)

    async def order_id(self, ticket: int) -> str | None:
        return await trading.order_id_by_ticket(self.session, self.venue, self.account_id, ticket)

    def paper(self, field: str, what: str) -> PaperVenue:
        """The paper venue, for what needs positions; an exchange account (spot) has none:
        ValidationFailed naming ``field``."""
        if isinstance(self.venue, PaperVenue):
            return self.venue
        message = (
            f"{what}: account {self.account_id} is on {self.venue.name}, traded on spot markets "
            "only, so it has no positions (sell what you hold with POST /api/trade)"
        )
        raise ValidationFailed(message, details=[{"field": field, "message": message}])


def _terminal(scope: Scope) -> Any:
    async def dependency(
        session: SessionDep,
        runtime: RuntimeDep,
        principal: Principal = Depends(require_scope(scope)),  # a default: the closure's scope
    ) -> Terminal:
        account_id = await trading.resolve_account(
            session, runtime.venues, principal.user_id, key_account_id=principal.account_id
        )
        venue = await runtime.venues.for_account(session, principal.user_id, account_id)
        return Terminal(principal, account_id, venue, session)

    return Depends(dependency)


Reader = Annotated[Terminal, _terminal(Scope.READ)]
Trader = Annotated[Terminal, _terminal(Scope.TRADE)]

_PENDING = {
    2: (Side.BUY, OrderType.LIMIT),
    3: (Side.SELL, OrderType.LIMIT),
    4: (Side.BUY, OrderType.STOP),
    5: (Side.SELL, OrderType.STOP),
}


def _time(value: str | None, field: str) -> datetime | None:
    """Unix seconds or ISO-8601."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "invalid time", details=[{"field": field, "message": "unix seconds or ISO-8601"}]
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---- account -----------------------------------------------------------------------------------


@router.get("/api/account", summary="Balance, equity, margin, free margin, margin level, profit")
async def account(t: Reader) -> dict[str, Any]:
    profile = await trading.account_profile(t.session, t.venue, t.principal.user_id, t.account_id)
    mode = "demo" if profile.demo else "real"
    return ok(views.account(
        t.venue, t.account_id, name=profile.name, leverage=profile.leverage, trade_mode=mode,
    ))  # fmt: skip


@router.get("/api/account/history", summary="Closed deals between from and to")
async def history(
    t: Reader,
    from_: Annotated[str | None, Query(alias="from", description="Unix seconds or ISO-8601")] = None,
    to: Annotated[str | None, Query(description="Unix seconds or ISO-8601")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:  # fmt: skip
    page = await trading.list_fills(
        t.session,
        t.account_id,
        since=_time(from_, "from"),
        until=_time(to, "to"),
        limit=limit,
        cursor=None,
    )
    tickets = await t.tickets([])
    return ok(await views.deals(t.session, t.venue, page.items, tickets.positions))


# ---- positions (paper accounts: an exchange account, spot, has none) ----------------------------


def _position(venue: PaperVenue, t: Terminal, ticket: int) -> PositionId:
    target = venue.rows.ticket_by_number.get(ticket)
    for p in venue.positions(t.account_id):
        if p.id == target:
            return PositionId(p.id)
    raise NotFound(f"position {ticket} not found")


@router.get("/api/positions", summary="Open positions with P&L")
async def positions(t: Reader) -> dict[str, Any]:
    held = t.venue.positions(t.account_id)  # (none on an exchange account)
    tickets = await t.tickets([])
    return ok([views.position(t.venue, p, tickets) for p in held])


@router.get("/api/positions/{ticket}", summary="One open position")
async def position(ticket: int, t: Reader) -> dict[str, Any]:
    if not isinstance(t.venue, PaperVenue):
        raise NotFound(
            f"position {ticket} not found: account {t.account_id} is on {t.venue.name}, "
            "traded on spot markets only, so it has no positions"
        )
    venue = t.venue
    held = venue.position(t.account_id, _position(venue, t, ticket))
    return ok(views.position(venue, held, await t.tickets([])))


@router.put("/api/positions/{ticket}", summary="Modify a position's SL and TP")
async def modify_position(ticket: int, body: PositionModify, t: Trader) -> dict[str, Any]:
    venue = t.paper("ticket", f"position {ticket}")
    updated = await venue.set_protection(
        t.account_id, _position(venue, t, ticket), stop_loss=body.sl, take_profit=body.tp
    )
    return ok(views.position(venue, updated, await t.tickets([])))


@router.post(
    "/api/positions/close-all", summary="Close every open position (optionally of one symbol)"
)
async def close_all(
    t: Trader, body: Annotated[CloseAllRequest | None, Body()] = None
) -> dict[str, Any]:
    venue = t.paper("symbol" if body and body.symbol else "account", "close-all")
    symbol = views.native_symbol(venue, body.symbol) if body and body.symbol else None
    closed = await venue.close_all(t.account_id, symbol)
    tickets = await t.tickets([])
    return ok({"closed": len(closed), "tickets": [views.ticket_of(c, tickets) for c in closed]})


@router.post(
    "/api/positions/{ticket}/close", summary="Close a position, in full or in part (volume)"
)
async def close_position(
    ticket: int, t: Trader, body: Annotated[PositionCloseRequest | None, Body()] = None
) -> dict[str, Any]:
    venue = t.paper("ticket", f"position {ticket}")
    placed = await venue.close_position(
        t.account_id, _position(venue, t, ticket), body.volume if body else None
    )
    return ok(views.trade_result(venue, placed, await t.tickets([placed.order]), ticket=ticket))


# ---- orders ------------------------------------------------------------------------------------


async def _pending(t: Terminal, ticket: int) -> Order:
    order_id = await t.order_id(ticket)
    for order in t.venue.open_orders(t.account_id):
        if order_id is not None and order.id == order_id:
            return order
    raise NotFound(f"order {ticket} not found")


@router.get("/api/orders", summary="Pending orders")
async def orders(t: Reader) -> dict[str, Any]:
    pending = [o for o in t.venue.open_orders(t.account_id) if views.is_pending(o)]
    tickets = await t.tickets(pending)
    return ok([views.pending(t.venue, o, tickets) for o in pending])


@router.post("/api/orders", summary="Place an order (types 2-5 pend; 0 and 1 execute at market)")
async def place_order(body: PendingOrderRequest, t: Trader) -> dict[str, Any]:
    symbol = views.native_symbol(t.venue, body.symbol)
    if body.type in (0, 1):
        side = Side.BUY if body.type == 0 else Side.SELL
        placed = await t.venue.trade(
            t.account_id, symbol, side, body.volume, stop_loss=body.sl, take_profit=body.tp
        )
        return ok(views.trade_result(t.venue, placed, await t.tickets([placed.order])))
    if body.price is None:
        raise ValidationFailed(
            "price is required for pending orders",
            details=[{"field": "price", "message": "required"}],
        )
    side, kind = _PENDING[body.type]
    placed = await t.venue.place_order(t.account_id, OrderRequest(
        symbol=symbol, side=side, type=kind, amount=body.volume,
        price=body.price if kind is OrderType.LIMIT else None,
        stop_price=body.price if kind is OrderType.STOP else None, stop_loss=body.sl, take_profit=body.tp,
    ))  # fmt: skip
    return ok(views.pending(t.venue, placed.order, await t.tickets([placed.order])))


@router.put("/api/orders/{ticket}", summary="Modify a pending order's price, SL or TP")
async def modify_order(ticket: int, body: OrderModify, t: Trader) -> dict[str, Any]:
    current = await _pending(t, ticket)
    is_stop = current.type is OrderType.STOP
    order = await t.venue.amend_order(
        t.account_id, current.id,
        price=None if is_stop else body.price, stop_price=body.price if is_stop else None,
        stop_loss=body.sl, take_profit=body.tp,
    )  # fmt: skip
    return ok(views.pending(t.venue, order, await t.tickets([order])))


@router.delete("/api/orders/{ticket}", summary="Cancel a pending order")
async def cancel_order(ticket: int, t: Trader) -> dict[str, Any]:
    order = await t.venue.cancel_order(t.account_id, (await _pending(t, ticket)).id)
    return ok({"ticket": ticket, "status": order.status.value})


# ---- trading -----------------------------------------------------------------------------------


@router.post("/api/trade", summary="Execute a market order with optional SL/TP")
async def trade(body: TradeRequest, t: Trader) -> dict[str, Any]:
    symbol = views.native_symbol(t.venue, body.symbol)
    side = Side.BUY if body.action == "buy" else Side.SELL
    placed = await t.venue.trade(
        t.account_id, symbol, side, body.volume, stop_loss=body.sl, take_profit=body.tp
    )
    return ok(views.trade_result(t.venue, placed, await t.tickets([placed.order])))


@router.post(
    "/api/trade/check", summary="Validate a trade and report the margin it needs, placing nothing"
)
async def trade_check(body: TradeRequest, t: Trader) -> dict[str, Any]:
    symbol = views.native_symbol(t.venue, body.symbol)
    side = Side.BUY if body.action == "buy" else Side.SELL
    check = await t.venue.check_trade(
        t.account_id, symbol, side, body.volume, stop_loss=body.sl, take_profit=body.tp
    )
    return ok(views.trade_check(check))


# ---- market data -------------------------------------------------------------------------------


@router.get("/api/symbols", summary="Tradable symbols")
async def symbols(t: Reader) -> dict[str, Any]:
    return ok([views.symbol(i) for i in t.venue.instruments.values()])


@router.get("/api/symbols/{symbol}", summary="One symbol's specification")
async def symbol(symbol: str, t: Reader) -> dict[str, Any]:
    return ok(views.symbol(t.venue.instrument(views.native_symbol(t.venue, symbol))))


@router.get("/api/tick/{symbol}", summary="Latest bid, ask and last")
async def tick(symbol: str, t: Reader) -> dict[str, Any]:
    native = views.native_symbol(t.venue, symbol)
    return ok(views.tick(t.venue, native, await trading.priced_quote(t.venue, native)))


@router.get("/api/candles/{symbol}", summary="Candles: timeframe M1|M5|M15|H1|H4|D1, count bars")
async def candles(
    symbol: str, t: Reader, runtime: RuntimeDep,
    timeframe: Annotated[str, Query(pattern="^(M1|M5|M15|H1|H4|D1)$")] = "H1",
    count: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> dict[str, Any]:  # fmt: skip
    native = views.native_symbol(t.venue, symbol)
    bars = runtime.market.recent_candles(t.venue.name, native, views.TIMEFRAMES[timeframe], count)
    return ok(views.candles(native, bars))
