"""The TrynQuant dialect's platform endpoints, with the document's fields and codes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Harness
from tests.exchange_stub import UNREACHABLE, BinanceStub, StubClients
from tests.helpers import PASSWORD, register

BASE = "/compat/trynquant/api/v1"


class TestAuth:
    @pytest.mark.parametrize("slash", ["/", ""])
    async def test_email_and_password_give_a_90_day_key(self, tw: Harness, slash: str) -> None:
        user = await register(tw.client)
        r = await tw.client.post(
            f"{BASE}/auth{slash}", json={"email": user["email"], "password": PASSWORD}
        )
        assert r.status_code == 201
        body = r.json()
        assert set(body) == {"api_key", "api_secret", "expires_at", "plan"}
        assert body["api_key"].startswith("pk_") and body["api_secret"].startswith("sk_")
        assert body["expires_at"] == "2027-02-20T12:00:00Z" and body["plan"] == "free"
        # the document's Authorization form works with it
        me = await tw.client.get(
            "/api/v1/me",
            headers={"Authorization": f"Bearer {body['api_key']}:{body['api_secret']}"},
        )
        assert me.status_code == 200

    async def test_wrong_password_is_401_and_missing_field_400(self, tw: Harness) -> None:
        user = await register(tw.client)
        r = await tw.client.post(
            f"{BASE}/auth/", json={"email": user["email"], "password": "not it at all"}
        )
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
        r = await tw.client.post(f"{BASE}/auth/", json={"email": user["email"]})
        assert r.status_code == 400 and "password" in r.json()["error"]


class TestExchanges:
    async def test_supported_exchanges_have_the_documents_fields(self, tw: Harness) -> None:
        r = await tw.client.get(f"{BASE}/exchanges/supported/")
        assert r.status_code == 200
        fields = {
            "id",
            "name",
            "tier",
            "requires_passphrase",
            "requires_rsa",
            "has_testnet",
            "has_futures",
            "doc_url",
            "manage_url",
        }
        assert all(set(e) == fields for e in r.json())
        by_id = {e["id"]: e for e in r.json()}
        assert {"paper", "binance", "bybit", "okx"} <= set(by_id)
        assert (by_id["okx"]["requires_passphrase"], by_id["okx"]["tier"]) == (True, 1)

    async def test_pairs(self, tw: Harness) -> None:
        body = (await tw.client.get(f"{BASE}/exchanges/paper/pairs/")).json()
        assert body["exchange"] == "paper" and body["count"] == len(body["pairs"])
        assert "BTC/USDT" in body["pairs"]
        r = await tw.client.get(f"{BASE}/exchanges/nowhere/pairs")
        assert r.status_code == 404


class TestLivePairs:
    @pytest.fixture
    async def stub(self) -> AsyncIterator[BinanceStub]:
        async with BinanceStub().serving() as served:
            yield served

    @pytest.fixture
    def exchange_clients(self, stub: BinanceStub) -> StubClients:
        return StubClients(stub.url)

    async def test_an_exchanges_pairs_from_the_markets_cache(self, tw: Harness) -> None:
        r = await tw.client.get(f"{BASE}/exchanges/binance/pairs/")
        assert r.status_code == 200
        assert r.json() == {"exchange": "binance", "pairs": ["BTC/USDT", "ETH/USDT"], "count": 2}

    async def test_unreachable_with_nothing_cached_is_503(self, tw: Harness) -> None:
        tw.runtime.exchange_clients.url = UNREACHABLE  # type: ignore[attr-defined]
        r = await tw.client.get(f"{BASE}/exchanges/okx/pairs/")
        assert r.status_code == 503 and r.json()["code"] == "venue_unavailable"
        assert "okx cannot be reached" in r.json()["error"]


@pytest.mark.parametrize("settings_overrides", [{"platform_ips": ["203.0.113.10", "203.0.113.11"]}])
async def test_platform_ips_are_the_configured_ones(tw: Harness) -> None:
    r = await tw.client.get(f"{BASE}/platform-ips/")
    assert r.status_code == 200 and r.json() == {"ips": ["203.0.113.10", "203.0.113.11"]}
