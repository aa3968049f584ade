"""Tradewind objects in Tradyn's shapes: numbers (not strings), lots, integer tickets,
unix-second times, MetaTrader order types and symbol names without separators.

Tickets come from ``Tickets``: the paper venue's own (in memory), or an exchange account's
order tickets read from the store, where its venue wrote them (negative numbers); an exchange
account has no positions, so no position tickets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.domain.instruments import Instrument, InstrumentKind
from tradewind.domain.orders import Order, OrderRole, OrderType, Position, Side
from tradewind.services import trading
from tradewind.store.tables import FillRow, OrderRow
from tradewind.venues.matching import Quote
from tradewind.venues.ops import Placed
from tradewind.venues.requests import TradeCheck

TIMEFRAMES = {"M1": "1m", "M5": "5m", "M15": "15m", "H1": "1h", "H4": "4h", "D1": "1d"}
_PENDING_TYPE = {
    (Side.BUY, OrderType.LIMIT): 2,
    (Side.SELL, OrderType.LIMIT): 3,
    (Side.BUY, OrderType.STOP): 4,
    (Side.SELL, OrderType.STOP): 5,
    (Side.BUY, OrderType.STOP_LIMIT): 6,
    (Side.SELL, OrderType.STOP_LIMIT): 7,
}


@dataclass(frozen=True)
class Tickets:
    """Order and position id → ticket, covering at least the orders and positions answered."""

    orders: Mapping[str, int]
    positions: Mapping[str, int] = field(default_factory=dict)


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _secs(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000


def tradyn_name(instrument: Instrument) -> str:
    """``BTC/USDT`` → ``BTCUSDT``; perpetual ``BTC/USDT:USDT`` → ``BTCUSDT.P``; ``EURUSD`` as is."""
    name = instrument.base + instrument.quote
    return name + ".P" if instrument.kind is InstrumentKind.PERPETUAL else name


def native_symbol(venue: trading.TradingVenue, name: str) -> str:
    """A Tradyn (or native) symbol name → the venue's symbol; 404 when unknown, 400 naming
    ``symbol`` for a perpetual (``.P``) on a venue traded on spot markets only."""
    if name in venue.instruments:
        return name
    wanted = name.upper()
    for symbol, instrument in venue.instruments.items():
        if tradyn_name(instrument) == wanted:
            return symbol
    if wanted.endswith(".P") and not venue.capabilities.derivatives:
        message = f"{venue.name} is traded on spot markets only: no perpetual {name}"
        raise ValidationFailed(message, details=[{"field": "symbol", "message": message}])
    raise NotFound(f"Symbol {name} not found")


def account(
    venue: trading.TradingVenue, account_id: str, *, name: str, leverage: Decimal, trade_mode: str
) -> dict[str, Any]:
    s = venue.summary(account_id)
    balances = sorted(venue.balances(account_id).values(), key=lambda b: b.asset)
    return {
        "login": account_id, "name": name, "balance": _f(s.balance), "equity": _f(s.equity),
        "margin": _f(s.margin), "free_margin": _f(s.free_margin), "margin_level": _f(s.margin_level),
        "profit": _f(s.profit), "currency": s.currency, "leverage": int(leverage),
        "trade_mode": trade_mode,
        "balances": [{"asset": b.asset, "free": _f(b.free), "locked": _f(b.locked),
                      "total": _f(b.free + b.locked)} for b in balances if b.free or b.locked],
    }  # fmt: skip


def position(venue: trading.TradingVenue, p: Position, tickets: Tickets) -> dict[str, Any]:
    instrument = venue.instrument(p.symbol)
    mark = venue.mark(p.symbol)
    return {
        "ticket": tickets.positions.get(p.id), "symbol": tradyn_name(instrument),
        "type": "buy" if p.side is Side.BUY else "sell", "volume": _f(p.amount), "open_price": _f(p.entry_price),
        "current_price": _f(mark), "sl": _f(p.stop_loss), "tp": _f(p.take_profit),
        "profit": _f(trading.unrealized_pnl(p, instrument, mark)), "swap": 0.0, "commission": _f(-p.fees),
        "margin": _f(p.margin), "open_time": _secs(p.opened_ms), "position_id": p.id,
    }  # fmt: skip


def is_pending(order: Order) -> bool:
    return order.role is OrderRole.ENTRY and order.type is not OrderType.MARKET


def pending(venue: trading.TradingVenue, o: Order, tickets: Tickets) -> dict[str, Any]:
    return {
        "ticket": tickets.orders.get(o.id), "symbol": tradyn_name(venue.instrument(o.symbol)),
        "type": _PENDING_TYPE.get((o.side, o.type), 0 if o.side is Side.BUY else 1),
        "volume": _f(o.amount), "price": _f(o.price if o.type is OrderType.LIMIT else o.stop_price),
        "stop_limit_price": _f(o.price) if o.type is OrderType.STOP_LIMIT else None,
        "sl": _f(o.bracket.stop_loss) if o.bracket else None, "tp": _f(o.bracket.take_profit) if o.bracket else None,
        "state": o.status.value, "time": _secs(o.created_ms), "order_id": o.id,
    }  # fmt: skip


def ticket_of(placed: Placed, tickets: Tickets) -> int | None:
    fill = placed.fills[0] if placed.fills else None
    if fill is not None and fill.position_id and fill.position_id in tickets.positions:
        return tickets.positions[fill.position_id]
    return tickets.orders.get(placed.order.id)


def trade_result(
    venue: trading.TradingVenue, placed: Placed, tickets: Tickets, ticket: int | None = None
) -> dict[str, Any]:
    o = placed.order
    fill = placed.fills[0] if placed.fills else None
    position = None
    if fill is not None and fill.position_id:
        for p in venue.positions(o.account_id):
            if p.id == fill.position_id:
                position = p
    return {
        "ticket": ticket if ticket is not None else ticket_of(placed, tickets),
        "order": tickets.orders.get(o.id), "symbol": tradyn_name(venue.instrument(o.symbol)),
        "type": "buy" if o.side is Side.BUY else "sell", "volume": _f(o.filled or o.amount),
        "price": _f(o.average_price), "sl": _f(position.stop_loss) if position else None,
        "tp": _f(position.take_profit) if position else None, "commission": _f(-o.fee),
        "profit": _f(sum((f.realized_pnl for f in placed.fills), Decimal(0))),
        "time": _secs(fill.ts_ms if fill else o.created_ms), "order_id": o.id,
    }  # fmt: skip


def trade_check(check: TradeCheck) -> dict[str, Any]:
    return {
        "valid": check.valid, "required_margin": _f(check.required_margin), "free_margin": _f(check.free_margin),
        "free_margin_after": _f(check.free_margin - check.required_margin), "price": _f(check.price),
        "error": check.error,
    }  # fmt: skip


async def deals(
    session: AsyncSession, venue: trading.TradingVenue, fills: Sequence[FillRow],
    position_tickets: Mapping[str, int],
) -> list[dict[str, Any]]:  # fmt: skip
    order_ids = {f.order_id for f in fills}
    info = {}
    if order_ids:
        rows = await session.execute(
            select(OrderRow.id, OrderRow.ticket, OrderRow.reduce_only).where(
                OrderRow.id.in_(order_ids)
            )
        )
        info = {i: (t, r) for i, t, r in rows.all()}
    out = []
    for f in sorted(fills, key=lambda f: f.id):
        ticket, reduce_only = info.get(f.order_id, (None, False))
        out.append({
            "ticket": f.ticket, "order": ticket, "position": position_tickets.get(f.position_id or ""),
            "symbol": tradyn_name(venue.instrument(f.symbol)), "type": f.side,
            "entry": "out" if reduce_only or f.realized_pnl != 0 else "in", "volume": _f(f.amount),
            "price": _f(f.price), "profit": _f(f.realized_pnl), "commission": _f(-f.fee), "swap": 0.0,
            "time": int(f.ts.timestamp()),
        })  # fmt: skip
    return out


def symbol(i: Instrument) -> dict[str, Any]:
    return {
        "symbol": tradyn_name(i), "name": i.symbol, "description": f"{i.base} vs {i.quote} ({i.kind.value})",
        "digits": i.price_decimals, "point": _f(i.tick_size), "contract_size": _f(i.contract_size),
        "volume_min": _f(i.min_amount), "volume_max": 1000000.0, "volume_step": _f(i.amount_step),
        "currency_base": i.base, "currency_profit": i.quote, "currency_margin": i.quote,
        "leverage_max": _f(i.max_leverage), "spread": int(2 * i.half_spread / i.tick_size),
        "trade_mode": "full", "type": i.kind.value,
    }  # fmt: skip


def tick(venue: trading.TradingVenue, native: str, q: Quote) -> dict[str, Any]:
    return {
        "symbol": tradyn_name(venue.instrument(native)), "bid": _f(q.bid), "ask": _f(q.ask), "last": _f(q.last),
        "time": q.ts_ms // 1000, "time_msc": q.ts_ms,
    }  # fmt: skip


def candles(native: str, bars: Any) -> list[dict[str, Any]]:
    return [
        {"time": int(ts) // 1000, "open": float(o), "high": float(h), "low": float(lo), "close": float(c),
         "volume": float(v)}
        for ts, o, h, lo, c, v in zip(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True)
    ]  # fmt: skip
