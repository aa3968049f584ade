"""Rows ↔ domain objects for the paper venue, and the one write path for its changes. An
order's row and a fill's are built here for the exchange venues too (``ccxt.store``): one
``orders`` and one ``fills`` table, written alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tradewind.domain import events as ev
from tradewind.domain.clock import from_ms, to_ms
from tradewind.domain.errors import NotFound
from tradewind.domain.numbers import decimal_text, optional_text
from tradewind.domain.orders import (
    AccountId,
    Bracket,
    Fill,
    Order,
    OrderId,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    PositionId,
    PositionMode,
    Rearm,
    Side,
    Trailing,
)
from tradewind.store.db import execute_many
from tradewind.store.tables import (
    BalanceRow,
    FillRow,
    LedgerEntryRow,
    OrderRow,
    PositionRow,
    TradingAccountRow,
)

if False:  # pragma: no cover - typing only, avoids an import cycle at run time
    from tradewind.venues.paper.ledger import PaperLedger


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account_id: AccountId
    user_id: str
    name: str
    mode: PositionMode
    leverage: Decimal
    currency: str
    is_default: bool
    initial_balances: dict[str, Decimal]
    leverages: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def of(cls, row: TradingAccountRow) -> AccountInfo:
        return cls(
            account_id=AccountId(row.id), user_id=row.user_id, name=row.name, mode=PositionMode(row.mode),
            leverage=row.leverage, currency=row.currency, is_default=row.is_default,
            initial_balances={k: Decimal(v) for k, v in row.initial_balances.items()},
            leverages={k: Decimal(v) for k, v in (row.leverages or {}).items()},
        )  # fmt: skip


@dataclass
class State:
    accounts: list[AccountInfo] = field(default_factory=list)
    balances: dict[str, dict[str, tuple[Decimal, Decimal]]] = field(default_factory=dict)
    positions: dict[str, list[Position]] = field(default_factory=dict)
    open_orders: list[Order] = field(default_factory=list)
    order_tickets: dict[str, int] = field(default_factory=dict)
    client_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    position_tickets: dict[str, int] = field(default_factory=dict)
    max_tickets: dict[str, int] = field(default_factory=dict)


class RowTracker:
    """What is already in the store, so writes are plain inserts or updates (no read-back),
    and the integer tickets MetaTrader-style clients address orders, deals and positions by."""

    def __init__(self) -> None:
        self.order_tickets: dict[str, int] = {}
        self.client_ids: dict[tuple[str, str], str] = {}
        self.position_tickets: dict[str, int] = {}
        self.ticket_by_number: dict[int, str] = {}
        self.balances: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        self.entries_written: dict[str, int] = {}
        self._next = {"order": 1, "fill": 1, "position": 1}

    def restore(self, state: State) -> None:
        self.order_tickets = dict(state.order_tickets)
        self.client_ids = dict(state.client_ids)
        self.position_tickets = dict(state.position_tickets)
        self.ticket_by_number = {
            t: i for i, t in {**self.order_tickets, **self.position_tickets}.items()
        }
        self.balances = {
            (a, asset): value for a, bals in state.balances.items() for asset, value in bals.items()
        }
        self._next = {k: state.max_tickets.get(k, 0) + 1 for k in ("order", "fill", "position")}

    def take(self, kind: str) -> int:
        # One counter for orders and positions, so a ticket number names one thing only.
        key = "position" if kind == "order" else kind
        if kind in ("order", "position"):
            value = max(self._next["order"], self._next["position"])
            self._next["order"] = self._next["position"] = value + 1
            return value
        value = self._next[key]
        self._next[key] = value + 1
        return value

    def order_by_client_id(self, account_id: str, client_order_id: str) -> str | None:
        return self.client_ids.get((account_id, client_order_id))


# ---- order and fill rows: the paper venue's and the exchange venues' (ccxt.store) ------------


def order_programs(order: Order) -> dict[str, Any]:
    programs: dict[str, Any] = {}
    if order.trailing:
        programs["trailing"] = {
            "callback": str(order.trailing.callback),
            "activation_price": None
            if order.trailing.activation_price is None
            else str(order.trailing.activation_price),
        }
    if order.trail_anchor is not None:
        programs["trail_anchor"] = str(order.trail_anchor)
    if order.rearm:
        programs["rearm"] = {"price": str(order.rearm.price), "flip": order.rearm.flip}
    if order.bracket:
        programs["bracket"] = {
            "stop_loss": None if order.bracket.stop_loss is None else str(order.bracket.stop_loss),
            "take_profit": None
            if order.bracket.take_profit is None
            else str(order.bracket.take_profit),
        }
    return programs


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def row_to_order(row: OrderRow) -> Order:
    p = row.programs or {}
    trailing = p.get("trailing")
    rearm = p.get("rearm")
    bracket = p.get("bracket")
    return Order(
        id=OrderId(row.id), account_id=AccountId(row.account_id), symbol=row.symbol, side=Side(row.side),
        type=OrderType(row.type), amount=row.amount, created_ms=to_ms(row.created_at), price=row.price,
        stop_price=row.stop_price, client_order_id=row.client_order_id, reduce_only=row.reduce_only,
        position_id=PositionId(row.position_id) if row.position_id else None, role=OrderRole(row.role),
        status=OrderStatus(row.status), filled=row.filled, average_price=row.average_price, fee=row.fee,
        triggered=row.triggered, oco_group=row.oco_group,
        trailing=Trailing(Decimal(trailing["callback"]), _dec(trailing["activation_price"])) if trailing else None,
        trail_anchor=_dec(p.get("trail_anchor")),
        rearm=Rearm(Decimal(rearm["price"]), bool(rearm["flip"])) if rearm else None,
        bracket=Bracket(_dec(bracket["stop_loss"]), _dec(bracket["take_profit"])) if bracket else None,
        reason=row.reason, updated_ms=to_ms(row.updated_at), reserved=row.reserved,
        reserved_asset=row.reserved_asset,
    )  # fmt: skip


REASON_CHARS = 200
"""The ``orders.reason`` column's length: a longer reason (an exchange's error message, a
refusal naming a long value) is cut, which PostgreSQL would otherwise refuse."""


def order_values(order: Order) -> dict[str, Any]:
    """The columns of an order's row that change over its life (``ORDER_COLUMNS``): what an
    update writes, and with ``new_order_row`` what an insert does. ``programs`` is a new dict,
    so a venue may add its own records to it."""
    return {
        "status": order.status.value, "filled": order.filled, "average_price": order.average_price,
        "fee": order.fee, "triggered": order.triggered, "price": order.price, "stop_price": order.stop_price,
        "amount": order.amount, "oco_group": order.oco_group, "programs": order_programs(order),
        "reason": None if order.reason is None else order.reason[:REASON_CHARS],
        "reserved": order.reserved, "reserved_asset": order.reserved_asset,
        "updated_at": from_ms(order.updated_ms or order.created_ms), "position_id": order.position_id,
    }  # fmt: skip


def new_order_row(order: Order, values: dict[str, Any]) -> dict[str, Any]:
    """A new order's row but its ticket (each venue counts its own): the columns fixed when
    it is made, and ``values``, its ``order_values`` with whatever the venue changed in them."""
    return {
        "id": order.id, "account_id": order.account_id, "symbol": order.symbol, "side": order.side.value,
        "type": order.type.value, "client_order_id": order.client_order_id, "reduce_only": order.reduce_only,
        "role": order.role.value, "created_at": from_ms(order.created_ms), **values,
    }  # fmt: skip


def fill_row(fill: Fill) -> dict[str, Any]:
    """A fill's row but its ticket (each venue counts its own)."""
    return {
        "id": fill.id, "order_id": fill.order_id, "account_id": fill.account_id, "symbol": fill.symbol,
        "side": fill.side.value, "amount": fill.amount, "price": fill.price, "fee": fill.fee,
        "fee_asset": fill.fee_asset, "liquidity": fill.liquidity.value, "position_id": fill.position_id,
        "realized_pnl": fill.realized_pnl, "ts": from_ms(fill.ts_ms),
    }  # fmt: skip


