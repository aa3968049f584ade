"""Bot scripts on stored real BTC hours through the paper venue and the bot engine (the
strategy tests in tests/strategies drive the same scripts on the matching engine alone):
a DCA deal fills exactly as the strategy harness says, a price stop condition fires at the
first price at or below it, a futures grid stops at maxLoss and closes."""

from __future__ import annotations

from decimal import Decimal as D
from itertools import pairwise
from pathlib import Path
from typing import Any

from tests.conftest import Harness
from tests.engine.test_bot_engine import Trader
from tests.helpers import new_key, new_user
from tests.strategies.conftest import ohlc_points
from tests.strategies.harness import Harness as StrategyHarness
from tests.strategies.test_dca import dca
from tests.strategies.test_grid import BREAKDOWN
from tradewind.marketdata import Candles, Timeframe, bundled_store
from tradewind.strategies.dca import SpotDca

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"
HALF = D("0.5")


def hours(tmp_path: Path) -> Candles:
    return bundled_store(tmp_path / "data").read("paper", SPOT, Timeframe.H1)


async def walk(tw: Harness, symbol: str, points: list[tuple[int, D]]) -> None:
    """The OHLC path's vertices at their own pace (an hour's four points, 20 minutes apart)."""
    for (t0, _), (t1, price) in pairwise(points):
        await tw.move(symbol, float(price), step_seconds=(t1 - t0) / 1000)


async def trader(tw: Harness) -> Trader:
    """With an API key: the walks take days of market time, longer than a login lasts."""
    user = await new_user(tw.client)
    key = await new_key(tw.client, user["auth"], "trade")
    return Trader(tw, f"Bearer {key['api_key']}:{key['api_secret']}")


async def fills(t: Any, bot_id: str) -> list[tuple[str, D, D]]:
    page = await t.call("GET", f"/bots/{bot_id}/orders?status=closed&limit=200")
    done = [o for o in reversed(page["data"]) if D(o["filled"]) > 0]
    return [(o["side"], D(o["average_price"]), D(o["filled"])) for o in done]


async def test_a_dca_deal_fills_as_the_strategy_harness_says(tw: Harness, tmp_path: Path) -> None:
    candles = hours(tmp_path)
    start, stop = 11630, 11790  # the take-profit window of tests/strategies/test_dca.py
    h = StrategyHarness(SpotDca(dca()), candles[:stop], symbol=SPOT, interval="1h",
                        balances={"USDT": D(5000)}, start=start)  # fmt: skip
    h.start()
    h.run()
    deal = [(f.side.value, f.price, f.amount) for f in h.fills if f.tag.startswith("1:")]
    assert deal[-1][0] == "sell"  # the harness's deal closed at take-profit

    points = ohlc_points(candles, start, stop)
    t = await trader(tw)
    await tw.move(SPOT, float(points[0][1]))
    bot = await t.bot(dca().to_wire(), type="spot_dollar_cost_averaging")
    await t.call("POST", f"/bots/{bot['bot_id']}/start")
    await tw.runtime.bots.settle()
    await walk(tw, SPOT, points)
    assert (await fills(t, bot["bot_id"]))[: len(deal)] == deal


async def test_a_price_stop_fires_at_the_first_price_at_or_below_it(
    tw: Harness, tmp_path: Path
) -> None:
    candles = hours(tmp_path)
    start, stop = BREAKDOWN
    points = ohlc_points(candles, start, stop)
    t = await trader(tw)
    await tw.move(SPOT, float(points[0][1]))
    settings = {
        "symbol": SPOT, "lowerLimit": 6360, "upperLimit": 6440, "gridCount": 4,
        "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
        "stopCondition": "Price", "stopType": "Below value", "stopValue": 6350, "stopExit": True,
    }  # fmt: skip
    bot = await t.bot(settings)
    await t.call("POST", f"/bots/{bot['bot_id']}/start")
    await tw.runtime.bots.settle()
    await walk(tw, SPOT, points)

    got = await t.call("GET", f"/bots/{bot['bot_id']}")
    assert got["status"] == "stopped"
    first = next(p for _, p in points if p <= D(6350))  # the venue sees the path's vertices
    side, price, _ = (await fills(t, bot["bot_id"]))[-1]
    assert (side, price) == ("sell", first - HALF)  # sold at the bid there
    balances = await t.call("GET", f"/accounts/{got['account_id']}/balances")
    btc = {b["asset"]: D(b["total"]) for b in balances["balances"]}.get("BTC", D(0))
    assert btc == 0 and await t.call("GET", f"/bots/{bot['bot_id']}/orders?status=open") == {
        "data": [],
        "next_cursor": None,
    }


async def test_a_futures_grid_stops_at_max_loss_and_closes(tw: Harness, tmp_path: Path) -> None:
    candles = hours(tmp_path)
    start, stop = 12000, 12060  # 6,285 down to 5,190, as in tests/strategies/test_grid.py
    points = ohlc_points(candles, start, stop)
    t = await trader(tw)
    await tw.move(PERP, float(points[0][1]))
    settings = {
        "symbol": PERP, "lowerLimit": 5800, "upperLimit": 6400, "gridCount": 6,
        "investmentAmount": 300, "leverage": 5, "direction": "long", "maxLoss": 40,
    }  # fmt: skip
    bot = await t.bot(settings, type="futures_grid")
    await t.call("POST", f"/bots/{bot['bot_id']}/start")
    await tw.runtime.bots.settle()
    await walk(tw, PERP, points)

    got = await t.call("GET", f"/bots/{bot['bot_id']}")
    assert got["status"] == "stopped", got
    logs = (await t.call("GET", f"/bots/{bot['bot_id']}/logs?limit=200"))["data"]
    assert any("maxLoss reached" in line["message"] for line in logs)
    assert (await t.call("GET", f"/bots/{bot['bot_id']}/positions?status=open"))["data"] == []
    # it did not stop early: the bot's total was at or below -40 when it closed
    assert D(got["realized_pnl"]) <= -40
