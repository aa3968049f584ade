"""HaasOnline dialect, backtests: the document's examples as written (ids and dates changed
only where our data needs it), every field it shows with its name and JSON type, the states a
job goes through, results equal to the native API's for the same job, positions with their
entry and exit, cancel of a running job, and the refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.dialects.test_haas import BASE
from tests.api.dialects.test_haas_bots import Haas, partner
from tests.conftest import Harness
from tests.helpers import ended_within, new_user
from tradewind.domain.accounts import Scope
from tradewind.marketdata import ReplayFeed, Timeframe, bundled_store
from tradewind.services import api_keys
from tradewind.store.tables import BacktestRow
from tradewind.venues.paper.catalog import paper_instruments

BT = "/bots/backtest"
FINAL = {"completed", "failed", "cancelled"}
STATES = {"loading_script", "loading_data", "executing", *FINAL}

# ---- the document's examples, as written --------------------------------------------------

DOC_START = {
    "userId": "user_abc123",
    "type": "spot_grid",
    "exchangeId": "BINANCE",
    "settings": {
        "market": "BTC-USDT",
        "amount": 1000,
        "grid_levels": 10,
        "grid_range": 5,
        "stop_loss": -10,
    },
    "startUnix": 1704067200,
    "endUnix": 1706745600,
}
DOC_START_DATA = {
    "backtestId": "a3f7e9c1-4b2d-4e8f-9a1c-3d5e7f9b1c2d",
    "serviceId": "script-execution-01",
    "message": "Backtest started successfully. Use GET /bots/backtest/{id}/status to track progress.",
}
DOC_STATUS_DATA = {
    "backtestId": "a3f7e9c1-4b2d-4e8f-9a1c-3d5e7f9b1c2d",
    "state": "executing",
    "progress": 67,
    "message": "Processing historical data...",
    "serviceId": "script-execution-01",
}
DOC_RESULTS_DATA = {
    "backtestId": "a3f7e9c1-4b2d-4e8f-9a1c-3d5e7f9b1c2d",
    "startUnix": 1704067200,
    "endUnix": 1706745600,
    "executionStart": 1709856000,
    "executionEnd": 1709856045,
    "market": "BINANCE:BTC-USDT",
    "summary": {
        "realizedProfit": 245.67, "profitCurrency": "USDT", "roi": 24.57, "feeCosts": 12.34,
        "grossProfit": 258.01, "priceChange": 8.5,
    },
    "performance": {
        "profitFactor": 2.34, "sharpeRatio": 1.87, "sortinoRatio": 2.15, "maxDrawdown": -45.23,
        "maxDrawdownPercent": -4.52, "winPercentage": 0.68, "biggestWin": 89.45,
        "biggestLoss": -32.18, "highestProfit": 312.45, "lowestProfit": -12.67,
    },
    "orders": {"total": 156, "filled": 142, "partiallyFilled": 8, "averageOpenTime": 3600},
    "positions": {
        "closedPositions": 78, "winningPositions": 53, "losingPositions": 25,
        "averageProfit": 3.15, "averageMargin": 100,
    },
    "logs": [
        "1704067200 ||| 0 ||| Backtest started",
        "1704067260 ||| 1 ||| Placed BUY order at 42500.00",
        "1704067320 ||| 1 ||| Order filled at 42495.50",
        "1704067380 ||| 1 ||| Placed SELL order at 42750.00",
        "1704067440 ||| 1 ||| Order filled at 42755.00",
        "1704067500 ||| 0 ||| Position closed. Profit: +2.50 USDT",
    ],
}  # fmt: skip
DOC_LOGS_DATA = [
    {
        "lineNumber": 0,
        "timestamp": 0,
        "severity": "error",
        "color": "rgba(128, 128, 128, 1.00)",
        "message": "string",
    }
]
DOC_ORDER = {
    "paid": "string", "pa": 0, "id": "string", "eid": "string", "ot": 0, "ct": 0, "to": 0,
    "d": 0, "t": 500, "p": 0, "tp": 0, "ep": 0, "a": 0, "af": 0, "fe": 0, "fc": "string",
    "m": 0, "pr": 0, "r": 0, "cr": 0, "n": "string",
}  # fmt: skip
DOC_POSITIONS_DATA = [
    {
        "pg": "string", "g": "string", "ac": "string", "ma": "string", "le": 0, "d": 0,
        "mt": 1500, "pl": "string", "al": "string", "pd": 0, "ad": 0, "ot": 0, "ct": 0,
        "ic": True, "ap": 0, "t": 0, "av": 0, "io": 0, "eno": [DOC_ORDER], "exo": [DOC_ORDER],
        "cp": 0, "fe": 0, "rp": 0, "up": 0, "roi": 0, "hpip": 0, "lpip": 0,
    }
]  # fmt: skip

# The example's dates (January 2024) are past the bundled BTC/USDT hours (2017-07-01 to
# 2019-10-17): the closest valid run changes only the year, to January 2019.
JAN_2019 = {"startUnix": 1546300800, "endUnix": 1548979200}

# ---- our jobs -------------------------------------------------------------------------------

GRID = {
    "symbol": "PAPER_BTC_USDT_", "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip
# 2018-10-20T07:00Z up to 2018-10-27T09:00Z: the bars opening 07:00 on the 20th to 08:00 on
# the 27th, the native API's quick job (170 bars)
QUICK = {"type": "spot_grid", "settings": GRID, "startUnix": 1540018800, "endUnix": 1540630800}
NATIVE_QUICK = {
    "type": "spot_grid", "settings": {**GRID, "symbol": "BTC/USDT"}, "timeframe": "1h",
    "start": "2018-10-20T07:00:00Z", "end": "2018-10-27T08:00:00Z",
}  # fmt: skip
# 300 grids over a year of hours: some seconds of work, long enough to cancel
LONG = {
    "type": "spot_grid", "startUnix": 1498953600, "endUnix": 1530403200,
    "settings": {
        "symbol": "PAPER_BTC_USDT_", "lowerLimit": 2000, "upperLimit": 19000, "gridCount": 300,
        "investmentAsset": "Quote", "investmentAmount": 5000, "tradeToFillGrid": True,
    },
}  # fmt: skip


# ---- helpers --------------------------------------------------------------------------------


def kind(value: Any) -> str:
    """A value's JSON type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def same_shape(
    answer: Any, example: Any, path: str = "data", nullable: frozenset[str] = frozenset()
) -> None:
    """Every field of the document's example is in the answer with the same JSON type (and
    no field it does not show); each element of an answer's array is shaped like the example's
    first. ``nullable``: paths whose value may also be null."""
    if path in nullable and answer is None:
        return
    assert kind(answer) == kind(example), (
        f"{path}: {kind(answer)}, the document shows {kind(example)}"
    )
    if isinstance(example, dict):
        assert set(answer) == set(example), (path, set(answer) ^ set(example))
        for key, value in example.items():
            same_shape(answer[key], value, f"{path}.{key}", nullable)
    elif isinstance(example, list) and example:
        for item in answer:
            same_shape(item, example[0], f"{path}[]", nullable)


