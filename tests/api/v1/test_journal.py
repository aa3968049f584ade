"""The journal's native API under /api/v1: strategies, trade records (paginated, filtered),
closing, the refusals, linking a bot, the workspace profile and public profiles."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user

V1 = "/api/v1"
TRADE = {
    "symbol": "EURUSD", "side": "BUY", "entry": "1.0825", "stop_loss": "1.0785",
    "take_profit": "1.0905", "timeframe": "4h", "source": "tradingview",
    "external_reference": "tv-eurusd-001", "signal_time": "2026-05-21T12:00:00Z",
}  # fmt: skip


async def login(tw: Harness) -> dict[str, str]:
    return {"Authorization": (await new_user(tw.client))["auth"]}


async def strategy(client: httpx.AsyncClient, h: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await client.post(f"{V1}/strategies", json={"title": "Breakout"} | body, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def trade(
    client: httpx.AsyncClient, h: dict[str, str], sid: str, **body: Any
) -> dict[str, Any]:
    r = await client.post(f"{V1}/strategies/{sid}/trades", json=TRADE | body, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


class TestStrategies:
    async def test_create_get_update_delete(self, tw: Harness) -> None:
        h = await login(tw)
        created = await strategy(tw.client, h, tags=["fx"], visibility="private")
        sid = created["strategy_id"]
        assert (created["title"], created["tags"], created["visibility"]) == (
            "Breakout",
            ["fx"],
            "private",
        )
        r = await tw.client.patch(
            f"{V1}/strategies/{sid}", json={"visibility": "public", "title": "B2"}, headers=h
        )
        assert r.status_code == 200
        assert (r.json()["visibility"], r.json()["title"]) == ("public", "B2")
        assert r.json()["statistics"]["trade_count"] == 0
        r = await tw.client.delete(f"{V1}/strategies/{sid}", headers=h)
        assert r.status_code == 204
        assert (await tw.client.get(f"{V1}/strategies/{sid}", headers=h)).status_code == 404

    async def test_list_is_paginated_newest_first(self, tw: Harness) -> None:
        h = await login(tw)
        ids = [(await strategy(tw.client, h, title=f"S{i}"))["strategy_id"] for i in range(3)]
        r = await tw.client.get(f"{V1}/strategies", params={"limit": 2}, headers=h)
        first = r.json()
        assert [s["strategy_id"] for s in first["data"]] == ids[:0:-1]
        r = await tw.client.get(
            f"{V1}/strategies", params={"limit": 2, "cursor": first["next_cursor"]}, headers=h
        )
        assert [s["strategy_id"] for s in r.json()["data"]] == ids[:1]
        assert r.json()["next_cursor"] is None

    async def test_another_users_strategy_is_404(self, tw: Harness) -> None:
        sid = (await strategy(tw.client, await login(tw)))["strategy_id"]
        other = await login(tw)
        for method, path in [
            ("GET", f"/strategies/{sid}"), ("GET", f"/strategies/{sid}/trades"),
            ("PATCH", f"/strategies/{sid}"), ("DELETE", f"/strategies/{sid}"),
        ]:  # fmt: skip
            kw: dict[str, Any] = {"json": {"title": "x"}} if method == "PATCH" else {}
            r = await tw.client.request(method, V1 + path, headers=other, **kw)
            assert r.status_code == 404, path
            assert r.json()["error"]["code"] == "not_found"

    async def test_bad_input_names_the_field(self, tw: Harness) -> None:
        r = await tw.client.post(f"{V1}/strategies", json={"title": ""}, headers=await login(tw))
        assert r.status_code == 422
        assert [d["field"] for d in r.json()["error"]["details"]] == ["title"]


class TestTrades:
    async def test_create_with_result_close_and_filters(self, tw: Harness) -> None:
        h = await login(tw)
        sid = (await strategy(tw.client, h))["strategy_id"]
        a = await trade(tw.client, h, sid)
        assert (a["status"], a["origin"], a["result"]) == ("OPEN", "manual", None)
        b = await trade(tw.client, h, sid, symbol="GBPUSD", side="SELL", entry="1.2700",
                        stop_loss="1.2750", external_reference="b",
                        signal_time="2026-05-23T09:00:00Z")  # fmt: skip
        r = await tw.client.post(
            f"{V1}/strategies/{sid}/trades/{b['trade_id']}/close",
            json={"close_price": "1.2600", "closed_at": "2026-05-23T15:00:00Z"}, headers=h,
        )  # fmt: skip
        assert r.status_code == 200
        # short 1.27 -> 1.26: 0.01 points, 0.01 / 1.27 = 0.78740157%, risk 0.005: 2 R
        assert r.json()["result"] == {
            "points": "0.01",
            "return_pct": "0.78740157",
            "r_multiple": "2",
        }

        url = f"{V1}/strategies/{sid}/trades"
        got = (await tw.client.get(url, params={"status": "OPEN"}, headers=h)).json()["data"]
        assert [t["trade_id"] for t in got] == [a["trade_id"]]
        got = (await tw.client.get(url, params={"symbol": "GBPUSD"}, headers=h)).json()["data"]
        assert [t["trade_id"] for t in got] == [b["trade_id"]]
        got = (await tw.client.get(url, params={"from": "2026-05-22T00:00:00Z"}, headers=h)).json()
        assert [t["trade_id"] for t in got["data"]] == [b["trade_id"]]
        page = (await tw.client.get(url, params={"limit": 1}, headers=h)).json()
        assert [t["trade_id"] for t in page["data"]] == [b["trade_id"]] and page["next_cursor"]

    async def test_patch_then_a_closed_record_is_not_reopened(self, tw: Harness) -> None:
        h = await login(tw)
        sid = (await strategy(tw.client, h))["strategy_id"]
        tid = (await trade(tw.client, h, sid))["trade_id"]
        path = f"{V1}/strategies/{sid}/trades/{tid}"
        r = await tw.client.patch(path, json={"status": "CLOSED", "close_price": 1.0898}, headers=h)
        assert r.status_code == 200
        assert r.json()["closed_at"] == "2026-11-22T12:00:00Z"  # now, when not given
        r = await tw.client.patch(path, json={"status": "OPEN"}, headers=h)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "invalid_transition"

    async def test_closing_before_opening_is_422_and_changes_nothing(self, tw: Harness) -> None:
        h = await login(tw)
        sid = (await strategy(tw.client, h))["strategy_id"]
        tid = (await trade(tw.client, h, sid))["trade_id"]
        path = f"{V1}/strategies/{sid}/trades/{tid}"
        r = await tw.client.post(
            f"{path}/close", json={"closed_at": "2026-05-20T00:00:00Z"}, headers=h
        )
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["field"] == "closed_at"
        assert (await tw.client.get(path, headers=h)).json()["status"] == "OPEN"

    async def test_an_exit_event_closes_the_open_record(self, tw: Harness) -> None:
        h = await login(tw)
        sid = (await strategy(tw.client, h))["strategy_id"]
        tid = (await trade(tw.client, h, sid))["trade_id"]
        r = await tw.client.post(
            f"{V1}/strategies/{sid}/trades",
            json={"symbol": "EURUSD", "side": "SELL", "event": "exit", "close_price": 1.0785,
                  "external_reference": "tv-eurusd-001"}, headers=h,
        )  # fmt: skip
        assert r.status_code == 200
        assert (r.json()["trade_id"], r.json()["status"]) == (tid, "CLOSED")
        assert r.json()["result"]["r_multiple"] == "-1"  # stopped out at the stop: -1 R
        # a second exit finds no open record: a new, closed record
        r = await tw.client.post(
            f"{V1}/strategies/{sid}/trades",
            json={"symbol": "EURUSD", "side": "SELL", "event": "exit",
                  "external_reference": "tv-eurusd-001"}, headers=h,
        )  # fmt: skip
        assert r.status_code == 201 and r.json()["status"] == "CLOSED"

    async def test_a_read_key_reads_but_does_not_write(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        h = {"Authorization": user["auth"]}
        sid = (await strategy(tw.client, h))["strategy_id"]
        read = key_auth(await new_key(tw.client, user["auth"], "read"))
        r = await tw.client.get(f"{V1}/strategies/{sid}/trades", headers=read)
        assert r.status_code == 200
        r = await tw.client.post(f"{V1}/strategies/{sid}/trades", json=TRADE, headers=read)
        assert r.status_code == 403


class TestBotLink:
    async def test_link_refusals(self, tw: Harness) -> None:
        h = await login(tw)
        mine = (await strategy(tw.client, h))["strategy_id"]
        theirs = (await strategy(tw.client, await login(tw)))["strategy_id"]
        r = await tw.client.put(
            f"{V1}/bots/bot_nope/journal", json={"strategy_id": mine}, headers=h
        )
        assert r.status_code == 404
        await tw.move("BTC/USDT", 6400)
        settings = {"symbol": "BTC/USDT", "lowerLimit": 6000, "upperLimit": 7000, "gridCount": 4,
                    "investmentAsset": "Quote", "investmentAmount": 500}  # fmt: skip
        r = await tw.client.post(
            f"{V1}/bots", json={"type": "spot_grid", "name": "g", "settings": settings}, headers=h
        )
        assert r.status_code == 201, r.text
        bot_id = r.json()["bot_id"]
        url = f"{V1}/bots/{bot_id}/journal"
        assert (await tw.client.get(url, headers=h)).status_code == 404
        r = await tw.client.put(url, json={"strategy_id": theirs}, headers=h)
        assert r.status_code == 404
        r = await tw.client.put(url, json={}, headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "strategy_id"
        r = await tw.client.put(url, json={"strategy_id": mine}, headers=h)
        assert r.status_code == 200 and r.json()["strategy_id"] == mine
        assert (await tw.client.get(url, headers=h)).json()["strategy_id"] == mine
        assert (await tw.client.delete(url, headers=h)).status_code == 204
        assert (await tw.client.get(url, headers=h)).status_code == 404


class TestProfiles:
    async def test_public_profile_and_deleting_the_workspace(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        h = {"Authorization": user["auth"]}
        r = await tw.client.patch(
            f"{V1}/me", json={"user_name": "desk", "public_profile_enabled": True}, headers=h
        )
        assert r.status_code == 200
        sid = (await strategy(tw.client, h))["strategy_id"]
        await strategy(tw.client, h, title="Private one", visibility="private")
        for entry, close in (("100", "110"), ("100", "95")):
            tid = (await trade(tw.client, h, sid, entry=entry, stop_loss=None))["trade_id"]
            await tw.client.post(
                f"{V1}/strategies/{sid}/trades/{tid}/close", json={"close_price": close}, headers=h
            )
        await trade(tw.client, h, sid)  # still open
        r = await tw.client.get(f"{V1}/profiles/desk")
        assert r.status_code == 200
        body = r.json()
        assert [s["title"] for s in body["strategies"]] == ["Breakout"]
        # +10%, then -5%: total 5, drawdown 5, one win in two
        assert body["strategies"][0]["statistics"] == {
            "trade_count": 3, "closed_count": 2, "win_rate": "50", "total_return_pct": "5",
            "max_drawdown_pct": "5",
        }  # fmt: skip

        await new_key(tw.client, user["auth"], "read")
        r = await tw.client.delete(f"{V1}/me/profile", headers=h)
        assert r.status_code == 200
        assert r.json() == {
            "user_id": user["user_id"],
            "deleted_strategy_count": 2,
            "deleted_api_key_count": 1,
        }
        assert (await tw.client.get(f"{V1}/profiles/desk")).status_code == 404
        me = (await tw.client.get(f"{V1}/me", headers=h)).json()
        assert (me["user_name"], me["public_profile_enabled"]) == (None, False)

    async def test_a_profile_not_shared_is_404(self, tw: Harness) -> None:
        h = await login(tw)
        await tw.client.patch(f"{V1}/me", json={"user_name": "quiet"}, headers=h)
        for name in ("quiet", "unknown-name"):
            r = await tw.client.get(f"{V1}/profiles/{name}")
            assert r.status_code == 404
            assert r.json()["error"]["message"] == "profile not found"
