"""Backtests, natively: create a job, follow it, read its results, logs, positions and equity
curve, cancel it. The job runs in its own process (``tradewind.backtest.jobs``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import status
from pydantic import BaseModel, Field

from tradewind.api.deps import ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.backtest import jobs
from tradewind.backtest.request import BacktestRequest
from tradewind.backtest.runner import TimedSignal
from tradewind.domain.clock import from_ms
from tradewind.domain.errors import Conflict
from tradewind.services.pagination import page_by_position
from tradewind.services.signals import parse_action, parse_decimal, parse_timestamp
from tradewind.store.tables import BacktestRow, JobColumns
from tradewind.strategies.base import Signal

router = public_router(tags=["backtests"])


class TimedSignalIn(Model):
    timestamp: int | float | str = Field(description="When the bot gets it: unix s or ms, or ISO.")
    action: str = Field(
        description="buy, sell, close, enter_long, exit_long, enter_short, exit_short."
    )
    amount: Decimal | None = Field(default=None, description="In the market's amount unit.")
    price: Decimal | None = None


class BacktestCreate(Model):
    type: str = Field(
        description="A bot type of the registry (GET /api/v1/scripts): spot_grid, ..."
    )
    settings: dict[str, Any] = Field(description="The bot's settings, as for POST /api/v1/bots.")
    symbol: str | None = Field(default=None, description="By default the one the settings name.")
    timeframe: str = Field(default="1h", description="1m, 5m, 15m, 1h, 4h or 1d.")
    start: int | float | str = Field(description="The first bar: unix s or ms, or ISO 8601 (UTC).")
    end: int | float | str = Field(description="The last bar: unix s or ms, or ISO 8601 (UTC).")
    balances: dict[str, Decimal] | None = Field(
        default=None, description="Starting balances; by default 10,000 of the quote currency."
    )
    maker_fee: Decimal | None = Field(default=None, description="A fraction: 0.001 is 0.1 %.")
    taker_fee: Decimal | None = None
    signals: list[TimedSignalIn] = Field(
        default_factory=list, description="For a webhook bot: the signals it gets, when."
    )


class JobRead(BaseModel):
    """What a backtest and a sweep show alike: what was asked, and where the job is."""

    status: str = Field(
        description="queued, loading_script, loading_data, executing, completed, failed, cancelled."
    )
    progress: int = Field(description="0 to 100.")
    message: str = Field(description="What it is doing, or why it failed.")
    type: str
    symbol: str
    timeframe: str
    start: datetime
    end: datetime
    settings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def fields(row: JobColumns) -> dict[str, Any]:
        return {
            "status": row.status, "progress": row.progress, "message": row.message,
            "type": row.script, "symbol": row.symbol, "timeframe": row.timeframe,
            "start": row.start_at, "end": row.end_at, "settings": row.request.get("settings", {}),
            "created_at": row.created_at, "started_at": row.started_at,
            "finished_at": row.finished_at,
        }  # fmt: skip


class BacktestRead(JobRead):
    backtest_id: str

    @classmethod
    def of(cls, row: BacktestRow) -> BacktestRead:
        return cls(backtest_id=row.id, **cls.fields(row))


class BacktestStatus(BaseModel):
    backtest_id: str
    status: str
    progress: int
    message: str


class BacktestResults(BaseModel):
    """HaasOnline's result objects (docs/backtest-metrics.md says how each is computed)."""

    backtest_id: str
    summary: dict[str, Any]
    performance: dict[str, Any]
    orders: dict[str, Any]
    positions: dict[str, Any]
    run: dict[str, Any] = Field(description="Bars, bars walked, fills, final balances, ...")


class LogLine(BaseModel):
    line: int
    timestamp: datetime
    severity: str
    color: str | None
    message: str


class PositionOut(BaseModel):
    side: str
    amount: str
    entry_time: datetime
    entry_price: str
    exit_time: datetime
    exit_price: str
    profit: str = Field(description="Net of fees, in the quote currency.")
    fees: str
    margin: str


class EquityCurveOut(BaseModel):
    times_ms: list[int] = Field(description="Bar open times (the value is at the bar's close).")
    equity: list[float]
    points: int
    downsampled: bool = Field(description=f"At most {jobs.EQUITY_POINTS} points are kept.")


def backtest_request(body: BacktestCreate) -> BacktestRequest:
    start = parse_timestamp(body.start, "start")
    end = parse_timestamp(body.end, "end")
    assert start is not None and end is not None  # (fields are required)
    signals = []
    for i, s in enumerate(body.signals):
        ts = parse_timestamp(s.timestamp, f"signals.{i}.timestamp")
        assert ts is not None
        action = parse_action(s.action, field_name=f"signals.{i}.action")
        amount = parse_decimal(s.amount, f"signals.{i}.amount")
        signals.append(TimedSignal(ts, Signal(action, amount=amount, price=s.price, ts_ms=ts)))
    return BacktestRequest(
        script=body.type, settings=body.settings, symbol=body.symbol or "",
        timeframe=body.timeframe, start_ms=start, end_ms=end, balances=body.balances,
        maker_fee=body.maker_fee, taker_fee=body.taker_fee, signals=tuple(signals),
    )  # fmt: skip