# ---- the paper venue's own rows --------------------------------------------------------------


def row_to_position(row: PositionRow) -> Position:
    return Position(
        id=PositionId(row.id), account_id=AccountId(row.account_id), symbol=row.symbol, side=Side(row.side),
        amount=row.amount, entry_price=row.entry_price, leverage=row.leverage, margin=row.margin,
        opened_ms=to_ms(row.opened_at), updated_ms=to_ms(row.updated_at), realized_pnl=row.realized_pnl,
        fees=row.fees, stop_loss=row.stop_loss, take_profit=row.take_profit,
        liquidation_price=row.liquidation_price,
        closed_ms=to_ms(row.closed_at) if row.closed_at else None, close_price=row.close_price,
    )  # fmt: skip


def _position_values(p: Position) -> dict[str, Any]:
    return {
        "amount": p.amount, "entry_price": p.entry_price, "leverage": p.leverage, "margin": p.margin,
        "realized_pnl": p.realized_pnl, "fees": p.fees, "stop_loss": p.stop_loss, "take_profit": p.take_profit,
        "liquidation_price": p.liquidation_price, "close_price": p.close_price,
        "updated_at": from_ms(p.updated_ms), "closed_at": from_ms(p.closed_ms) if p.closed_ms else None,
    }  # fmt: skip


