"""HaasOnline dialect, first part: exchanges, markets and partner-managed users, with the
document's bodies and fields."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.v1.test_users import make_partner
from tests.conftest import Harness
from tests.exchange_stub import UNREACHABLE, BinanceStub, StubClients
from tests.helpers import new_user
from tradewind.services import exchange_accounts

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
            json={"exchangeId": "KUCOIN", "publicKey": "real-key-123", "secretKey": "s"},
        )
        assert r.status_code == 400 and r.json()["message"].startswith("extraKey: ")
        r = await tw.client.post(
            BASE + "/users/create",
            headers=a,
            json={"exchangeId": "NOWHERE", "publicKey": "real-key-123", "secretKey": "s"},
        )
        assert r.status_code == 400 and r.json()["message"].startswith("exchangeId: ")
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
        assert exchanges[0] == {
            "id": "PAPER", "name": "Tradewind Paper", "isSpot": True, "isLeverage": True,
        }  # fmt: skip
        by_id = {e["id"]: e for e in exchanges}
        assert by_id["BINANCE"] == {
            "id": "BINANCE",
            "name": "Binance",
            "isSpot": True,
            "isLeverage": True,
        }
        assert by_id["KUCOINFUTURES"]["isSpot"] is False
        assert all(set(e) == {"id", "name", "isSpot", "isLeverage"} for e in exchanges)
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


class TestLiveExchanges:
    """Real exchanges through the registry and the markets cache, and users created with real
    keys through the native exchange-account path (against a stub of Binance's API)."""

    @pytest.fixture
    async def stub(self) -> AsyncIterator[BinanceStub]:
        async with BinanceStub().serving() as served:
            yield served

    @pytest.fixture
    def exchange_clients(self, stub: BinanceStub) -> StubClients:
        return StubClients(stub.url)

    async def test_an_exchanges_markets_in_the_documents_shape(self, tw: Harness) -> None:
        h = {"Authorization": (await make_partner(tw))["auth"]}
        before = ok(await tw.client.get(BASE + "/markets", headers=h))
        assert {m["exchangeId"] for m in before} == {"PAPER"}  # nothing cached yet, nothing asked

        binance = ok(await tw.client.get(BASE + "/markets?exchangeId=BINANCE", headers=h))

        btc = next(m for m in binance if m["exchangeSymbol"] == "BTCUSDT")
        assert btc == {
            "exchangeId": "BINANCE", "name": "BTC/USDT BTCUSDT", "fullName": "Binance BTCUSDT",
            "symbol": "BINANCE_BTC_USDT_", "exchangeSymbol": "BTCUSDT", "baseCurrency": "BTC",
            "quoteCurrency": "USDT", "priceDecimals": 2, "amountDecimals": 5,
            "minimumTradeAmount": 0.00001, "minimumTradeVolume": 5.0, "amountLabel": "BTC",
            "profitLabel": "USDT", "isSpot": True, "isLeverage": False, "isOpen": True,
            "timestamp": 1795348800,
        }  # fmt: skip
        every = ok(await tw.client.get(BASE + "/markets", headers=h))
        assert {m["exchangeId"] for m in every} == {"PAPER", "BINANCE"}

    async def test_markets_of_an_unreachable_exchange_with_no_copy_are_503(
        self, tw: Harness
    ) -> None:
        h = {"Authorization": (await make_partner(tw))["auth"]}
        tw.runtime.exchange_clients.url = UNREACHABLE  # type: ignore[attr-defined]
        r = await tw.client.get(BASE + "/markets?exchangeId=BYBIT", headers=h)
        assert r.status_code == 503 and r.json()["isSuccess"] is False
        assert "no copy of its markets" in r.json()["message"]

    async def test_a_user_with_real_keys_gets_an_encrypted_exchange_account(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        h = {"Authorization": (await make_partner(tw))["auth"]}
        secret = "haas-secret-9f8e7d6c5b4a"
        r = await tw.client.post(BASE + "/users/create", headers=h, json={
            "exchangeId": "BINANCE", "publicKey": stub.api_key, "secretKey": secret,
            "extraKey": "", "exchangeUserId": "client-7",
        })  # fmt: skip
        uid = ok(r)
        user = ok(await tw.client.post(BASE + "/users/get", headers=h, json={"userId": uid}))
        assert (user["exchangeId"], user["exchangeUserId"]) == ("BINANCE", "client-7")
        assert secret not in r.text and stub.api_key not in r.text
        async with tw.runtime.sessions() as s:
            page = await exchange_accounts.list_exchange_accounts(s, uid, 10, None)
            (row,) = page.items
            assert (row.exchange, row.status) == ("binance", "verified")
            assert secret not in row.secret_enc
            credentials = exchange_accounts.credentials_of(row, tw.runtime.vault)
            assert (credentials.api_key, credentials.secret, credentials.passphrase) == (
                stub.api_key, secret, None,
            )  # fmt: skip
        assert not any(i.user_id == uid for i in tw.venue._accounts.values())  # no paper one
        assert ok(await tw.client.post(BASE + "/users/delete", headers=h, json={"userId": uid}))
        async with tw.runtime.sessions() as s:
            assert (await exchange_accounts.list_exchange_accounts(s, uid, 10, None)).items == []

    async def test_refused_keys_make_no_user(self, tw: Harness) -> None:
        h = {"Authorization": (await make_partner(tw))["auth"]}
        r = await tw.client.post(BASE + "/users/create", headers=h, json={
            "exchangeId": "BINANCE", "publicKey": "a-revoked-key-000", "secretKey": "s3cret",
        })  # fmt: skip
        assert r.status_code == 400 and r.json()["message"].startswith("publicKey: Binance refused")
        listed = ok(await tw.client.post(BASE + "/users/list", headers=h, json={}))
        assert listed["items"] == []
