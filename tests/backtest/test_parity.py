"""Parity: a bot backtested places the same orders, gets the same fills and ends with the same
balances as the same bot run by the service on its paper venue over the same candles.

The live side is the whole service (HTTP API, bot engine, paper venue, store), its paper
venue replaying the bundled BTC/USDT hours at market speed on a manual clock; the test ticks
it at each vertex of every bar's OHLC path, as the ticker would with one tick per vertex. The
backtest side is ``run_backtest`` on the same candles, which jumps the bars where nothing can
happen: the parity also checks that the jumps skip nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user
from tradewind.backtest.runner import BacktestSpec, run_backtest
from tradewind.domain.clock import ManualClock
from tradewind.marketdata import Candles, Timeframe, bundled_store
from tradewind.services.market import REPLAY_ANCHOR_MS
from tradewind.venues.paper.catalog import DEFAULT_BALANCES

HOUR = 3_600_000
WINDOW = (11420, 11590)  # 2018-10-20 to 10-27: BTC ranging between 6,355 and 6,453
CASES = {
    "spot_grid": {
        "symbol": "BTC/USDT", "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
        "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
    },
    "dca_spot": {
        "symbol": "BTC/USDT", "baseOrderSize": 100, "safetyOrderSize": 100,
        "safetyOrderCount": 4, "priceDeviation": 0.15, "stepScale": 1, "volumeScale": 1,
        "takeProfit": 0.25, "cooldown": 3600,
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def btc_1h(tmp_path_factory: pytest.TempPathFactory) -> Candles:
    store = bundled_store(Path(tmp_path_factory.mktemp("data")))
    return store.read("paper", "BTC/USDT", Timeframe.H1)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # the bundled hours replayed at market speed: one bar an hour of the (manual) clock
    return {"price_source": "replay", "replay_bar_seconds": 3600}


@pytest.fixture
def clock(btc_1h: Candles) -> ManualClock:
    return ManualClock(_wall(btc_1h, int(btc_1h.ts[WINDOW[0]])))


def _wall(candles: Candles, market_ms: int) -> datetime:
    """The service's clock time at which its replay shows ``market_ms``."""
    return datetime.fromtimestamp((REPLAY_ANCHOR_MS + market_ms - int(candles.ts[0])) / 1000, UTC)


def _vertices(candles: Candles, i: int) -> list[int]:
    """Bar ``i``'s path (docs/market-data.md): open, the two extremes at a third and two
    thirds of the bar, the close at its end."""
    ts = int(candles.ts[i])
    return [ts, ts + HOUR // 3, ts + 2 * HOUR // 3, ts + HOUR]


@pytest.mark.parametrize("script", sorted(CASES))
async def test_a_backtest_trades_as_the_paper_venue_does(
    tw: Harness, btc_1h: Candles, script: str
) -> None:
    settings = CASES[script]
    start, stop = WINDOW
    user = await new_user(tw.client)
    h = key_auth(await new_key(tw.client, user["auth"], "trade"))
    await tw.venue.tick()  # the price at the window's first open
    assert tw.venue.mark("BTC/USDT") == Decimal(repr(float(btc_1h.open[start])))
    r = await tw.client.post(
        "/api/v1/bots", headers=h, json={"type": script, "name": "parity", "settings": settings}
    )
    assert r.status_code == 201, r.text
    bot = r.json()
    r = await tw.client.post(f"/api/v1/bots/{bot['bot_id']}/start", headers=h)
    assert r.status_code == 200, r.text
    for i in range(start, stop):
        for t in _vertices(btc_1h, i):
            tw.clock.set(_wall(btc_1h, t))
            await tw.venue.tick()
            await tw.runtime.bots.settle()
    live_orders = await _all(tw, f"/api/v1/bots/{bot['bot_id']}/orders", h)
    balances = (
        await tw.client.get(f"/api/v1/accounts/{bot['account_id']}/balances", headers=h)
    ).json()
    live_balances = {b["asset"]: Decimal(b["total"]) for b in balances["balances"]}

    result = await run_backtest(BacktestSpec(
        script=script, settings=settings, symbol="BTC/USDT", timeframe=Timeframe.H1,
        candles=btc_1h[:stop], balances=DEFAULT_BALANCES, start=start,
    ))  # fmt: skip

    offset = REPLAY_ANCHOR_MS - int(btc_1h.ts[0])
    backtested = [
        {
            "side": o.side.value, "type": o.type.value, "status": o.status.value,
            "price": o.price, "amount": o.amount, "filled": o.filled,
            "average_price": o.average_price, "fee": o.fee, "created_ms": o.created_ms + offset,
        }
        for o in result.orders
    ]  # fmt: skip
    seen_live = [
        {
            "side": o["side"], "type": o["type"], "status": o["status"],
            "price": _dec(o["price"]), "amount": Decimal(o["amount"]), "filled": Decimal(o["filled"]),
            "average_price": _dec(o["average_price"]), "fee": Decimal(o["fee"]),
            "created_ms": int(datetime.fromisoformat(o["created_at"]).timestamp() * 1000),
        }
        for o in sorted(live_orders, key=lambda o: (o["created_at"], o["order_id"]))
    ]  # fmt: skip
    assert len(backtested) >= 10, "the window must make the bot trade"
    assert sum(1 for o in backtested if o["status"] == "filled") >= 4
    assert backtested == seen_live
    assert {a: v for a, v in result.balances.items() if v} == {
        a: v for a, v in live_balances.items() if v
    }
    assert result.event_bars < result.bars  # bars were jumped, and nothing was missed


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


async def _all(tw: Harness, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        r = await tw.client.get(path, headers=headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        found += page["data"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found
