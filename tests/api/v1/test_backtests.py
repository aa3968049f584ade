"""Backtest jobs through the native API: each state, results equal to a direct run, logs,
positions and equity, the up-front checks, cancel within a second, a process that dies, jobs
running side by side in their own processes, and a restart that cuts a job off."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.api.v1.jobs import FINAL, GRID, QUICK, trader, until
from tests.conftest import Harness
from tests.helpers import ended_within, key_auth, new_key, new_user
from tradewind.api.app import create_app
from tradewind.backtest.request import BacktestRequest, prepare
from tradewind.backtest.runner import run_backtest
from tradewind.domain.clock import ManualClock
from tradewind.marketdata import bundled_store
from tradewind.settings import Settings

# 300 grids over two years of hours: about 25,000 fills, some 20 s of work. A futures grid:
# a spot grid's re-arms run compiled (backtest/compiled.py) and end such a run in a second or
# two, too soon for the tests that need a job still running
LONG = {
    "type": "futures_grid", "timeframe": "1h", "start": "2017-07-02", "end": "2019-10-01",
    "settings": {
        "symbol": "BTC/USDT:USDT", "lowerLimit": 2000, "upperLimit": 19000, "gridCount": 300,
        "investmentAmount": 5000, "leverage": 2, "direction": "long",
    },
}  # fmt: skip


async def status_of(tw: Harness, h: dict[str, str], job: str) -> dict[str, Any]:
    r = await tw.client.get(f"/api/v1/backtests/{job}/status", headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def wait_for(tw: Harness, h: dict[str, str], job: str, states: set[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        seen.update(await status_of(tw, h, job))
        return seen["status"] in states

    await until(f"{job} to reach {states}", reached)
    return seen


async def test_a_backtest_job_goes_through_its_states_to_the_results_of_a_direct_run(
    tw: Harness,
) -> None:
    h = await trader(tw)
    r = await tw.client.post("/api/v1/backtests", headers=h, json=QUICK)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["progress"] == 0 and job["type"] == "spot_grid"
    states: list[str] = []

    async def done() -> bool:
        s = await status_of(tw, h, job["backtest_id"])
        if not states or states[-1] != s["status"]:
            states.append(s["status"])
        return s["status"] in FINAL

    await until("the job to finish", done)
    assert states[-1] == "completed", states
    assert set(states) <= {"queued", "loading_script", "loading_data", "executing", "completed"}
    final = (await tw.client.get(f"/api/v1/backtests/{job['backtest_id']}", headers=h)).json()
    assert final["progress"] == 100 and final["finished_at"] is not None

    results = (
        await tw.client.get(f"/api/v1/backtests/{job['backtest_id']}/results", headers=h)
    ).json()
    request = BacktestRequest(
        script="spot_grid", settings=GRID, symbol="BTC/USDT", timeframe="1h",
        start_ms=1540018800000, end_ms=1540627200000,
    )  # fmt: skip
    direct = await run_backtest(prepare(request, bundled_store(tw.settings.data_dir)))
    assert {k: results[k] for k in ("summary", "performance", "orders", "positions")} == (
        direct.metrics.to_haas()
    )
    assert results["run"]["bars"] == direct.bars == 170
    assert results["run"]["fills"] == len(direct.fills)

    logs = await _all(tw, f"/api/v1/backtests/{job['backtest_id']}/logs", h, limit=7)
    assert [x["message"] for x in logs] == [x.message for x in direct.logs]
    assert [x["line"] for x in logs] == list(range(1, len(logs) + 1))
    positions = await _all(tw, f"/api/v1/backtests/{job['backtest_id']}/positions", h, limit=5)
    assert [p["profit"] for p in positions] == [str(t.profit) for t in direct.round_trips]
    equity = (
        await tw.client.get(f"/api/v1/backtests/{job['backtest_id']}/equity", headers=h)
    ).json()
    assert equity["points"] == 170 and not equity["downsampled"]
    assert equity["equity"] == pytest.approx(direct.curve.equity.tolist())

    listed = (await tw.client.get("/api/v1/backtests", headers=h)).json()["data"]
    assert [b["backtest_id"] for b in listed] == [job["backtest_id"]]
    other = await trader(tw)
    for path in ("", "/status", "/results", "/logs", "/equity"):
        r = await tw.client.get(f"/api/v1/backtests/{job['backtest_id']}{path}", headers=other)
        assert r.status_code == 404, (path, r.text)
    r = await tw.client.post(f"/api/v1/backtests/{job['backtest_id']}/cancel", headers=other)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2018-10-19"}, "end"),  # before the start
        ({"start": "2017-06-01", "end": "2017-08-01"}, "start"),  # before the stored candles
        ({"start": "2019-09-01", "end": "2019-12-01"}, "end"),  # after them
        ({"timeframe": "7m"}, "timeframe"),
        ({"type": "no_such_bot"}, "script"),
        ({"settings": {**GRID, "gridCount": 1}}, "settings.gridCount"),
        ({"settings": {**GRID, "symbol": "DOGE/EUR"}}, "symbol"),
        ({"start": "yesterday"}, "start"),
        ({"taker_fee": "0.5"}, "takerFee"),
        (  # a futures grid on a spot market
            {
                "type": "futures_grid",
                "settings": {
                    "symbol": "BTC/USDT",
                    "lowerLimit": 5800,
                    "upperLimit": 6400,
                    "gridCount": 6,
                    "investmentAmount": 300,
                    "leverage": 5,
                    "direction": "long",
                },
            },
            "settings.symbol",
        ),
    ],
)
async def test_a_bad_request_is_refused_at_once_naming_the_field(
    tw: Harness, change: dict[str, Any], field: str
) -> None:
    h = await trader(tw)
    r = await tw.client.post("/api/v1/backtests", headers=h, json=QUICK | change)
    assert r.status_code == 422, r.text
    assert any(d["field"] == field for d in r.json()["error"]["details"]), r.text
    assert (await tw.client.get("/api/v1/backtests", headers=h)).json()["data"] == []


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"backtest_max_span_days": 400}


async def test_the_span_limit_is_checked_up_front(tw: Harness) -> None:
    h = await trader(tw)
    r = await tw.client.post("/api/v1/backtests", headers=h, json=LONG)  # 820 days
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {"field": "end", "message": "a backtest spans at most 400 days"}
    ]


async def test_results_wait_for_completion_and_a_cancel_stops_the_process_within_a_second(
    tw: Harness,
) -> None:
    h = await trader(tw)
    span = LONG | {"end": "2018-07-01"}  # within the 400 days of this module's settings
    job = (await tw.client.post("/api/v1/backtests", headers=h, json=span)).json()["backtest_id"]
    await wait_for(tw, h, job, {"executing"})
    r = await tw.client.get(f"/api/v1/backtests/{job}/results", headers=h)
    assert r.status_code == 409 and "executing" in r.json()["error"]["message"]
    process = tw.runtime.backtests.process_of(job)
    assert process is not None and process.is_alive()
    r = await tw.client.post(f"/api/v1/backtests/{job}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    ended = await asyncio.to_thread(ended_within, process, 1.0)
    assert ended, "the job's process outlived its cancel by a second"
    await asyncio.sleep(0.3)  # nothing the process sent late changes the job
    assert (await status_of(tw, h, job))["status"] == "cancelled"
    r = await tw.client.post(f"/api/v1/backtests/{job}/cancel", headers=h)
    assert r.json()["status"] == "cancelled"  # a second cancel changes nothing


async def test_a_job_whose_process_dies_fails_with_the_reason_and_others_run_meanwhile(
    tw: Harness,
) -> None:
    h = await trader(tw)
    span = LONG | {"end": "2018-07-01"}
    first = (await tw.client.post("/api/v1/backtests", headers=h, json=span)).json()["backtest_id"]
    second = (await tw.client.post("/api/v1/backtests", headers=h, json=span)).json()["backtest_id"]
    await wait_for(tw, h, first, {"executing"})
    await wait_for(tw, h, second, {"executing"})
    a, b = (tw.runtime.backtests.process_of(j) for j in (first, second))
    assert a.is_alive() and b.is_alive() and a.pid != b.pid != os.getpid()  # side by side
    r = await tw.client.get("/api/v1/backtests", headers=h)  # the API answers meanwhile
    assert r.status_code == 200 and len(r.json()["data"]) == 2
    os.kill(a.pid, signal.SIGKILL)
    failed = await wait_for(tw, h, first, FINAL)
    assert failed["status"] == "failed"
    assert failed["message"] == "the backtest process ended unexpectedly (exit code -9)"
    assert (await status_of(tw, h, second))["status"] == "executing"
    await tw.client.post(f"/api/v1/backtests/{second}/cancel", headers=h)


async def test_a_restart_fails_the_job_it_cut_off_and_keeps_finished_results(
    settings: Settings, clock: ManualClock
) -> None:
    async def life(work: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> Any:
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as c:
                return await work(c)

    async def first(c: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
        user = await new_user(c)
        h = key_auth(await new_key(c, user["auth"], "trade"))
        done = (await c.post("/api/v1/backtests", headers=h, json=QUICK)).json()["backtest_id"]
        long = (
            await c.post("/api/v1/backtests", headers=h, json=LONG | {"end": "2018-07-01"})
        ).json()
        for job in (done, long["backtest_id"]):
            want = "completed" if job == done else "executing"

            async def there(job: str = job, want: str = want) -> bool:
                r = await c.get(f"/api/v1/backtests/{job}/status", headers=h)
                return bool(r.json()["status"] == want)

            await until(f"{job} {want}", there)
        return h, done, long["backtest_id"]

    h, done, cut = await life(first)

    async def second(c: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
        a = (await c.get(f"/api/v1/backtests/{cut}", headers=h)).json()
        b = (await c.get(f"/api/v1/backtests/{done}/results", headers=h)).json()
        return a, b

    cut_off, results = await life(second)
    assert cut_off["status"] == "failed"
    assert cut_off["message"] == "interrupted by a restart of the server; run it again"
    assert results["run"]["bars"] == 170


async def _all(
    tw: Harness, path: str, headers: dict[str, str], *, limit: int
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = await tw.client.get(path, headers=headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= limit
        found += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return found
