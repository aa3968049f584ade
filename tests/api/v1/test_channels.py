"""Native partner channels through HTTP: channels, subscriptions with their settings, the
refusals, and each subscriber's smart trade after a partner's signal."""

from __future__ import annotations

from decimal import ROUND_FLOOR
from decimal import Decimal as D
from typing import Any

from tests.api.v1.test_users import make_partner
from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user

SPOT = "BTC/USDT"
V2 = {
    "symbol": SPOT, "side": "buy", "entry_low": 6300, "entry_high": 6400,
    "entries": [{"price": 6400, "share": 50}, {"price": 6300, "share": 50}],
    "take_profits": [{"price": 6500, "share": 50}, {"price": 6600, "share": 50}],
    "stop_loss": 6000, "leverage": 1,
}  # fmt: skip


def h(who: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": who["auth"]}


async def channel(tw: Harness, partner: dict[str, Any], name: str = "Alpha") -> str:
    r = await tw.client.post(
        "/api/v1/channels", json={"name": name, "description": "BTC swings"}, headers=h(partner)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["channel_id"])


async def subscribe(tw: Harness, user: dict[str, Any], channel_id: str, **body: Any) -> Any:
    return await tw.client.post(
        f"/api/v1/channels/{channel_id}/subscriptions", json=body, headers=h(user)
    )


class TestCreateChannel:
    async def test_a_partner_creates_and_lists_its_channels(self, tw: Harness) -> None:
        partner, other = await make_partner(tw), await make_partner(tw)
        r = await tw.client.post(
            "/api/v1/channels", json={"name": "Alpha", "description": "BTC swings"},
            headers=h(partner),
        )  # fmt: skip
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["name"], body["description"], body["subscribers"]) == (
            "Alpha", "BTC swings", 0,
        )  # fmt: skip
        theirs = await channel(tw, other, "Beta")

        mine = (await tw.client.get("/api/v1/channels", headers=h(partner))).json()
        assert [c["channel_id"] for c in mine] == [body["channel_id"]]
        user = await new_user(tw.client)
        everyone = (await tw.client.get("/api/v1/channels", headers=h(user))).json()
        assert {c["channel_id"] for c in everyone} == {body["channel_id"], theirs}

    async def test_a_plain_user_may_not_create_one(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        r = await tw.client.post("/api/v1/channels", json={"name": "Mine"}, headers=h(user))
        assert r.status_code == 403, r.text

    async def test_a_name_is_required(self, tw: Harness) -> None:
        partner = await make_partner(tw)
        r = await tw.client.post("/api/v1/channels", json={"name": ""}, headers=h(partner))
        assert r.status_code == 422
        assert [d["field"] for d in r.json()["error"]["details"]] == ["name"]


class TestSubscriptions:
    async def test_users_subscribe_with_their_settings_and_the_partner_lists_them(
        self, tw: Harness
    ) -> None:
        partner = await make_partner(tw)
        cid = await channel(tw, partner)
        fixed, share = await new_user(tw.client), await new_user(tw.client)

        r = await subscribe(tw, fixed, cid, amount=250)
        assert r.status_code == 201, r.text
        a = r.json()
        assert (a["channel_id"], a["user_id"], a["amount_type"], D(a["amount"])) == (
            cid, fixed["user_id"], "quote", D(250),
        )  # fmt: skip
        assert (D(a["max_leverage"]), a["follow_trailing"], a["follow_dca"]) == (D(1), True, True)
        assert a["account_id"]  # the default paper account

        r = await subscribe(tw, share, cid, amount_type="percent", amount=10, max_leverage=5,
                            follow_trailing=False, follow_dca=False)  # fmt: skip
        assert r.status_code == 201, r.text
        b = r.json()
        assert (b["amount_type"], D(b["amount"]), D(b["max_leverage"])) == ("percent", D(10), D(5))
        assert (b["follow_trailing"], b["follow_dca"]) == (False, False)

        r = await tw.client.get(f"/api/v1/channels/{cid}/subscribers", headers=h(partner))
        assert r.status_code == 200, r.text
        assert {s["subscription_id"]: s["user_id"] for s in r.json()} == {
            a["subscription_id"]: fixed["user_id"], b["subscription_id"]: share["user_id"],
        }  # fmt: skip
        [listed] = (await tw.client.get("/api/v1/channels", headers=h(partner))).json()
        assert listed["subscribers"] == 2
        mine = await tw.client.get(f"/api/v1/channels/{cid}/subscriptions", headers=h(fixed))
        assert [s["subscription_id"] for s in mine.json()] == [a["subscription_id"]]

    async def test_unsubscribe_and_another_users_subscription_is_404(self, tw: Harness) -> None:
        partner = await make_partner(tw)
        cid = await channel(tw, partner)
        user, other = await new_user(tw.client), await new_user(tw.client)
        sub = (await subscribe(tw, user, cid, amount=100)).json()["subscription_id"]
        path = f"/api/v1/channels/{cid}/subscriptions/{sub}"

        assert (await tw.client.delete(path, headers=h(other))).status_code == 404
        assert (await tw.client.delete(path, headers=h(user))).status_code == 204
        assert (await tw.client.delete(path, headers=h(user))).status_code == 404
        r = await tw.client.get(f"/api/v1/channels/{cid}/subscribers", headers=h(partner))
        assert r.json() == []

    async def test_refusals_name_the_field(self, tw: Harness) -> None:
        partner = await make_partner(tw)
        cid = await channel(tw, partner)
        user = await new_user(tw.client)
        for body, field in (
            ({"amount": 0}, "amount"),
            ({"amount": 10, "amount_type": "percent_of_nothing"}, "amount_type"),
            ({"amount": 150, "amount_type": "percent"}, "amount"),
            ({"amount": 10, "max_leverage": "0.5"}, "max_leverage"),
            ({}, "amount"),
        ):
            r = await subscribe(tw, user, cid, **body)
            assert r.status_code == 422, (body, r.text)
            assert [d["field"] for d in r.json()["error"]["details"]] == [field], r.text

        assert (await subscribe(tw, user, "chn_nope", amount=10)).status_code == 404
        assert (await subscribe(tw, user, cid, amount=10)).status_code == 201
        assert (await subscribe(tw, user, cid, amount=20)).status_code == 409

    async def test_only_the_owning_partner_sees_the_subscribers(self, tw: Harness) -> None:
        partner, other = await make_partner(tw), await make_partner(tw)
        cid = await channel(tw, partner)
        r = await tw.client.get(f"/api/v1/channels/{cid}/subscribers", headers=h(other))
        assert r.status_code == 404
        user = await new_user(tw.client)
        r = await tw.client.get(f"/api/v1/channels/{cid}/subscribers", headers=h(user))
        assert r.status_code == 403


class TestSmartTrades:
    async def test_each_subscriber_sees_their_trade_its_orders_and_log(self, tw: Harness) -> None:
        await tw.move(SPOT, 6450)
        partner = await make_partner(tw)
        key = key_auth(await new_key(tw.client, partner["auth"]))
        cid = await channel(tw, partner)
        fixed, share, outsider = [await new_user(tw.client) for _ in range(3)]
        assert (await subscribe(tw, fixed, cid, amount=1000)).status_code == 201
        r = await subscribe(tw, share, cid, amount_type="percent", amount=5)
        assert r.status_code == 201

        r = await tw.client.post("/compat/anny/v2/signal", json=V2, headers=key)
        assert r.status_code == 200, r.text
        sid = r.json()["payload"]["parent_signal_id"]
        await tw.runtime.bots.settle()
        await tw.move(SPOT, 6390)  # the first entry fills
        await tw.runtime.bots.settle()

        for user, amount, kind in ((fixed, "1000", "quote"), (share, "5", "percent")):
            r = await tw.client.get("/api/v1/smart-trades", headers=h(user))
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["failed"] == []
            [trade] = body["data"]
            assert (trade["signal_id"], trade["channel_id"], trade["symbol"]) == (sid, cid, SPOT)
            assert (trade["status"], trade["phase"]) == ("active", "open")
            assert (D(trade["plan"]["amount"]), trade["plan"]["amountType"]) == (D(amount), kind)
            assert D(trade["held"]) == D(trade["entered"]) > 0

            r = await tw.client.get(f"/api/v1/smart-trades/{trade['smart_trade_id']}",
                                    headers=h(user))  # fmt: skip
            assert r.status_code == 200, r.text
            detail = r.json()
            by_price = {(o["side"], D(o["price"])): o["status"] for o in detail["orders"]}
            assert by_price[("buy", D(6400))] == "filled"
            assert by_price[("buy", D(6300))] == "open"
            assert by_price[("sell", D(6500))] == "open" and by_price[("sell", D(6600))] == "open"
            assert any("Entry 1 filled" in line for line in detail["log"]), detail["log"]

            r = await tw.client.get(f"/api/v1/smart-trades/{trade['smart_trade_id']}",
                                    headers=h(outsider))  # fmt: skip
            assert r.status_code == 404

        # the first entry buys half the budget at 6400: 1000 USDT, or 5% of the 10,000 USDT
        # a paper account starts with
        for user, budget in ((fixed, D(1000)), (share, D(500))):
            [trade] = (await tw.client.get("/api/v1/smart-trades", headers=h(user))).json()["data"]
            assert D(trade["entered"]) == (budget / 2 / 6400).quantize(D("0.00001"), ROUND_FLOOR)
        r = await tw.client.get("/api/v1/smart-trades", headers=h(outsider))
        assert r.json() == {"data": [], "failed": []}

    async def test_an_unsubscribed_user_gets_no_trade(self, tw: Harness) -> None:
        await tw.move(SPOT, 6450)
        partner = await make_partner(tw)
        key = key_auth(await new_key(tw.client, partner["auth"]))
        cid = await channel(tw, partner)
        user = await new_user(tw.client)
        sub = (await subscribe(tw, user, cid, amount=100)).json()["subscription_id"]
        path = f"/api/v1/channels/{cid}/subscriptions/{sub}"
        assert (await tw.client.delete(path, headers=h(user))).status_code == 204

        r = await tw.client.post("/compat/anny/v2/signal", json=V2, headers=key)
        assert r.status_code == 200, r.text
        await tw.runtime.bots.settle()
        r = await tw.client.get("/api/v1/smart-trades", headers=h(user))
        assert r.json() == {"data": [], "failed": []}
