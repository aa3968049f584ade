"""Domain objects and rows → native trading schemas."""

from __future__ import annotations

from tradewind.api.v1.trading_schemas import (
    AccountBalances,
    AccountRead,
    BalanceRead,
    FillRead,
    OrderRead,
    PositionRead,
)
from tradewind.domain.clock import from_ms
from tradewind.domain.orders import Fill, Order, OrderRole, OrderStatus, OrderType, Position, Side
from tradewind.services import trading
from tradewind.store.tables import FillRow, OrderRow, PositionRow, TradingAccountRow
from tradewind.venues.paper.venue import PaperVenue


def account_read(row: TradingAccountRow) -> AccountRead:
    return AccountRead(
        account_id=row.id, venue=row.venue, name=row.name, mode=row.mode, leverage=row.leverage,
        currency=row.currency, is_default=row.is_default, created_at=row.created_at,
    )  # fmt: skip


def balances_read(venue: trading.TradingVenue, account_id: str) -> AccountBalances:
    summary = venue.summary(account_id)
    balances = venue.balances(account_id)
    return AccountBalances(
        account_id=account_id, currency=summary.currency,
        balances=[BalanceRead(asset=b.asset, free=b.free, locked=b.locked, total=b.free + b.locked)
                  for b in sorted(balances.values(), key=lambda b: b.asset)],
        balance=summary.balance, equity=summary.equity, margin=summary.margin, free_margin=summary.free_margin,
        margin_level=summary.margin_level, unrealized_pnl=summary.profit,
    )  # fmt: skip


def fill_domain_read(f: Fill) -> FillRead:
    return FillRead(
        fill_id=f.id, order_id=f.order_id, symbol=f.symbol, side=f.side, amount=f.amount, price=f.price,
        fee=f.fee, fee_asset=f.fee_asset, liquidity=f.liquidity.value, position_id=f.position_id,
        realized_pnl=f.realized_pnl, ts=from_ms(f.ts_ms),
    )  # fmt: skip


def fill_read(row: FillRow) -> FillRead:
    return FillRead(
        fill_id=row.id, order_id=row.order_id, symbol=row.symbol, side=Side(row.side), amount=row.amount,
        price=row.price, fee=row.fee, fee_asset=row.fee_asset, liquidity=row.liquidity,
        position_id=row.position_id, realized_pnl=row.realized_pnl, ts=row.ts,
    )  # fmt: skip


def order_row_read(row: OrderRow, fills: list[FillRow] | None = None) -> OrderRead:
    return OrderRead(
        order_id=row.id, ticket=row.ticket, account_id=row.account_id, client_order_id=row.client_order_id,
        symbol=row.symbol, side=Side(row.side), type=OrderType(row.type), status=OrderStatus(row.status),
        amount=row.amount, filled=row.filled, price=row.price, stop_price=row.stop_price,
        average_price=row.average_price, fee=row.fee, reduce_only=row.reduce_only, position_id=row.position_id,
        role=OrderRole(row.role), reason=row.reason, created_at=row.created_at, updated_at=row.updated_at,
        fills=[fill_read(f) for f in fills or []],
    )  # fmt: skip


def order_read(venue: PaperVenue, order: Order, fills: list[Fill] | None = None) -> OrderRead:
    return OrderRead(
        order_id=order.id, ticket=venue.rows.order_tickets.get(order.id), account_id=order.account_id,
        client_order_id=order.client_order_id, symbol=order.symbol, side=order.side, type=order.type,
        status=order.status, amount=order.amount, filled=order.filled, price=order.price,
        stop_price=order.stop_price, average_price=order.average_price, fee=order.fee,
        reduce_only=order.reduce_only, position_id=order.position_id, role=order.role, reason=order.reason,
        created_at=from_ms(order.created_ms), updated_at=from_ms(order.updated_ms or order.created_ms),
        fills=[fill_domain_read(f) for f in fills or []],
    )  # fmt: skip


def position_read(venue: trading.TradingVenue, p: Position) -> PositionRead:
    instrument = venue.instrument(p.symbol)
    mark = venue.mark(p.symbol) if p.is_open else None
    ticket = venue.rows.position_tickets.get(p.id) if isinstance(venue, PaperVenue) else None
    return PositionRead(
        position_id=p.id, ticket=ticket, account_id=p.account_id,
        symbol=p.symbol, side=p.side, status="open" if p.is_open else "closed", amount=p.amount,
        entry_price=p.entry_price, mark_price=mark, unrealized_pnl=trading.unrealized_pnl(p, instrument, mark),
        realized_pnl=p.realized_pnl, margin=p.margin, leverage=p.leverage, liquidation_price=p.liquidation_price,
        stop_loss=p.stop_loss, take_profit=p.take_profit, fees=p.fees, close_price=p.close_price,
        opened_at=from_ms(p.opened_ms), closed_at=from_ms(p.closed_ms) if p.closed_ms else None,
    )  # fmt: skip


def position_row_read(row: PositionRow) -> PositionRead:
    return PositionRead(
        position_id=row.id, ticket=row.ticket, account_id=row.account_id, symbol=row.symbol, side=Side(row.side),
        status="open" if row.closed_at is None else "closed", amount=row.amount, entry_price=row.entry_price,
        mark_price=None, unrealized_pnl=None, realized_pnl=row.realized_pnl, margin=row.margin,
        leverage=row.leverage, liquidation_price=row.liquidation_price, stop_loss=row.stop_loss,
        take_profit=row.take_profit, fees=row.fees, close_price=row.close_price, opened_at=row.opened_at,
        closed_at=row.closed_at,
    )  # fmt: skip