async def call(p: Haas, method: str, path: str, body: Any = None) -> httpx.Response:
    return await p.tw.client.request(
        method, BASE + path, headers=p.headers, **({} if body is None else {"json": body})
    )


async def data(p: Haas, method: str, path: str, body: Any = None) -> Any:
    r = await call(p, method, path, body)
    answer = r.json()
    assert r.status_code == 200 and answer["isSuccess"] is True, answer
    assert set(answer) == {"isSuccess", "code", "message", "data"} and answer["code"] == 0
    return answer["data"]


async def refused(p: Haas, method: str, path: str, status: int, body: Any = None) -> str:
    r = await call(p, method, path, body)
    answer = r.json()
    assert r.status_code == status, answer
    assert answer["isSuccess"] is False and answer["code"] == status and answer["data"] is None
    return str(answer["message"])


async def start(p: Haas, body: dict[str, Any]) -> str:
    return str((await data(p, "POST", BT, body))["backtestId"])


async def follow(p: Haas, job: str, until: set[str] = FINAL) -> list[dict[str, Any]]:
    """Each status answer while polling, until the state is one of ``until``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while not seen or seen[-1]["state"] not in until:
        if time.monotonic() > deadline:
            pytest.fail(f"{job} did not reach {until}: {seen[-1:]}")
        seen.append(await data(p, "GET", f"{BT}/{job}/status"))
        await asyncio.sleep(0.05)
    return seen


async def native_auth(tw: Harness, user_id: str) -> dict[str, str]:
    """A read key of the partner's user, for the native API."""
    async with tw.runtime.sessions() as s:
        issued = await api_keys.create_key(s, tw.clock, user_id, "native", Scope.READ)
        await s.commit()
    return {"Authorization": f"Bearer {issued.material.public_key}:{issued.material.secret}"}


