"""Anny's partner Signal API: the document's envelope, the refusals, and a channel signal's
whole life on several subscribers' accounts."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from sqlalchemy import select, update

from tests.api.v1.test_users import make_partner
from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user
from tradewind.store.tables import ChannelSubscriptionRow

SPOT = "BTC/USDT"


async def setup(tw: Harness, subscribers: int = 2, amount: int = 1000) -> dict[str, Any]:
    partner = await make_partner(tw)
    key = key_auth(await new_key(tw.client, partner["auth"]))
    r = await tw.client.post(
        "/api/v1/channels", json={"name": "Alpha"}, headers={"Authorization": partner["auth"]}
    )
    assert r.status_code == 201, r.text
    channel = r.json()["channel_id"]
    users = []
    for _ in range(subscribers):
        user = await new_user(tw.client)
        r = await tw.client.post(
            f"/api/v1/channels/{channel}/subscriptions",
            json={"amount": amount},
            headers={"Authorization": user["auth"]},
        )
        assert r.status_code == 201, r.text
        users.append(user)
    return {"key": key, "channel": channel, "users": users}


async def trades(tw: Harness, user: dict[str, Any]) -> dict[str, Any]:
    r = await tw.client.get("/api/v1/smart-trades", headers={"Authorization": user["auth"]})
    assert r.status_code == 200, r.text
    return dict(r.json())


V2 = {
    "symbol": SPOT, "side": "buy", "entry_low": 6300, "entry_high": 6400,
    "entries": [{"price": 6400, "share": 50}, {"price": 6300, "share": 50}],
    "take_profits": [{"price": 6500, "share": 30}, {"price": 6600, "share": 30},
                     {"price": 6700, "share": 40}],
    "stop_loss": 6000, "leverage": 1, "margin_type": "isolated", "entry_mid_price": 6350,
}  # fmt: skip


async def test_a_v2_signal_runs_on_every_subscriber_through_entries_targets_and_cancel(
    tw: Harness,
) -> None:
    await tw.move(SPOT, 6450)
    s = await setup(tw)
    r = await tw.client.post("/compat/anny/v2/signal", json=V2, headers=s["key"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == {"type": "OPERATION_PERFORMED"}
    assert body["payload"]["result"] == "success" and isinstance(
        body["payload"]["parent_signal_id"], str
    )
    sid = body["payload"]["parent_signal_id"]
    await tw.runtime.bots.settle()

    await tw.move(SPOT, 6390, 6290, 6510)  # both entries, then the first target
    for user in s["users"]:
        listed = await trades(tw, user)
        [trade] = listed["data"]
        assert trade["signal_id"] == sid and trade["status"] == "active", trade
        assert D(trade["entered"]) > 0
        detail = (
            await tw.client.get(
                f"/api/v1/smart-trades/{trade['smart_trade_id']}",
                headers={"Authorization": user["auth"]},
            )
        ).json()
        assert any("Target 1 reached" in line for line in detail["log"]), detail["log"]
        assert D(detail["held"]) < D(detail["entered"])

    r = await tw.client.post(f"/compat/anny/v1/signal/{sid}/call/trailingstop",
                             json={"callback_pct": 1}, headers=s["key"])  # fmt: skip
    assert r.status_code == 200 and r.json()["payload"]["result"] == "success", r.text
    await tw.runtime.bots.settle()

    r = await tw.client.delete(f"/compat/anny/v1/signal/{sid}/cancel", headers=s["key"])
    assert r.status_code == 200, r.text
    await tw.runtime.bots.settle()
    for user in s["users"]:
        [trade] = (await trades(tw, user))["data"]
        assert trade["status"] == "stopped" and D(trade["held"]) == 0, trade


async def test_one_subscriber_without_funds_fails_alone(tw: Harness) -> None:
    await tw.move(SPOT, 6450)
    s = await setup(tw, subscribers=1)
    poor = await new_user(tw.client)
    r = await tw.client.post(f"/api/v1/channels/{s['channel']}/subscriptions",
                             json={"amount": 50000}, headers={"Authorization": poor["auth"]})  # fmt: skip
    assert r.status_code == 201
    r = await tw.client.post("/compat/anny/v2/signal", json=V2, headers=s["key"])
    assert r.status_code == 200, r.text
    await tw.runtime.bots.settle()
    [rich] = (await trades(tw, s["users"][0]))["data"]
    assert rich["status"] == "active"
    [failed] = (await trades(tw, poor))["data"]
    assert failed["status"] == "error" and "nsufficient" in (failed["status_reason"] or "")


async def test_a_subscriber_whose_trade_cannot_be_made_fails_alone_and_sees_why(
    tw: Harness,
) -> None:
    await tw.move(SPOT, 6450)
    s = await setup(tw, subscribers=3)
    gone = s["users"][1]
    async with tw.runtime.sessions() as session:  # its account is no longer its own
        other = await session.scalar(
            select(ChannelSubscriptionRow.account_id).where(
                ChannelSubscriptionRow.user_id == s["users"][0]["user_id"]
            )
        )
        await session.execute(
            update(ChannelSubscriptionRow)
            .where(ChannelSubscriptionRow.user_id == gone["user_id"])
            .values(account_id=other)
        )
        await session.commit()
    r = await tw.client.post("/compat/anny/v2/signal", json=V2, headers=s["key"])
    assert r.status_code == 200, r.text
    payload = r.json()["payload"]
    assert (payload["result"], payload["subscribers"], payload["failed"]) == ("partial", 3, 1)
    await tw.runtime.bots.settle()
    for user in (s["users"][0], s["users"][2]):
        listed = await trades(tw, user)
        assert [t["status"] for t in listed["data"]] == ["active"] and listed["failed"] == []
    listed = await trades(tw, gone)
    assert listed["data"] == []
    [failed] = listed["failed"]
    assert failed["signal_id"] == payload["parent_signal_id"]
    assert failed["message"] == "account not found"


async def test_refusals(tw: Harness) -> None:
    await tw.move(SPOT, 6450)
    s = await setup(tw, subscribers=1)
    missing = {k: v for k, v in V2.items() if k != "symbol"}
    r = await tw.client.post("/compat/anny/v2/signal", json=missing, headers=s["key"])
    assert (r.status_code, r.json()["result"]["type"]) == (400, "INVALID_INPUT_MISSING")
    r = await tw.client.post(
        "/compat/anny/v2/signal", json={**V2, "entry_low": "abc"}, headers=s["key"]
    )
    assert (r.status_code, r.json()["result"]["type"]) == (400, "INVALID_INPUT_CONTENT")
    seven = [{"price": 6500 + k, "share": 10} for k in range(7)]
    r = await tw.client.post(
        "/compat/anny/v1/signal", json={**V2, "take_profits": seven}, headers=s["key"]
    )
    assert (r.status_code, r.json()["result"]["type"]) == (400, "INVALID_INPUT_CONTENT")
    r = await tw.client.post(
        "/compat/anny/v1/signal/sig_nope/call/dca",
        json={"price": 6000, "share": 10},
        headers=s["key"],
    )
    assert (r.status_code, r.json()["result"]["type"]) == (400, "INVALID_INPUT_CONTENT")
    for headers in ({}, {"Authorization": "Bearer pk_x:sk_y"}):
        r = await tw.client.post("/compat/anny/v1/signal", json=V2, headers=headers)
        assert (r.status_code, r.json()["result"]["type"]) == (403, "UNAUTHORIZED")


async def test_a_duplicate_delivery_executes_once(tw: Harness) -> None:
    await tw.move(SPOT, 6450)
    s = await setup(tw, subscribers=1)
    first = await tw.client.post("/compat/anny/v2/signal", json=V2, headers=s["key"])
    again = await tw.client.post("/compat/anny/v2/signal", json=V2, headers=s["key"])
    assert first.json() == again.json()
    keyed = {**s["key"], "Idempotency-Key": "k1"}
    other = {**V2, "stop_loss": 6001}
    a = await tw.client.post("/compat/anny/v2/signal", json=other, headers=keyed)
    b = await tw.client.post(
        "/compat/anny/v2/signal", json={**other, "stop_loss": 6002}, headers=keyed
    )
    assert a.json() == b.json()
    await tw.runtime.bots.settle()
    assert len((await trades(tw, s["users"][0]))["data"]) == 2