async def load_state(session: AsyncSession, venue: str) -> State:
    state = State()
    accounts = (
        await session.scalars(select(TradingAccountRow).where(TradingAccountRow.venue == venue))
    ).all()
    ids = [a.id for a in accounts]
    state.accounts = [AccountInfo.of(a) for a in accounts]
    if ids:
        for b in (
            await session.scalars(select(BalanceRow).where(BalanceRow.account_id.in_(ids)))
        ).all():
            state.balances.setdefault(b.account_id, {})[b.asset] = (b.free, b.locked)
        for p in (
            await session.scalars(select(PositionRow).where(PositionRow.account_id.in_(ids)))
        ).all():
            state.position_tickets[p.id] = p.ticket
            if p.closed_at is None:
                state.positions.setdefault(p.account_id, []).append(row_to_position(p))
        open_statuses = [OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value]
        rows = (await session.execute(
            select(OrderRow.id, OrderRow.ticket, OrderRow.account_id, OrderRow.client_order_id, OrderRow.status)
            .where(OrderRow.account_id.in_(ids))
        )).all()  # fmt: skip
        open_ids = []
        for order_id, ticket, account_id, client_id, status in rows:
            state.order_tickets[order_id] = ticket
            if client_id:
                state.client_ids[(account_id, client_id)] = order_id
            if status in open_statuses:
                open_ids.append(order_id)
        if open_ids:
            found = (
                await session.scalars(
                    select(OrderRow).where(OrderRow.id.in_(open_ids)).order_by(OrderRow.id)
                )
            ).all()
            state.open_orders = [row_to_order(r) for r in found]
    for kind, column in (
        ("order", OrderRow.ticket),
        ("fill", FillRow.ticket),
        ("position", PositionRow.ticket),
    ):
        state.max_tickets[kind] = int(
            await session.scalar(select(func.coalesce(func.max(column), 0))) or 0
        )
    return state


async def load_order(session: AsyncSession, order_id: str) -> Order:
    row = await session.get(OrderRow, order_id)
    if row is None:
        raise NotFound("order not found")
    return row_to_order(row)