async def native(tw: Harness, h: dict[str, str], path: str, **params: Any) -> Any:
    r = await tw.client.get("/api/v1/backtests" + path, headers=h, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def native_all(tw: Harness, h: dict[str, str], path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await native(tw, h, path, limit=100, **({"cursor": cursor} if cursor else {}))
        found += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


LOG_LINE = re.compile(r"^(\d+) \|\|\| ([0-4]) \|\|\| (.*)$", re.DOTALL)


# ---- tests ----------------------------------------------------------------------------------


class TestDocumentExamples:
    async def test_every_backtest_example_of_the_document_works(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        example = {**DOC_START, "userId": uid, "exchangeId": "PAPER"}  # ids: ours

        # as written, the example's January 2024 has no candles here: refused, naming the field
        message = await refused(p, "POST", BT, 400, example)
        assert message.startswith("startUnix: candles for BTC/USDT 1h cover 2017-07-01"), message

        started = await data(p, "POST", BT, example | JAN_2019)
        same_shape(started, DOC_START_DATA)
        job = started["backtestId"]
        assert job.startswith("bt_") and started["serviceId"] == "tradewind-backtests"
        assert started["message"] == (
            f"Backtest started successfully. Use GET /bots/backtest/{job}/status to track progress."
        )

        statuses = await follow(p, job)
        for status in statuses:
            same_shape(status, DOC_STATUS_DATA)
            assert status["backtestId"] == job and status["state"] in STATES
            assert 0 <= status["progress"] <= 100 and status["serviceId"] == started["serviceId"]
        states = [s["state"] for s in statuses]
        assert states[-1] == "completed", statuses[-1]
        assert statuses[-1]["progress"] == 100
        order = ["loading_script", "loading_data", "executing", "completed"]
        assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)

        # the example's grid keys, read as the script's (the module docstring)
        h = await native_auth(tw, uid)
        settings = (await native(tw, h, f"/{job}"))["settings"]
        btc = paper_instruments()["BTC/USDT"]
        first = bundled_store(tw.settings.data_dir).read(
            "paper", "BTC/USDT", Timeframe.H1, 1546300800000, 1546304400000
        )
        opened = Decimal(repr(float(first.open[0])))  # the first bar's open, 2019-01-01 00:00

        def at(fraction: str) -> float:
            return float(btc.round_price(opened * Decimal(fraction)))

        assert settings == {
            "symbol": "BTC/USDT", "investmentAmount": 1000, "investmentAsset": "Quote",
            "gridCount": 10, "lowerLimit": at("0.95"), "upperLimit": at("1.05"),
            "stopCondition": "Price", "stopType": "Below value", "stopValue": at("0.9"),
            "stopExit": True,
        }  # fmt: skip

        results = await data(p, "GET", f"{BT}/{job}/results")
        same_shape(
            results, DOC_RESULTS_DATA,
            nullable=frozenset({"data.performance.profitFactor", "data.performance.sharpeRatio",
                                "data.performance.sortinoRatio"}),
        )  # fmt: skip
        assert (results["backtestId"], results["market"]) == (job, "PAPER:BTC-USDT")
        assert (results["startUnix"], results["endUnix"]) == (1546300800, 1548979200)
        assert 0 < results["executionStart"] <= results["executionEnd"]
        assert results["summary"]["profitCurrency"] == "USDT"
        assert results["positions"]["closedPositions"] > 0

        logs = await data(p, "GET", f"{BT}/{job}/logs")
        same_shape(logs, DOC_LOGS_DATA, nullable=frozenset({"data[].color"}))
        assert [x["lineNumber"] for x in logs] == list(range(1, len(logs) + 1))
        assert {x["severity"] for x in logs} <= {"info", "trade", "warning", "error", "custom"}
        assert all(1546300800 <= x["timestamp"] < 1548979200 + 3600 for x in logs)
        assert len(logs) > 50 and len(results["logs"]) == 50  # the first 50, as the document says
        levels = {"info": "0", "trade": "1", "warning": "2", "error": "3", "custom": "4"}
        for line, full in zip(results["logs"], logs, strict=False):
            assert LOG_LINE.match(line).groups() == (  # type: ignore[union-attr]
                str(full["timestamp"]), levels[full["severity"]], full["message"],
            )  # fmt: skip

        positions = await data(p, "GET", f"{BT}/{job}/positions")
        same_shape(positions, DOC_POSITIONS_DATA)
        assert len(positions) == results["positions"]["closedPositions"]

        # the cancel example, on a backtest still running
        running = await start(p, LONG | {"userId": uid})
        assert await data(p, "POST", f"{BT}/{running}/cancel") is True
        assert (await data(p, "GET", f"{BT}/{running}/status"))["state"] == "cancelled"

    async def test_the_backtest_paths_are_in_the_openapi_document(self, tw: Harness) -> None:
        paths = (await tw.client.get("/openapi.json")).json()["paths"]
        assert "post" in paths[f"{BASE}{BT}"]
        for op in ("status", "results", "logs", "positions"):
            assert "get" in paths[f"{BASE}{BT}/{{backtestId}}/{op}"], op
        assert "post" in paths[f"{BASE}{BT}/{{backtestId}}/cancel"]


class TestResults:
    async def test_results_logs_and_positions_are_the_native_apis_for_the_same_job(
        self, tw: Harness
    ) -> None:
        p = await partner(tw)
        uid = await p.user()
        job = await start(p, QUICK | {"userId": uid})
        assert (await follow(p, job))[-1]["state"] == "completed"
        h = await native_auth(tw, uid)

        results = await data(p, "GET", f"{BT}/{job}/results")
        mine = await native(tw, h, f"/{job}/results")
        for part in ("summary", "performance", "orders", "positions"):
            assert results[part] == mine[part], part  # the same numbers
        assert mine["run"]["bars"] == 170  # startUnix to endUnix: the native quick job's bars
        assert (results["startUnix"], results["endUnix"]) == (QUICK["startUnix"], QUICK["endUnix"])
        job_row = await native(tw, h, f"/{job}")
        assert (job_row["start"], job_row["end"]) == (
            "2018-10-20T07:00:00Z", "2018-10-27T08:59:59.999000Z",
        )  # fmt: skip

        # the same bot asked natively (its last bar's open as the end) gets the same figures
        r = await tw.client.post(
            "/api/v1/backtests", headers=await trade_auth(tw, uid), json=NATIVE_QUICK
        )
        assert r.status_code == 202, r.text
        twin = r.json()["backtest_id"]
        deadline = time.monotonic() + 60
        while (await native(tw, h, f"/{twin}/status"))["status"] not in FINAL:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        again = await native(tw, h, f"/{twin}/results")
        assert {k: again[k] for k in ("summary", "performance", "orders", "positions")} == {
            k: results[k] for k in ("summary", "performance", "orders", "positions")
        }
        # and through this dialect it reads the same, ending where its last bar ends
        seen_here = await data(p, "GET", f"{BT}/{twin}/results")
        assert {
            k: v
            for k, v in seen_here.items()
            if k not in ("backtestId", "executionStart", "executionEnd")
        } == {
            k: v
            for k, v in results.items()
            if k not in ("backtestId", "executionStart", "executionEnd")
        }

        logs = await data(p, "GET", f"{BT}/{job}/logs")
        lines = await native_all(tw, h, f"/{job}/logs")
        assert [(x["lineNumber"], x["severity"], x["color"], x["message"]) for x in logs] == [
            (x["line"], x["severity"], x["color"], x["message"]) for x in lines
        ]
        assert [x["timestamp"] for x in logs] == [_unix(x["timestamp"]) for x in lines]
        levels = {"info": 0, "trade": 1, "warning": 2, "error": 3, "custom": 4}
        assert results["logs"] == [
            f"{x['timestamp']} ||| {levels[x['severity']]} ||| {x['message']}" for x in logs[:50]
        ]

        positions = await data(p, "GET", f"{BT}/{job}/positions")
        trips = await native_all(tw, h, f"/{job}/positions")
        assert len(positions) == len(trips) == results["positions"]["closedPositions"] > 0
        feed = _feed(tw)
        for n, (x, trip) in enumerate(zip(positions, trips, strict=True), 1):
            assert (x["pg"], x["g"], x["ma"], x["d"], x["ic"]) == (
                f"{job}-{n}",
                job,
                "PAPER_BTC_USDT_",
                0,
                True,
            )
            assert (x["ap"], x["cp"], x["t"]) == (
                float(trip["entry_price"]),
                float(trip["exit_price"]),
                float(trip["amount"]),
            )
            assert (x["rp"], x["fe"], x["up"]) == (float(trip["profit"]), float(trip["fees"]), 0)
            assert (x["ot"], x["ct"]) == (_unix(trip["entry_time"]), _unix(trip["exit_time"]))
            assert (x["le"], x["pl"], x["al"], x["pd"], x["ad"]) == (1, "USDT", "BTC", 2, 5)
            assert x["roi"] == pytest.approx(float(trip["profit"]) / float(trip["margin"]) * 100)
            [entry], [leave] = x["eno"], x["exo"]
            assert (entry["d"], entry["p"], entry["a"], entry["ot"]) == (
                0,
                x["ap"],
                x["t"],
                x["ot"],
            )
            assert (leave["d"], leave["p"], leave["a"], leave["ct"]) == (
                1,
                x["cp"],
                x["t"],
                x["ct"],
            )
            assert entry["fe"] + leave["fe"] == pytest.approx(x["fe"])
            # paper BTC/USDT charges 0.1 % on both sides: each side's fee is 0.1 % of its value
            assert entry["fe"] == pytest.approx(x["ap"] * x["t"] * 0.001)
            assert (entry["pr"], leave["pr"], leave["r"]) == (0, x["rp"], x["roi"])
            assert entry["m"] == float(trip["margin"]) and leave["m"] == 0
            assert entry["paid"] == leave["paid"] == x["pg"] and entry["fc"] == "USDT"
            # the highest and lowest price from the entry to the exit, along every vertex
            path = [
                price
                for _, price in feed.price_path(_ms(trip["entry_time"]), _ms(trip["exit_time"]))
            ]
            assert (x["hpip"], x["lpip"]) == (round(max(path), 2), round(min(path), 2))
            assert x["hpip"] >= x["lpip"] > 0

        # nothing left to cancel: false, and the job stays completed
        r = await call(p, "POST", f"{BT}/{job}/cancel")
        assert r.json()["data"] is False and "completed" in r.json()["message"]
        assert (await data(p, "GET", f"{BT}/{job}/status"))["state"] == "completed"

    async def test_a_futures_grid_shows_short_and_long_positions_with_their_margin(
        self, tw: Harness
    ) -> None:
        p = await partner(tw)
        uid = await p.user()
        settings = {
            "market": "BTC-USDT", "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
            "investmentAmount": 1000, "leverage": 3,
        }  # fmt: skip
        job = await start(p, {**QUICK, "type": "futures_grid", "settings": settings, "userId": uid})
        assert (await follow(p, job))[-1]["state"] == "completed"
        results = await data(p, "GET", f"{BT}/{job}/results")
        assert results["market"] == "PAPER:BTC-USDT-PERPETUAL"
        positions = await data(p, "GET", f"{BT}/{job}/positions")
        assert {x["d"] for x in positions} == {0, 1}  # a neutral grid goes both ways
        for x in positions:
            same_shape([x], DOC_POSITIONS_DATA)
            assert (x["ma"], x["le"], x["al"]) == ("PAPER_BTC_USDT_PERPETUAL", 3, "contracts")
            [entry] = x["eno"]
            assert entry["m"] == pytest.approx(x["ap"] * x["t"] / 3)
            assert x["roi"] == pytest.approx(x["rp"] / entry["m"] * 100, rel=1e-6)
            assert entry["d"] == x["d"] and x["exo"][0]["d"] == 1 - x["d"]


class TestCancel:
    async def test_a_running_backtest_is_cancelled_and_its_process_stops(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        job = await start(p, LONG | {"userId": uid})
        await follow(p, job, {"executing"})
        for part in ("results", "logs", "positions"):
            message = await refused(p, "GET", f"{BT}/{job}/{part}", 409)
            assert "executing" in message and "completed" in message
        process = tw.runtime.backtests.process_of(job)
        assert process is not None and process.is_alive()
        assert await data(p, "POST", f"{BT}/{job}/cancel") is True
        ended = await asyncio.to_thread(ended_within, process, 1.0)
        assert ended, "the job's process outlived its cancel by a second"
        await asyncio.sleep(0.3)
        status = await data(p, "GET", f"{BT}/{job}/status")
        assert status["state"] == "cancelled"
        assert await data(p, "POST", f"{BT}/{job}/cancel") is True  # still cancelled
        assert "cancelled" in await refused(p, "GET", f"{BT}/{job}/results", 409)


class TestRefusals:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"type": None}, "type"),
            ({"startUnix": None}, "startUnix"),
            ({"endUnix": None}, "endUnix"),
            ({"userId": None}, "userId"),
            ({"type": "grid"}, "type"),
            ({"type": 7}, "type"),
            ({"userId": 42}, "userId"),
            ({"startUnix": "1540018800"}, "startUnix"),
            ({"endUnix": 1540630800.5}, "endUnix"),
            ({"startUnix": 1540018800000, "endUnix": 1540630800000}, "startUnix"),  # ms
            ({"settings": "grid"}, "settings"),
            ({"startUnix": 1540630800, "endUnix": 1540018800}, "endUnix"),  # start after end
            ({"endUnix": 1540018800}, "endUnix"),  # no time between
            ({"startUnix": 1262304000, "endUnix": 1264982400}, "startUnix"),  # 2010: no data
            ({"startUnix": 1567296000, "endUnix": 1575158400}, "endUnix"),  # past the data
            ({"exchangeId": "BINANCE"}, "exchangeId"),
            ({"timeframe": "7m"}, "timeframe"),
            ({"settings": {**GRID, "gridCount": 1}}, "settings.gridCount"),
            ({"settings": {**GRID, "upperLimit": 6000}}, "settings.upperLimit"),
            ({"settings": {**GRID, "symbol": "BITMEX_ETH_USDT_"}}, "settings.symbol"),
            ({"settings": {**GRID, "orderSize": 75}}, "settings.orderSize"),
            ({"settings": {"market": "DOGE-EUR", "grid_range": 5}}, "settings.market"),
            ({"settings": {"market": "BINANCE:BTC-USDT"}}, "settings.market"),
            ({"settings": {"market": "BTC-USDT", "grid_range": "5"}}, "settings.grid_range"),
            ({"settings": {"market": "BTC-USDT", "grid_range": 150}}, "settings.grid_range"),
        ],
    )
    async def test_a_bad_request_is_refused_at_once_naming_the_field(
        self, tw: Harness, change: dict[str, Any], field: str
    ) -> None:
        p = await partner(tw)
        uid = await p.user()
        body = {k: v for k, v in (QUICK | {"userId": uid} | change).items() if v is not None}
        message = await refused(p, "POST", BT, 400, body)
        assert message.startswith(f"{field}: "), message
        async with tw.runtime.sessions() as s:  # nothing was queued
            assert await s.scalar(select(func.count()).select_from(BacktestRow)) == 0

    async def test_unknown_ids_other_partners_and_credentials(self, tw: Harness) -> None:
        mine, theirs = await partner(tw), await partner(tw)
        uid = await mine.user()
        job = await start(mine, QUICK | {"userId": uid})
        await follow(mine, job)
        reads = [("GET", f"{BT}/{{}}/{op}") for op in ("status", "results", "logs", "positions")]
        for method, path in [*reads, ("POST", f"{BT}/{{}}/cancel")]:
            assert "not found" in await refused(mine, method, path.format("bt_nope"), 404)
            assert "not found" in await refused(theirs, method, path.format(job), 404)
        # another partner's user cannot own one
        assert "not found" in await refused(theirs, "POST", BT, 404, QUICK | {"userId": uid})
        assert (await data(mine, "GET", f"{BT}/{job}/status"))["state"] == "completed"

        status = BASE + f"{BT}/{job}/status"
        r = await tw.client.get(status)
        assert r.status_code == 401 and r.json()["isSuccess"] is False
        r = await tw.client.get(status, headers={"Authorization": "Bearer pk_nope:sk_nope"})
        assert r.status_code == 401 and r.json()["code"] == 401
        r = await tw.client.post(BASE + BT, json=QUICK | {"userId": uid})
        assert r.status_code == 401 and r.json()["isSuccess"] is False
        plain = await new_user(tw.client)  # a trader, not a partner
        r = await tw.client.get(status, headers={"Authorization": plain["auth"]})
        assert r.status_code == 403 and r.json()["isSuccess"] is False


# ---- small helpers --------------------------------------------------------------------------


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _unix(iso: str) -> int:
    return _ms(iso) // 1000


def _feed(tw: Harness) -> ReplayFeed:
    """The quick job's candles replayed as the run ticked them."""
    candles = bundled_store(tw.settings.data_dir).read(
        "paper", "BTC/USDT", Timeframe.H1, 1540018800000, 1540630800000
    )
    return ReplayFeed(
        candles, symbol="BTC/USDT", speed=1.0, loop=False, start_at_ms=int(candles.ts[0]),
        timeframe=Timeframe.H1,
    )  # fmt: skip


async def trade_auth(tw: Harness, user_id: str) -> dict[str, str]:
    async with tw.runtime.sessions() as s:
        issued = await api_keys.create_key(s, tw.clock, user_id, "trade", Scope.TRADE)
        await s.commit()
    return {"Authorization": f"Bearer {issued.material.public_key}:{issued.material.secret}"}
