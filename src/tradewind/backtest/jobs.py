"""Backtest and sweep jobs: each in its own process, with its state and progress in the store.

A job is checked when it is created (``request.check``, ``sweeps.check_sweep``: a bad request
is refused at once, nothing queued), written ``queued``, and run when one of its kind's slots
is free, in a new process (``spawn``: nothing of the server's state is shared), so jobs use
the other cores and never block the API. The process reports ``loading_script``,
``loading_data``, ``executing`` with its progress, then its results or its failure, through a
pipe; the server writes each change to the job's row. The process leads a process group of
its own, with the worker processes it starts (a sweep's): cancelling terminates the group
(within a second) and writes ``cancelled``. Results stay in the store. A job a restart cut off
is written ``failed`` with that reason when the server starts again.

Backtests run ``workers`` at a time. Sweeps run one at a time, each on ``sweep_workers``
processes of its own (by default one per core): a second would only share the cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tradewind.backtest import sweeps
from tradewind.backtest.request import BacktestRequest, check, load
from tradewind.backtest.runner import BacktestResult, TimedSignal, run_backtest
from tradewind.domain.clock import Clock, from_ms
from tradewind.domain.errors import Conflict, DomainError, NotFound
from tradewind.domain.ids import new_id
from tradewind.logs import get_logger
from tradewind.marketdata.bundled import bundled_store
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.db import StoreRunner
from tradewind.store.tables import BacktestRow, SweepRow
from tradewind.strategies.base import Signal, SignalAction

log = get_logger("tradewind.backtests")

QUEUED, LOADING_SCRIPT, LOADING_DATA, EXECUTING = (
    "queued", "loading_script", "loading_data", "executing",
)  # fmt: skip
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
FINAL = frozenset({COMPLETED, FAILED, CANCELLED})
EQUITY_POINTS = 5000
"""An equity curve is stored with at most this many points (each the last of its stretch)."""
PREFIX = "bt"
SWEEP_PREFIX = "sw"
_PROGRESS_EVERY = 0.2
"""Seconds between progress reports from a job's process."""


# ---- the request as stored -----------------------------------------------------------------


def request_data(request: BacktestRequest) -> dict[str, Any]:
    return {
        "script": request.script, "settings": dict(request.settings), "symbol": request.symbol,
        "timeframe": request.timeframe, "start_ms": request.start_ms, "end_ms": request.end_ms,
        "balances": None if request.balances is None
        else {k: str(v) for k, v in request.balances.items()},
        "maker_fee": None if request.maker_fee is None else str(request.maker_fee),
        "taker_fee": None if request.taker_fee is None else str(request.taker_fee),
        "signals": [
            {"ts_ms": s.ts_ms, "action": s.signal.action.value,
             "amount": None if s.signal.amount is None else str(s.signal.amount),
             "price": None if s.signal.price is None else str(s.signal.price)}
            for s in request.signals
        ],
    }  # fmt: skip


def request_of(data: Mapping[str, Any]) -> BacktestRequest:
    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(value)

    return BacktestRequest(
        script=data["script"], settings=data["settings"], symbol=data["symbol"],
        timeframe=data["timeframe"], start_ms=int(data["start_ms"]), end_ms=int(data["end_ms"]),
        balances=None if data.get("balances") is None
        else {k: Decimal(v) for k, v in data["balances"].items()},
        maker_fee=dec(data.get("maker_fee")), taker_fee=dec(data.get("taker_fee")),
        signals=tuple(
            TimedSignal(int(s["ts_ms"]), Signal(
                SignalAction(s["action"]), amount=dec(s.get("amount")), price=dec(s.get("price")),
                ts_ms=int(s["ts_ms"]),
            ))
            for s in data.get("signals") or ()
        ),
    )  # fmt: skip


def sweep_data(request: sweeps.SweepRequest) -> dict[str, Any]:
    """A sweep as stored: its backtest request, with its parameters and what ranks them."""
    parameters = {k: list(v) for k, v in request.parameters.items()}
    return request_data(request.backtest) | {"parameters": parameters, "rank_by": request.rank_by}


def sweep_request_of(data: Mapping[str, Any]) -> sweeps.SweepRequest:
    return sweeps.SweepRequest(request_of(data), data["parameters"], data["rank_by"])


# ---- the job's process ---------------------------------------------------------------------


