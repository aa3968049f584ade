"""``execute_many`` writes exactly what ``conn.execute(stmt, rows)`` writes, on both backends:
every column type the store uses, constants inside the statement, and the cases it hands back
to SQLAlchemy (a Python-side default, rows with different keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from tradewind.store import db
from tradewind.store.db import StoreRunner, create_engine, execute_many
from tradewind.store.types import ExactDecimal, UTCDateTime

META = MetaData()


def _table(name: str) -> Table:
    return Table(
        name, META,
        Column("id", String, primary_key=True), Column("amount", ExactDecimal()),
        Column("ts", UTCDateTime()), Column("doc", JSON), Column("flag", Boolean),
        Column("note", String), Column("n", Integer, default=7),
    )  # fmt: skip


FAST, SLOW, DEFAULTS = _table("em_fast"), _table("em_slow"), _table("em_defaults")
T0 = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "id": f"r{i}", "amount": Decimal("0.000000012345678901") * (i + 1),
            "ts": T0 + timedelta(seconds=i), "doc": {"levels": [i, None, "x"]},
            "flag": i % 2 == 0, "note": None if i % 3 else f"note {i}", "n": i,
        }
        for i in range(5)
    ]  # fmt: skip


def _update(table: Table) -> Any:
    # the WHERE's literal None and "keep" are constants of the statement, not row keys
    return (
        update(table)
        .where(table.c.id == bindparam("k_id"), table.c.note.is_not(None) | (table.c.id != "keep"))
        .values(note=bindparam("new_note"), amount=bindparam("new_amount"))
    )


FAST_UPDATE, SLOW_UPDATE = _update(FAST), _update(SLOW)


async def test_execute_many_writes_what_execute_writes(database_url: str) -> None:
    engine = create_engine(database_url)
    store = StoreRunner(engine)
    changes = [{"k_id": "r1", "new_note": "moved", "new_amount": Decimal("-1.5")},
               {"k_id": "r4", "new_note": None, "new_amount": Decimal(0)}]  # fmt: skip

    def work(session: Session) -> tuple[list[Any], list[Any]]:
        conn = session.connection()
        META.drop_all(conn, tables=[FAST, SLOW])
        META.create_all(conn, tables=[FAST, SLOW])
        execute_many(conn, insert(FAST), _rows())
        conn.execute(insert(SLOW), _rows())
        execute_many(conn, FAST_UPDATE, changes)
        conn.execute(SLOW_UPDATE, changes)
        read = [conn.execute(select(t).order_by(t.c.id)).all() for t in (FAST, SLOW)]
        META.drop_all(conn, tables=[FAST, SLOW])
        return read[0], read[1]

    try:
        fast, slow = await store.run(work)
    finally:
        store.close()
        await engine.dispose()
    assert fast == slow
    assert fast[1].note == "moved" and fast[1].amount == Decimal("-1.5")
    assert fast[0].ts == T0 and fast[0].doc == {"levels": [0, None, "x"]}
    # the prepared statements took the fast path (compiled once, nothing handed back)
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    keys = tuple(_rows()[0])
    assert db._prepared[(id(FAST_UPDATE), dialect, tuple(changes[0]))][1] is not None
    assert any(k[1:] == (dialect, keys) and v[1] is not None for k, v in db._prepared.items())


async def test_what_it_cannot_prepare_goes_through_sqlalchemy(database_url: str) -> None:
    engine = create_engine(database_url)
    store = StoreRunner(engine)
    table = DEFAULTS
    without_n = [{k: v for k, v in row.items() if k != "n"} for row in _rows()]
    mixed = [{"id": "m1", "note": "a"}, {"id": "m2", "flag": True}]  # other keys per row
    stmt = insert(table)

    def work(session: Session) -> list[Any]:
        conn = session.connection()
        META.drop_all(conn, tables=[table])
        META.create_all(conn, tables=[table])
        execute_many(conn, stmt, without_n)  # n has a Python-side default
        for row in mixed:
            execute_many(conn, stmt, [row])
        execute_many(conn, stmt, [])  # nothing to do
        read = conn.execute(select(table.c.id, table.c.n, table.c.flag).order_by(table.c.id)).all()
        META.drop_all(conn, tables=[table])
        return list(read)

    try:
        read = await store.run(work)
    finally:
        store.close()
        await engine.dispose()
    assert [(r.id, r.n) for r in read] == [("m1", 7), ("m2", 7)] + [(f"r{i}", 7) for i in range(5)]
    assert read[1].flag is True
