"""The TrynQuant dialect's bots: the document's create fields come back as sent and reach the
script's settings, bots run on the paper venue through start / pause / stop / delete, their
fills are the trades, and the refusals carry the document's codes."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import PASSWORD, new_user, register

BASE = "/compat/trynquant/api/v1"
GRID_PARAMS = {"lower_limit": 6300, "upper_limit": 6500, "grid_count": 4}
BOT_FIELDS = {
    "id", "name", "bot_type", "symbol", "exchange", "investment_usdt", "leverage", "stop_loss",
    "is_paper_trading", "parameters", "status", "status_reason", "total_pnl", "created_at",
    "updated_at",
}  # fmt: skip
TRADE_FIELDS = {
    "id", "bot_id", "order_id", "symbol", "side", "price", "quantity", "fee", "fee_asset",
    "executed_at",
}  # fmt: skip


class Client:
    """A TrynQuant client: a platform key from POST /auth/, sent as the document says."""

    def __init__(self, tw: Harness, headers: dict[str, str]) -> None:
        self.tw, self.headers = tw, headers

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        r = await self.tw.client.request(method, BASE + path, headers=self.headers, **kw)
        assert r.status_code == expect, r.text
        return r.json()

    async def create(self, expect: int = 201, **fields: Any) -> Any:
        body = {"name": "my bot", "bot_type": "grid_standard", "symbol": "BTC/USDT", **fields}
        return await self.call("POST", "/bots/", expect, json=body)

    async def native_settings(self, bot_id: str) -> dict[str, Any]:
        r = await self.tw.client.get(f"/api/v1/bots/{bot_id}", headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json()["settings"])


async def client(tw: Harness) -> Client:
    user = await register(tw.client)
    r = await tw.client.post(f"{BASE}/auth/", json={"email": user["email"], "password": PASSWORD})
    assert r.status_code == 201, r.text
    key = r.json()
    return Client(tw, {"Authorization": f"Bearer {key['api_key']}:{key['api_secret']}"})


def paper_grid(**fields: Any) -> dict[str, Any]:
    return {"investment_usdt": 1000, "is_paper_trading": True, "parameters": GRID_PARAMS, **fields}


class TestCreate:
    @pytest.mark.parametrize("slash", ["/", ""])
    async def test_every_documented_field_comes_back_as_sent(self, tw: Harness, slash: str) -> None:
        tq = await client(tw)
        sent = {
            "name": "BTC grid", "bot_type": "grid_standard", "symbol": "BTC/USDT", "exchange": "bybit",
            "investment_usdt": 1000, "leverage": 1, "stop_loss": 5, "is_paper_trading": True,
            "parameters": GRID_PARAMS,
        }  # fmt: skip
        r = await tw.client.post(f"{BASE}/bots{slash}", json=sent, headers=tq.headers)
        assert r.status_code == 201, r.text
        bot = r.json()["bot"]
        assert set(r.json()) == {"bot"} and set(bot) == BOT_FIELDS
        assert {k: bot[k] for k in sent} == sent
        assert bot["status"] == "stopped" and bot["id"].startswith("bot_")

        listed = await tq.call("GET", f"/bots{slash}")
        assert listed == {"bots": [bot]}
        got = await tq.call("GET", f"/bots/{bot['id']}{slash}")
        assert got == {"bot": bot, "trades": []}

    async def test_top_level_fields_become_the_grids_settings(self, tw: Harness) -> None:
        tq = await client(tw)
        bot = (await tq.create(**paper_grid(stop_loss=5)))["bot"]
        settings = await tq.native_settings(bot["id"])
        assert settings["symbol"] == "BTC/USDT"
        assert (settings["lowerLimit"], settings["upperLimit"], settings["gridCount"]) == (
            "6300", "6500", 4,
        )  # fmt: skip
        assert settings["investmentAsset"] == "Quote" and D(settings["investmentAmount"]) == 1000
        # a 5% stop-loss: a price stop 5% under the range that sells what the grid bought
        assert settings["stopCondition"] == "Price" and settings["stopType"] == "Below value"
        assert D(settings["stopValue"]) == D("5985") and settings["stopExit"] is True

    async def test_parameters_win_over_top_level_fields(self, tw: Harness) -> None:
        tq = await client(tw)
        params = {**GRID_PARAMS, "investmentAmount": 500, "investmentAsset": "Quote"}
        bot = (await tq.create(**paper_grid(parameters=params)))["bot"]
        assert D((await tq.native_settings(bot["id"]))["investmentAmount"]) == 500
        assert bot["investment_usdt"] == 1000 and bot["parameters"] == params

    async def test_rsi_bot_on_the_signals_symbol_format(self, tw: Harness) -> None:
        tq = await client(tw)
        bot = (
            await tq.create(
                bot_type="rsi_bot",
                symbol="BTCUSDT",
                investment_usdt=100,
                stop_loss=2.5,
                is_paper_trading=True,
                parameters={"rsi_period": 7, "oversold": 25},
            )
        )["bot"]
        assert bot["symbol"] == "BTCUSDT" and bot["stop_loss"] == 2.5
        settings = await tq.native_settings(bot["id"])
        assert settings["symbol"] == "BTC/USDT" and settings["rsiPeriod"] == 7
        assert D(settings["orderSize"]) == 100 and D(settings["stopLoss"]) == D("2.5")

    async def test_dca_spreads_the_investment_over_its_ladder(self, tw: Harness) -> None:
        tq = await client(tw)
        bot = (
            await tq.create(
                bot_type="dca_bot",
                investment_usdt=400,
                is_paper_trading=True,
                parameters={"safetyOrderCount": 3},
            )
        )["bot"]
        settings = await tq.native_settings(bot["id"])
        # base + 3 safety orders of one size, 400 USDT in all
        assert D(settings["baseOrderSize"]) == 100 and D(settings["safetyOrderSize"]) == 100

    async def test_futures_grid_trades_the_perpetual_with_its_leverage(self, tw: Harness) -> None:
        tq = await client(tw)
        bot = (await tq.create(bot_type="grid_futures", leverage=3, stop_loss=10, **paper_grid()))[
            "bot"
        ]
        assert bot["symbol"] == "BTC/USDT" and bot["leverage"] == 3
        settings = await tq.native_settings(bot["id"])
        assert settings["symbol"] == "BTC/USDT:USDT" and D(settings["leverage"]) == 3
        assert D(settings["maxLoss"]) == 100  # 10% of the 1,000 USDT margin

    async def test_a_signal_bot_needs_no_token(self, tw: Harness) -> None:
        tq = await client(tw)
        bot = (await tq.create(bot_type="webhook_bot", is_paper_trading=True))["bot"]
        assert bot["parameters"] == {} and bot["bot_type"] == "webhook_bot"
        assert (await tq.native_settings(bot["id"]))["signalToken"]

    async def test_a_live_bot_on_tradewinds_own_exchange_uses_the_paper_account(
        self, tw: Harness
    ) -> None:
        tq = await client(tw)
        minimal = await tq.create(bot_type="rsi_bot", parameters={"order_size": 50})
        assert minimal["bot"]["exchange"] == "paper"
        assert minimal["bot"]["is_paper_trading"] is False
        assert minimal["bot"]["leverage"] == 1 and minimal["bot"]["stop_loss"] is None
        named = await tq.create(exchange="paper", **paper_grid(is_paper_trading=False))
        assert named["bot"]["exchange"] == "paper"


class TestRefusals:
    async def test_invalid_parameters_are_400_naming_the_field_as_sent(self, tw: Harness) -> None:
        tq = await client(tw)
        cases = [
            ({**GRID_PARAMS, "grid_count": 1}, "parameters.grid_count"),
            ({**GRID_PARAMS, "grid_levels": 9}, "parameters.grid_levels"),
            ({"lower_limit": 6300, "grid_count": 4}, "parameters.upperLimit"),
            # investment_usdt is USDT: a grid invested in BTC needs its amount in BTC
            ({**GRID_PARAMS, "investment_asset": "Base"}, "parameters.investmentAmount"),
        ]
        for params, field in cases:
            body = await tq.create(400, **paper_grid(parameters=params))
            assert body["code"] == "invalid_settings" and body["error"].startswith(field), body
        # what the investment makes too small is the investment's fault
        body = await tq.create(400, **paper_grid(investment_usdt=1))
        assert body["error"].startswith("investment_usdt:"), body
        assert (await tq.call("GET", "/bots/"))["bots"] == []

    async def test_request_fields_are_checked(self, tw: Harness) -> None:
        tq = await client(tw)
        body = await tq.create(400, bot_type="moon_bot", **paper_grid())
        assert body["code"] == "validation_error" and body["error"].startswith("bot_type:")
        body = await tq.create(400, symbol="DOGE/USDT", **paper_grid())
        assert body["error"].startswith("symbol:") and "BTC/USDT" in body["error"]
        body = await tq.create(400, leverage=5, **paper_grid())
        assert body["error"].startswith("leverage:")
        body = await tq.create(400, **paper_grid(stop_loss=150))
        assert body["error"].startswith("stop_loss:")
        body = await tq.create(400, bot_type="webhook_bot", stop_loss=5, is_paper_trading=True)
        assert body["error"].startswith("stop_loss:") and "no stop-loss" in body["error"]
        r = await tw.client.post(f"{BASE}/bots/", json={"bot_type": "rsi_bot"}, headers=tq.headers)
        assert r.status_code == 400 and r.json()["code"] == "validation_error"

    async def test_a_live_bot_needs_an_account_on_its_exchange(self, tw: Harness) -> None:
        tq = await client(tw)
        body = await tq.create(400, exchange="bybit", **paper_grid(is_paper_trading=False))
        assert body["error"].startswith("exchange:") and "no bybit account" in body["error"]
        assert "is_paper_trading" in body["error"]
        assert (await tq.call("GET", "/bots/"))["bots"] == []

    async def test_another_users_bot_is_404(self, tw: Harness) -> None:
        owner, other = await client(tw), await client(tw)
        bot = (await owner.create(**paper_grid()))["bot"]
        path = f"/bots/{bot['id']}/"
        for method, kw in [("GET", {}), ("POST", {"json": {"action": "start"}}), ("DELETE", {})]:
            body = await other.call(method, path, 404, **kw)
            assert body["code"] == "not_found"
        assert (await other.call("GET", "/bots/"))["bots"] == []
        assert (await owner.call("GET", path))["bot"]["status"] == "stopped"

    async def test_missing_or_invalid_key_is_401(self, tw: Harness) -> None:
        tq = await client(tw)
        bot = (await tq.create(**paper_grid()))["bot"]
        login = await new_user(tw.client)
        for headers in [
            {},
            {"Authorization": "Bearer pk_nope:sk_nope"},
            {"Authorization": "Basic abc"},
            {"Authorization": login["auth"]},  # a login token: the document takes API keys
        ]:
            for method, path in [("GET", "/bots/"), ("GET", f"/bots/{bot['id']}/")]:
                r = await tw.client.request(method, BASE + path, headers=headers)
                assert r.status_code == 401, (headers, r.text)
            r = await tw.client.post(f"{BASE}/bots/", json=paper_grid(), headers=headers)
            assert r.status_code == 401

    async def test_an_action_the_status_cannot_take_is_400(self, tw: Harness) -> None:
        tq = await client(tw)
        bot = (await tq.create(**paper_grid()))["bot"]
        body = await tq.call("POST", f"/bots/{bot['id']}/", 400, json={"action": "pause"})
        assert body["code"] == "invalid_transition"
        body = await tq.call("POST", f"/bots/{bot['id']}/", 400, json={"action": "explode"})
        assert body["error"].startswith("action:")


class TestLifecycle:
    async def test_create_start_trade_pause_stop_delete(self, tw: Harness) -> None:
        tq = await client(tw)
        await tw.move("BTC/USDT", 6425)
        bot = (await tq.create(**paper_grid()))["bot"]
        path = f"/bots/{bot['id']}/"

        started = await tq.call("POST", path, json={"action": "start"})
        assert set(started) == {"bot"} and started["bot"]["status"] == "active"
        await tw.runtime.bots.settle()
        assert (await tq.call("GET", path))["trades"] == []  # resting orders, nothing filled

        # down through the 6,350 buy, back up through its sell at 6,400
        await tw.move("BTC/USDT", 6340, 6410)
        got = await tq.call("GET", path)
        trades = got["trades"]
        # newest first: the 6,400 and 6,350 buys, then the 6,350 buy's sell one grid up
        assert [(t["side"], t["price"]) for t in trades] == [
            ("sell", 6400), ("buy", 6350), ("buy", 6400),
        ]  # fmt: skip
        assert all(set(t) == TRADE_FIELDS for t in trades)
        assert trades[0]["quantity"] == trades[1]["quantity"] > 0
        assert all(t["bot_id"] == bot["id"] and t["symbol"] == "BTC/USDT" for t in trades)
        assert got["bot"]["total_pnl"] > 0

        paused = await tq.call("POST", path, json={"action": "pause"})
        assert paused["bot"]["status"] == "paused"
        resumed = await tq.call("POST", path, json={"action": "start"})
        assert resumed["bot"]["status"] == "active"
        again = await tq.call("POST", path, json={"action": "start"})  # already active
        assert again["bot"]["status"] == "active"
        stopped = await tq.call("POST", path.rstrip("/"), json={"action": "stop"})
        assert stopped["bot"]["status"] == "stopped"

        deleted = await tq.call("DELETE", path)
        assert set(deleted) == {"message"} and bot["id"] in deleted["message"]
        assert (await tq.call("GET", path, 404))["code"] == "not_found"
        assert (await tq.call("GET", "/bots/"))["bots"] == []

    async def test_more_than_20_fills_show_the_20_newest(self, tw: Harness) -> None:
        tq = await client(tw)
        await tw.move("BTC/USDT", 6425)
        bot = (await tq.create(**paper_grid()))["bot"]
        await tq.call("POST", f"/bots/{bot['id']}/", json={"action": "start"})
        await tw.move("BTC/USDT", *[6340, 6410] * 12)
        trades = (await tq.call("GET", f"/bots/{bot['id']}/"))["trades"]
        assert len(trades) == 20
        times = [t["executed_at"] for t in trades]
        assert times == sorted(times, reverse=True)

    async def test_deleting_a_running_bot_stops_it_first(self, tw: Harness) -> None:
        tq = await client(tw)
        await tw.move("BTC/USDT", 6425)
        bot = (await tq.create(**paper_grid()))["bot"]
        await tq.call("POST", f"/bots/{bot['id']}/", json={"action": "start"})
        await tw.runtime.bots.settle()
        assert tw.runtime.bots.is_running(bot["id"])

        await tq.call("DELETE", f"/bots/{bot['id']}")
        assert not tw.runtime.bots.is_running(bot["id"])
        (account,) = (await tw.client.get("/api/v1/accounts", headers=tq.headers)).json()
        r = await tw.client.get(
            f"/api/v1/accounts/{account['account_id']}/orders?status=all", headers=tq.headers
        )
        orders = r.json()["data"]
        assert orders and all(o["status"] == "cancelled" for o in orders), orders
