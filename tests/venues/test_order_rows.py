"""Both venues write an order's and a fill's row alike: the paper venue's persistence and the
exchange venues' store (``ccxt.store``) build them with the same functions. The same Order and
Fill, written through each and read back, give the same columns but for what an exchange order
has of its own: its record of the exchange (``programs.venue``), nothing reserved here, and
negative tickets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from tests.helpers import unique_email
from tests.venues.conftest import INSTRUMENTS, SPOT, T0, Ids
from tradewind.domain import events as ev
from tradewind.domain.orders import (
    AccountId,
    Bracket,
    Fill,
    FillId,
    Liquidity,
    Order,
    OrderId,
    OrderStatus,
    OrderType,
    PositionId,
    Rearm,
    Side,
    Trailing,
)
from tradewind.store.db import StoreRunner, create_engine
from tradewind.store.tables import FillRow, OrderRow, TradingAccountRow, UserRow
from tradewind.venues.ccxt import store
from tradewind.venues.paper import persistence
from tradewind.venues.paper.ledger import PaperLedger

ACCOUNT = AccountId("acc_rows")
ORDERS = cast(Table, OrderRow.__table__)
FILLS = cast(Table, FillRow.__table__)

# Every column given a value that is not its default, so a column one store left out shows.
ORDER = Order(
    id=OrderId("ord_rows"), account_id=ACCOUNT, symbol=SPOT, side=Side.SELL, type=OrderType.STOP,
    amount=D("0.5"), created_ms=T0, price=D("6900.5"), stop_price=D("6950"),
    client_order_id="mine-1", reduce_only=True, position_id=PositionId("pos_rows"),
    oco_group="oco_rows", trailing=Trailing(D("0.01"), D("7000")), trail_anchor=D("7010.25"),
    rearm=Rearm(D("7100"), flip=False), bracket=Bracket(D("7200"), None), reason="accepted",
    updated_ms=T0 + 1000, reserved=D("0.5"), reserved_asset="BTC",
)  # fmt: skip
FILLED = replace(
    ORDER, status=OrderStatus.PARTIALLY_FILLED, filled=D("0.2"), average_price=D("6940.1"),
    fee=D("1.38802"), triggered=True, reason="partly filled", updated_ms=T0 + 5000,
)  # fmt: skip
FILL = Fill(
    id=FillId("fil_rows"), order_id=ORDER.id, account_id=ACCOUNT, symbol=SPOT, side=Side.SELL,
    amount=D("0.2"), price=D("6940.1"), fee=D("1.38802"), fee_asset="USDT",
    liquidity=Liquidity.TAKER, ts_ms=T0 + 5000, position_id=PositionId("pos_rows"),
    realized_pnl=D("12.5"),
)  # fmt: skip
SENT = store.Sent(client_id="tw-mine-1", symbol=SPOT, order_id="8812", generation=1)


@pytest.fixture
async def runner(database_url: str) -> AsyncIterator[StoreRunner]:
    engine = create_engine(database_url)
    runner = StoreRunner(engine)
    now = datetime.now(UTC)

    def account(session: Session) -> None:
        session.add(UserRow(id="usr_rows", email=unique_email(), password_hash="x",
                            created_at=now, updated_at=now))  # fmt: skip
        session.flush()
        session.add(TradingAccountRow(
            id=ACCOUNT, user_id="usr_rows", venue="paper", name="rows", mode="netting",
            leverage=D(1), currency="USDT", is_default=False, initial_balances={}, leverages={},
            created_at=now,
        ))  # fmt: skip

    await runner.run(account)
    try:
        yield runner
    finally:
        runner.close()
        await engine.dispose()


Rows = tuple[dict[str, Any], dict[str, Any] | None]


async def _written(runner: StoreRunner, *units: Callable[[Session], None]) -> list[Rows]:
    """The order's row and the fill's (None before it is written) after each unit; then both
    are deleted, so the other store writes the same ids."""
    found: list[Rows] = []

    def read(session: Session) -> Rows:
        order = session.execute(select(ORDERS).where(ORDERS.c.id == ORDER.id)).one()
        fill = session.execute(select(FILLS).where(FILLS.c.id == FILL.id)).one_or_none()
        return dict(order._mapping), None if fill is None else dict(fill._mapping)

    for unit in units:
        await runner.run(unit)
        found.append(await runner.run(read))

    def clear(session: Session) -> None:
        session.execute(delete(FILLS).where(FILLS.c.id == FILL.id))
        session.execute(delete(ORDERS).where(ORDERS.c.id == ORDER.id))

    await runner.run(clear)
    return found


def _paper(events: list[ev.Event], tracker: persistence.RowTracker) -> Callable[[Session], None]:
    ledger = PaperLedger(INSTRUMENTS, new_id=Ids())
    now = datetime.now(UTC)
    return lambda session: persistence.write(
        session, tracker, ledger, events, accounts=[], touched_positions=[], now=now
    )


async def test_both_venues_write_an_order_and_its_fill_alike(runner: StoreRunner) -> None:
    tracker = persistence.RowTracker()
    paper = await _written(
        runner,
        _paper([ev.OrderAccepted(replace(ORDER))], tracker),  # inserted
        _paper([ev.OrderFilled(replace(FILLED), FILL)], tracker),  # updated, and the fill
    )
    sent = {ORDER.id: SENT}
    exchange = await _written(
        runner,
        store.rows(new=[replace(ORDER)], changed=[], fills=[], sent=sent),
        store.rows(new=[], changed=[replace(FILLED)], fills=[FILL], sent=sent),
    )

    for (paper_order, paper_fill), (live_order, live_fill), order in zip(
        paper, exchange, (ORDER, FILLED), strict=True
    ):
        # what is the exchange order's own, and nothing else
        assert paper_order.pop("ticket") == 1 and live_order.pop("ticket") == -1
        assert live_order["programs"].pop("venue") == SENT.dump()
        assert (paper_order.pop("reserved"), paper_order.pop("reserved_asset")) == (D("0.5"), "BTC")
        assert (live_order.pop("reserved"), live_order.pop("reserved_asset")) == (D(0), None)
        assert paper_order == live_order
        assert set(paper_order) | {"ticket", "reserved", "reserved_asset"} == set(ORDERS.c.keys())
        assert paper_order["programs"] == persistence.order_programs(order)
        assert paper_order["status"] == order.status.value and paper_order["filled"] == order.filled
        if paper_fill is None:
            assert live_fill is None
            continue
        assert live_fill is not None
        assert paper_fill.pop("ticket") == 1 and live_fill.pop("ticket") == -1
        assert paper_fill == live_fill
        assert set(paper_fill) | {"ticket"} == set(FILLS.c.keys())
    assert paper[-1][1] is not None and paper[-1][1]["realized_pnl"] == FILL.realized_pnl


async def test_both_venues_read_the_order_they_wrote(runner: StoreRunner) -> None:
    tracker = persistence.RowTracker()
    await runner.run(_paper([ev.OrderFilled(replace(FILLED), FILL)], tracker))
    async with runner.sessions() as session:
        assert await persistence.load_order(session, ORDER.id) == FILLED
        assert (await persistence.load_state(session, "paper")).open_orders == [FILLED]

    def clear(session: Session) -> None:
        session.execute(delete(FILLS))
        session.execute(delete(ORDERS))

    await runner.run(clear)
    await runner.run(
        store.rows(new=[replace(FILLED)], changed=[], fills=[FILL], sent={ORDER.id: SENT})
    )
    unreserved = replace(FILLED, reserved=D(0), reserved_asset=None)
    async with runner.sessions() as session:
        assert await persistence.load_order(session, ORDER.id) == unreserved
        stored = await store.load(session, [ACCOUNT])
    assert stored.open_orders == [unreserved]
    assert stored.client_ids == {(ACCOUNT, "mine-1"): ORDER.id}
    read = stored.sent[ORDER.id]
    assert (read.client_id, read.order_id, read.generation) == ("tw-mine-1", "8812", 1)
    assert (read.filled, read.cost) == (FILL.amount, FILL.amount * FILL.price)


async def test_a_reason_longer_than_its_column_is_cut_by_both(runner: StoreRunner) -> None:
    """A refusal naming a long value, or an exchange's error message, may be longer than the
    column's 200 characters: PostgreSQL would refuse the row (SQLite would keep it whole)."""
    long = replace(ORDER, reason="x" * 250)
    sent = {ORDER.id: SENT}
    ((paper, _),) = await _written(
        runner, _paper([ev.OrderAccepted(replace(long))], persistence.RowTracker())
    )
    ((live, _),) = await _written(
        runner, store.rows(new=[replace(long)], changed=[], fills=[], sent=sent)
    )
    assert paper["reason"] == live["reason"] == "x" * persistence.REASON_CHARS