class _Report:
    """What the job's process tells the server, through the pipe."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._last = -1.0

    def state(self, status: str, message: str) -> None:
        self._conn.send(("state", status, message))

    def progress(self, percent: int, *, final: bool = False, **values: Any) -> None:
        """Sent at most every ``_PROGRESS_EVERY`` seconds, and always when ``final``;
        ``values`` are the job's other columns that go with it (a sweep's counts)."""
        now = time.monotonic()
        if final or now - self._last >= _PROGRESS_EVERY:
            self._last = now
            self._conn.send(("progress", percent, values))

    def helpers(self, pids: list[int]) -> None:
        """The worker processes it started (their group is stopped with it)."""
        self._conn.send(("helpers", pids))


def _child(conn: Connection, noun: str, work: Callable[[_Report], dict[str, Any]]) -> None:
    """Run a job's ``work`` and send what it returns (the columns of its results), or why it
    failed."""
    if hasattr(os, "setpgid"):  # its own group: terminating it stops what it starts too
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
    try:
        conn.send(("done", work(_Report(conn))))
    except DomainError as e:
        conn.send(("failed", e.message))
    except Exception as e:  # the reason goes to the job; the trace to this process's log
        log.exception(f"{noun} failed")
        conn.send(("failed", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def run_in_child(conn: Connection, data: dict[str, Any], data_dir: str, max_span_days: int) -> None:
    """A backtest's process: report each state, the progress, then the results or the failure."""

    def work(report: _Report) -> dict[str, Any]:
        report.state(LOADING_SCRIPT, "checking the bot and its settings")
        request = request_of(data)
        store = bundled_store(Path(data_dir))
        checked = check(request, store, max_span_days=max_span_days)
        report.state(LOADING_DATA, f"loading {checked.symbol} {checked.timeframe} candles")
        spec = load(checked, store)
        report.state(EXECUTING, f"running {len(spec.candles) - spec.start} bars")

        def progress(done: int, total: int) -> None:
            report.progress(100 * done // max(total, 1), final=done >= total)

        return results_data(asyncio.run(run_backtest(spec, progress=progress)))

    _child(conn, "backtest", work)


def run_sweep_in_child(
    conn: Connection, data: dict[str, Any], data_dir: str, max_span_days: int,
    max_combinations: int, workers: int,
) -> None:  # fmt: skip
    """A sweep's process: check it, load the candles once, run the combinations on
    ``workers`` processes, and send the ranked table."""

    def work(report: _Report) -> dict[str, Any]:
        report.state(LOADING_SCRIPT, "checking the bot and each combination of its settings")
        request = sweep_request_of(data)
        store = bundled_store(Path(data_dir))
        sweep = sweeps.check_sweep(
            request, store, max_span_days=max_span_days, max_combinations=max_combinations
        )
        checked, count = sweep.checked, len(sweep.runnable)
        report.state(LOADING_DATA, f"loading {checked.symbol} {checked.timeframe} candles")
        base = sweeps.load_sweep(sweep, store)
        processes = min(workers, count)
        report.state(EXECUTING, f"running {count} combinations on {processes} processes")

        def progress(done: int, total: int, failed: int) -> None:
            report.progress(
                100 * done // max(total, 1), final=done >= total, completed=done - failed,
                failed=failed,
            )  # fmt: skip

        outcomes = sweeps.run_sweep(
            base, sweep.runnable, workers=processes, progress=progress, started=report.helpers
        )
        failed = sum(o.status == sweeps.FAILED for o in outcomes)
        return {
            "results": sweeps.rank([*outcomes, *sweep.skipped], request.rank_by),
            "completed": count - failed, "failed": failed,
            "message": f"completed: {count - failed} ran, {failed} failed, "
            f"{len(sweep.skipped)} skipped",
        }  # fmt: skip

    _child(conn, "sweep", work)


def results_data(result: BacktestResult) -> dict[str, Any]:
    """A run's results as stored: HaasOnline's result objects and the run's counts, every
    closed position, every log line, and the equity curve (at most ``EQUITY_POINTS``)."""
    quote = result.instrument.quote
    summary = {
        **result.metrics.to_haas(),
        "run": {
            "bars": result.bars, "walkedBars": result.event_bars,
            "compiledBars": result.compiled_bars, "fills": len(result.fills),
            "orders": len(result.orders), "startBalance": str(result.start_balance),
            "currency": quote, "botStatus": result.bot_status,
            "balances": {k: str(v) for k, v in result.balances.items()},
        },
    }  # fmt: skip
    positions = [
        {
            "side": t.side.value, "amount": str(t.amount), "entryMs": t.entry_ms,
            "entryPrice": str(t.entry_price), "exitMs": t.exit_ms, "exitPrice": str(t.exit_price),
            "profit": str(t.profit), "fees": str(t.fees), "margin": str(t.margin),
        }
        for t in result.round_trips
    ]  # fmt: skip
    logs = [
        {"line": x.line, "ts_ms": x.ts_ms, "severity": x.severity, "color": x.color,
         "message": x.message}
        for x in result.logs
    ]  # fmt: skip
    times, equity = result.curve.times_ms, result.curve.equity
    if len(times) > EQUITY_POINTS:
        keep = np.unique(
            np.append(
                np.linspace(0, len(times) - 1, EQUITY_POINTS).astype(np.int64), len(times) - 1
            )
        )
        times, equity = times[keep], equity[keep]
    return {
        "summary": summary, "positions": positions, "logs": logs,
        "equity": {"times_ms": times.tolist(), "equity": equity.tolist()},
    }  # fmt: skip


# ---- the server's side ---------------------------------------------------------------------

RowT = TypeVar("RowT", BacktestRow, SweepRow)


@dataclass(frozen=True)
class _Kind(Generic[RowT]):
    noun: str
    table: type[RowT]
    target: Callable[..., None]
    """The job's process: ``target(conn, *args)``."""
    daemon: bool
    """A daemon process may start none of its own (a sweep's does)."""


_BACKTESTS = _Kind("backtest", BacktestRow, run_in_child, daemon=True)
_SWEEPS = _Kind("sweep", SweepRow, run_sweep_in_child, daemon=False)


@dataclass
class _Running:
    process: Any
    cancelled: bool = False
    group: bool = False
    """The process leads its own process group (it does once it has started)."""
    helpers: tuple[int, ...] = ()


class _Jobs(Generic[RowT]):
    """Runs, cancels and reads one kind of job, ``slots`` at a time (the services below add
    how each kind is checked and created)."""

    def __init__(self, kind: _Kind[RowT], *, store: StoreRunner, clock: Clock, slots: int) -> None:
        self._kind: _Kind[RowT] = kind
        self._table: type[RowT] = kind.table
        self._store = store
        self._clock = clock
        self._slots = asyncio.Semaphore(max(1, slots))
        self._running: dict[str, _Running] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._context = multiprocessing.get_context("spawn")

    async def recover(self) -> int:
        """Jobs a restart cut off are failed with that reason."""
        table = self._table

        def work(session: Session) -> int:
            result = session.execute(
                update(table)
                .where(table.status.not_in(FINAL))
                .values(status=FAILED, message="interrupted by a restart of the server; run it again",
                        finished_at=self._clock.now())
            )  # fmt: skip
            return int(getattr(result, "rowcount", 0) or 0)

        return await self._store.run(work)

    async def start(self, row: RowT, args: tuple[Any, ...]) -> None:
        """Write the new job's row and queue it; its process gets ``(conn, *args)``."""

        def insert(session: Session) -> None:
            session.add(row)

        await self._store.run(insert)
        self._tasks[row.id] = asyncio.create_task(self._run(row.id, args), name=row.id)

    async def get(self, session: AsyncSession, user_id: str, job_id: str) -> RowT:
        row: RowT | None = await session.get(self._table, job_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"{self._kind.noun} not found")
        return row

    async def list(
        self, session: AsyncSession, user_id: str, *, limit: int, cursor: str | None
    ) -> Page[RowT]:
        stmt = select(self._table).where(self._table.user_id == user_id)
        rows = (await session.scalars(paginate(stmt, self._table.id, limit, cursor))).all()
        return make_page(rows, limit, lambda r: r.id)

    async def cancel(self, session: AsyncSession, user_id: str, job_id: str) -> RowT:
        """Stop a queued or running job (a finished one is left as it is)."""
        row = await self.get(session, user_id, job_id)
        if row.status in FINAL:
            return row
        running = self._running.get(job_id)
        if running is not None:
            running.cancelled = True
            _signal(running, signal.SIGTERM)
        task = self._tasks.get(job_id)
        if running is None and task is not None:
            task.cancel()
        await self._finish(job_id, CANCELLED, "cancelled", progress=None)
        await session.refresh(row)
        return row

    async def close(self) -> None:
        """At shutdown: stop every job (their rows say failed at the next start)."""
        for running in list(self._running.values()):
            _signal(running, signal.SIGTERM)
        for task in list(self._tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def process_of(self, job_id: str) -> Any:
        """The running job's process (tests)."""
        running = self._running.get(job_id)
        return None if running is None else running.process

    def helpers_of(self, job_id: str) -> tuple[int, ...]:
        """The process ids of the workers the running job's process started (tests)."""
        running = self._running.get(job_id)
        return () if running is None else running.helpers

    # ---- one job -----------------------------------------------------------------------------

    async def _run(self, job_id: str, args: tuple[Any, ...]) -> None:
        try:
            async with self._slots:
                await self._work(job_id, args)
        except asyncio.CancelledError:
            pass
        except Exception as e:
            log.exception(f"{self._kind.noun} job failed", job_id=job_id)
            await self._finish(job_id, FAILED, f"{type(e).__name__}: {e}", progress=None)
        finally:
            self._tasks.pop(job_id, None)
            self._running.pop(job_id, None)

    async def _work(self, job_id: str, args: tuple[Any, ...]) -> None:
        noun = self._kind.noun
        ours, theirs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=self._kind.target, args=(theirs, *args), name=f"{noun} {job_id}",
            daemon=self._kind.daemon,
        )  # fmt: skip
        running = _Running(process)
        self._running[job_id] = running
        await self._change(job_id, status=LOADING_SCRIPT, message="starting",
                           started_at=self._clock.now())  # fmt: skip
        process.start()
        theirs.close()
        try:
            while True:
                message = await asyncio.to_thread(_receive, ours, process)
                running.group = running.group or _leads_group(process.pid)
                if running.cancelled:
                    return
                if message is None:  # the pipe closed: the process has ended, or is ending
                    await asyncio.to_thread(process.join, 2)
                    code = process.exitcode
                    await self._finish(
                        job_id, FAILED,
                        f"the {noun} process ended unexpectedly (exit code {code})", progress=None,
                    )  # fmt: skip
                    return
                kind = message[0]
                if kind == "state":
                    await self._change(job_id, status=message[1], message=message[2])
                elif kind == "progress":
                    await self._change(job_id, progress=int(message[1]), **message[2])
                elif kind == "helpers":
                    running.helpers = tuple(int(pid) for pid in message[1])
                elif kind == "done":
                    values = dict(message[1])
                    message_text = str(values.pop("message", "completed"))
                    await self._finish(job_id, COMPLETED, message_text, progress=100, **values)
                    return
                elif kind == "failed":
                    await self._finish(job_id, FAILED, str(message[1]), progress=None)
                    return
        finally:
            ours.close()
            await asyncio.to_thread(_reap, running)

    async def _change(self, job_id: str, **values: Any) -> None:
        table = self._table

        def work(session: Session) -> None:
            session.execute(
                update(table).where(table.id == job_id, table.status.not_in(FINAL)).values(**values)
            )

        await self._store.run(work)

    async def _finish(
        self, job_id: str, status: str, message: str, *, progress: int | None, **values: Any
    ) -> None:
        extra = {} if progress is None else {"progress": progress}
        await self._change(job_id, status=status, message=message,
                           finished_at=self._clock.now(), **extra, **values)  # fmt: skip


def _receive(conn: Connection, process: Any) -> Any:
    """The next message, or None once the process has ended without one."""
    while True:
        try:
            if conn.poll(0.1):
                return conn.recv()
        except (EOFError, OSError):
            return None
        if not process.is_alive() and not conn.poll(0):
            return None


def _leads_group(pid: int | None) -> bool:
    getpgid = getattr(os, "getpgid", None)
    if pid is None or getpgid is None:
        return False
    try:
        return bool(getpgid(pid) == pid)
    except OSError:
        return False


def _signal(running: _Running, signum: int) -> None:
    """Signal the job's process, and its group when it leads one (the workers it started)."""
    pid = running.process.pid
    if pid is None:
        return
    with contextlib.suppress(OSError):
        if running.group or _leads_group(pid):
            running.group = True
            os.killpg(pid, signum)
            return
        os.kill(pid, signum)


def _reap(running: _Running) -> None:
    process = running.process
    process.join(timeout=2)
    if process.is_alive():
        _signal(running, signal.SIGKILL)
        process.join(timeout=2)
    if running.helpers:
        # workers left by a process that was killed (a SIGTERM: a resource tracker ignores it
        # and cleans up once they are gone)
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGTERM)


