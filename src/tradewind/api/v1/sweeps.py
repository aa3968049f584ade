"""Parameter sweeps, natively: one bot type over every combination of some of its settings,
run in parallel as one job, and the ranked table of their results
(``tradewind.backtest.sweeps``; the job mechanism is the backtests')."""

from __future__ import annotations

from typing import Any

from fastapi import status
from pydantic import BaseModel, Field

from tradewind.api.deps import ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.registry import public_router
from tradewind.api.v1.backtests import (
    BacktestCreate,
    JobRead,
    backtest_request,
)
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, PageOf, errors
from tradewind.backtest import sweeps
from tradewind.backtest.sweeps import SweepRequest
from tradewind.services.pagination import page_by_position
from tradewind.store.tables import SweepRow

router = public_router(tags=["sweeps"])


class SweepCreate(BacktestCreate):
    parameters: dict[str, list[Any]] = Field(
        description="A settings key and the values to try, for each key swept: every "
        "combination (their cartesian product) runs over `settings`, e.g. "
        '`{"lowerLimit": [6300, 6350], "gridCount": [4, 8, 16]}` is 6 backtests. A value its '
        "setting refuses is refused at once; a combination refused only for its values "
        "together (a lower limit above the upper) is skipped and reported.",
        examples=[{"lowerLimit": [6300, 6350], "upperLimit": [6450, 6500], "gridCount": [4, 8]}],
    )
    rank_by: str = Field(
        default=sweeps.DEFAULT_RANK_BY,
        description=f"The metric that ranks the table, higher first: {', '.join(sweeps.RANK_BY)} "
        "(a drawdown is negative, so the shallowest comes first). A null (undefined) metric "
        "ranks after every number.",
    )


class SweepCounts(BaseModel):
    combinations: int = Field(description="In the cartesian product of the parameters.")
    skipped: int = Field(description="Refused for their values together, so not run.")
    completed: int
    failed: int = Field(description="Ran and raised: each row of the table says why.")
    pending: int


class SweepRead(JobRead):
    sweep_id: str
    parameters: dict[str, list[Any]]
    rank_by: str
    counts: SweepCounts

    @classmethod
    def of(cls, row: SweepRow) -> SweepRead:
        done = row.skipped + row.completed + row.failed
        counts = SweepCounts(
            combinations=row.combinations, skipped=row.skipped, completed=row.completed,
            failed=row.failed, pending=max(0, row.combinations - done),
        )  # fmt: skip
        return cls(
            sweep_id=row.id, parameters=row.request.get("parameters", {}),
            rank_by=row.request["rank_by"], counts=counts, **cls.fields(row),
        )  # fmt: skip


class SweepResultRow(BaseModel):
    rank: int | None = Field(description="1 for the best; null for a failed or skipped one.")
    combination: int = Field(description="Its place in the cartesian product, from 0.")
    parameters: dict[str, Any] = Field(description="The swept settings' values.")
    status: str = Field(description="completed, failed or skipped.")
    reason: str | None = Field(description="Why it failed or was skipped.")
    metrics: dict[str, float | None] | None = Field(
        description=f"HaasOnline's {', '.join(sweeps.RANK_BY)} (null where undefined)."
    )
    closed_positions: int | None
    fills: int | None
    bot_status: str | None = Field(description="The bot's status at the end of the run.")

    @classmethod
    def of(cls, row: dict[str, Any]) -> SweepResultRow:
        return cls(
            rank=row["rank"], combination=row["combination"], parameters=row["parameters"],
            status=row["status"], reason=row["reason"], metrics=row["metrics"],
            closed_positions=row["closedPositions"], fills=row["fills"],
            bot_status=row["botStatus"],
        )  # fmt: skip


@router.post("/sweeps", status_code=status.HTTP_202_ACCEPTED, response_model=SweepRead,
             responses=errors(401, 403, 422),
             summary="Start a parameter sweep (every combination checked at once, run as a job)")  # fmt: skip
async def create_sweep(body: SweepCreate, principal: TradeScope, runtime: RuntimeDep) -> SweepRead:
    request = SweepRequest(backtest_request(body), body.parameters, body.rank_by)
    return SweepRead.of(await runtime.backtests.sweeps.create(principal.user_id, request))


@router.get("/sweeps", response_model=PageOf[SweepRead], responses=errors(401, 422),
            summary="Your sweeps, newest first")  # fmt: skip
async def list_sweeps(
    principal: ReadScope, session: SessionDep, runtime: RuntimeDep,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[SweepRead]:  # fmt: skip
    page = await runtime.backtests.sweeps.list(
        session, principal.user_id, limit=limit, cursor=cursor
    )
    return PageOf[SweepRead](
        data=[SweepRead.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/sweeps/{sweep_id}", response_model=SweepRead, responses=errors(401, 404),
            summary="One sweep: its status, progress and counts")  # fmt: skip
async def get_sweep(
    sweep_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> SweepRead:
    return SweepRead.of(await runtime.backtests.sweeps.get(session, principal.user_id, sweep_id))


@router.get("/sweeps/{sweep_id}/results", response_model=PageOf[SweepResultRow],
            responses=errors(401, 404, 409, 422),
            summary="A completed sweep's table, best first (then the failed, then the skipped)")  # fmt: skip
async def sweep_results(
    sweep_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[SweepResultRow]:  # fmt: skip
    table = await runtime.backtests.sweeps.results(session, principal.user_id, sweep_id)
    page, following = page_by_position(table, limit, cursor)
    return PageOf[SweepResultRow](data=[SweepResultRow.of(r) for r in page], next_cursor=following)


@router.post("/sweeps/{sweep_id}/cancel", response_model=SweepRead,
             responses=errors(401, 403, 404),
             summary="Stop a queued or running sweep and its worker processes")  # fmt: skip
async def cancel_sweep(
    sweep_id: str, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> SweepRead:
    row = await runtime.backtests.sweeps.cancel(session, principal.user_id, sweep_id)
    return SweepRead.of(row)
