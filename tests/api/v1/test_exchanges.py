"""Exchanges, their markets, exchange accounts and platform IPs in the native API, against a
stub of Binance's REST API on 127.0.0.1 (or an address where nothing listens)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import Harness
from tests.exchange_stub import UNREACHABLE, BinanceStub, StubClients
from tests.helpers import key_auth, new_key, new_user
from tradewind.services import exchange_accounts

V1 = "/api/v1"
SECRET = "stub-secret-Zq8v1Kc3Wm5Xp7Rt9Yb2Nd4Hf6Jg0"
PASSPHRASE = "stub-passphrase-Lx4Ty8Qe2Uw6"


@pytest.fixture
async def stub() -> AsyncIterator[BinanceStub]:
    async with BinanceStub().serving() as served:
        yield served


@pytest.fixture
def exchange_clients(stub: BinanceStub) -> StubClients:
    return StubClients(stub.url)


def clients(tw: Harness) -> StubClients:
    made: StubClients = tw.runtime.exchange_clients  # type: ignore[assignment]
    return made


async def login(tw: Harness) -> dict[str, str]:
    """A full-scope API key's headers (a login token would expire as the tests move the clock
    past the markets' refresh interval)."""
    user = await new_user(tw.client)
    return key_auth(await new_key(tw.client, user["auth"], "full"))


