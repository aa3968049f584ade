"""The native terminal through HTTP: accounts, balances, orders, positions, fills."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user


async def setup(tw: Harness, scope: str = "trade") -> tuple[dict[str, str], str]:
    user = await new_user(tw.client)
    key = await new_key(tw.client, user["auth"], scope)
    accounts = (await tw.client.get("/api/v1/accounts", headers=key_auth(key))).json()
    return key_auth(key), accounts[0]["account_id"]


async def open_account(tw: Harness, h: dict[str, str], **body: object) -> str:
    user_h = h
    r = await tw.client.post("/api/v1/accounts", json={"name": "test", **body}, headers=user_h)
    assert r.status_code == 201, r.text
    return str(r.json()["account_id"])


class TestDefaultAccount:
    async def test_new_user_has_10k_usdt_and_10k_usd(self, tw: Harness) -> None:
        h, account_id = await setup(tw, "read")
        assert account_id.startswith("acc_")
        body = (await tw.client.get(f"/api/v1/accounts/{account_id}/balances", headers=h)).json()
        assert {b["asset"]: b["free"] for b in body["balances"]} == {
            "USD": "10000",
            "USDT": "10000",
        }
        assert body["equity"] == "10000"

    async def test_another_users_account_is_404(self, tw: Harness) -> None:
        _, mine = await setup(tw)
        other, _ = await setup(tw)
        assert (
            await tw.client.get(f"/api/v1/accounts/{mine}/balances", headers=other)
        ).status_code == 404
        r = await tw.client.post(
            f"/api/v1/accounts/{mine}/orders",
            json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.001"},
            headers=other,
        )
        assert r.status_code == 404


class TestCreateAccount:
    async def test_open_a_hedging_account_with_balances(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        h = {"Authorization": user["auth"]}
        r = await tw.client.post("/api/v1/accounts", json={
            "venue": "paper", "name": "fx", "balances": {"USD": 5000}, "mode": "hedging", "leverage": 100,
        }, headers=h)  # fmt: skip
        assert r.status_code == 201, r.text
        acc = r.json()
        assert (acc["mode"], acc["leverage"], acc["currency"]) == ("hedging", "100", "USD")
        listed = (await tw.client.get("/api/v1/accounts", headers=h)).json()
        assert {a["name"] for a in listed} == {"Paper", "fx"}

    @pytest.mark.parametrize(("body", "field"), [
        ({"name": "x", "balances": {}}, "balances"),
        ({"name": "x", "balances": {"USD": -1}}, "balances.USD"),
        ({"name": "x", "balances": {"USD": 1}, "venue": "binance"}, "venue"),
        ({"name": "x", "balances": {"USD": 1}, "mode": "both"}, "mode"),
    ])  # fmt: skip
    async def test_bad_input_names_the_field(
        self, tw: Harness, body: dict[str, object], field: str
    ) -> None:
        user = await new_user(tw.client)
        r = await tw.client.post(
            "/api/v1/accounts", json=body, headers={"Authorization": user["auth"]}
        )
        assert r.status_code == 422
        assert field in {d["field"] for d in r.json()["error"]["details"]}


class TestSpotOrders:
    async def test_market_buy_fills_at_ask_with_taker_fee(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT", 7000)
        r = await tw.client.post(f"/api/v1/accounts/{acc}/orders",
                                 json={"symbol": "BTC/USDT", "side": "buy", "type": "market", "amount": "0.1"}, headers=h)  # fmt: skip
        assert r.status_code == 201, r.text
        order = r.json()
        assert (
            order["status"] == "filled" and order["average_price"] == "7000.5"
        )  # ask = last + 0.5
        assert order["fills"][0]["liquidity"] == "taker"
        fee = Decimal("700.05") * Decimal("0.001")
        assert Decimal(order["fee"]) == fee
        bal = {
            b["asset"]: b
            for b in (await tw.client.get(f"/api/v1/accounts/{acc}/balances", headers=h)).json()[
                "balances"
            ]
        }
        assert Decimal(bal["BTC"]["free"]) == Decimal("0.1")
        assert Decimal(bal["USDT"]["free"]) == Decimal(10000) - Decimal("700.05") - fee

    async def test_limit_rests_locks_funds_and_fills_as_maker(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT", 7000)
        r = await tw.client.post(f"/api/v1/accounts/{acc}/orders",
                                 json={"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.1", "price": "6900"}, headers=h)  # fmt: skip
        order = r.json()
        assert order["status"] == "open"
        bal = {
            b["asset"]: b
            for b in (await tw.client.get(f"/api/v1/accounts/{acc}/balances", headers=h)).json()[
                "balances"
            ]
        }
        assert Decimal(bal["USDT"]["locked"]) > Decimal(690)
        await tw.move("BTC/USDT", 6950, 6880)
        got = (
            await tw.client.get(f"/api/v1/accounts/{acc}/orders/{order['order_id']}", headers=h)
        ).json()
        assert got["status"] == "filled" and got["average_price"] == "6900"
        assert got["fills"][0]["liquidity"] == "maker"

    async def test_cancel_releases_funds(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT", 7000)
        order = (await tw.client.post(f"/api/v1/accounts/{acc}/orders",
                 json={"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.1", "price": "6000"}, headers=h)).json()  # fmt: skip
        r = await tw.client.delete(f"/api/v1/accounts/{acc}/orders/{order['order_id']}", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        bal = {
            b["asset"]: b
            for b in (await tw.client.get(f"/api/v1/accounts/{acc}/balances", headers=h)).json()[
                "balances"
            ]
        }
        assert Decimal(bal["USDT"]["locked"]) == 0 and Decimal(bal["USDT"]["free"]) == 10000

    async def test_refusals(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT", 7000)
        url = f"/api/v1/accounts/{acc}/orders"
        r = await tw.client.post(
            url, json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.000015"}, headers=h
        )
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "amount"
        r = await tw.client.post(
            url, json={"symbol": "NOPE/USDT", "side": "buy", "amount": "1"}, headers=h
        )
        assert r.status_code == 404
        r = await tw.client.post(
            url, json={"symbol": "BTC/USDT", "side": "buy", "amount": "10"}, headers=h
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "insufficient_funds"
        r = await tw.client.post(
            url,
            json={"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.1"},
            headers=h,
        )
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "price"
        orders = (await tw.client.get(url, headers=h)).json()["data"]
        assert orders == []  # nothing was recorded for refused orders

    async def test_read_key_cannot_trade(self, tw: Harness) -> None:
        h, acc = await setup(tw, "read")
        r = await tw.client.post(
            f"/api/v1/accounts/{acc}/orders",
            json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.001"},
            headers=h,
        )
        assert r.status_code == 403

    async def test_client_order_id_places_once(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT", 7000)
        body = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.01", "client_order_id": "my-1"}
        first = (
            await tw.client.post(f"/api/v1/accounts/{acc}/orders", json=body, headers=h)
        ).json()
        again = (
            await tw.client.post(f"/api/v1/accounts/{acc}/orders", json=body, headers=h)
        ).json()
        assert first["order_id"] == again["order_id"]
        fills = (await tw.client.get(f"/api/v1/accounts/{acc}/fills", headers=h)).json()["data"]
        assert len(fills) == 1


class TestDerivatives:
    async def test_long_position_pnl_close_in_part_and_sl_tp(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT:USDT", 7000)
        url = f"/api/v1/accounts/{acc}"
        r = await tw.client.post(
            url + "/orders",
            json={"symbol": "BTC/USDT:USDT", "side": "buy", "amount": "0.1"},
            headers=h,
        )
        assert r.status_code == 201, r.text
        pos = (await tw.client.get(url + "/positions", headers=h)).json()["data"]
        assert len(pos) == 1 and pos[0]["side"] == "buy" and pos[0]["amount"] == "0.1"
        await tw.move("BTC/USDT:USDT", 7100)
        pos = (await tw.client.get(url + "/positions", headers=h)).json()["data"][0]
        assert Decimal(pos["unrealized_pnl"]) == (
            Decimal("7100") - Decimal(pos["entry_price"])
        ) * Decimal("0.1")
        r = await tw.client.post(
            url + f"/positions/{pos['position_id']}/close", json={"amount": "0.04"}, headers=h
        )
        assert r.status_code == 200, r.text
        pos = (await tw.client.get(url + "/positions", headers=h)).json()["data"][0]
        assert pos["amount"] == "0.06"
        r = await tw.client.patch(
            url + f"/positions/{pos['position_id']}",
            json={"stop_loss": "6900", "take_profit": "7300"},
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["stop_loss"], r.json()["take_profit"]) == ("6900", "7300")
        await tw.move("BTC/USDT:USDT", 7200, 7350)
        assert (await tw.client.get(url + "/positions", headers=h)).json()["data"] == []
        closed = (await tw.client.get(url + "/positions?status=closed", headers=h)).json()["data"]
        assert closed[0]["status"] == "closed" and Decimal(closed[0]["realized_pnl"]) > 0

    async def test_insufficient_margin(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT:USDT", 7000)
        r = await tw.client.post(f"/api/v1/accounts/{acc}/orders",
                                 json={"symbol": "BTC/USDT:USDT", "side": "buy", "amount": "100"}, headers=h)  # fmt: skip
        assert r.status_code == 400 and r.json()["error"]["message"] == "Insufficient margin"


class TestRestart:
    async def test_orders_and_balances_survive_and_still_fill(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT", 7000)
        url = f"/api/v1/accounts/{acc}"
        order = (await tw.client.post(url + "/orders", json={"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.1", "price": "6900"}, headers=h)).json()  # fmt: skip
        await tw.client.post(
            url + "/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"}, headers=h
        )
        before = (await tw.client.get(url + "/balances", headers=h)).json()
        await tw.venue.load()  # what a restart does: rebuild memory from the store only
        after = (await tw.client.get(url + "/balances", headers=h)).json()
        assert after == before
        await tw.move("BTC/USDT", 6899)
        got = (await tw.client.get(url + f"/orders/{order['order_id']}", headers=h)).json()
        assert got["status"] == "filled"


class TestMarkets:
    async def test_markets_ticker_candles(self, tw: Harness, client: httpx.AsyncClient) -> None:
        h, _ = await setup(tw, "read")
        markets = (await client.get("/api/v1/markets", headers=h)).json()
        symbols = {i["symbol"] for i in markets[0]["instruments"]}
        assert {"BTC/USDT", "ETH/USDT", "EURUSD", "BTC/USDT:USDT"} <= symbols
        eur = next(i for i in markets[0]["instruments"] if i["symbol"] == "EURUSD")
        assert (eur["contract_size"], eur["tick_size"], eur["amount_step"]) == (
            "100000",
            "0.00001",
            "0.01",
        )
        await tw.move("BTC/USDT", 7000)
        t = (await client.get("/api/v1/markets/paper/BTC/USDT/ticker", headers=h)).json()
        assert (t["bid"], t["ask"], t["last"]) == ("6999.5", "7000.5", "7000")
        assert (await client.get("/api/v1/markets/paper/NOPE/ticker", headers=h)).status_code == 404


class TestReset:
    async def test_reset_cancels_closes_and_restores(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        h = {"Authorization": user["auth"]}
        acc = (await tw.client.get("/api/v1/accounts", headers=h)).json()[0]["account_id"]
        url = f"/api/v1/accounts/{acc}"
        await tw.move("BTC/USDT", 7000)
        await tw.move("BTC/USDT:USDT", 7000)
        await tw.client.post(
            url + "/orders", headers=h, json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.1"}
        )
        await tw.client.post(
            url + "/orders",
            headers=h,
            json={
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "limit",
                "amount": "0.1",
                "price": "6000",
            },
        )
        await tw.client.post(
            url + "/orders",
            headers=h,
            json={"symbol": "BTC/USDT:USDT", "side": "sell", "amount": "0.2"},
        )
        r = await tw.client.post(url + "/reset", headers=h)
        assert r.status_code == 200, r.text
        assert {b["asset"]: b["total"] for b in r.json()["balances"] if b["total"] != "0"} == {
            "USDT": "10000",
            "USD": "10000",
        }
        assert (await tw.client.get(url + "/positions", headers=h)).json()["data"] == []
        assert (await tw.client.get(url + "/orders?status=open", headers=h)).json()["data"] == []

    async def test_trade_key_cannot_reset(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        assert (await tw.client.post(f"/api/v1/accounts/{acc}/reset", headers=h)).status_code == 403


@pytest.mark.parametrize("settings_overrides", [{"price_source": "replay"}])
class TestReplayedMarket:
    async def test_candles_and_ticker_show_the_same_replayed_market(self, tw: Harness) -> None:
        h, _ = await setup(tw, "read")
        page = (
            await tw.client.get(
                "/api/v1/markets/paper/BTC/USDT/candles?timeframe=1h&limit=5", headers=h
            )
        ).json()
        assert len(page["candles"]) == 5
        ts = [c["ts"] for c in page["candles"]]
        assert ts == sorted(ts)
        last = page["candles"][-1]
        ticker = (await tw.client.get("/api/v1/markets/paper/BTC/USDT/ticker", headers=h)).json()
        assert last["low"] <= float(ticker["last"]) <= last["high"]
        r = await tw.client.get("/api/v1/markets/paper/EURUSD/candles?timeframe=1m", headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "timeframe"
        r = await tw.client.get("/api/v1/markets/paper/BTC/USDT/candles?timeframe=2h", headers=h)
        assert r.status_code == 422


class TestLiquidation:
    async def test_a_crash_liquidates_an_isolated_position_and_says_why(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        h = {"Authorization": user["auth"]}
        acc = (await tw.client.post("/api/v1/accounts", headers=h, json={
            "name": "high leverage", "balances": {"USDT": 1000}, "leverage": 50})).json()["account_id"]  # fmt: skip
        url = f"/api/v1/accounts/{acc}"
        await tw.move("BTC/USDT:USDT", 7000)
        r = await tw.client.post(
            url + "/orders",
            headers=h,
            json={"symbol": "BTC/USDT:USDT", "side": "buy", "amount": "0.5"},
        )
        assert r.status_code == 201, r.text
        position = (await tw.client.get(url + "/positions", headers=h)).json()["data"][0]
        liquidation = Decimal(position["liquidation_price"])
        assert Decimal(6800) < liquidation < Decimal(7000)
        await tw.move("BTC/USDT:USDT", 6950)
        assert len((await tw.client.get(url + "/positions", headers=h)).json()["data"]) == 1
        await tw.move("BTC/USDT:USDT", float(liquidation) - 20)
        assert (await tw.client.get(url + "/positions", headers=h)).json()["data"] == []
        closed = (await tw.client.get(url + "/orders?status=closed", headers=h)).json()["data"]
        assert closed[0]["role"] == "liquidation" and closed[0]["reason"] == "liquidation"
        balances = (await tw.client.get(url + "/balances", headers=h)).json()
        assert Decimal(balances["balance"]) < 1000 and Decimal(balances["balance"]) >= 0


class TestOneOfEach:
    async def test_get_account_by_id(self, tw: Harness) -> None:
        h, acc = await setup(tw, "read")
        got = (await tw.client.get(f"/api/v1/accounts/{acc}", headers=h)).json()
        assert (got["account_id"], got["venue"], got["name"], got["is_default"]) == (
            acc,
            "paper",
            "Paper",
            True,
        )
        assert (got["mode"], got["leverage"], got["currency"]) == ("netting", "10", "USD")
        other, _ = await setup(tw, "read")
        assert (await tw.client.get(f"/api/v1/accounts/{acc}", headers=other)).status_code == 404

    async def test_amend_a_resting_order_moves_its_price_and_its_reservation(
        self, tw: Harness
    ) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT", 7000)
        url = f"/api/v1/accounts/{acc}/orders"
        order = (await tw.client.post(url, headers=h, json={
            "symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.1", "price": "6000"})).json()  # fmt: skip
        r = await tw.client.patch(
            f"{url}/{order['order_id']}", headers=h, json={"price": "6500.004", "amount": "0.2"}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["price"], r.json()["amount"], r.json()["status"]) == (
            "6500",
            "0.2",
            "open",
        )  # tick-rounded
        usdt = next(
            b
            for b in (await tw.client.get(f"/api/v1/accounts/{acc}/balances", headers=h)).json()[
                "balances"
            ]
            if b["asset"] == "USDT"
        )
        assert Decimal(usdt["locked"]) >= Decimal(1300)  # 0.2 at 6500, plus the fee it may pay
        await tw.move("BTC/USDT", 6499)
        got = (await tw.client.get(f"{url}/{order['order_id']}", headers=h)).json()
        assert (got["status"], got["average_price"], got["filled"]) == ("filled", "6500", "0.2")
        r = await tw.client.patch(f"{url}/{order['order_id']}", headers=h, json={"price": "6400"})
        assert r.status_code == 404  # a filled order is no longer open
        r = await tw.client.patch(f"{url}/{order['order_id']}", headers=h, json={"price": "-1"})
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "price"

    async def test_get_one_position_open_then_closed(self, tw: Harness) -> None:
        h, acc = await setup(tw)
        await tw.move("BTC/USDT:USDT", 7000)
        url = f"/api/v1/accounts/{acc}"
        await tw.client.post(
            url + "/orders",
            headers=h,
            json={"symbol": "BTC/USDT:USDT", "side": "sell", "amount": "0.1"},
        )
        pid = (await tw.client.get(url + "/positions", headers=h)).json()["data"][0]["position_id"]
        await tw.move("BTC/USDT:USDT", 6900)
        one = (await tw.client.get(url + f"/positions/{pid}", headers=h)).json()
        assert (one["status"], one["side"], one["mark_price"]) == ("open", "sell", "6900")
        assert Decimal(one["unrealized_pnl"]) == (Decimal(one["entry_price"]) - 6900) * Decimal(
            "0.1"
        )
        await tw.client.post(url + f"/positions/{pid}/close", headers=h, json={})
        closed = (await tw.client.get(url + f"/positions/{pid}", headers=h)).json()
        assert closed["status"] == "closed" and closed["closed_at"] is not None
        other, _ = await setup(tw)
        assert (await tw.client.get(url + f"/positions/{pid}", headers=other)).status_code == 404
        assert (await tw.client.get(url + "/positions/pos_nope", headers=h)).status_code == 404