def write(
    session: Session,
    rows: RowTracker,
    ledger: PaperLedger,
    events: Sequence[ev.Event],
    *,
    accounts: list[str],
    touched_positions: Sequence[Position],
    now: datetime,
) -> None:
    """Write every row the events touched, the balances that changed and the new ledger
    entries: one batched statement per table and kind (insert or update)."""
    orders: dict[str, Order] = {}
    positions: dict[str, Position] = {p.id: p for p in touched_positions}
    fills: list[Fill] = []
    for event in events:
        if isinstance(event, ev.OrderFilled):
            orders[event.order.id] = event.order
            fills.append(event.fill)
        elif isinstance(
            event,
            (
                ev.OrderAccepted,
                ev.OrderTriggered,
                ev.OrderCancelled,
                ev.OrderRejected,
                ev.OrderAmended,
            ),
        ):
            orders[event.order.id] = event.order
        elif isinstance(
            event, (ev.PositionOpened, ev.PositionChanged, ev.PositionClosed, ev.Liquidated)
        ):
            positions[event.position.id] = event.position

    new_orders, changed_orders = [], []
    for order in orders.values():
        if order.id in rows.order_tickets:
            changed_orders.append({"k_id": order.id, **order_values(order)})
            continue
        ticket = rows.take("order")
        rows.order_tickets[order.id] = ticket
        rows.ticket_by_number[ticket] = order.id
        if order.client_order_id:
            rows.client_ids[(order.account_id, order.client_order_id)] = order.id
        new_orders.append({**new_order_row(order, order_values(order)), "ticket": ticket})
    new_positions, changed_positions = [], []
    for position in positions.values():
        if position.id in rows.position_tickets:
            changed_positions.append({"id": position.id, **_position_values(position)})
            continue
        ticket = rows.take("position")
        rows.position_tickets[position.id] = ticket
        rows.ticket_by_number[ticket] = position.id
        new_positions.append({
            "id": position.id, "account_id": position.account_id, "symbol": position.symbol,
            "side": position.side.value, "ticket": ticket, "opened_at": from_ms(position.opened_ms),
            **_position_values(position),
        })  # fmt: skip
    new_fills = [{**fill_row(f), "ticket": rows.take("fill")} for f in fills]
    new_balances: list[dict[str, Any]] = []
    changed_balances: list[dict[str, Any]] = []
    new_entries: list[dict[str, Any]] = []
    for account_id in accounts:
        for asset, balance in ledger.balances(AccountId(account_id)).items():
            key = (account_id, asset)
            state = (balance.free, balance.locked)
            if rows.balances.get(key) == state:
                continue
            values = {
                "account_id": account_id,
                "asset": asset,
                "free": balance.free,
                "locked": balance.locked,
                "updated_at": now,
            }
            (changed_balances if key in rows.balances else new_balances).append(values)
            rows.balances[key] = state
        start = rows.entries_written.get(account_id, 0)
        entries = ledger.entries(AccountId(account_id), start)
        new_entries += [
            {"id": e.id, "account_id": e.account_id, "asset": e.asset, "delta": e.delta, "kind": e.kind,
             "ref": e.ref, "ts": from_ms(e.ts_ms)}
            for e in entries
        ]  # fmt: skip
        rows.entries_written[account_id] = start + len(entries)

    # Parents before children (foreign keys): orders, then fills and positions. Core
    # statements built once (below) on the bare connection: the ORM's per-call statement
    # building cost more than SQLite itself.
    conn = session.connection()
    for stmt, params in (
        (INSERT_ORDER, new_orders),
        (UPDATE_ORDER, changed_orders),
        (_INSERT["positions"], new_positions),
        (_UPDATE["positions"], [_keyed(p, "id") for p in changed_positions]),
        (INSERT_FILL, new_fills),
        (_INSERT["balances"], new_balances),
        (_UPDATE["balances"], [_keyed(p, "account_id", "asset") for p in changed_balances]),
        (_INSERT["ledger_entries"], new_entries),
    ):
        execute_many(conn, stmt, params)


