"""Backtest jobs: each in its own process, with its state and progress in the store.

A job is checked when it is created (``request.check``: a bad request is refused at once,
nothing queued), written ``queued``, and run when one of ``workers`` slots is free, in a new
process (``spawn``: nothing of the server's state is shared), so backtests use the other cores
and never block the API. The process reports ``loading_script``, ``loading_data``,
``executing`` with its progress, then its results or its failure, through a pipe; the server
writes each change to the job's row. Cancelling terminates the process (within a second) and
writes ``cancelled``. Results stay in the store. A job a restart cut off is written ``failed``
with that reason when the server starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from tradewind.backtest.request import BacktestRequest, check, load
from tradewind.backtest.runner import BacktestResult, TimedSignal, run_backtest
from tradewind.domain.clock import Clock
from tradewind.domain.errors import DomainError, NotFound
from tradewind.domain.ids import new_id
from tradewind.logs import get_logger
from tradewind.marketdata.bundled import bundled_store
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.db import StoreRunner
from tradewind.store.tables import BacktestRow
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


# ---- the job's process ---------------------------------------------------------------------


def run_in_child(conn: Connection, data: dict[str, Any], data_dir: str, max_span_days: int) -> None:
    """The job's process: report each state, the progress, then the results or the failure."""
    try:
        conn.send(("state", LOADING_SCRIPT, "checking the bot and its settings"))
        request = request_of(data)
        store = bundled_store(Path(data_dir))
        checked = check(request, store, max_span_days=max_span_days)
        conn.send(("state", LOADING_DATA, f"loading {checked.symbol} {checked.timeframe} candles"))
        spec = load(checked, store)
        bars = len(spec.candles) - spec.start
        conn.send(("state", EXECUTING, f"running {bars} bars"))
        last = [-1.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.2 or done >= total:
                last[0] = now
                conn.send(("progress", 100 * done // max(total, 1)))

        result = asyncio.run(run_backtest(spec, progress=progress))
        conn.send(("done", results_data(result)))
    except DomainError as e:
        conn.send(("failed", e.message))
    except Exception as e:  # the reason goes to the job; the trace to this process's log
        log.exception("backtest failed")
        conn.send(("failed", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def results_data(result: BacktestResult) -> dict[str, Any]:
    """A run's results as stored: HaasOnline's result objects and the run's counts, every
    closed position, every log line, and the equity curve (at most ``EQUITY_POINTS``)."""
    quote = result.instrument.quote
    summary = {
        **result.metrics.to_haas(),
        "run": {
            "bars": result.bars, "walkedBars": result.event_bars, "fills": len(result.fills),
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


@dataclass
class _Running:
    process: Any
    cancelled: bool = False


class BacktestJobs:
    """Creates, runs, cancels and reads backtest jobs (one per service)."""

    def __init__(
        self, *, store: StoreRunner, sessions: async_sessionmaker[AsyncSession], clock: Clock,
        data_dir: Path, workers: int, max_span_days: int,
    ) -> None:  # fmt: skip
        self._store = store
        self._sessions = sessions
        self._clock = clock
        self._data_dir = data_dir
        self._slots = asyncio.Semaphore(max(1, workers))
        self.max_span_days = max_span_days
        self._running: dict[str, _Running] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._context = multiprocessing.get_context("spawn")

    async def recover(self) -> int:
        """Jobs a restart cut off are failed with that reason."""

        def work(session: Session) -> int:
            result = session.execute(
                update(BacktestRow)
                .where(BacktestRow.status.not_in(FINAL))
                .values(status=FAILED, message="interrupted by a restart of the server; run it again",
                        finished_at=self._clock.now())
            )  # fmt: skip
            return int(getattr(result, "rowcount", 0) or 0)

        return await self._store.run(work)

    async def create(self, user_id: str, request: BacktestRequest) -> BacktestRow:
        store = bundled_store(self._data_dir)
        checked = await asyncio.to_thread(check, request, store, max_span_days=self.max_span_days)
        now = self._clock.now()
        row = BacktestRow(
            id=new_id(PREFIX), user_id=user_id, script=checked.script, symbol=checked.symbol,
            timeframe=str(checked.timeframe), start_at=_dt(request.start_ms),
            end_at=_dt(request.end_ms), request=request_data(request), status=QUEUED, progress=0,
            message="waiting for a free worker", summary=None, positions=None, logs=None,
            equity=None, created_at=now, started_at=None, finished_at=None,
        )  # fmt: skip

        def insert(session: Session) -> None:
            session.add(row)

        await self._store.run(insert)
        self._tasks[row.id] = asyncio.create_task(self._run(row.id, row.request), name=row.id)
        return row

    async def get(self, session: AsyncSession, user_id: str, job_id: str) -> BacktestRow:
        row = await session.get(BacktestRow, job_id)
        if row is None or row.user_id != user_id:
            raise NotFound("backtest not found")
        return row

    async def list(
        self, session: AsyncSession, user_id: str, *, limit: int, cursor: str | None
    ) -> Page[BacktestRow]:
        stmt = select(BacktestRow).where(BacktestRow.user_id == user_id)
        rows = (await session.scalars(paginate(stmt, BacktestRow.id, limit, cursor))).all()
        return make_page(rows, limit, lambda r: r.id)

    async def cancel(self, session: AsyncSession, user_id: str, job_id: str) -> BacktestRow:
        """Stop a queued or running job (a finished one is left as it is)."""
        row = await self.get(session, user_id, job_id)
        if row.status in FINAL:
            return row
        running = self._running.get(job_id)
        if running is not None:
            running.cancelled = True
            with contextlib.suppress(Exception):
                running.process.terminate()
        task = self._tasks.get(job_id)
        if running is None and task is not None:
            task.cancel()
        await self._finish(job_id, CANCELLED, "cancelled", progress=None)
        await session.refresh(row)
        return row

    async def close(self) -> None:
        """At shutdown: stop every job (their rows say failed at the next start)."""
        for running in list(self._running.values()):
            with contextlib.suppress(Exception):
                running.process.terminate()
        for task in list(self._tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def process_of(self, job_id: str) -> Any:
        """The running job's process (tests)."""
        running = self._running.get(job_id)
        return None if running is None else running.process

    # ---- one job -----------------------------------------------------------------------------

    async def _run(self, job_id: str, data: dict[str, Any]) -> None:
        try:
            async with self._slots:
                await self._work(job_id, data)
        except asyncio.CancelledError:
            pass
        except Exception as e:
            log.exception("backtest job failed", job_id=job_id)
            await self._finish(job_id, FAILED, f"{type(e).__name__}: {e}", progress=None)
        finally:
            self._tasks.pop(job_id, None)
            self._running.pop(job_id, None)

    async def _work(self, job_id: str, data: dict[str, Any]) -> None:
        ours, theirs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_in_child, args=(theirs, data, str(self._data_dir), self.max_span_days),
            name=f"backtest {job_id}", daemon=True,
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
                if running.cancelled:
                    return
                if message is None:  # the pipe closed: the process has ended, or is ending
                    await asyncio.to_thread(process.join, 2)
                    code = process.exitcode
                    await self._finish(
                        job_id, FAILED,
                        f"the backtest process ended unexpectedly (exit code {code})", progress=None,
                    )  # fmt: skip
                    return
                kind = message[0]
                if kind == "state":
                    await self._change(job_id, status=message[1], message=message[2])
                elif kind == "progress":
                    await self._change(job_id, progress=int(message[1]))
                elif kind == "done":
                    results = message[1]
                    await self._finish(
                        job_id, COMPLETED, "completed", progress=100,
                        summary=results["summary"], positions=results["positions"],
                        logs=results["logs"], equity=results["equity"],
                    )  # fmt: skip
                    return
                elif kind == "failed":
                    await self._finish(job_id, FAILED, str(message[1]), progress=None)
                    return
        finally:
            ours.close()
            await asyncio.to_thread(_reap, process)

    async def _change(self, job_id: str, **values: Any) -> None:
        def work(session: Session) -> None:
            session.execute(
                update(BacktestRow)
                .where(BacktestRow.id == job_id, BacktestRow.status.not_in(FINAL))
                .values(**values)
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


def _reap(process: Any) -> None:
    process.join(timeout=2)
    if process.is_alive():
        process.kill()
        process.join(timeout=2)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
