"""Native signals: sent with a key, matched to webhook bots by token, symbol or id, stored with
their outcome, executed once; per-bot webhook URLs; a signal acknowledged before a crash is
executed after the restart, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.helpers import login_headers, new_key, new_user
from tradewind.api.app import create_app
from tradewind.domain.clock import ManualClock
from tradewind.domain.ids import new_id
from tradewind.settings import Settings
from tradewind.store.tables import SignalDeliveryRow, SignalRow

SPOT = "BTC/USDT"


class Trader:
    def __init__(self, client: httpx.AsyncClient, auth: str) -> None:
        self.client, self.headers = client, {"Authorization": auth}

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        r = await self.client.request(method, f"/api/v1{path}", headers=headers, **kw)
        assert r.status_code == expect, r.text
        return r.json() if r.content else None

    async def webhook_bot(self, listens_on: str = "my-token", symbol: str = SPOT) -> str:
        bot = await self.call("POST", "/bots", 201, json={
            "type": "webhook", "name": "hook", "settings": {"symbol": symbol, "signalToken": listens_on},
        })  # fmt: skip
        await self.call("POST", f"/bots/{bot['bot_id']}/start")
        return str(bot["bot_id"])

    async def orders(self, bot_id: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/bots/{bot_id}/orders"))["data"])


async def trader(tw: Harness) -> Trader:
    user = await new_user(tw.client)
    key = await new_key(tw.client, user["auth"], "trade")
    return Trader(tw.client, f"Bearer {key['api_key']}:{key['api_secret']}")


async def test_a_token_signal_executes_on_the_webhook_bot_and_is_stored(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    bot_id = await t.webhook_bot()
    other = await t.webhook_bot("another-token")
    sent = await t.call("POST", "/signals", 201, json={
        "token": "my-token", "action": "buy", "amount": "0.01",
    })  # fmt: skip
    assert sent["executed"] is True and sent["status"] == "executed"
    (delivery,) = sent["deliveries"]
    assert delivery["bot_id"] == bot_id and delivery["status"] == "executed"
    (order,) = await t.orders(bot_id)
    assert delivery["order_ids"] == [order["order_id"]]
    assert order["side"] == "buy" and order["amount"] == "0.01" and order["status"] == "filled"
    assert await t.orders(other) == []

    listed = await t.call("GET", "/signals")
    assert [s["signal_id"] for s in listed["data"]] == [sent["signal_id"]]
    assert listed["data"][0]["source"] == "native"
    again = await t.call("GET", f"/signals/{sent['signal_id']}")
    assert again["deliveries"] == sent["deliveries"]


async def test_a_repeat_delivery_answers_the_first_outcome_and_executes_nothing(
    tw: Harness,
) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    bot_id = await t.webhook_bot()
    body = {"token": "my-token", "action": "buy", "amount": "0.01", "timestamp": 1764240000}
    first = await t.call("POST", "/signals", 201, json=body)
    second = await t.call("POST", "/signals", 200, json=body)
    assert second["duplicate"] is True and second["signal_id"] == first["signal_id"]
    assert second["deliveries"] == first["deliveries"]
    assert len(await t.orders(bot_id)) == 1

    # by key: a different body with the same Idempotency-Key is the same signal
    keyed = {"Idempotency-Key": "alert-42"}
    a = await t.call("POST", "/signals", 201, json={**body, "amount": "0.02"}, headers=keyed)
    b = await t.call("POST", "/signals", 200, json={**body, "amount": "0.03"}, headers=keyed)
    assert b["signal_id"] == a["signal_id"] and b["duplicate"]
    assert len(await t.orders(bot_id)) == 2

    # after the window the same body is a new signal
    tw.clock.advance(61)
    await tw.move(SPOT, 6400)
    third = await t.call("POST", "/signals", 201, json=body)
    assert third["signal_id"] != first["signal_id"] and third["executed"]


async def test_a_stale_signal_is_refused_and_recorded(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    bot_id = await t.webhook_bot()
    old = int((tw.clock.now() - timedelta(seconds=30)).timestamp())
    sent = await t.call("POST", "/signals", 201, json={
        "token": "my-token", "action": "buy", "amount": "0.01", "timestamp": old, "max_lag": 10,
    })  # fmt: skip
    assert sent["status"] == "rejected" and "maxLag" in sent["message"]
    assert sent["deliveries"] == [] and await t.orders(bot_id) == []
    fresh = await t.call("POST", "/signals", 201, json={
        "token": "my-token", "action": "buy", "amount": "0.01", "max_lag": 10,
        "timestamp": int(tw.clock.now().timestamp()),
    })  # fmt: skip
    assert fresh["executed"]


async def test_a_symbol_signal_reaches_the_active_bots_on_that_market(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    await tw.move("ETH/USDT", 200)
    btc = await t.webhook_bot("a")
    eth = await t.webhook_bot("b", "ETH/USDT")
    for symbol in ("BINANCE:BTCUSDT", "BTCUSDT", "BINANCE_BTC_USDT_", "btc/usdt"):
        sent = await t.call("POST", "/signals", 201, json={
            "symbol": symbol, "action": "buy", "amount": "0.001", "idempotency_key": symbol,
        })  # fmt: skip
        assert [d["bot_id"] for d in sent["deliveries"]] == [btc], symbol
    assert len(await t.orders(btc)) == 4 and await t.orders(eth) == []
    none = await t.call("POST", "/signals", 201, json={"symbol": "LTCUSDT", "action": "buy"})
    assert none["status"] == "rejected" and "no active bot" in none["message"]


async def test_bad_input_names_the_field_and_stores_nothing(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    await t.webhook_bot()
    for body, field in (
        ({"token": "my-token", "action": "hold"}, "action"),
        ({"token": "my-token"}, "action"),
        ({"token": "my-token", "action": "buy", "amount": "lots"}, "amount"),
        ({"token": "my-token", "action": "buy", "amount": "-1"}, "amount"),
        ({"symbol": "DOGEUSDT", "action": "buy"}, "symbol"),
        ({"token": "my-token", "action": "buy", "timestamp": "yesterday"}, "timestamp"),
    ):
        r = await t.call("POST", "/signals", 422, json=body)
        assert field in str(r["error"]), (body, r)
    assert (await t.call("GET", "/signals"))["data"] == []
    await t.client.post("/api/v1/signals", json={"action": "buy"})  # no key
    assert (await t.client.post("/api/v1/signals", json={"action": "buy"})).status_code == 401


async def test_a_signal_for_a_stopped_or_someone_elses_bot_executes_nothing(
    tw: Harness,
) -> None:
    t, other = await trader(tw), await trader(tw)
    await tw.move(SPOT, 6400)
    bot_id = await t.webhook_bot()
    await t.call("POST", f"/bots/{bot_id}/stop")
    stopped = await t.call(
        "POST", "/signals", 201, json={"bot_id": bot_id, "action": "buy", "amount": "0.01"}
    )
    assert stopped["status"] == "rejected"
    assert stopped["deliveries"][0]["status"] == "rejected"
    theirs = await other.call(
        "POST", "/signals", 201, json={"bot_id": bot_id, "action": "buy", "amount": "0.01"}
    )
    assert theirs["status"] == "rejected" and theirs["deliveries"] == []
    assert await t.orders(bot_id) == []


async def test_a_bots_webhook_url_needs_no_header_and_can_be_replaced(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    bot_id = await t.webhook_bot()
    hook = await t.call("POST", f"/bots/{bot_id}/hook")
    assert hook["url"].endswith("/api/v1/hooks/" + hook["token"])
    alert = {"action": "buy", "quantity": 0.01, "symbol": "BTCUSDT"}  # a TradingView alert
    r = await tw.client.post(hook["url"], json=alert)
    assert r.status_code == 201 and r.json()["executed"], r.text
    r = await tw.client.post(hook["url"], content="sell", headers={"Content-Type": "text/plain"})
    assert r.status_code == 201 and r.json()["status"] == "rejected"  # a sell with no amount
    newer = await t.call("POST", f"/bots/{bot_id}/hook")
    assert (await tw.client.post(hook["url"], json=alert)).status_code == 404
    assert (await tw.client.post(newer["url"], json={**alert, "quantity": 0.02})).status_code == 201
    assert (await tw.client.post("/api/v1/hooks/wh_guess", json=alert)).status_code == 404
    assert len(await t.orders(bot_id)) == 2


@pytest.mark.parametrize("settings_overrides", [{"signal_wait_seconds": 0}])
async def test_answered_at_once_the_bots_outcomes_are_recorded_with_their_orders(
    tw: Harness,
) -> None:
    """Without waiting, the answer says accepted; each bot's outcome is written with the
    orders it placed, and the signal shows it afterwards."""
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    first, second = await t.webhook_bot(), await t.webhook_bot()
    sent = await t.call("POST", "/signals", 201, json={
        "token": "my-token", "action": "buy", "amount": "0.01",
    })  # fmt: skip
    assert sent["status"] == "accepted"
    await tw.runtime.bots.settle()
    shown = await t.call("GET", f"/signals/{sent['signal_id']}")
    placed = {b: [o["order_id"] for o in await t.orders(b)] for b in (first, second)}
    assert {d["bot_id"]: (d["status"], d["order_ids"]) for d in shown["deliveries"]} == {
        b: ("executed", ids) for b, ids in placed.items()
    }
    assert all(len(ids) == 1 for ids in placed.values())


async def test_a_signal_acknowledged_before_a_crash_executes_after_the_restart_once(
    settings: Settings, clock: ManualClock
) -> None:
    """The acknowledgement is the signal and its pending deliveries, committed; a process that
    dies before the bot acted leaves them pending, and the next one delivers them, once."""
    first = create_app(settings, clock=clock)
    async with first.router.lifespan_context(first):
        runtime = first.state.runtime
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://t")
        user = await new_user(client)
        t = Trader(client, user["auth"])
        venue = runtime.venues.paper
        clock.advance(1)
        venue.feeds[SPOT].push(SPOT, 6400, venue.now_ms())
        await venue.tick()
        bot_id = await t.webhook_bot()
        # what submit() commits before it hands the signal to the engine
        async with runtime.sessions() as session:
            owner = user["user_id"]
            signal = SignalRow(
                id=new_id("sig"), owner_id=owner, source="native", dedup_key="key:crash",
                symbol=SPOT, action="buy", amount=Decimal("0.01"), price=None, investment_type=None,
                signal_ts=None, max_lag=None, bot_id=bot_id, token=None, status="accepted",
                message="accepted", body={}, created_at=clock.now(),
            )  # fmt: skip
            session.add(signal)
            await session.flush()
            session.add(SignalDeliveryRow(
                id=new_id("dlv"), signal_id=signal.id, bot_id=bot_id, status="pending",
                message=None, order_ids=[], created_at=clock.now(), handled_at=None,
            ))  # fmt: skip
            await session.commit()
        await client.aclose()
    for _ in range(2):  # two restarts: the second finds nothing left to deliver
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            await app.state.runtime.bots.settle()
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            t = Trader(client, (await _login(client, user["email"])))
            orders = await t.orders(bot_id)
            assert [(o["side"], o["amount"]) for o in orders] == [("buy", "0.01")]
            async with app.state.runtime.sessions() as session:
                (delivery,) = (await session.scalars(select(SignalDeliveryRow))).all()
                # the outcome was written with the bot's state and its order
                assert (delivery.status, delivery.order_ids) == (
                    "executed",
                    [orders[0]["order_id"]],
                )
            await client.aclose()


async def _login(client: httpx.AsyncClient, email: str) -> str:
    return (await login_headers(client, email))["Authorization"]


async def test_a_signal_the_venue_refuses_fails_alone_and_the_bot_runs_on(tw: Harness) -> None:
    t = await trader(tw)
    await tw.move(SPOT, 6400)
    bot_id = await t.webhook_bot()
    tiny = await t.call("POST", "/signals", 201, json={
        "token": "my-token", "action": "buy", "amount": "0.0001", "idempotency_key": "tiny",
    })  # fmt: skip
    assert tiny["status"] == "rejected" and "minimum" in tiny["message"], tiny
    bot = await t.call("GET", f"/bots/{bot_id}")
    assert bot["status"] == "active"
    logs = (await t.call("GET", f"/bots/{bot_id}/logs"))["data"]
    assert any(line["message"].startswith("Signal not followed") for line in logs)
    fine = await t.call("POST", "/signals", 201, json={
        "token": "my-token", "action": "buy", "amount": "0.01", "idempotency_key": "fine",
    })  # fmt: skip
    assert fine["executed"]