# ---- the services --------------------------------------------------------------------------


class SweepJobs(_Jobs[SweepRow]):
    """Creates, runs, cancels and reads parameter sweeps, one at a time, each on ``workers``
    processes (``sweeps.run_sweep``)."""

    def __init__(
        self, *, store: StoreRunner, clock: Clock, data_dir: Path, workers: int,
        max_span_days: int, max_combinations: int,
    ) -> None:  # fmt: skip
        super().__init__(_SWEEPS, store=store, clock=clock, slots=1)
        self._data_dir = data_dir
        self.workers = max(1, workers)
        self.max_span_days = max_span_days
        self.max_combinations = max_combinations

    async def create(self, user_id: str, request: sweeps.SweepRequest) -> SweepRow:
        store = bundled_store(self._data_dir)
        sweep = await asyncio.to_thread(
            sweeps.check_sweep, request, store, max_span_days=self.max_span_days,
            max_combinations=self.max_combinations,
        )  # fmt: skip
        checked, backtest = sweep.checked, request.backtest
        row = SweepRow(
            id=new_id(SWEEP_PREFIX), user_id=user_id, script=checked.script,
            symbol=checked.symbol, timeframe=str(checked.timeframe),
            start_at=from_ms(backtest.start_ms), end_at=from_ms(backtest.end_ms),
            request=sweep_data(request), status=QUEUED, progress=0,
            message="waiting for the sweep before it to finish", combinations=sweep.total,
            skipped=len(sweep.skipped), completed=0, failed=0, results=None,
            created_at=self._clock.now(), started_at=None, finished_at=None,
        )  # fmt: skip
        await self.start(row, (row.request, str(self._data_dir), self.max_span_days,
                               self.max_combinations, self.workers))  # fmt: skip
        return row

    async def results(self, session: AsyncSession, user_id: str, sweep_id: str) -> list[Any]:
        """The ranked table, best first (``sweeps.rank``); ``Conflict`` until completed."""
        row = await self.get(session, user_id, sweep_id)
        if row.status != COMPLETED:
            raise Conflict(f"the sweep is {row.status}: results come once it has completed")
        table = await session.scalar(select(SweepRow.results).where(SweepRow.id == sweep_id))
        return list(table or [])

    def workers_of(self, sweep_id: str) -> tuple[int, ...]:
        """The process ids of the running sweep's workers, once they run (tests)."""
        return self.helpers_of(sweep_id)