@router.post("/backtests", status_code=status.HTTP_202_ACCEPTED, response_model=BacktestRead,
             responses=errors(401, 403, 422), summary="Start a backtest (checked at once, run as a job)")  # fmt: skip
async def create_backtest(
    body: BacktestCreate, principal: TradeScope, runtime: RuntimeDep
) -> BacktestRead:
    row = await runtime.backtests.create(principal.user_id, backtest_request(body))
    return BacktestRead.of(row)


@router.get("/backtests", response_model=PageOf[BacktestRead], responses=errors(401, 422),
            summary="Your backtests, newest first")  # fmt: skip
async def list_backtests(
    principal: ReadScope, session: SessionDep, runtime: RuntimeDep,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[BacktestRead]:  # fmt: skip
    page = await runtime.backtests.list(session, principal.user_id, limit=limit, cursor=cursor)
    return PageOf[BacktestRead](
        data=[BacktestRead.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/backtests/{backtest_id}", response_model=BacktestRead, responses=errors(401, 404),
            summary="One backtest")  # fmt: skip
async def get_backtest(
    backtest_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> BacktestRead:
    return BacktestRead.of(await runtime.backtests.get(session, principal.user_id, backtest_id))


@router.get("/backtests/{backtest_id}/status", response_model=BacktestStatus,
            responses=errors(401, 404), summary="Where a backtest is")  # fmt: skip
async def backtest_status(
    backtest_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> BacktestStatus:
    row = await runtime.backtests.get(session, principal.user_id, backtest_id)
    return BacktestStatus(
        backtest_id=row.id, status=row.status, progress=row.progress, message=row.message
    )


async def _completed(
    runtime: Any, session: SessionDep, user_id: str, backtest_id: str
) -> BacktestRow:
    row: BacktestRow = await runtime.backtests.get(session, user_id, backtest_id)
    if row.status != jobs.COMPLETED or row.summary is None:
        raise Conflict(f"the backtest is {row.status}: results come once it has completed")
    return row


@router.get("/backtests/{backtest_id}/results", response_model=BacktestResults,
            responses=errors(401, 404, 409), summary="A completed backtest's results")  # fmt: skip
async def backtest_results(
    backtest_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> BacktestResults:
    row = await _completed(runtime, session, principal.user_id, backtest_id)
    summary = row.summary or {}
    return BacktestResults(
        backtest_id=row.id, summary=summary["summary"], performance=summary["performance"],
        orders=summary["orders"], positions=summary["positions"], run=summary["run"],
    )  # fmt: skip


@router.get("/backtests/{backtest_id}/logs", response_model=PageOf[LogLine],
            responses=errors(401, 404, 409, 422), summary="The bot's log over the run, oldest first")  # fmt: skip
async def backtest_logs(
    backtest_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[LogLine]:  # fmt: skip
    row = await _completed(runtime, session, principal.user_id, backtest_id)
    page, following = page_by_position(row.logs or [], limit, cursor)
    return PageOf[LogLine](
        data=[
            LogLine(line=x["line"], timestamp=from_ms(x["ts_ms"]), severity=x["severity"],
                    color=x["color"], message=x["message"])
            for x in page
        ],
        next_cursor=following,
    )  # fmt: skip


@router.get("/backtests/{backtest_id}/positions", response_model=PageOf[PositionOut],
            responses=errors(401, 404, 409, 422), summary="Every closed position, oldest first")  # fmt: skip
async def backtest_positions(
    backtest_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[PositionOut]:  # fmt: skip
    row = await _completed(runtime, session, principal.user_id, backtest_id)
    page, following = page_by_position(row.positions or [], limit, cursor)
    return PageOf[PositionOut](
        data=[
            PositionOut(
                side=p["side"], amount=p["amount"], entry_time=from_ms(p["entryMs"]),
                entry_price=p["entryPrice"], exit_time=from_ms(p["exitMs"]),
                exit_price=p["exitPrice"], profit=p["profit"], fees=p["fees"], margin=p["margin"],
            )
            for p in page
        ],
        next_cursor=following,
    )  # fmt: skip


@router.get("/backtests/{backtest_id}/equity", response_model=EquityCurveOut,
            responses=errors(401, 404, 409), summary="The equity curve at each bar's close")  # fmt: skip
async def backtest_equity(
    backtest_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> EquityCurveOut:
    row = await _completed(runtime, session, principal.user_id, backtest_id)
    curve = row.equity or {"times_ms": [], "equity": []}
    bars = int((row.summary or {}).get("run", {}).get("bars", len(curve["times_ms"])))
    return EquityCurveOut(
        times_ms=curve["times_ms"], equity=curve["equity"], points=len(curve["times_ms"]),
        downsampled=len(curve["times_ms"]) < bars,
    )  # fmt: skip


@router.post("/backtests/{backtest_id}/cancel", response_model=BacktestRead,
             responses=errors(401, 403, 404), summary="Stop a queued or running backtest")  # fmt: skip
async def cancel_backtest(
    backtest_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> BacktestRead:
    return BacktestRead.of(await runtime.backtests.cancel(session, principal.user_id, backtest_id))
