"""An exchange account's orders and fills in the store: the same ``orders`` and ``fills`` tables
as the paper venue's (the account's ``trading_accounts.venue`` names the exchange), so the bot
engine, its catch-up after a restart and the order queries read them alike.

What only a live order has (the id the exchange gave it, the client id it was sent under, how
many times it was replaced) rides in the order's ``programs`` JSON under ``venue``: no column
for it yet. An order with ``venue.order_id`` is known to have reached the exchange; one
without it was written before it was sent, and may or may not have arrived (reconciliation
looks it up by its client id before sending it again).

Tickets (the integers MetaTrader-style clients address orders by) are the paper venue's
counter, positive; exchange orders and fills take negative ones, counted down inside the
writing transaction, so the two never meet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tradewind.domain.orders import Fill, Order, OrderId, OrderStatus
from tradewind.store.db import execute_many
from tradewind.store.tables import FillRow, OrderRow
from tradewind.venues.paper.persistence import (
    INSERT_FILL,
    INSERT_ORDER,
    UPDATE_ORDER,
    fill_row,
    new_order_row,
    order_values,
    row_to_order,
)

ZERO = Decimal(0)


@dataclass(slots=True)
class Sent:
    """What the exchange knows of one of our orders: the client id it was sent under, the id
    it answered with, and what of it has been applied here (this placement only: an amended
    order is placed again, and ``prior_*`` hold what its earlier placements filled)."""

    client_id: str
    symbol: str
    order_id: str | None = None
    generation: int = 0
    filled: Decimal = ZERO
    cost: Decimal = ZERO
    fee: Decimal = ZERO
    prior_filled: Decimal = ZERO
    prior_cost: Decimal = ZERO
    prior_fee: Decimal = ZERO

    def dump(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id, "order_id": self.order_id, "generation": self.generation,
            "prior": [str(self.prior_filled), str(self.prior_cost), str(self.prior_fee)],
        }  # fmt: skip


@dataclass
class Stored:
    """An exchange venue's accounts as the store has them."""

    open_orders: list[Order] = field(default_factory=list)
    sent: dict[OrderId, Sent] = field(default_factory=dict)
    client_ids: dict[tuple[str, str], OrderId] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)
    """The open orders' tickets."""


async def load(session: AsyncSession, account_ids: Sequence[str]) -> Stored:
    """Every client id the accounts used, and their open orders with their tickets and what was
    applied of them."""
    stored = Stored()
    if not account_ids:
        return stored
    rows = (
        await session.execute(
            select(OrderRow.id, OrderRow.account_id, OrderRow.client_order_id).where(
                OrderRow.account_id.in_(account_ids), OrderRow.client_order_id.is_not(None)
            )
        )
    ).all()
    stored.client_ids = {(a, c): OrderId(i) for i, a, c in rows if c is not None}
    open_statuses = (OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value)
    found = (
        await session.scalars(
            select(OrderRow)
            .where(OrderRow.account_id.in_(account_ids), OrderRow.status.in_(open_statuses))
            .order_by(OrderRow.created_at, OrderRow.id)
        )
    ).all()
    stored.open_orders = [row_to_order(r) for r in found]
    stored.tickets = {r.id: r.ticket for r in found}
    costs: dict[str, Decimal] = {}
    if found:
        fills = await session.execute(
            select(FillRow.order_id, FillRow.amount, FillRow.price).where(
                FillRow.order_id.in_([r.id for r in found])
            )
        )
        for order_id, amount, price in fills.all():
            costs[order_id] = costs.get(order_id, ZERO) + amount * price
    for row, order in zip(found, stored.open_orders, strict=True):
        venue = (row.programs or {}).get("venue")
        if not venue:
            continue
        prior = [Decimal(v) for v in venue.get("prior", ["0", "0", "0"])]
        stored.sent[order.id] = Sent(
            client_id=venue["client_id"], symbol=order.symbol, order_id=venue.get("order_id"),
            generation=int(venue.get("generation", 0)), filled=order.filled - prior[0],
            cost=costs.get(order.id, ZERO) - prior[1], fee=order.fee - prior[2],
            prior_filled=prior[0], prior_cost=prior[1], prior_fee=prior[2],
        )  # fmt: skip
    return stored


def rows(
    *, new: Sequence[Order], changed: Sequence[Order], fills: Sequence[Fill],
    sent: dict[OrderId, Sent],
) -> Callable[[Session], dict[str, int]]:  # fmt: skip
    """The unit of work that inserts the new orders, updates the changed ones and inserts the
    fills (orders first: fills refer to them), and returns the new orders' tickets. The rows
    are built now, from the orders as they are now; only the tickets are taken inside the
    transaction."""
    inserted = [new_order_row(o, _values(o, sent.get(o.id))) for o in new]
    updated = [{"k_id": o.id, **_values(o, sent.get(o.id))} for o in changed]
    filled = [fill_row(f) for f in fills]

    def work(session: Session) -> dict[str, int]:
        conn = session.connection()
        for row, ticket in zip(inserted, _tickets(conn, OrderRow, len(inserted)), strict=True):
            row["ticket"] = ticket
        for row, ticket in zip(filled, _tickets(conn, FillRow, len(filled)), strict=True):
            row["ticket"] = ticket
        execute_many(conn, INSERT_ORDER, inserted)
        execute_many(conn, UPDATE_ORDER, updated)
        execute_many(conn, INSERT_FILL, filled)
        return {o.id: row["ticket"] for o, row in zip(new, inserted, strict=True)}

    return work


def _values(order: Order, sent: Sent | None) -> dict[str, Any]:
    """The paper venue's ``order_values``, and what differs for an exchange order: what the
    exchange knows of it (``programs.venue``) and nothing reserved here (the exchange holds the
    funds)."""
    values = order_values(order)
    if sent is not None:
        values["programs"]["venue"] = sent.dump()
    values.update(reserved=ZERO, reserved_asset=None)
    return values


def _tickets(conn: Any, table: type[OrderRow] | type[FillRow], n: int) -> list[int]:
    if n == 0:
        return []
    low = conn.execute(select(func.min(table.ticket))).scalar() or 0
    start = min(int(low), 0)
    return [start - i for i in range(1, n + 1)]