class BacktestJobs(_Jobs[BacktestRow]):
    """Creates, runs, cancels and reads backtest jobs (one per service), ``workers`` at a
    time; ``sweeps`` does the same for parameter sweeps."""

    def __init__(
        self, *, store: StoreRunner, clock: Clock,
        data_dir: Path, workers: int, max_span_days: int, sweep_workers: int | None = None,
        max_combinations: int = sweeps.DEFAULT_MAX_COMBINATIONS,
    ) -> None:  # fmt: skip
        super().__init__(_BACKTESTS, store=store, clock=clock, slots=workers)
        self._data_dir = data_dir
        self.max_span_days = max_span_days
        self.sweeps = SweepJobs(
            store=store, clock=clock, data_dir=data_dir, max_span_days=max_span_days,
            workers=sweep_workers or sweeps.default_workers(), max_combinations=max_combinations,
        )  # fmt: skip

    async def recover(self) -> int:
        """Jobs a restart cut off, backtests and sweeps, are failed with that reason."""
        return await super().recover() + await self.sweeps.recover()

    async def create(self, user_id: str, request: BacktestRequest) -> BacktestRow:
        store = bundled_store(self._data_dir)
        checked = await asyncio.to_thread(check, request, store, max_span_days=self.max_span_days)
        row = BacktestRow(
            id=new_id(PREFIX), user_id=user_id, script=checked.script, symbol=checked.symbol,
            timeframe=str(checked.timeframe), start_at=from_ms(request.start_ms),
            end_at=from_ms(request.end_ms), request=request_data(request), status=QUEUED, progress=0,
            message="waiting for a free worker", summary=None, positions=None, logs=None,
            equity=None, created_at=self._clock.now(), started_at=None, finished_at=None,
        )  # fmt: skip
        await self.start(row, (row.request, str(self._data_dir), self.max_span_days))
        return row

    async def close(self) -> None:
        """At shutdown: stop every job, backtests and sweeps (their rows say failed at the
        next start)."""
        await super().close()
        await self.sweeps.close()
