"""``StoreRunner.run`` on SQLite: a unit runs on the caller's thread when the writer thread is
idle, on the writer thread when units are queued there, when it is ``bulk``, or when another
connection holds the write lock (without blocking the event loop, which that connection may
need to finish); and units never overtake one another."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.orm import Session

from tradewind.store import db
from tradewind.store.db import StoreRunner, create_engine

META = MetaData()
NOTES = Table("notes", META, Column("n", Integer, primary_key=True), Column("who", String))


async def _store(tmp_path: Path) -> StoreRunner:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tw.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    return StoreRunner(engine)


def _note(n: int, threads: list[str]):  # type: ignore[no-untyped-def]
    def work(session: Session) -> int:
        threads.append(threading.current_thread().name)
        session.execute(insert(NOTES).values(n=n, who=threading.current_thread().name))
        return n

    return work


async def test_an_idle_writer_runs_the_unit_on_the_callers_thread(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    threads: list[str] = []
    assert await store.run(_note(1, threads)) == 1
    assert threads == [threading.current_thread().name]
    assert await store.run(_note(2, threads), bulk=True) == 2  # bulk: the writer thread
    assert threads[1].startswith("store-writer")
    rows = await store.run(lambda s: s.execute(select(NOTES.c.n).order_by(NOTES.c.n)).all())
    assert [r.n for r in rows] == [1, 2]  # both committed
    store.close()
    await store._async.dispose()


async def test_units_queued_on_the_writer_are_not_overtaken(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    threads: list[str] = []
    gate = threading.Event()

    def slow(session: Session) -> int:
        gate.wait(5)
        return _note(1, threads)(session)

    first = asyncio.ensure_future(store.run(slow, bulk=True))
    await asyncio.sleep(0.05)  # the bulk unit is on the writer thread, waiting
    later = [asyncio.ensure_future(store.run(_note(n, threads))) for n in (2, 3)]
    await asyncio.sleep(0.05)
    assert threads == []  # nobody ran ahead of the queued unit
    gate.set()
    assert await asyncio.gather(first, *later) == [1, 2, 3]
    assert threads[0].startswith("store-writer") and threads[1].startswith("store-writer")
    order = await store.run(lambda s: s.execute(select(NOTES.c.n).order_by(NOTES.c.n)).all())
    assert [r.n for r in order] == [1, 2, 3]
    store.close()
    await store._async.dispose()


async def test_a_lock_held_by_an_async_session_sends_the_unit_to_the_writer_thread(
    tmp_path: Path,
) -> None:
    """The async session holds the write lock across an await; the unit must not wait for it
    on the event loop (the session could never commit: a deadlock until the busy timeout)."""
    store = await _store(tmp_path)
    threads: list[str] = []
    async with store.sessions() as session:
        await session.execute(text("INSERT INTO notes (n, who) VALUES (10, 'async')"))
        unit = asyncio.ensure_future(store.run(_note(11, threads)))
        ticks = 0
        while not threads and ticks < 100:  # the loop keeps running meanwhile
            await asyncio.sleep(0.01)
            ticks += 1
        assert threads and threads[0].startswith("store-writer")
        assert not unit.done()  # waiting for the lock, on the writer thread
        await session.commit()
    assert await unit == 11
    rows = await store.run(lambda s: s.execute(select(NOTES.c.n).order_by(NOTES.c.n)).all())
    assert [r.n for r in rows] == [10, 11]
    await store.run(_note(12, threads))
    assert threads[-1] == threading.current_thread().name  # idle again: the caller's thread
    store.close()
    await store._async.dispose()


async def test_a_failing_unit_writes_nothing(tmp_path: Path) -> None:
    store = await _store(tmp_path)

    def fails(session: Session) -> None:
        session.execute(insert(NOTES).values(n=1, who="x"))
        raise ValueError("no")

    try:
        await store.run(fails)
    except ValueError:
        pass
    else:
        raise AssertionError("the unit's error was swallowed")
    assert await store.run(lambda s: s.execute(select(NOTES.c.n)).all()) == []
    store.close()
    await store._async.dispose()


async def test_commits_on_the_loop_leave_checkpoints_to_the_writer_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No checkpoint inside a commit on the event loop: every ``CHECKPOINT_EVERY`` of them,
    a passive one on the writer thread copies the log into the database."""
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 5)
    store = await _store(tmp_path)
    auto = await store.run(lambda s: s.execute(text("PRAGMA wal_autocheckpoint")).scalar())
    assert auto == 0  # (that unit was the first commit)
    threads: list[str] = []
    for n in range(1, 5):
        await store.run(_note(n, threads))
    assert threads == [threading.current_thread().name] * 4
    busy, log, done = await asyncio.wrap_future(store._checkpointing)
    assert busy == 0 and log > 0 and done == log  # every frame copied
    store.close()
    await store._async.dispose()
