"""Parameter sweeps through the native API: a small sweep runs to its ranked table, each row
equal to a direct run of its combination; bad input is refused at once naming the field; a
cancel stops the sweep's process and its workers within a second; another user's sweep is
not found; and a combination that raises is recorded as failed while the others run."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.v1.jobs import FINAL, GRID, QUICK, trader, until
from tests.conftest import Harness
from tests.helpers import ended_within, key_auth, new_key, new_user
from tradewind.api.app import create_app
from tradewind.backtest import sweeps
from tradewind.backtest.request import BacktestRequest, check, prepare
from tradewind.backtest.runner import run_backtest
from tradewind.domain.clock import ManualClock
from tradewind.marketdata import bundled_store
from tradewind.settings import Settings

# 12 combinations; the 3 with a lower limit above the upper one are skipped
PARAMETERS = {"lowerLimit": [6300, 6460], "upperLimit": [6450, 6500], "gridCount": [4, 8, 16]}
START_MS, END_MS = 1540018800000, 1540627200000  # QUICK's period
# dense grids over a year of hours: some 10 s of work for each of the 4 combinations (futures
# grids: a spot grid runs compiled, in a second or two)
LONG = {
    "type": "futures_grid", "timeframe": "1h", "start": "2017-07-02", "end": "2018-07-01",
    "settings": {
        "symbol": "BTC/USDT:USDT", "lowerLimit": 2000, "upperLimit": 19000, "gridCount": 300,
        "investmentAmount": 5000, "leverage": 2, "direction": "long",
    },
    "parameters": {"gridCount": [250, 300], "investmentAmount": [5000, 6000]},
}  # fmt: skip


async def sweep_of(tw: Harness, h: dict[str, str], sweep_id: str) -> dict[str, Any]:
    r = await tw.client.get(f"/api/v1/sweeps/{sweep_id}", headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def table_of(tw: Harness, h: dict[str, str], sweep_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        r = await tw.client.get(f"/api/v1/sweeps/{sweep_id}/results", headers=h, params=params)
        assert r.status_code == 200, r.text
        rows += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return rows


def gone(pid: int) -> bool:
    """The process has ended (a zombie has: only its exit status waits to be collected)."""
    if Path("/proc/self/stat").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        return state in {"Z", "X"}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def all_gone(pids: tuple[int, ...], deadline: float) -> bool:
    """Whether every process has ended by ``deadline`` (a ``time.monotonic`` time)."""
    while not all(gone(pid) for pid in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class TestASmallSweep:
    async def test_runs_to_a_table_ranked_by_roi_each_row_equal_to_a_direct_run(
        self, tw: Harness
    ) -> None:
        h = await trader(tw)
        r = await tw.client.post(
            "/api/v1/sweeps", headers=h, json=QUICK | {"parameters": PARAMETERS}
        )
        assert r.status_code == 202, r.text
        sweep = r.json()
        assert sweep["status"] == "queued" and sweep["rank_by"] == "roi"
        assert sweep["counts"] == {
            "combinations": 12, "skipped": 3, "completed": 0, "failed": 0, "pending": 9,
        }  # fmt: skip
        states: list[str] = []

        async def done() -> bool:
            s = await sweep_of(tw, h, sweep["sweep_id"])
            if not states or states[-1] != s["status"]:
                states.append(s["status"])
            return s["status"] in FINAL

        await until("the sweep to finish", done)
        assert states[-1] == "completed", states
        assert set(states) <= {"queued", "loading_script", "loading_data", "executing", "completed"}
        final = await sweep_of(tw, h, sweep["sweep_id"])
        assert final["progress"] == 100 and final["finished_at"] is not None
        assert final["counts"] == {
            "combinations": 12, "skipped": 3, "completed": 9, "failed": 0, "pending": 0,
        }  # fmt: skip

        table = await table_of(tw, h, sweep["sweep_id"])
        ran, skipped = table[:9], table[9:]
        assert [row["rank"] for row in ran] == list(range(1, 10))
        assert all(row["status"] == "completed" and row["reason"] is None for row in ran)
        rois = [row["metrics"]["roi"] for row in ran]
        assert rois == sorted(rois, reverse=True) and rois[0] > rois[-1]
        assert [(row["status"], row["rank"]) for row in skipped] == [("skipped", None)] * 3
        assert all(row["parameters"]["lowerLimit"] == 6460 for row in skipped)
        assert all(row["parameters"]["upperLimit"] == 6450 for row in skipped)
        assert all(row["reason"].startswith("settings.upperLimit: ") for row in skipped)
        assert sorted(row["combination"] for row in table) == list(range(12))

        store = bundled_store(tw.settings.data_dir)
        for row in (ran[0], ran[4], ran[-1]):
            request = BacktestRequest(
                script="spot_grid", settings=GRID | row["parameters"], symbol="BTC/USDT",
                timeframe="1h", start_ms=START_MS, end_ms=END_MS,
            )  # fmt: skip
            direct = await run_backtest(prepare(request, store))
            haas = direct.metrics.to_haas()
            assert row["metrics"] == {
                key: haas["summary" if key in ("realizedProfit", "roi") else "performance"][key]
                for key in sweeps.RANK_BY
            }, row["parameters"]
            assert row["closed_positions"] == haas["positions"]["closedPositions"]
            assert row["fills"] == len(direct.fills) and row["bot_status"] == direct.bot_status

        listed = (await tw.client.get("/api/v1/sweeps", headers=h)).json()["data"]
        assert [s["sweep_id"] for s in listed] == [sweep["sweep_id"]]

    async def test_ranks_by_the_metric_asked_for(self, tw: Harness) -> None:
        h = await trader(tw)
        body = QUICK | {"parameters": {"gridCount": [4, 8, 16, 32]}, "rank_by": "realizedProfit"}
        sweep = (await tw.client.post("/api/v1/sweeps", headers=h, json=body)).json()

        async def done() -> bool:
            return (await sweep_of(tw, h, sweep["sweep_id"]))["status"] in FINAL

        await until("the sweep to finish", done)
        table = await table_of(tw, h, sweep["sweep_id"])
        profits = [row["metrics"]["realizedProfit"] for row in table]
        assert len(profits) == 4 and profits == sorted(profits, reverse=True)
        assert len(set(profits)) > 1  # (an order that could have been wrong)


class TestABadSweep:
    @pytest.mark.parametrize(
        ("change", "field", "says"),
        [
            (  # 101 x 100 = 10,100 combinations
                {"parameters": {
                    "gridCount": list(range(2, 103)),
                    "upperLimit": [6450 + i for i in range(100)],
                }},
                "parameters", "10,100 combinations; a sweep runs at most 10,000",
            ),
            ({"parameters": {"gridCount": [4, 1]}}, "parameters.gridCount", "gridCount = 1: "),
            ({"parameters": {"gridCount": [4, "many"]}}, "parameters.gridCount", '"many"'),
            ({"parameters": {"gridCount": [4, 8, 4]}}, "parameters.gridCount", "listed twice"),
            ({"parameters": {"gridCount": []}}, "parameters.gridCount", "at least one value"),
            ({"parameters": {"luck": [1, 2]}}, "parameters.luck", "not a setting"),
            ({"parameters": {"symbol": ["ETH/USDT"]}}, "parameters.symbol", "one market"),
            ({"parameters": {}}, "parameters", "at least one setting"),
            (  # every combination has its lower limit above its upper one
                {"parameters": {"lowerLimit": [6460, 6470]}},
                "settings.upperLimit", "none of the 2 combinations is valid",
            ),
            (
                {"parameters": {"gridCount": [4]}, "end": "2018-10-19"},
                "end", "the end must be after the start",
            ),
            ({"parameters": {"gridCount": [4]}, "rank_by": "luck"}, "rank_by", "roi"),
            ({"parameters": {"gridCount": [4]}, "type": "no_such_bot"}, "script", "no_such_bot"),
        ],
    )  # fmt: skip
    async def test_is_refused_at_once_naming_the_field(
        self, tw: Harness, change: dict[str, Any], field: str, says: str
    ) -> None:
        h = await trader(tw)
        r = await tw.client.post("/api/v1/sweeps", headers=h, json=QUICK | change)
        assert r.status_code == 422, r.text
        details = r.json()["error"]["details"]
        assert any(d["field"] == field for d in details), details
        assert says in r.json()["error"]["message"], r.text
        assert (await tw.client.get("/api/v1/sweeps", headers=h)).json()["data"] == []

    async def test_needs_the_trade_scope(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        reader = key_auth(await new_key(tw.client, user["auth"], "read"))
        r = await tw.client.post(
            "/api/v1/sweeps", headers=reader, json=QUICK | {"parameters": {"gridCount": [4]}}
        )
        assert r.status_code == 403, r.text


class TestCancel:
    async def test_stops_the_sweep_and_its_workers_within_a_second(self, tw: Harness) -> None:
        h = await trader(tw)
        r = await tw.client.post("/api/v1/sweeps", headers=h, json=LONG)
        assert r.status_code == 202, r.text
        sweep_id = r.json()["sweep_id"]
        jobs = tw.runtime.backtests.sweeps

        async def working() -> bool:
            return bool(jobs.workers_of(sweep_id))

        await until("the sweep's workers to run", working)
        assert (await sweep_of(tw, h, sweep_id))["status"] == "executing"
        r = await tw.client.get(f"/api/v1/sweeps/{sweep_id}/results", headers=h)
        assert r.status_code == 409 and "executing" in r.json()["error"]["message"]
        process, workers = jobs.process_of(sweep_id), jobs.workers_of(sweep_id)
        assert process.is_alive() and not any(gone(pid) for pid in workers)
        assert os.getpid() not in (process.pid, *workers)

        r = await tw.client.post(f"/api/v1/sweeps/{sweep_id}/cancel", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        answered = time.monotonic()
        ended = await asyncio.to_thread(ended_within, process, 1.0)
        assert ended, "the sweep's process outlived its cancel by a second"
        ended = await asyncio.to_thread(all_gone, workers, answered + 1.0)
        assert ended, "a worker outlived the cancel by a second"
        await asyncio.sleep(0.3)  # nothing sent late changes the sweep
        assert (await sweep_of(tw, h, sweep_id))["status"] == "cancelled"
        r = await tw.client.post(f"/api/v1/sweeps/{sweep_id}/cancel", headers=h)
        assert r.json()["status"] == "cancelled"  # a second cancel changes nothing


class TestAnotherUsersSweep:
    async def test_is_not_found(self, tw: Harness) -> None:
        h = await trader(tw)
        body = QUICK | {"parameters": {"gridCount": [4, 8]}}
        sweep_id = (await tw.client.post("/api/v1/sweeps", headers=h, json=body)).json()["sweep_id"]
        other = await trader(tw)
        for path in ("", "/results"):
            r = await tw.client.get(f"/api/v1/sweeps/{sweep_id}{path}", headers=other)
            assert r.status_code == 404, (path, r.text)
        r = await tw.client.post(f"/api/v1/sweeps/{sweep_id}/cancel", headers=other)
        assert r.status_code == 404
        assert (await tw.client.get("/api/v1/sweeps", headers=other)).json()["data"] == []
        assert (await sweep_of(tw, h, sweep_id))["status"] != "cancelled"
        await tw.client.post(f"/api/v1/sweeps/{sweep_id}/cancel", headers=h)


class TestARestart:
    async def test_stops_a_running_sweep_with_its_workers_and_then_fails_it(
        self, settings: Settings, clock: ManualClock
    ) -> None:
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as c:
                user = await new_user(c)
                h = key_auth(await new_key(c, user["auth"], "trade"))
                sweep_id = (await c.post("/api/v1/sweeps", headers=h, json=LONG)).json()["sweep_id"]
                jobs = app.state.runtime.backtests.sweeps

                async def working() -> bool:
                    return bool(jobs.workers_of(sweep_id))

                await until("the sweep's workers to run", working)
                workers = jobs.workers_of(sweep_id)
        assert await asyncio.to_thread(all_gone, workers, time.monotonic() + 3.0)

        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as c:
                cut_off = (await c.get(f"/api/v1/sweeps/{sweep_id}", headers=h)).json()
        assert cut_off["status"] == "failed"
        assert cut_off["message"] == "interrupted by a restart of the server; run it again"


def test_a_combination_that_raises_is_failed_with_its_reason_and_the_others_run(
    tmp_path: Path,
) -> None:
    # (belongs beside the sweeps module; here while its tests are the API's)
    store = bundled_store(tmp_path)
    request = BacktestRequest(
        script="spot_grid", settings=GRID, symbol="BTC/USDT", timeframe="1h",
        start_ms=START_MS, end_ms=END_MS,
    )  # fmt: skip
    base = prepare(request, store)
    first_ms = START_MS - check(request, store).history * 3_600_000
    good = sweeps.Combination(0, {"gridCount": 4}, GRID, first_ms)
    bad = sweeps.Combination(1, {"gridCount": 0}, GRID | {"gridCount": 0}, first_ms)  # unchecked
    seen: list[tuple[int, int, int]] = []
    outcomes = sweeps.run_sweep(
        base, [good, bad], workers=2, progress=lambda *done: seen.append(done)
    )
    assert [o.status for o in outcomes] == ["completed", "failed"]
    assert outcomes[1].reason is not None and "gridCount" in outcomes[1].reason
    assert seen[0] == (0, 2, 0) and seen[-1] == (2, 2, 1)
    table = sweeps.rank(outcomes, "roi")
    assert [(row["rank"], row["status"]) for row in table] == [(1, "completed"), (None, "failed")]
