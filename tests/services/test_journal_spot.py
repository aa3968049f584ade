"""A spot grid bot's journal: the service runs the bot on its paper venue replaying the bundled
BTC hours (as tests/backtest/test_parity.py does), and the records Tradewind writes are, one
for one, the closed positions (round trips) the backtester finds for the same bot on the same
candles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tests.backtest.test_parity import (  # noqa: F401 - the module's fixtures, reused
    CASES,
    WINDOW,
    _vertices,
    _wall,
    btc_1h,
    clock,
    settings_overrides,
)
from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user
from tradewind.backtest.runner import BacktestSpec, run_backtest
from tradewind.marketdata import Candles, Timeframe
from tradewind.services.market import REPLAY_ANCHOR_MS
from tradewind.venues.paper.catalog import DEFAULT_BALANCES

EIGHT = Decimal("1e-8")


async def test_a_spot_grids_journal_is_its_round_trips(tw: Harness, btc_1h: Candles) -> None:  # noqa: F811
    settings = CASES["spot_grid"]
    start, stop = WINDOW
    user = await new_user(tw.client)
    h = key_auth(await new_key(tw.client, user["auth"], "trade"))
    await tw.venue.tick()
    r = await tw.client.post(
        "/api/v1/bots", headers=h, json={"type": "spot_grid", "name": "g", "settings": settings}
    )
    bot = r.json()
    sid = (await tw.client.post("/api/v1/strategies", headers=h, json={"title": "Grid"})).json()[
        "strategy_id"
    ]
    r = await tw.client.put(
        f"/api/v1/bots/{bot['bot_id']}/journal", headers=h, json={"strategy_id": sid}
    )
    assert r.status_code == 200, r.text
    await tw.client.post(f"/api/v1/bots/{bot['bot_id']}/start", headers=h)
    for i in range(start, stop):
        for t in _vertices(btc_1h, i):
            tw.clock.set(_wall(btc_1h, t))
            await tw.venue.tick()
            await tw.runtime.bots.settle()

    r = await tw.client.get(f"/api/v1/strategies/{sid}/trades", headers=h, params={"limit": 200})
    records = r.json()["data"]
    result = await run_backtest(BacktestSpec(
        script="spot_grid", settings=settings, symbol="BTC/USDT", timeframe=Timeframe.H1,
        candles=btc_1h[:stop], balances=DEFAULT_BALANCES, start=start,
    ))  # fmt: skip
    assert len(result.round_trips) >= 3, "the window must make the grid sell several times"

    offset = REPLAY_ANCHOR_MS - int(btc_1h.ts[0])
    expected = sorted(
        (t.entry_ms + offset, t.exit_ms + offset, "BUY", t.entry_price.quantize(EIGHT),
         t.exit_price.quantize(EIGHT), t.amount)
        for t in result.round_trips
    )  # fmt: skip
    journaled = sorted(
        (_ms(r["opened_at"]), _ms(r["closed_at"]), r["side"], Decimal(r["entry"]).quantize(EIGHT),
         Decimal(r["close_price"]).quantize(EIGHT), Decimal(r["meta"]["amount"]))
        for r in records
    )  # fmt: skip
    assert journaled == expected
    assert {(r["origin"], r["status"]) for r in records} == {("tradewind", "CLOSED")}


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)
