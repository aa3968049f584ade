"""Quantarya's journal API under /compat/quantarya: every example request of the document
replayed literally (same fields, types and codes), then the refusals: a bot-made record is
not deleted, another user's strategy is 404, a private profile is 404 like an unknown one, a
JWT-only endpoint refuses an API key, a revoked key is 401."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Harness
from tests.helpers import new_user
from tradewind.store.tables import JournalTradeRow

Q = "/compat/quantarya"

# The document's example bodies, as written there.
KEY_EXAMPLE = {"key_name": "TradingView webhook"}
STRATEGY_EXAMPLE = {
    "title": "Momentum Breakout",
    "description": "Intraday FX breakout workflow.",
    "tags": ["fx", "breakout"],
}
TRADE_EXAMPLE = {
    "symbol": "EURUSD",
    "side": "BUY",
    "entry": 1.0825,
    "stop_loss": 1.0785,
    "take_profit": 1.0905,
    "timeframe": "4h",
    "source": "tradingview",
    "external_reference": "tv-eurusd-001",
    "signal_time": "2026-05-21T12:00:00Z",
}
TRADE_RESPONSE_EXAMPLE = {
    "message": "Trade created",
    "data": {
        "trade_id": "trd_123", "strategy_id": "strat_123", "user_id": "user_123",
        "symbol": "EURUSD", "side": "BUY", "status": "OPEN", "event": "entry", "entry": 1.0825,
        "stop_loss": 1.0785, "take_profit": 1.0905, "close_price": None,
        "opened_at": "2026-05-21T12:00:00Z", "closed_at": None,
        "signal_time": "2026-05-21T12:00:00Z", "timeframe": "4h", "source": "tradingview",
        "external_reference": "tv-eurusd-001", "signal": None, "market": None, "risk": None,
        "context": None, "meta": None, "created_at": "2026-05-21T12:00:00Z",
        "updated_at": "2026-05-21T12:00:00Z",
    },
}  # fmt: skip
PATCH_EXAMPLE = {"status": "CLOSED", "close_price": 1.0898, "closed_at": "2026-05-21T18:15:00Z"}
CLOSE_EXAMPLE = {"close_price": 1.0898, "closed_at": "2026-05-21T18:15:00Z"}
PROFILE_EXAMPLE = {
    "user_name": "systematic-desk",
    "display_name": "Systematic Desk",
    "bio": "Tracking clean signal workflows and repeatable execution.",
    "public_profile_enabled": True,
}


def _type_name(value: Any) -> str:
    return (
        "number"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else type(value).__name__
    )


def same_shape(got: dict[str, Any], example: dict[str, Any]) -> None:
    """Every field of the example is there, of the same JSON type (null where null)."""
    for name, value in example.items():
        assert name in got, name
        if value is None:
            assert got[name] is None, name
        else:
            assert _type_name(got[name]) == _type_name(value), name


async def jwt(tw: Harness) -> dict[str, str]:
    user = await new_user(tw.client)
    return {"Authorization": user["auth"]}


async def strategy(tw: Harness, h: dict[str, str], **extra: Any) -> str:
    r = await tw.client.post(f"{Q}/strategies", json=STRATEGY_EXAMPLE | extra, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["strategy_id"])


async def api_key(tw: Harness, h: dict[str, str]) -> tuple[str, dict[str, str]]:
    r = await tw.client.post(f"{Q}/api-keys", json=KEY_EXAMPLE, headers=h)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    return data["api_key_id"], {"Authorization": f"Bearer {data['raw_api_key']}"}


class TestApiKeys:
    async def test_create_list_revoke(self, tw: Harness) -> None:
        h = await jwt(tw)
        r = await tw.client.post(f"{Q}/api-keys", json=KEY_EXAMPLE, headers=h)
        assert r.status_code == 201
        body = r.json()
        assert body["message"] == "API key created"
        assert isinstance(body["data"]["api_key_id"], str)
        assert isinstance(body["data"]["raw_api_key"], str)
        key_id, key = body["data"]["api_key_id"], body["data"]["raw_api_key"]

        r = await tw.client.get(f"{Q}/api-keys", headers=h)
        assert r.status_code == 200
        listed = r.json()["data"]
        assert [(k["api_key_id"], k["key_name"]) for k in listed] == [
            (key_id, "TradingView webhook")
        ]
        assert key not in r.text  # the secret is shown once

        r = await tw.client.delete(f"{Q}/api-keys/{key_id}", headers=h)
        assert r.status_code == 200
        assert r.json()["data"]["api_key_id"] == key_id
        assert (await tw.client.get(f"{Q}/api-keys", headers=h)).json()["data"] == []

    async def test_a_revoked_key_is_401(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        key_id, key = await api_key(tw, h)
        assert (await tw.client.get(f"{Q}/strategies/{sid}/trades", headers=key)).status_code == 200
        await tw.client.delete(f"{Q}/api-keys/{key_id}", headers=h)
        r = await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=key)
        assert r.status_code == 401
        assert r.json() == {"message": "api key revoked", "data": None}

    async def test_an_api_key_cannot_manage_keys(self, tw: Harness) -> None:
        _, key = await api_key(tw, await jwt(tw))
        r = await tw.client.post(f"{Q}/api-keys", json=KEY_EXAMPLE, headers=key)
        assert r.status_code == 401
        assert r.json()["data"] is None


class TestStrategies:
    async def test_create_list_get_delete(self, tw: Harness) -> None:
        h = await jwt(tw)
        r = await tw.client.post(f"{Q}/strategies", json=STRATEGY_EXAMPLE, headers=h)
        assert r.status_code == 201
        body = r.json()
        assert body["message"] == "Strategy created"
        sid = body["data"]["strategy_id"]
        assert sid.startswith("strat_")
        assert body["data"]["title"] == "Momentum Breakout"
        assert body["data"]["tags"] == ["fx", "breakout"]

        r = await tw.client.get(f"{Q}/strategies", headers=h)
        assert r.status_code == 200
        assert [(s["strategy_id"], s["title"]) for s in r.json()["data"]] == [
            (sid, "Momentum Breakout")
        ]
        r = await tw.client.get(f"{Q}/strategies/{sid}", headers=h)
        assert r.status_code == 200
        assert r.json()["data"]["strategy_id"] == sid
        await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=h)

        r = await tw.client.delete(f"{Q}/strategies/{sid}", headers=h)
        assert r.status_code == 200
        assert r.json()["data"] == {"strategy_id": sid}
        assert (await tw.client.get(f"{Q}/strategies/{sid}", headers=h)).status_code == 404
        assert (await tw.client.get(f"{Q}/strategies/{sid}/trades", headers=h)).status_code == 404

    async def test_another_users_strategy_is_404(self, tw: Harness) -> None:
        owner, other = await jwt(tw), await jwt(tw)
        sid = await strategy(tw, owner)
        _, other_key = await api_key(tw, other)
        for h in (other, other_key):
            r = await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=h)
            assert r.status_code == 404
            assert r.json() == {"message": "strategy not found", "data": None}
        assert (await tw.client.get(f"{Q}/strategies/{sid}", headers=other)).status_code == 404
        assert (await tw.client.delete(f"{Q}/strategies/{sid}", headers=other)).status_code == 404

    async def test_strategies_take_no_api_key(self, tw: Harness) -> None:
        h = await jwt(tw)
        _, key = await api_key(tw, h)
        r = await tw.client.post(f"{Q}/strategies", json=STRATEGY_EXAMPLE, headers=key)
        assert r.status_code == 401
        assert "login token" in r.json()["message"]
        assert (await tw.client.get(f"{Q}/strategies", headers=key)).status_code == 401
        assert (await tw.client.get(f"{Q}/strategies", headers=h)).json()["data"] == []

    async def test_a_missing_title_is_422_naming_it(self, tw: Harness) -> None:
        r = await tw.client.post(f"{Q}/strategies", json={"tags": ["fx"]}, headers=await jwt(tw))
        assert r.status_code == 422
        assert r.json()["data"] is None and "title" in r.json()["message"]


class TestTrades:
    async def test_the_documents_trade_example(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        r = await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=h)
        assert r.status_code == 201
        body = r.json()
        assert body["message"] == TRADE_RESPONSE_EXAMPLE["message"]
        data, example = body["data"], TRADE_RESPONSE_EXAMPLE["data"]
        same_shape(data, example)
        ids = {"trade_id", "strategy_id", "user_id", "created_at", "updated_at"}
        assert {k: data[k] for k in example if k not in ids} == {
            k: v for k, v in example.items() if k not in ids
        }
        assert data["trade_id"].startswith("trd_") and data["strategy_id"] == sid
        assert data["user_id"].startswith("usr_")
        assert data["created_at"] == data["updated_at"] == "2026-11-22T12:00:00Z"  # the clock

        r = await tw.client.get(f"{Q}/strategies/{sid}/trades/{data['trade_id']}", headers=h)
        assert r.status_code == 200
        assert r.json()["data"] == data
        r = await tw.client.get(f"{Q}/strategies/{sid}/trades", headers=h)
        assert r.status_code == 200
        assert [(t["trade_id"], t["symbol"]) for t in r.json()["data"]] == [
            (data["trade_id"], "EURUSD")
        ]

    async def test_an_api_key_posts_a_trade(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        _, key = await api_key(tw, h)
        r = await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=key)
        assert r.status_code == 201, r.text
        assert r.json()["data"]["status"] == "OPEN"

    async def test_a_tradingview_alert_carries_its_key_in_the_body(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        key_id, key = await api_key(tw, h)
        raw = key["Authorization"].removeprefix("Bearer ")
        url = f"{Q}/strategies/{sid}/trades"
        r = await tw.client.post(url, json=TRADE_EXAMPLE | {"api_key": raw})
        assert r.status_code == 201, r.text
        assert raw not in r.text  # used, not stored
        await tw.client.delete(f"{Q}/api-keys/{key_id}", headers=h)
        r = await tw.client.post(url, json=TRADE_EXAMPLE | {"api_key": raw})
        assert r.status_code == 401
        r = await tw.client.post(url, json=TRADE_EXAMPLE)
        assert r.status_code == 401

    async def test_patch_example_closes_with_the_result(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        r = await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=h)
        tid = r.json()["data"]["trade_id"]
        r = await tw.client.patch(
            f"{Q}/strategies/{sid}/trades/{tid}", json=PATCH_EXAMPLE, headers=h
        )
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["trade_id"] == tid
        assert (data["status"], data["close_price"], data["closed_at"]) == (
            "CLOSED",
            1.0898,
            "2026-05-21T18:15:00Z",
        )
        # 1.0898 - 1.0825 = 0.0073 points; / 1.0825 = 0.6743649%; risk 0.004: 1.825 R
        assert data["result"] == {"points": 0.0073, "return_pct": 0.67436490, "r_multiple": 1.825}

    async def test_close_example(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        r = await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=h)
        tid = r.json()["data"]["trade_id"]
        path = f"{Q}/strategies/{sid}/trades/{tid}/close"
        r = await tw.client.post(path, json=CLOSE_EXAMPLE, headers=h)
        assert r.status_code == 200
        data = r.json()["data"]
        assert (data["trade_id"], data["status"], data["close_price"], data["closed_at"]) == (
            tid,
            "CLOSED",
            1.0898,
            "2026-05-21T18:15:00Z",
        )
        r = await tw.client.post(path, json=CLOSE_EXAMPLE, headers=h)
        assert r.status_code == 409  # closed already

    async def test_delete_a_manual_trade(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        r = await tw.client.post(f"{Q}/strategies/{sid}/trades", json=TRADE_EXAMPLE, headers=h)
        tid = r.json()["data"]["trade_id"]
        r = await tw.client.delete(f"{Q}/strategies/{sid}/trades/{tid}", headers=h)
        assert r.status_code == 200
        assert r.json() == {
            "message": "Trade deleted",
            "data": {"trade_id": tid, "source": "tradingview"},
        }
        r = await tw.client.get(f"{Q}/strategies/{sid}/trades/{tid}", headers=h)
        assert r.status_code == 404

    async def test_an_exit_with_the_reference_of_an_open_trade_updates_it(
        self, tw: Harness
    ) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        url = f"{Q}/strategies/{sid}/trades"
        created = (await tw.client.post(url, json=TRADE_EXAMPLE, headers=h)).json()["data"]
        update = {"symbol": "EURUSD", "side": "BUY", "event": "update", "stop_loss": 1.0825,
                  "external_reference": "tv-eurusd-001", "meta": {"note": "stop to break-even"}}  # fmt: skip
        r = await tw.client.post(url, json=update, headers=h)
        assert r.status_code == 200
        assert r.json()["message"] == "Trade updated"
        assert (r.json()["data"]["trade_id"], r.json()["data"]["stop_loss"]) == (
            created["trade_id"],
            1.0825,
        )
        exit_ = {"symbol": "EURUSD", "side": "SELL", "event": "exit", "close_price": 1.0905,
                 "external_reference": "tv-eurusd-001", "signal_time": "2026-05-22T08:00:00Z"}  # fmt: skip
        r = await tw.client.post(url, json=exit_, headers=h)
        assert r.status_code == 200
        data = r.json()["data"]
        assert (data["trade_id"], data["status"], data["event"], data["side"]) == (
            created["trade_id"],
            "CLOSED",
            "exit",
            "BUY",
        )
        assert (data["closed_at"], data["meta"]) == (
            "2026-05-22T08:00:00Z",
            {"note": "stop to break-even"},
        )
        assert data["result"]["r_multiple"] is None  # the stop at entry: no risk to divide by
        listed = (await tw.client.get(url, headers=h)).json()["data"]
        assert len(listed) == 1

    async def test_bad_input_is_422_naming_the_field_and_stores_nothing(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        url = f"{Q}/strategies/{sid}/trades"
        for bad, name in [
            (TRADE_EXAMPLE | {"side": "LONG"}, "side"),
            (TRADE_EXAMPLE | {"entry": -1}, "entry"),
            (TRADE_EXAMPLE | {"signal_time": "yesterday"}, "signal_time"),
            ({k: v for k, v in TRADE_EXAMPLE.items() if k != "symbol"}, "symbol"),
            (TRADE_EXAMPLE | {"unknown": 1}, "unknown"),
        ]:
            r = await tw.client.post(url, json=bad, headers=h)
            assert r.status_code == 422, bad
            assert r.json()["data"] is None and name in r.json()["message"]
        assert (await tw.client.get(url, headers=h)).json()["data"] == []

    async def test_a_bot_made_trade_is_not_deleted_or_changed(self, tw: Harness) -> None:
        h = await jwt(tw)
        sid = await strategy(tw, h)
        me = (await tw.client.get("/api/v1/me", headers=h)).json()
        now = datetime(2026, 11, 22, tzinfo=UTC)
        async with tw.runtime.sessions() as session:
            session.add(JournalTradeRow(
                id="trd_01JBOT0000000000000000000A", strategy_id=sid, user_id=me["user_id"],
                symbol="BTC/USDT:USDT", side="BUY", status="CLOSED", event="exit", opened_at=now,
                closed_at=now, origin="tradewind", source="tradewind", created_at=now,
                updated_at=now,
            ))  # fmt: skip
            await session.commit()
        path = f"{Q}/strategies/{sid}/trades/trd_01JBOT0000000000000000000A"
        r = await tw.client.delete(path, headers=h)
        assert r.status_code == 409
        assert "cannot be changed or deleted" in r.json()["message"]
        assert (await tw.client.patch(path, json=PATCH_EXAMPLE, headers=h)).status_code == 409
        assert (await tw.client.get(path, headers=h)).status_code == 200


class TestProfile:
    async def test_create_get_update_delete(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        h = {"Authorization": user["auth"]}
        assert (await tw.client.get(f"{Q}/me", headers=h)).status_code == 404
        r = await tw.client.post(f"{Q}/me", json=PROFILE_EXAMPLE, headers=h)
        assert r.status_code == 201
        data = r.json()["data"]
        assert r.json()["message"] == "User profile created"
        assert data["user_id"].startswith("usr_") and data["email"] == user["email"]
        assert {k: data[k] for k in PROFILE_EXAMPLE} == PROFILE_EXAMPLE

        r = await tw.client.post(f"{Q}/me", json={"user_name": "systematic-desk-2"}, headers=h)
        assert r.status_code == 200
        assert r.json()["data"]["user_name"] == "systematic-desk-2"
        assert r.json()["data"]["display_name"] == "Systematic Desk"
        r = await tw.client.patch(f"{Q}/me", json={"bio": "New bio."}, headers=h)
        assert r.status_code == 200 and r.json()["data"]["bio"] == "New bio."
        r = await tw.client.get(f"{Q}/me", headers=h)
        assert r.status_code == 200 and r.json()["data"]["user_name"] == "systematic-desk-2"

        await strategy(tw, h)
        await strategy(tw, h)
        await api_key(tw, h)
        r = await tw.client.delete(f"{Q}/me", headers=h)
        assert r.status_code == 200
        assert r.json()["data"] == {
            "user_id": data["user_id"],
            "deleted_strategy_count": 2,
            "deleted_api_key_count": 1,
        }
        assert (await tw.client.get(f"{Q}/me", headers=h)).status_code == 404
        assert (await tw.client.get(f"{Q}/strategies", headers=h)).json()["data"] == []
        r = await tw.client.get(f"{Q}/profiles/systematic-desk-2")
        assert r.status_code == 404

    async def test_me_takes_no_api_key(self, tw: Harness) -> None:
        _, key = await api_key(tw, await jwt(tw))
        for method in ("GET", "DELETE"):
            r = await tw.client.request(method, f"{Q}/me", headers=key)
            assert r.status_code == 401, method
        r = await tw.client.post(f"{Q}/me", json=PROFILE_EXAMPLE, headers=key)
        assert r.status_code == 401

    async def test_a_taken_user_name_is_409(self, tw: Harness) -> None:
        await tw.client.post(f"{Q}/me", json=PROFILE_EXAMPLE, headers=await jwt(tw))
        r = await tw.client.post(f"{Q}/me", json=PROFILE_EXAMPLE, headers=await jwt(tw))
        assert r.status_code == 409


class TestPublicProfile:
    async def test_public_profile_with_statistics(self, tw: Harness) -> None:
        h = await jwt(tw)
        await tw.client.post(f"{Q}/me", json=PROFILE_EXAMPLE, headers=h)
        sid = await strategy(tw, h)
        await strategy(tw, h, title="Hidden", visibility="private")
        url = f"{Q}/strategies/{sid}/trades"
        tid = (await tw.client.post(url, json=TRADE_EXAMPLE, headers=h)).json()["data"]["trade_id"]
        await tw.client.post(f"{url}/{tid}/close", json=CLOSE_EXAMPLE, headers=h)

        r = await tw.client.get(f"{Q}/profiles/systematic-desk")  # no authentication
        assert r.status_code == 200
        data = r.json()["data"]
        assert r.json()["message"] == "Public profile found"
        assert {k: data[k] for k in PROFILE_EXAMPLE} == PROFILE_EXAMPLE
        assert [s["title"] for s in data["strategies"]] == ["Momentum Breakout"]
        assert data["strategies"][0]["statistics"] == {
            "trade_count": 1, "closed_count": 1, "win_rate": 100, "total_return": 0.6743649,
            "max_drawdown": 0,
        }  # fmt: skip

    @pytest.mark.parametrize("name", ["systematic-desk", "nobody-here"])
    async def test_a_private_or_unknown_profile_is_the_same_404(
        self, tw: Harness, name: str
    ) -> None:
        h = await jwt(tw)
        await tw.client.post(
            f"{Q}/me", json=PROFILE_EXAMPLE | {"public_profile_enabled": False}, headers=h
        )
        r = await tw.client.get(f"{Q}/profiles/{name}")
        assert r.status_code == 404
        assert r.json() == {"message": "profile not found", "data": None}
