"""The TrynQuant dialect's signal webhook: the document's TradingView alert as TradingView
renders it executes on the caller's bot for the symbol (or ``bot_id``), answers
``{executed, order_id?, signal_id, message}``, executes once however often it is delivered,
and refuses bad fields (400), bad credentials (401) and another user's bot (404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.dialects.test_trynquant_bots import BASE, Client, client
from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user

SPOT = "BTC/USDT"
ANSWER = {"executed", "order_id", "signal_id", "message"}

# The document's alert message with TradingView's placeholders rendered: {{ticker}} → BTCUSDT,
# {{strategy.order.action}} → buy, {{strategy.order.contracts}} → 0.01 (a bare number).
ALERT_TEMPLATE = """{
"api_key": "%(api_key)s",
"secret": "%(secret)s",
"symbol": "BTCUSDT",
"action": "buy",
"quantity": 0.01
}"""


class Trader(Client):
    def __init__(self, tw: Harness, headers: dict[str, str]) -> None:
        super().__init__(tw, headers)
        api_key, _, secret = headers["Authorization"].removeprefix("Bearer ").partition(":")
        self.creds = {"api_key": api_key, "secret": secret}

    async def signal_bot(self, symbol: str = SPOT, start: bool = True) -> str:
        bot = await self.create(bot_type="webhook", symbol=symbol, is_paper_trading=True)
        bot_id = str(bot["bot"]["id"])
        if start:
            await self.call("POST", f"/bots/{bot_id}/", json={"action": "start"})
        return bot_id

    async def trades(self, bot_id: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/bots/{bot_id}/"))["trades"])

    async def send(self, expect: int = 200, slash: str = "/", **fields: Any) -> Any:
        body = {**self.creds, "symbol": "BTCUSDT", "action": "buy", "quantity": 0.01, **fields}
        r = await self.tw.client.post(f"{BASE}/signals{slash}", json=body)  # no Authorization
        assert r.status_code == expect, r.text
        return r.json()


async def trader(tw: Harness) -> Trader:
    return Trader(tw, (await client(tw)).headers)


async def stored(tw: Harness, tq: Trader) -> list[dict[str, Any]]:
    r = await tw.client.get("/api/v1/signals", headers=tq.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


class TestTheDocumentsAlert:
    async def test_the_tradingview_alert_executes_on_the_bot_for_its_symbol(
        self, tw: Harness
    ) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        await tw.move("ETH/USDT", 200)
        bot_id = await tq.signal_bot()
        eth = await tq.signal_bot("ETH/USDT")
        alert = ALERT_TEMPLATE % tq.creds

        # TradingView posts the rendered message as text/plain unless it parses it as JSON
        r = await tw.client.post(
            f"{BASE}/signals/", content=alert, headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        assert set(answer) == ANSWER and answer["executed"] is True
        assert answer["signal_id"].startswith("sig_") and answer["message"]
        (trade,) = await tq.trades(bot_id)
        assert trade["order_id"] == answer["order_id"]
        assert (trade["side"], trade["quantity"], trade["symbol"]) == ("buy", 0.01, SPOT)
        assert await tq.trades(eth) == []

        (signal,) = await stored(tw, tq)
        assert signal["signal_id"] == answer["signal_id"] and signal["source"] == "trynquant"
        assert (signal["symbol"], signal["action"], signal["amount"]) == (SPOT, "buy", "0.01")

    @pytest.mark.parametrize("slash", ["/", ""])
    async def test_both_paths_and_a_sell_with_bot_id(self, tw: Harness, slash: str) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        bot_id = await tq.signal_bot()
        await tq.signal_bot()  # another bot on the market: bot_id leaves it out
        await tq.send(slash=slash, bot_id=bot_id, quantity=0.02)
        sold = await tq.send(slash=slash, bot_id=bot_id, action="sell", quantity=0.02)
        assert sold["executed"] is True
        trades = await tq.trades(bot_id)
        assert sorted(t["side"] for t in trades) == ["buy", "sell"]
        assert sold["order_id"] in {t["order_id"] for t in trades}

    async def test_symbol_forms_tradingview_renders_reach_the_same_bot(self, tw: Harness) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        bot_id = await tq.signal_bot()
        for n, symbol in enumerate(("BINANCE:BTCUSDT", "BTC/USDT", "btcusdt")):
            sent = await tq.send(symbol=symbol, quantity=0.001 * (n + 1))
            assert sent["executed"] is True, (symbol, sent)
        assert len(await tq.trades(bot_id)) == 3


class TestOutcomes:
    async def test_nothing_to_execute_answers_executed_false_without_order_id(
        self, tw: Harness
    ) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        none = await tq.send()
        assert set(none) == ANSWER - {"order_id"} and none["executed"] is False
        assert "no active bot for BTC/USDT" in none["message"]

        stopped = await tq.signal_bot(start=False)
        answer = await tq.send(bot_id=stopped, quantity=0.03)
        assert answer["executed"] is False and "order_id" not in answer
        assert answer["message"] == "no matching bot is active"
        assert await tq.trades(stopped) == []

    async def test_a_repeat_delivery_executes_once_and_answers_the_first_outcome(
        self, tw: Harness
    ) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        bot_id = await tq.signal_bot()
        first = await tq.send()
        again = await tq.send()
        assert again["signal_id"] == first["signal_id"]
        assert (again["executed"], again["order_id"]) == (True, first["order_id"])
        assert "repeat delivery" in again["message"]
        assert len(await tq.trades(bot_id)) == 1
        assert len(await stored(tw, tq)) == 1

        tw.clock.advance(61)  # past TRADEWIND_SIGNAL_DEDUP_SECONDS: a new alert
        await tw.move(SPOT, 6400)
        third = await tq.send()
        assert third["signal_id"] != first["signal_id"] and third["executed"] is True
        assert len(await tq.trades(bot_id)) == 2

    async def test_a_late_alert_is_refused_by_its_max_lag(self, tw: Harness) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        bot_id = await tq.signal_bot()
        fired = tw.clock.now() - timedelta(seconds=30)
        late = await tq.send(timestamp=fired.strftime("%Y-%m-%dT%H:%M:%SZ"), maxLag=10)
        assert late["executed"] is False and "maxLag" in late["message"]
        assert "order_id" not in late and await tq.trades(bot_id) == []
        fresh = await tq.send(timestamp=int(tw.clock.now().timestamp()), maxLag=10)
        assert fresh["executed"] is True and len(await tq.trades(bot_id)) == 1


class TestRefusals:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"symbol": None}, "symbol"),
            ({"symbol": "DOGEUSDT"}, "symbol"),
            ({"symbol": 42}, "symbol"),
            ({"action": None}, "action"),
            ({"action": "hold"}, "action"),
            ({"action": "enter_long"}, "action"),
            ({"quantity": "lots"}, "quantity"),
            ({"quantity": -1}, "quantity"),
            ({"quantity": True}, "quantity"),
            ({"bot_id": 7}, "bot_id"),
            ({"timestamp": "yesterday"}, "timestamp"),
            ({"maxLag": "soon"}, "maxLag"),
        ],
    )
    async def test_bad_fields_are_400_naming_the_field(
        self, tw: Harness, fields: dict[str, Any], field: str
    ) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        bot_id = await tq.signal_bot()
        sent = {**tq.creds, "symbol": "BTCUSDT", "action": "buy", "quantity": 0.01, **fields}
        sent = {k: v for k, v in sent.items() if v is not None}  # None: left out
        r = await tw.client.post(f"{BASE}/signals/", json=sent)
        assert r.status_code == 400, r.text
        assert set(r.json()) == {"error", "code"}
        assert r.json()["error"].startswith(f"{field}:"), r.json()
        assert await tq.trades(bot_id) == [] and await stored(tw, tq) == []

    async def test_a_body_that_is_not_a_json_object_is_400(self, tw: Harness) -> None:
        for content in ("buy", "[1, 2]", ""):
            r = await tw.client.post(f"{BASE}/signals/", content=content)
            assert r.status_code == 400, r.text
            assert r.json()["error"].startswith("body:")

    async def test_wrong_missing_or_read_only_credentials_are_401(self, tw: Harness) -> None:
        tq = await trader(tw)
        await tw.move(SPOT, 6400)
        bot_id = await tq.signal_bot()
        user = await new_user(tw.client)
        reader = await new_key(tw.client, user["auth"], "read")
        for creds in (
            {"api_key": tq.creds["api_key"], "secret": "sk_wrong"},
            {"api_key": "pk_nobody", "secret": tq.creds["secret"]},
            {"api_key": tq.creds["api_key"]},
            {},
            {"api_key": 1, "secret": 2},
            {"api_key": "not-a-key", "secret": "x"},
            {"api_key": reader["api_key"], "secret": reader["api_secret"]},
        ):
            body = {"symbol": "BTCUSDT", "action": "buy", "quantity": 0.01, **creds}
            r = await tw.client.post(f"{BASE}/signals/", json=body)
            assert r.status_code == 401, (creds, r.text)
            assert set(r.json()) == {"error", "code"}
        # the header is not how this endpoint authenticates
        headed = await tw.client.post(
            f"{BASE}/signals/", headers=tq.headers, json={"symbol": "BTCUSDT", "action": "buy"}
        )
        assert headed.status_code == 401
        assert await tq.trades(bot_id) == []

    async def test_another_users_bot_is_404_and_a_bot_on_another_market_400(
        self, tw: Harness
    ) -> None:
        tq, other = await trader(tw), await trader(tw)
        await tw.move(SPOT, 6400)
        await tw.move("ETH/USDT", 200)
        theirs = await other.signal_bot()
        r = await tq.send(404, bot_id=theirs)
        assert r["code"] == "not_found"
        eth = await tq.signal_bot("ETH/USDT")
        wrong = await tq.send(400, bot_id=eth)
        assert wrong["error"].startswith("symbol:") and "ETH/USDT" in wrong["error"]
        assert await other.trades(theirs) == [] and await tq.trades(eth) == []

    async def test_a_native_key_works_too(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        key = await new_key(tw.client, user["auth"], "trade")
        tq = Trader(tw, key_auth(key))
        await tw.move(SPOT, 6400)
        r = await tw.client.post(
            "/api/v1/bots", headers=tq.headers,
            json={"type": "webhook", "name": "tv", "settings": {"symbol": SPOT, "signalToken": "t"}},
        )  # fmt: skip
        bot_id = r.json()["bot_id"]
        await tw.client.post(f"/api/v1/bots/{bot_id}/start", headers=tq.headers)
        assert (await tq.send())["executed"] is True
