"""HaasOnline dialect, first part: exchanges, markets and partner-managed users, with the
document's bodies and fields."""

from __future__ import annotations

from tests.api.v1.test_users import make_partner
from tests.conftest import Harness
from tests.helpers import new_user

BASE = "/compat/haas"


def ok(r: object) -> object:
    body = r.json()  # type: ignore[attr-defined]
    assert r.status_code == 200 and body["isSuccess"] is True and body["code"] == 0, body  # type: ignore[attr-defined]
    assert set(body) == {"isSuccess", "code", "message", "data"}
    return body["data"]


class TestUsers:
    async def test_create_list_get_delete_with_the_documents_bodies(self, tw: Harness) -> None:
        h = {"Authorization": (await make_partner(tw))["auth"]}
        created = ok(await tw.client.post(BASE + "/users/create", headers=h, json={
            "exchangeId": "PAPER", "publicKey": "sim", "secretKey": "your-api-secret-key",
            "extraKey": "", "exchangeUserId": "client-42",
        }))  # fmt: skip
        assert isinstance(created, str) and created.startswith("usr_")
        ok(
            await tw.client.post(
                BASE + "/users/create",
                headers=h,
                json={"exchangeId": "PAPER", "publicKey": "sim", "secretKey": "x"},
            )
        )
        page = ok(
            await tw.client.post(
                BASE + "/users/list", headers=h, json={"limit": 1, "nextPageId": ""}
            )
        )
        assert len(page["items"]) == 1 and page["nextPageId"]
        rest = ok(
            await tw.client.post(
                BASE + "/users/list", headers=h, json={"limit": 5, "nextPageId": page["nextPageId"]}
            )
        )
        assert rest["nextPageId"] is None
        ids = [u["userId"] for u in page["items"] + rest["items"]]
        assert created in ids and len(ids) == 2
        one = ok(await tw.client.post(BASE + "/users/get", headers=h, json={"userId": created}))
        assert set(one) == {
            "userId",
            "exchangeId",
            "exchangeUserId",
            "createdAt",
            "botsStarted",
            "botsActive",
        }
        assert (one["exchangeUserId"], one["botsActive"], one["createdAt"]) == (
            "client-42",
            0,
            1795348800,
        )
        all_default = ok(await tw.client.post(BASE + "/users/list", headers=h, json={"limit": -1}))
        assert len(all_default["items"]) == 2
        # the user has a paper account on the venue
        assert any(i.user_id == created for i in tw.venue._accounts.values())
        assert (
            ok(await tw.client.post(BASE + "/users/delete", headers=h, json={"userId": created}))
            is True
        )
        r = await tw.client.post(BASE + "/users/get", headers=h, json={"userId": created})
        assert r.status_code == 404 and r.json()["isSuccess"] is False
        assert not any(i.user_id == created for i in tw.venue._accounts.values())

    async def test_refusals(self, tw: Harness) -> None:
        a = {"Authorization": (await make_partner(tw))["auth"]}
        b = {"Authorization": (await make_partner(tw))["auth"]}
        uid = ok(
            await tw.client.post(
                BASE + "/users/create",
                headers=a,
                json={"exchangeId": "PAPER", "publicKey": "sim", "secretKey": "s"},
            )
        )
        r = await tw.client.post(BASE + "/users/get", headers=b, json={"userId": uid})
        assert r.status_code == 404  # another partner's user
        r = await tw.client.post(
            BASE + "/users/create",
            headers=a,
            json={"exchangeId": "BINANCE", "publicKey": "real", "secretKey": "s"},
        )
        assert r.status_code == 400 and "publicKey" in r.json()["message"]
        r = await tw.client.post(BASE + "/users/create", headers=a, json={"exchangeId": "PAPER"})
        assert r.status_code == 400 and r.json()["isSuccess"] is False
        plain = await new_user(tw.client)
        r = await tw.client.post(
            BASE + "/users/list", headers={"Authorization": plain["auth"]}, json={}
        )
        assert r.status_code == 403
        r = await tw.client.post(BASE + "/users/list", json={})
        assert r.status_code == 401 and r.json()["isSuccess"] is False


class TestMarkets:
    async def test_exchanges_and_markets_have_the_documents_fields(self, tw: Harness) -> None:
        h = {"Authorization": (await make_partner(tw))["auth"]}
        exchanges = ok(await tw.client.get(BASE + "/exchanges", headers=h))
        assert exchanges == [
            {"id": "PAPER", "name": "Tradewind Paper", "isSpot": True, "isLeverage": True}
        ]
        markets = ok(await tw.client.get(BASE + "/markets", headers=h))
        fields = {
            "exchangeId", "name", "fullName", "symbol", "exchangeSymbol", "baseCurrency", "quoteCurrency",
            "priceDecimals", "amountDecimals", "minimumTradeAmount", "minimumTradeVolume", "amountLabel",
            "profitLabel", "isSpot", "isLeverage", "isOpen", "timestamp",
        }  # fmt: skip
        assert all(fields <= set(m) for m in markets)
        btc = next(m for m in markets if m["symbol"] == "PAPER_BTC_USDT_")
        assert (
            btc["priceDecimals"],
            btc["amountDecimals"],
            btc["minimumTradeAmount"],
            btc["isSpot"],
        ) == (2, 5, 0.00001, True)
        eur = next(m for m in markets if m["baseCurrency"] == "EUR")
        assert eur["symbol"] == "PAPER_EUR_USD_EURUSD" and eur["isLeverage"] is True