async def add_account(
    tw: Harness, h: dict[str, str], stub: BinanceStub, **body: Any
) -> dict[str, Any]:
    payload = {"exchange": "binance", "api_key": stub.api_key, "secret": SECRET} | body
    r = await tw.client.post(f"{V1}/exchange-accounts", json=payload, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


class TestRegistry:
    async def test_lists_paper_then_the_curated_exchanges(self, tw: Harness) -> None:
        h = await login(tw)
        r = await tw.client.get(f"{V1}/exchanges", headers=h)
        assert r.status_code == 200
        listed = {e["id"]: e for e in r.json()}
        assert r.json()[0]["id"] == "paper"
        assert {"binance", "bybit", "okx", "kucoin", "kraken"} <= set(listed)
        assert {e["id"] for e in r.json() if e["verified"]} == {"paper", "binance"}
        assert listed["okx"]["requires_passphrase"] is True
        assert listed["binance"]["requires_passphrase"] is False
        assert listed["binance"]["has_testnet"] is True and listed["binance"]["has_futures"] is True
        assert listed["kraken"]["has_futures"] is False
        assert listed["binance"]["manage_url"].startswith("https://www.binance.com/")
        tiers = [e["tier"] for e in r.json()[1:]]
        assert tiers == sorted(tiers)

    async def test_one_exchange_and_an_unknown_one(self, tw: Harness) -> None:
        h = await login(tw)
        r = await tw.client.get(f"{V1}/exchanges/kucoin", headers=h)
        assert r.status_code == 200 and r.json()["name"] == "KuCoin"
        assert r.json()["requires_passphrase"] is True
        r = await tw.client.get(f"{V1}/exchanges/nowhere", headers=h)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    async def test_needs_credentials(self, tw: Harness) -> None:
        assert (await tw.client.get(f"{V1}/exchanges")).status_code == 401


class TestMarkets:
    async def test_loaded_once_then_served_from_the_cache(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        h = await login(tw)
        r = await tw.client.get(f"{V1}/exchanges/binance/markets", headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["exchange"], body["count"], body["stale"], body["age_seconds"]) == (
            "binance", 2, False, 0.0,
        )  # fmt: skip
        assert body["fetched_at"] == "2026-11-22T12:00:00Z"
        btc = next(m for m in body["markets"] if m["symbol"] == "BTC/USDT")
        assert btc == {
            "symbol": "BTC/USDT", "exchange_symbol": "BTCUSDT", "base": "BTC", "quote": "USDT",
            "settle": None, "type": "spot", "active": True, "tick_size": "0.01",
            "amount_step": "0.00001", "price_decimals": 2, "amount_decimals": 5,
            "min_amount": "0.00001", "min_notional": "5", "max_leverage": None, "contract_size": None,
        }  # fmt: skip
        loads = stub.requests.count("/api/v3/exchangeInfo")
        tw.clock.advance(600)
        again = (await tw.client.get(f"{V1}/exchanges/binance/markets", headers=h)).json()
        assert again["age_seconds"] == 600.0 and again["stale"] is False
        assert stub.requests.count("/api/v3/exchangeInfo") == loads

    async def test_reloaded_once_older_than_the_refresh_interval(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        h = await login(tw)
        await tw.client.get(f"{V1}/exchanges/binance/markets", headers=h)
        stub.symbols = stub.symbols[:1]
        tw.clock.advance(3600)
        body = (await tw.client.get(f"{V1}/exchanges/binance/markets", headers=h)).json()
        assert (body["count"], body["age_seconds"], body["stale"]) == (1, 0.0, False)

    async def test_the_cached_copy_with_its_age_when_the_exchange_is_down(
        self, tw: Harness
    ) -> None:
        h = await login(tw)
        await tw.client.get(f"{V1}/exchanges/binance/markets", headers=h)
        clients(tw).url = UNREACHABLE
        tw.clock.advance(7200)
        r = await tw.client.get(f"{V1}/exchanges/binance/markets", headers=h)
        assert r.status_code == 200
        body = r.json()
        assert (body["stale"], body["age_seconds"], body["count"]) == (True, 7200.0, 2)
        assert body["fetched_at"] == "2026-11-22T12:00:00Z"
        assert "ExchangeNotAvailable" in body["error"]

    async def test_503_when_the_exchange_is_down_and_nothing_is_cached(self, tw: Harness) -> None:
        h = await login(tw)
        clients(tw).url = UNREACHABLE
        r = await tw.client.get(f"{V1}/exchanges/binance/markets", headers=h)
        assert r.status_code == 503
        error = r.json()["error"]
        assert error["code"] == "venue_unavailable"
        assert "binance cannot be reached and no copy of its markets is cached" in error["message"]

    async def test_paper_answers_from_its_instruments_and_unknown_is_404(self, tw: Harness) -> None:
        h = await login(tw)
        body = (await tw.client.get(f"{V1}/exchanges/paper/markets?type=swap", headers=h)).json()
        assert body["age_seconds"] == 0 and body["markets"]
        assert all(m["type"] == "swap" for m in body["markets"])
        assert "BTC/USDT:USDT" in {m["symbol"] for m in body["markets"]}
        r = await tw.client.get(f"{V1}/exchanges/nowhere/markets", headers=h)
        assert r.status_code == 404


class TestCreateAccount:
    async def test_checked_against_the_exchange_and_stored_verified(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        h = await login(tw)
        body = await add_account(tw, h, stub, label="main")
        assert body["account_id"].startswith("xac_")
        assert (body["exchange"], body["label"], body["status"], body["testnet"]) == (
            "binance", "main", "verified", False,
        )  # fmt: skip
        assert body["api_key_hint"] == "stub…cdef" and body["has_passphrase"] is False
        assert body["validated_at"] == "2026-11-22T12:00:00Z" and body["last_error"] is None
        assert "/api/v3/account" in stub.requests

    async def test_testnet_keys_are_checked_on_the_testnet(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        h = await login(tw)
        body = await add_account(tw, h, stub, testnet=True)
        assert (body["testnet"], body["status"], body["label"]) == (
            True, "verified", "Binance testnet",
        )  # fmt: skip

    async def test_refused_credentials_are_422_naming_them_and_not_stored(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        h = await login(tw)
        r = await tw.client.post(
            f"{V1}/exchange-accounts",
            json={"exchange": "binance", "api_key": "not-the-key-000", "secret": SECRET},
            headers=h,
        )
        assert r.status_code == 422
        error = r.json()["error"]
        assert [d["field"] for d in error["details"]] == ["api_key", "secret"]
        assert "Binance refused these credentials" in error["message"]
        assert "api-management" in error["message"]  # where to fix the key
        assert (await tw.client.get(f"{V1}/exchange-accounts", headers=h)).json()["data"] == []

    async def test_stored_unverified_when_the_exchange_cannot_be_reached(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        h = await login(tw)
        clients(tw).url = UNREACHABLE
        body = await add_account(tw, h, stub)
        assert (body["status"], body["validated_at"]) == ("unverified", None)
        assert "ExchangeNotAvailable" in body["last_error"]
        # checked again once the exchange answers
        clients(tw).url = stub.url
        r = await tw.client.post(f"{V1}/exchange-accounts/{body['account_id']}/verify", headers=h)
        assert r.status_code == 200
        assert (r.json()["status"], r.json()["last_error"]) == ("verified", None)
        assert r.json()["validated_at"] == "2026-11-22T12:00:00Z"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"exchange": "okx"}, "passphrase"),
            ({"exchange": "kucoin", "passphrase": "   "}, "passphrase"),
            ({"exchange": "kraken", "testnet": True}, "testnet"),
            ({"exchange": "nowhere"}, "exchange"),
            ({"exchange": "paper"}, "exchange"),
            ({"api_key": "   "}, "api_key"),
            ({"secret": ""}, "secret"),
            ({"shoe_size": 42}, "shoe_size"),
        ],
    )
    async def test_refusals_name_the_field_before_asking_the_exchange(
        self, tw: Harness, stub: BinanceStub, body: dict[str, Any], field: str
    ) -> None:
        h = await login(tw)
        payload = {"exchange": "binance", "api_key": stub.api_key, "secret": SECRET} | body
        r = await tw.client.post(f"{V1}/exchange-accounts", json=payload, headers=h)
        assert r.status_code == 422, r.text
        assert field in [d["field"] for d in r.json()["error"]["details"]]
        assert clients(tw).made == []

    async def test_a_read_or_trade_key_cannot_add_credentials(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        user = await new_user(tw.client)
        for scope in ("read", "trade"):
            key = await new_key(tw.client, user["auth"], scope)
            r = await tw.client.post(
                f"{V1}/exchange-accounts",
                json={"exchange": "binance", "api_key": stub.api_key, "secret": SECRET},
                headers=key_auth(key),
            )
            assert r.status_code == 403


class TestAccounts:
    async def test_list_get_delete(self, tw: Harness, stub: BinanceStub) -> None:
        h = await login(tw)
        first = await add_account(tw, h, stub, label="one")
        second = await add_account(tw, h, stub, label="two")
        page = (await tw.client.get(f"{V1}/exchange-accounts?limit=1", headers=h)).json()
        assert [a["label"] for a in page["data"]] == ["two"] and page["next_cursor"]
        r = await tw.client.get(f"{V1}/exchange-accounts/{first['account_id']}", headers=h)
        assert r.status_code == 200 and r.json() == first
        r = await tw.client.delete(f"{V1}/exchange-accounts/{first['account_id']}", headers=h)
        assert r.status_code == 204
        r = await tw.client.get(f"{V1}/exchange-accounts/{first['account_id']}", headers=h)
        assert r.status_code == 404
        listed = (await tw.client.get(f"{V1}/exchange-accounts", headers=h)).json()["data"]
        assert [a["account_id"] for a in listed] == [second["account_id"]]

    async def test_another_users_account_is_404(self, tw: Harness, stub: BinanceStub) -> None:
        alice, bob = await login(tw), await login(tw)
        account = await add_account(tw, alice, stub)
        path = f"{V1}/exchange-accounts/{account['account_id']}"
        assert (await tw.client.get(path, headers=bob)).status_code == 404
        assert (await tw.client.post(path + "/verify", headers=bob)).status_code == 404
        assert (await tw.client.delete(path, headers=bob)).status_code == 404
        assert (await tw.client.get(f"{V1}/exchange-accounts", headers=bob)).json()["data"] == []
        assert (await tw.client.get(path, headers=alice)).status_code == 200

    async def test_the_credentials_decrypt_for_their_owner_only(
        self, tw: Harness, stub: BinanceStub
    ) -> None:
        alice, bob = await new_user(tw.client), await new_user(tw.client)
        account = await add_account(
            tw, {"Authorization": alice["auth"]}, stub, exchange="okx", passphrase=PASSPHRASE
        )
        async with tw.runtime.sessions() as s:
            credentials = await exchange_accounts.decrypted_credentials(
                s, tw.runtime.vault, account["account_id"], alice["user_id"]
            )
            assert (credentials.api_key, credentials.secret, credentials.passphrase) == (
                stub.api_key, SECRET, PASSPHRASE,
            )  # fmt: skip
            assert SECRET not in repr(credentials) and stub.api_key not in repr(credentials)
            with pytest.raises(exchange_accounts.NotFound):
                await exchange_accounts.decrypted_credentials(
                    s, tw.runtime.vault, account["account_id"], bob["user_id"]
                )


class TestSecrecy:
    """Credentials are unreadable in the database file and absent from logs and answers."""

    async def test_no_answer_holds_a_secret(self, tw: Harness, stub: BinanceStub) -> None:
        h = await login(tw)
        answers = []
        r = await tw.client.post(
            f"{V1}/exchange-accounts",
            json={"exchange": "okx", "api_key": stub.api_key, "secret": SECRET, "passphrase": PASSPHRASE},
            headers=h,
        )  # fmt: skip
        answers.append(r.text)
        aid = r.json()["account_id"]
        answers.append((await tw.client.get(f"{V1}/exchange-accounts", headers=h)).text)
        answers.append((await tw.client.get(f"{V1}/exchange-accounts/{aid}", headers=h)).text)
        answers.append(
            (await tw.client.post(f"{V1}/exchange-accounts/{aid}/verify", headers=h)).text
        )
        assert r.json()["has_passphrase"] is True
        for text in answers:
            for value in (SECRET, PASSPHRASE, stub.api_key):
                assert value not in text

    async def test_the_database_file_and_the_logs_hold_no_secret(
        self,
        tw: Harness,
        stub: BinanceStub,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        user = await new_user(tw.client)
        key = await new_key(tw.client, user["auth"], "full")
        capsys.readouterr()
        caplog.set_level(logging.DEBUG)  # as TRADEWIND_LOG_LEVEL=DEBUG would
        for name in ("sqlalchemy", "ccxt", "aiohttp", "httpx"):
            caplog.set_level(logging.DEBUG, logger=name)  # their statements and parameters too

        r = await tw.client.post(
            f"{V1}/exchange-accounts",
            json={"exchange": "okx", "api_key": stub.api_key, "secret": SECRET, "passphrase": PASSPHRASE},
            headers=key_auth(key),
        )  # fmt: skip

        assert r.status_code == 201
        logged = capsys.readouterr().err + "\n".join(
            f"{rec.name} {rec.getMessage()}" for rec in caplog.records
        )
        assert "exchange account added" in logged  # the capture saw the request's lines
        assert "INSERT INTO exchange_accounts" in logged  # and the statement's parameters
        for value in (SECRET, PASSPHRASE, stub.api_key, key["api_secret"]):
            assert value not in logged
        url = make_url(tw.settings.database_url or "")
        if url.get_backend_name() != "sqlite":
            pytest.skip("the raw file check is SQLite's")
        db = Path(url.database or "")
        raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        assert b"xac_" in raw  # the account is in the file
        for value in (SECRET, PASSPHRASE, stub.api_key, key["api_secret"]):
            assert value.encode() not in raw


class TestPlatformIps:
    @pytest.mark.parametrize(
        "settings_overrides", [{"platform_ips": ["203.0.113.10", "203.0.113.11"]}]
    )
    async def test_native_and_trynquant_read_the_one_setting(self, tw: Harness) -> None:
        h = await login(tw)
        native = await tw.client.get(f"{V1}/platform-ips", headers=h)
        trynquant = await tw.client.get("/compat/trynquant/api/v1/platform-ips/")
        assert native.status_code == 200
        assert native.json() == trynquant.json() == {"ips": ["203.0.113.10", "203.0.113.11"]}
