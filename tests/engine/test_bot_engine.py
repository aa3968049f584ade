"""The bot engine through the native API: bots run on the paper venue, from start to stop, with
pause, edits, copies and failures, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import new_user
from tradewind.marketdata import Timeframe, bundled_store

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"

GRID = {
    "symbol": SPOT, "lowerLimit": 6300, "upperLimit": 6500, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip


class Trader:
    def __init__(self, tw: Harness, auth: str) -> None:
        self.tw, self.headers = tw, {"Authorization": auth}

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        r = await self.tw.client.request(method, f"/api/v1{path}", headers=self.headers, **kw)
        assert r.status_code == expect, r.text
        return r.json() if r.content else None

    async def bot(self, settings: dict[str, Any], type: str = "spot_grid", **kw: Any) -> Any:
        body = {"type": type, "name": "bot", "settings": settings, **kw}
        return await self.call("POST", "/bots", 201, json=body)

    async def open_orders(self, bot_id: str) -> list[dict[str, Any]]:
        page = await self.call("GET", f"/bots/{bot_id}/orders?status=open&limit=200")
        return list(page["data"])

    async def logs(self, bot_id: str) -> list[str]:
        page = await self.call("GET", f"/bots/{bot_id}/logs?limit=200")
        return [line["message"] for line in reversed(page["data"])]


async def trader(tw: Harness) -> Trader:
    user = await new_user(tw.client)
    return Trader(tw, user["auth"])


def shape(orders: list[dict[str, Any]]) -> list[tuple[str, D, D]]:
    return sorted((o["side"], D(o["price"]), D(o["amount"])) for o in orders)


async def test_a_spot_grid_places_its_preview_trades_round_trips_and_stops(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    preview = await t.call("POST", "/bots/preview", json={"type": "spot_grid", "settings": GRID})
    bot = await t.bot(GRID)
    assert bot["status"] == "stopped"

    started = await t.call("POST", f"/bots/{bot['bot_id']}/start")
    assert started["status"] == "active"
    await tw.runtime.bots.settle()
    placed = await t.open_orders(bot["bot_id"])
    expected = [
        (o["side"], D(o["price"]), D(o["amount"]))
        for o in preview["orders"]
        if o["type"] == "limit"
    ]
    assert shape(placed) == sorted(expected)
    assert all(o["client_order_id"].startswith(bot["bot_id"] + ":") for o in placed)

    # down through the 6,350 buy, back up through its re-armed sell at 6,400: one round trip
    await tw.move(SPOT, 6340, 6410)
    logs = await t.logs(bot["bot_id"])
    assert any("round trip" in line for line in logs), logs
    got = await t.call("GET", f"/bots/{bot['bot_id']}")
    assert D(got["realized_pnl"]) + D(got["unrealized_pnl"]) > 0  # the round trip's 50 a unit
    assert len(await t.open_orders(bot["bot_id"])) == len(placed)

    stopped = await t.call("POST", f"/bots/{bot['bot_id']}/stop", json={"close_positions": True})
    assert stopped["status"] == "stopped"
    assert await t.open_orders(bot["bot_id"]) == []
    logs = await t.logs(bot["bot_id"])
    assert logs[-1].startswith("Bot stopped") or any("Bot stopped" in x for x in logs[-3:])
    # stopExit sold what the grid had bought: the account holds its starting BTC again
    balances = await t.call("GET", f"/accounts/{got['account_id']}/balances")
    btc = {b["asset"]: D(b["total"]) for b in balances["balances"]}.get("BTC", D(0))
    assert btc < D("0.0001")


async def test_a_paused_bot_keeps_its_orders_and_sees_their_fills_when_resumed(
    tw: Harness,
) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    bot = await t.bot(GRID)
    bot_id = bot["bot_id"]
    await t.call("POST", f"/bots/{bot_id}/start")
    await tw.runtime.bots.settle()
    before = await t.open_orders(bot_id)

    paused = await t.call("POST", f"/bots/{bot_id}/pause")
    assert paused["status"] == "paused"
    assert len(await t.open_orders(bot_id)) == len(before)
    await tw.move(SPOT, 6340)  # the 6,350 buy fills on the venue; the bot is not told yet
    assert not any("at 6350" in line for line in await t.logs(bot_id))

    resumed = await t.call("POST", f"/bots/{bot_id}/start")
    assert resumed["status"] == "active"
    await tw.runtime.bots.settle()
    assert any("Bought" in line and "6350" in line for line in await t.logs(bot_id))


async def test_one_failing_bot_is_marked_error_and_the_others_run_on(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    good = await t.bot(GRID)
    greedy = await t.bot({**GRID, "investmentAmount": 9500})
    await t.call("POST", f"/bots/{good['bot_id']}/start")
    # 9,500 USDT no longer fits next to the first bot's 1,000: the venue refuses its orders
    failed = await t.call("POST", f"/bots/{greedy['bot_id']}/start")
    await tw.runtime.bots.settle()
    failed = await t.call("GET", f"/bots/{greedy['bot_id']}")
    assert failed["status"] == "error"
    assert "Insufficient" in failed["status_reason"] or "insufficient" in failed["status_reason"]
    assert await t.open_orders(greedy["bot_id"]) == []
    assert (await t.call("GET", f"/bots/{good['bot_id']}"))["status"] == "active"
    assert len(await t.open_orders(good["bot_id"])) > 0
    assert any(line.startswith("Error") for line in await t.logs(greedy["bot_id"]))


async def test_a_followers_settings_come_from_its_master(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    master = await t.bot(GRID)
    follower = await t.call(
        "POST", f"/bots/{master['bot_id']}/clone", 201,
        json={"follow_updates": True, "settings": {"investmentAmount": 500}},
    )  # fmt: skip
    copy = await t.call("POST", f"/bots/{master['bot_id']}/clone", 201, json={})
    assert follower["master_bot_id"] == master["bot_id"] and follower["follow_updates"]
    assert D(follower["settings"]["investmentAmount"]) == 500
    assert follower["status"] == "stopped"

    got = await t.call("GET", f"/bots/{master['bot_id']}")
    assert got["cloned"] == 2 and got["followers"] == 1

    refused = await t.call(
        "PATCH", f"/bots/{follower['bot_id']}", 409, json={"settings": {"gridCount": 5}}
    )
    assert "master" in refused["error"]["message"]

    await t.call("PATCH", f"/bots/{master['bot_id']}", json={"settings": {"gridCount": 5}})
    assert (await t.call("GET", f"/bots/{follower['bot_id']}"))["settings"]["gridCount"] == 5
    assert (await t.call("GET", f"/bots/{copy['bot_id']}"))["settings"]["gridCount"] == 4


async def test_an_edit_while_running_reaches_the_running_strategy(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    bot = await t.bot(
        {**GRID, "stopCondition": "Price", "stopType": "Below value", "stopValue": 6000}
    )
    bot_id = bot["bot_id"]
    await t.call("POST", f"/bots/{bot_id}/start")
    refused = await t.call("PATCH", f"/bots/{bot_id}", 422, json={"settings": {"gridCount": 6}})
    assert "gridCount" in str(refused)
    await t.call("PATCH", f"/bots/{bot_id}", json={"settings": {"stopValue": 6330}})
    await tw.move(SPOT, 6320)
    got = await t.call("GET", f"/bots/{bot_id}")
    assert got["status"] == "stopped"
    assert await t.open_orders(bot_id) == []


async def test_deleting_a_running_bot_stops_it_first_and_keeps_its_orders(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    bot = await t.bot(GRID)
    bot_id = bot["bot_id"]
    await t.call("POST", f"/bots/{bot_id}/start")
    await tw.runtime.bots.settle()
    await t.call("DELETE", f"/bots/{bot_id}", 204)
    await t.call("GET", f"/bots/{bot_id}", 404)
    assert tw.venue.open_orders(bot["account_id"]) == []


async def test_another_users_bot_is_not_found(tw: Harness) -> None:
    owner, other = await trader(tw), await trader(tw)
    await tw.move(SPOT, 6425)
    bot = await owner.bot(GRID)
    for method, path in (
        ("GET", ""), ("POST", "/start"), ("POST", "/pause"), ("POST", "/stop"),
        ("GET", "/orders"), ("GET", "/positions"), ("GET", "/logs"), ("DELETE", ""),
    ):  # fmt: skip
        await other.call(method, f"/bots/{bot['bot_id']}{path}", 404)
    await other.call("POST", f"/bots/{bot['bot_id']}/clone", 404, json={})


async def test_lifecycle_refusals(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    bot = await t.bot(GRID)
    await t.call("POST", f"/bots/{bot['bot_id']}/pause", 409)
    await t.call("POST", f"/bots/{bot['bot_id']}/stop", 409)
    await t.call("POST", f"/bots/{bot['bot_id']}/start")
    await t.call("POST", f"/bots/{bot['bot_id']}/start", 409)


async def test_a_futures_dca_bot_sets_its_leverage_and_its_position_is_the_bots(
    tw: Harness,
) -> None:
    t = await trader(tw)
    await tw.move(PERP, 6400)
    settings = {
        "symbol": PERP, "direction": "Buy", "priceDeviation": 1, "stepScale": 1,
        "baseOrderSize": 100, "safetyOrderSize": 100, "safetyOrderCount": 2, "volumeScale": 1,
        "takeProfit": 1, "leverage": 3,
    }  # fmt: skip
    bot = await t.bot(settings, type="futures_dollar_cost_averaging")
    bot_id = bot["bot_id"]
    await t.call("POST", f"/bots/{bot_id}/start")
    await tw.runtime.bots.settle()
    assert tw.venue.leverage_for(bot["account_id"], PERP) == D(3)
    positions = await t.call("GET", f"/bots/{bot_id}/positions?status=open")
    (position,) = positions["data"]
    assert position["side"] == "buy" and D(position["leverage"]) == 3
    orders = await t.call("GET", f"/bots/{bot_id}/positions/{position['position_id']}/orders")
    assert [o["client_order_id"] for o in orders] == [f"{bot_id}:1"]
    # the take-profit 1% above closes the deal
    await tw.move(PERP, 6500)
    closed = await t.call("GET", f"/bots/{bot_id}/positions?status=closed")
    assert [p["position_id"] for p in closed["data"]] == [position["position_id"]]
    got = await t.call("GET", f"/bots/{bot_id}")
    assert D(got["realized_pnl"]) > 0 and D(got["roi"]) > 0


@pytest.mark.parametrize("settings_overrides", [{}])
async def test_a_new_app_on_the_same_store_resumes_the_bots(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    bot = await t.bot(GRID)
    await t.call("POST", f"/bots/{bot['bot_id']}/start")
    await tw.runtime.bots.settle()
    assert tw.runtime.bots.is_running(bot["bot_id"])


async def test_an_rsi_bot_trades_at_the_crossings_of_its_closed_bars(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    settings = {
        "symbol": SPOT, "rsiPeriod": 2, "timeframe": "1m", "oversold": 30, "overbought": 70,
        "orderSize": 200,
    }  # fmt: skip
    bot = await t.bot(settings, type="rsi_bot")
    bot_id = bot["bot_id"]
    await t.call("POST", f"/bots/{bot_id}/start")
    # one price a minute: each tick closes the previous minute's bar
    await tw.move(SPOT, 6300, 6200, 6100, 6000, step_seconds=60)
    assert not any(line.startswith("Bought") for line in await t.logs(bot_id))
    await tw.move(SPOT, 6150, 6160, step_seconds=60)  # the RSI leaves oversold: a buy
    logs = await t.logs(bot_id)
    assert any("crossed up through 30" in line for line in logs), logs
    assert sum(line.startswith("Bought") for line in logs) == 1
    await tw.move(SPOT, 6400, 6500, 6300, 6250, step_seconds=60)  # up, then down through 70
    logs = await t.logs(bot_id)
    assert sum(line.startswith("Sold") for line in logs) == 1, logs
    orders = await t.call("GET", f"/bots/{bot_id}/orders?status=closed")
    assert [o["side"] for o in reversed(orders["data"])] == ["buy", "sell"]


async def test_a_spot_grid_on_stored_candles_matches_the_strategy_harness_count(
    tw: Harness, tmp_path: Path
) -> None:
    """The same week of real BTC hours as tests/strategies/test_grid.py's hand count, pushed
    through the paper venue and the bot engine: the same 11 round trips, the same profit."""
    from tests.strategies.conftest import ohlc_points
    from tests.strategies.test_grid import RANGING, HandCount

    candles = bundled_store(tmp_path / "data").read("paper", SPOT, Timeframe.H1)
    start, stop = RANGING
    points = ohlc_points(candles, start, stop)
    t = await trader(tw)
    await tw.move(SPOT, float(points[0][1]))
    settings = {
        "symbol": SPOT, "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
        "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
    }  # fmt: skip
    bot = await t.bot(settings)
    await t.call("POST", f"/bots/{bot['bot_id']}/start")
    await tw.runtime.bots.settle()
    await tw.move(SPOT, *(float(p) for _, p in points[1:]))

    levels = [D(6370), D(6390), D(6410), D(6430), D(6450)]
    amounts = [(D(250) / v).quantize(D("0.00001"), rounding="ROUND_FLOOR") for v in levels[:4]]
    hand = HandCount(levels, amounts, points[0][1])
    hand.walk(points)
    runner = tw.runtime.bots.runner(bot["bot_id"])
    assert runner is not None
    state = runner.strategy.state
    assert hand.trips == 11
    assert (state.round_trips, state.grid_profit) == (hand.trips, hand.profit)
    logs = await t.logs(bot["bot_id"])
    assert sum("round trip" in line for line in logs) == hand.trips


async def test_a_bots_state_keeps_the_tags_of_its_open_orders_only(tw: Harness) -> None:
    """Tags of orders done are dropped (the state is written every cycle and must not grow with
    every order ever placed); a grid's re-armed orders keep theirs."""
    t = await trader(tw)
    await tw.move(SPOT, 6425)
    hook = await t.bot({"symbol": SPOT, "signalToken": "tags"}, type="webhook")
    grid = await t.bot(GRID)
    for bot in (hook, grid):
        await t.call("POST", f"/bots/{bot['bot_id']}/start")
    for n in range(5):
        await t.call("POST", "/signals", 201, json={
            "bot_id": hook["bot_id"], "action": "buy", "amount": f"0.01{n}",
        })  # fmt: skip
    await tw.move(SPOT, 6340, 6410)  # a grid round trip: its orders fill and re-arm

    def tags(bot_id: str) -> dict[str, str]:
        return dict(tw.runtime.bots._runners[bot_id].snapshot()["tags"])

    assert tags(hook["bot_id"]) == {}  # five market orders, all filled
    seqs = {o["client_order_id"].split(":")[1] for o in await t.open_orders(grid["bot_id"])}
    assert set(tags(grid["bot_id"])) == seqs and len(seqs) == 4
