"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Executable, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

T = TypeVar("T")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_pragmas_no_wait(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    # no checkpoint inside a commit on the event loop (copying the log into the database
    # took tens of milliseconds every few hundred commits): the writer thread runs them
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
    dbapi_connection.isolation_level = None  # the driver's implicit BEGIN off: ours instead


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


BULK = 200
"""More rows than this in one unit: a caller passes ``bulk`` (the unit goes to the writer
thread; a few milliseconds of SQLite on the event loop is the most it should take)."""

CHECKPOINT_EVERY = 250
"""Commits on the event loop's thread between two checkpoints (a few pages each: about
SQLite's own default of 1,000 pages)."""


def _passive_checkpoint(engine: Any) -> tuple[int, int, int]:
    """(busy, frames in the log, frames copied into the database)."""
    with engine.connect() as conn:
        busy, log, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return int(busy), int(log), int(done)


_SQLITE_BUSY = {5, 517}  # SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


class StoreRunner:
    """Runs one unit of work (a function of a sync ``Session``) in one transaction, reads or writes.

    On SQLite the work runs on a sync engine, not through the async driver (a thread hop per
    statement: an order's write went from about 7 ms to under 1 ms):

    - when the writer thread has nothing queued, on the caller's thread, at once: a small unit
      costs a fraction of a millisecond there, while in a thread every statement hands the GIL
      back and forth with the busy event loop (each hand-off waits up to the interpreter's
      5 ms switch interval: at 200 signals/s a 0.5 ms acknowledgement took 4-20 ms). It
      starts with ``BEGIN IMMEDIATE`` and no busy wait: if another connection holds the write
      lock (an async session in the middle of its transaction, which needs this very loop to
      finish it), that fails at once, before the work has run, and the unit goes to the
      writer thread, which waits for the lock without blocking anyone;
    - else, and for ``bulk`` units (thousands of rows, which would stall the loop), queued on
      one dedicated writer thread, in order (so units never overtake one another).

    On PostgreSQL it runs through ``AsyncSession.run_sync`` over asyncpg. Either way the work
    function and its SQL are the same.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._async = engine
        self._sessions = session_factory(engine)
        self._sync: Any = None
        self._executor: Any = None
        if engine.dialect.name == "sqlite":
            from concurrent.futures import ThreadPoolExecutor

            from sqlalchemy import create_engine as create_sync_engine

            url = engine.url.set(drivername="sqlite+pysqlite")
            self._sync = create_sync_engine(url, connect_args={"timeout": 30})
            event.listen(self._sync, "connect", _sqlite_pragmas)
            # the caller's thread never waits for a lock: busy at once, then the writer thread
            self._inline = create_sync_engine(
                url, connect_args={"timeout": 0, "check_same_thread": False}
            )
            event.listen(self._inline, "connect", _sqlite_pragmas_no_wait)
            event.listen(self._inline, "begin", _begin_immediate)
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._queued = 0
        """Units queued on (or running in) the writer thread."""
        self._since_checkpoint = 0
        self._checkpointing: Any = None

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Async sessions on the same store (reads; writes go through ``run``)."""
        return self._sessions

    async def run(self, work: Callable[[Session], T], *, bulk: bool = False) -> T:
        """``work`` in one transaction, committed; its result. ``bulk``: a unit of thousands
        of rows, never run on the caller's thread."""
        if self._sync is None:
            async with self._sessions() as session:
                result = await session.run_sync(work)
                await session.commit()
                return result
        if not bulk and not self._queued:
            with Session(self._inline, expire_on_commit=False) as session:
                try:
                    session.connection()  # BEGIN IMMEDIATE: the write lock now, or busy
                except OperationalError as e:
                    if getattr(e.orig, "sqlite_errorcode", None) not in _SQLITE_BUSY:
                        raise
                else:  # nothing can be busy from here on: the lock is held
                    result = work(session)
                    session.commit()
                    self._since_checkpoint += 1
                    if self._since_checkpoint >= CHECKPOINT_EVERY:
                        self._checkpoint()
                    return result
        import asyncio

        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run_sync, work
            )
        finally:
            self._queued -= 1

    def _checkpoint(self) -> None:
        """Copy the write-ahead log into the database on the writer thread (passive: it waits
        for nobody, and writers go on meanwhile); not counted as a queued unit."""
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._since_checkpoint = 0
        self._checkpointing = self._executor.submit(_passive_checkpoint, self._sync)

    def _run_sync(self, work: Callable[[Session], T]) -> T:
        with Session(self._sync, expire_on_commit=False) as session:
            result = work(session)
            session.commit()
            return result

    persists = True
    """Whether ``run`` writes anything (``NullStore`` does not)."""

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._sync.dispose()
            self._inline.dispose()


