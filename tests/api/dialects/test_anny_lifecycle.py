"""A partner's V2 signal on 50 subscribers, over a week of stored BTC hours: split entries,
three targets and a trailing stop; every subscriber's fills, profit and balances must agree
with the candles and with each other."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

from tests.api.dialects.test_anny import setup
from tests.conftest import Harness
from tests.strategies.conftest import ohlc_points
from tests.strategies.test_grid import RANGING
from tradewind.marketdata import Timeframe, bundled_store

SPOT = "BTC/USDT"
HALF = D("0.5")  # the paper BTC/USDT spread: buys fill at last + 0.5, sells at last - 0.5
SUBSCRIBERS = 50

SIGNAL = {
    "symbol": SPOT, "side": "buy", "entry_low": 6390, "entry_high": 6410, "entry_mid_price": 6400,
    "entries": [{"price": 6410, "share": 50}, {"price": 6390, "share": 50}],
    "take_profits": [{"price": 6430, "share": 30}, {"price": 6440, "share": 30},
                     {"price": 6450, "share": 40}],
    "stop_loss": 6300, "leverage": 1, "margin_type": "isolated",
}  # fmt: skip


async def test_a_v2_signal_on_50_subscribers_agrees_with_the_candles(
    tw: Harness, tmp_path: Path
) -> None:
    candles = bundled_store(tmp_path / "data").read("paper", SPOT, Timeframe.H1)
    start, stop = RANGING
    points = ohlc_points(candles, start, stop)
    await tw.move(SPOT, float(points[0][1]))
    s = await setup(tw, subscribers=SUBSCRIBERS, amount=500)
    before = [await _balances(tw, u) for u in s["users"]]

    r = await tw.client.post("/compat/anny/v2/signal", json=SIGNAL, headers=s["key"])
    assert r.status_code == 200 and r.json()["payload"]["result"] == "success", r.text
    sid = r.json()["payload"]["parent_signal_id"]
    await tw.runtime.bots.settle()
    trail_at = len(points) // 2
    await tw.move(SPOT, *(float(p) for _, p in points[1:trail_at]))
    r = await tw.client.post(f"/compat/anny/v1/signal/{sid}/call/trailingstop",
                             json={"callback_pct": 0.5}, headers=s["key"])  # fmt: skip
    assert r.status_code == 200, r.text
    await tw.runtime.bots.settle()
    await tw.move(SPOT, *(float(p) for _, p in points[trail_at:]))

    low = min(p for _, p in points)
    high = max(p for _, p in points)
    shapes = []
    for user, start_balances in zip(s["users"], before, strict=True):
        [trade] = (await _get(tw, user, "/api/v1/smart-trades"))["data"]
        orders = await _get(tw, user, f"/api/v1/bots/{trade['smart_trade_id']}/orders?limit=200")
        fills = [
            (o["side"], D(o["average_price"]), D(o["filled"]), D(o["fee"]))
            for o in orders["data"]
            if D(o["filled"]) > 0
        ]
        buys = [f for f in fills if f[0] == "buy"]
        sells = [f for f in fills if f[0] == "sell"]
        # the entries are limits: filled at their own price, and only if the path came down to it
        for _, price, _, _ in buys:
            assert price in (D(6410), D(6390)), fills
            assert low + HALF <= price, (low, price)
        # targets are limits at their price (reached by the bid); the trailing exit is a market
        # sell somewhere the path actually was
        for _, price, _, _ in sells:
            assert low - HALF <= price <= high - HALF or price in (D(6430), D(6440), D(6450))
        bought = sum(a for _, _, a, _ in buys)
        sold = sum(a for _, _, a, _ in sells)
        assert D(trade["entered"]) == bought and D(trade["held"]) == bought - sold
        # the account moved exactly by these fills: cash out for buys, in for sells, fees
        after = await _balances(tw, user)
        spent = sum(p * a + f for _, p, a, f in buys)  # spot buy fees are charged in USDT here
        got = sum(p * a - f for _, p, a, f in sells)
        assert after.get("USDT", D(0)) - start_balances.get("USDT", D(0)) == got - spent, fills
        assert after.get("BTC", D(0)) - start_balances.get("BTC", D(0)) == bought - sold
        realized = D(trade["realized_pnl"])
        if sold and sold == bought:
            assert realized == (got - spent), (realized, got, spent)
        shapes.append(sorted((side, price, amount) for side, price, amount, _ in fills))
    assert bought > 0, "the week's path reaches the entries"
    assert all(shape == shapes[0] for shape in shapes), "every subscriber trades the same plan"


async def _get(tw: Harness, user: dict[str, Any], path: str) -> Any:
    r = await tw.client.get(path, headers={"Authorization": user["auth"]})
    assert r.status_code == 200, r.text
    return r.json()


async def _balances(tw: Harness, user: dict[str, Any]) -> dict[str, D]:
    accounts = await _get(tw, user, "/api/v1/accounts")
    account = accounts[0]["account_id"]
    found = await _get(tw, user, f"/api/v1/accounts/{account}/balances")
    return {b["asset"]: D(b["total"]) for b in found["balances"]}