def _keyed(params: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Rename key columns to the ``k_`` bind names the prepared UPDATEs match on."""
    return {(f"k_{k}" if k in keys else k): v for k, v in params.items()}


def _update(table: Any, keys: tuple[str, ...], columns: Sequence[str]) -> Any:
    stmt = update(table)
    for key in keys:
        stmt = stmt.where(table.c[key] == bindparam(f"k_{key}"))
    return stmt.values({c: bindparam(c) for c in columns})


ORDER_COLUMNS = (
    "status", "filled", "average_price", "fee", "triggered", "price", "stop_price", "amount", "oco_group",
    "programs", "reason", "reserved", "reserved_asset", "updated_at", "position_id",
)  # fmt: skip
"""The columns ``order_values`` gives: what an order's update writes."""
_POSITION_COLUMNS = (
    "amount", "entry_price", "leverage", "margin", "realized_pnl", "fees", "stop_loss", "take_profit",
    "liquidation_price", "close_price", "updated_at", "closed_at",
)  # fmt: skip
_TABLES: dict[str, Table] = {
    t.__tablename__: cast(Table, t.__table__)
    for t in (OrderRow, PositionRow, FillRow, BalanceRow, LedgerEntryRow)
}
_INSERT = {name: insert(table) for name, table in _TABLES.items()}
_UPDATE = {
    "orders": _update(_TABLES["orders"], ("id",), ORDER_COLUMNS),
    "positions": _update(_TABLES["positions"], ("id",), _POSITION_COLUMNS),
    "balances": _update(
        _TABLES["balances"], ("account_id", "asset"), ("free", "locked", "updated_at")
    ),
}
INSERT_ORDER = _INSERT["orders"]
"""Inserts ``new_order_row`` rows with their tickets (both venues)."""
UPDATE_ORDER = _UPDATE["orders"]
"""Updates an order's ``ORDER_COLUMNS`` from ``order_values`` rows keyed by ``k_id`` (both venues)."""
INSERT_FILL = _INSERT["fills"]
"""Inserts ``fill_row`` rows with their tickets (both venues)."""


def event_message(event: ev.Event, rows: RowTracker) -> dict[str, Any]:
    """The stream message for an event (native shape; dialects translate it)."""
    name = type(event).__name__
    message: dict[str, Any] = {"type": _SNAKE.get(name, name)}
    if isinstance(
        event,
        (
            ev.OrderAccepted,
            ev.OrderTriggered,
            ev.OrderCancelled,
            ev.OrderRejected,
            ev.OrderAmended,
            ev.OrderFilled,
        ),
    ):
        o = event.order
        message["order"] = {
            "order_id": o.id, "ticket": rows.order_tickets.get(o.id), "account_id": o.account_id,
            "symbol": o.symbol, "side": o.side.value, "type": o.type.value, "status": o.status.value,
            "amount": decimal_text(o.amount), "filled": decimal_text(o.filled), "price": optional_text(o.price),
            "stop_price": optional_text(o.stop_price), "average_price": optional_text(o.average_price), "role": o.role.value,
            "client_order_id": o.client_order_id,
        }  # fmt: skip
        if isinstance(event, ev.OrderFilled):
            f = event.fill
            message["fill"] = {"fill_id": f.id, "amount": decimal_text(f.amount), "price": decimal_text(f.price), "fee": decimal_text(f.fee),
                               "fee_asset": f.fee_asset, "liquidity": f.liquidity.value, "position_id": f.position_id}  # fmt: skip
        if isinstance(event, (ev.OrderCancelled, ev.OrderRejected)):
            message["reason"] = event.reason
    elif isinstance(
        event, (ev.PositionOpened, ev.PositionChanged, ev.PositionClosed, ev.Liquidated)
    ):
        p = event.position
        message["position"] = {
            "position_id": p.id, "ticket": rows.position_tickets.get(p.id), "account_id": p.account_id,
            "symbol": p.symbol, "side": p.side.value, "amount": decimal_text(p.amount), "entry_price": decimal_text(p.entry_price),
            "realized_pnl": decimal_text(p.realized_pnl), "stop_loss": optional_text(p.stop_loss), "take_profit": optional_text(p.take_profit),
            "closed": p.closed_ms is not None, "close_price": optional_text(p.close_price),
        }  # fmt: skip
    elif isinstance(event, ev.BalanceChanged):
        message.update(
            account_id=event.account_id,
            asset=event.asset,
            free=decimal_text(event.free),
            locked=decimal_text(event.locked),
        )
    elif isinstance(event, (ev.MarginCall, ev.StopOut)):
        message.update(account_id=event.account_id, margin_level=decimal_text(event.margin_level))
        if isinstance(event, ev.StopOut):
            message["position_id"] = event.position_id
    return message


_SNAKE = {
    "OrderAccepted": "order_accepted", "OrderTriggered": "order_triggered", "OrderFilled": "order_filled",
    "OrderCancelled": "order_cancelled", "OrderRejected": "order_rejected", "OrderAmended": "order_amended",
    "PositionOpened": "position_opened", "PositionChanged": "position_changed", "PositionClosed": "position_closed",
    "BalanceChanged": "balance_changed", "MarginCall": "margin_call", "StopOut": "stop_out", "Liquidated": "liquidated",
}  # fmt: skip