class NullStore(StoreRunner):
    """A store that keeps nothing: units of work are dropped unrun. A backtest's venue and bot
    engine run on it (the same code as live, persistence aside; the run's results are kept
    from what the venue and the engine report, and stored once, at the end)."""

    persists = False

    def __init__(self) -> None:  # no engine: nothing to connect to
        self._sync = None
        self._executor = None

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        raise RuntimeError("a NullStore has no sessions")

    async def run(self, work: Callable[[Session], T], *, bulk: bool = False) -> T:
        return None  # type: ignore[return-value]  # nobody reads what a dropped write returns

    def close(self) -> None:
        pass


# ---- many rows, one statement ----------------------------------------------------------------

_Column = tuple[str | None, Any, Callable[[Any], Any] | None]  # row key or a constant; processor
_Prepared = tuple[str, tuple[_Column, ...]] | None
_prepared: dict[tuple[int, str, tuple[str, ...]], tuple[Executable, _Prepared]] = {}
"""By the statement's id, dialect and keys; the entry holds the statement, so its id is not
reused while the entry lives (statements are meant to be built once, at import)."""


def execute_many(conn: Connection, stmt: Executable, rows: list[dict[str, Any]]) -> None:
    """``conn.execute(stmt, rows)`` for a plain INSERT or UPDATE of many rows with the same
    keys, at a fraction of the cost: the statement is compiled once per dialect and key set,
    and each row becomes a tuple through the same type processors SQLAlchemy would apply
    (its per-row parameter building cost more than SQLite's own work: 20,000 orders took
    1.5 s in one transaction). Anything it cannot do that way (defaults computed in Python,
    a named paramstyle, rows with other keys) goes through ``conn.execute`` unchanged."""
    if not rows:
        return
    keys = tuple(rows[0])
    cache_key = (id(stmt), conn.dialect.name, keys)
    entry = _prepared.get(cache_key)
    if entry is None:
        if len(_prepared) > 1000:  # statements built per call: nothing to gain, keep it small
            _prepared.clear()
        entry = _prepared[cache_key] = (stmt, _prepare(conn, stmt, keys))
    prepared = entry[1]
    if prepared is None or any(len(row) != len(keys) for row in rows):
        conn.execute(stmt, rows)
        return
    sql, columns = prepared
    try:
        params = [
            tuple(
                value if key is None else row[key] if p is None else p(row[key])
                for key, value, p in columns
            )
            for row in rows
        ]
    except KeyError:  # a row with other keys than the first
        conn.execute(stmt, rows)
        return
    raw = conn.connection.dbapi_connection
    if conn.dialect.driver == "pysqlite" and raw is not None:
        # the driver's own executemany, in the connection's transaction: SQLAlchemy's
        # execution context around it cost as much as SQLite's work for a few rows
        cursor = raw.cursor()
        try:
            cursor.executemany(sql, params)
        finally:
            cursor.close()
        return
    conn.exec_driver_sql(sql, params)


async def execute_many_async(
    session: AsyncSession, stmt: Executable, rows: list[dict[str, Any]]
) -> None:
    """``execute_many`` in a request's async session (its transaction, its connection)."""
    if rows:
        await session.run_sync(lambda s: execute_many(s.connection(), stmt, rows))


def _prepare(conn: Connection, stmt: Executable, keys: tuple[str, ...]) -> _Prepared:
    compiled: Any = stmt.compile(  # type: ignore[attr-defined]
        dialect=conn.dialect, column_keys=list(keys), for_executemany=True
    )
    names = compiled.positiontup
    if (
        names is None  # a named paramstyle: left to SQLAlchemy
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
    ):
        return None
    processors = compiled._bind_processors
    columns: list[_Column] = []
    for name in names:
        process = processors.get(name)
        if name in keys:
            columns.append((name, None, process))
            continue
        bind = compiled.binds[name]  # a constant of the statement (a WHERE's literal)
        if bind.callable is not None or bind.required:
            return None
        columns.append((None, bind.value if process is None else process(bind.value), None))
    return compiled.string, tuple(columns)
