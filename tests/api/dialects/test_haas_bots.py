"""HaasOnline dialect, bots: the document's examples as written (ids, exchange and market
swapped for ours), a grid's life from preview to delete on the bot engine, copies that follow
their master, and the refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api.dialects.test_haas import BASE
from tests.api.v1.test_users import make_partner
from tests.conftest import Harness

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"

BOT_FIELDS = {
    "userId", "botId", "status", "masterBotId", "createdAt", "type", "exchangeId", "settings",
    "profit", "roi", "cloned", "followers",
}  # fmt: skip

# the document's spot_grid settings, on our exchange (BITMEXSPOT_ETH_USDT_ → PAPER_ETH_USDT_)
DOC_SETTINGS: dict[str, Any] = {
    "symbol": "PAPER_ETH_USDT_", "lowerLimit": 3000, "upperLimit": 4000, "gridMode": "Arithmetic",
    "gridCount": 2, "investmentAsset": "Quote", "investmentAmount": 100, "tradeToFillGrid": False,
    "startCondition": "Instant", "startType": "Above value", "startValue": 0,
    "stopCondition": "Manual", "stopType": "Above value", "stopValue": 0, "stopExit": False,
}  # fmt: skip

GRID: dict[str, Any] = {
    "symbol": "PAPER_BTC_USDT_", "lowerLimit": 6300, "upperLimit": 6500, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip


class Haas:
    def __init__(self, tw: Harness, auth: str) -> None:
        self.tw, self.headers = tw, {"Authorization": auth}

    async def raw(self, path: str, body: dict[str, Any]) -> Any:
        return await self.tw.client.post(BASE + path, headers=self.headers, json=body)

    async def ok(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.raw(path, body)
        answer = r.json()
        assert r.status_code == 200 and answer["isSuccess"] is True, answer
        assert set(answer) == {"isSuccess", "code", "message", "data"} and answer["code"] == 0
        return answer["data"]

    async def refused(self, path: str, body: dict[str, Any], status: int) -> str:
        r = await self.raw(path, body)
        answer = r.json()
        assert r.status_code == status, answer
        assert answer["isSuccess"] is False and answer["code"] == status and answer["data"] is None
        return str(answer["message"])

    async def user(self) -> str:
        body = {"exchangeId": "PAPER", "publicKey": "sim", "secretKey": "unused"}
        return str(await self.ok("/users/create", body))


async def partner(tw: Harness) -> Haas:
    return Haas(tw, (await make_partner(tw))["auth"])


class TestDocumentExamples:
    async def test_every_bot_example_of_the_document_works(self, tw: Harness) -> None:
        p = await partner(tw)
        uid, other = await p.user(), await p.user()
        await tw.move("ETH/USDT", 3400)

        created = await p.ok("/bots/create", {
            "userId": uid, "type": "spot_grid", "settings": DOC_SETTINGS, "masterBotId": None,
        })  # fmt: skip
        assert set(created) == BOT_FIELDS
        assert (created["userId"], created["type"], created["exchangeId"]) == (
            uid, "spot_grid", "PAPER",
        )  # fmt: skip
        assert created["status"] == "active"  # "Creates and starts a new trading bot"
        assert created["masterBotId"] == "" and isinstance(created["createdAt"], int)
        assert created["createdAt"] == int(tw.clock.now().timestamp())
        assert (created["cloned"], created["followers"]) == (0, 0)
        assert isinstance(created["profit"], float) and created["roi"] == 0
        shown = created["settings"]
        assert {k: shown[k] for k in DOC_SETTINGS} == DOC_SETTINGS  # numbers, not strings
        assert list(shown)[-1] == "symbol"  # where the document shows it
        bot_id = created["botId"]

        everyone = await p.ok("/bots/list", {"limit": 5, "nextPageId": ""})
        assert [b["botId"] for b in everyone["items"]] == [bot_id]
        assert everyone["nextPageId"] is None
        mine = await p.ok("/bots/user", {"userId": uid, "limit": 10, "nextPageId": ""})
        assert mine["items"] == everyone["items"]
        got = await p.ok("/bots/get", {"userId": uid, "botId": bot_id})
        assert set(got) == BOT_FIELDS and got["settings"] == shown

        edited = await p.ok("/bots/edit", {"userId": uid, "botId": bot_id, "settings": {
            "stopCondition": "Price", "stopType": "Above value", "stopValue": 55000, "stopExit": True,
        }})  # fmt: skip
        assert edited is True
        got = await p.ok("/bots/get", {"userId": uid, "botId": bot_id})
        assert (got["settings"]["stopCondition"], got["settings"]["stopValue"]) == ("Price", 55000)
        assert got["settings"]["stopExit"] is True

        r = await p.raw("/bots/clone", {
            "userId": other, "botId": bot_id, "followUpdates": True, "settings": {"orderSize": 75},
        })  # fmt: skip
        answer = r.json()
        assert answer["isSuccess"] is True and "orderSize" in answer["message"]
        copy = answer["data"]
        assert set(copy) == BOT_FIELDS and copy["userId"] == other
        assert (copy["masterBotId"], copy["status"]) == (bot_id, "stopped")

        assert await p.ok("/bots/start", {"botId": copy["botId"]}) is True
        assert await p.ok("/bots/stop", {"botId": copy["botId"]}) is True

        preview = await p.ok("/bots/preview", {
            "userId": uid, "exchangeId": "PAPER", "type": "spot_grid", "settings": DOC_SETTINGS,
        })  # fmt: skip
        assert [(o["direction"], o["orderType"], o["price"]) for o in preview] == [
            ("BUY", "Limit", 3000)
        ]  # the sell grid waits for ETH the user does not hold (tradeToFillGrid false)

        await tw.runtime.bots.settle()
        orders = await p.ok("/bots/orders", {"botId": bot_id})
        assert [(o["direction"], o["price"], o["status"]) for o in orders] == [
            ("BUY", 3000, "OPEN")
        ]
        assert set(orders[0]) == {
            "orderId", "exchangeOrderId", "positionId", "status", "timestamp", "direction",
            "orderType", "price", "triggerPrice", "tradePrice", "amount", "amountFilled",
            "feeCosts", "feeCurrency", "grossProfit", "roi", "market", "leverage", "note",
        }  # fmt: skip
        assert (orders[0]["market"], orders[0]["feeCurrency"]) == ("PAPER_ETH_USDT_", "USDT")

        logs = await p.ok("/bots/logs", {
            "botId": bot_id, "limit": 100, "nextPageId": "", "offset": 0,
        })  # fmt: skip
        assert logs["items"] and logs["nextPageId"] is None
        assert set(logs["items"][0]) == {"lineNumber", "timestamp", "severity", "color", "message"}
        assert [x["lineNumber"] for x in logs["items"]] == sorted(
            x["lineNumber"] for x in logs["items"]
        )

        assert await p.ok("/bots/positions", {"botId": bot_id}) == []  # spot holds balances
        closed = await p.ok("/bots/positions/closed", {
            "botId": bot_id, "limit": 50, "nextPageId": "",
        })  # fmt: skip
        assert closed == {"items": [], "nextPageId": None}
        await p.refused("/bots/positions/orders", {"botId": bot_id, "positionId": "pos_x"}, 404)

        assert await p.ok("/bots/delete", {"botId": bot_id}) is True
        await p.refused("/bots/get", {"userId": uid, "botId": bot_id}, 404)
        assert await p.ok("/bots/orders", {"botId": copy["botId"]}) == []

    async def test_the_bot_paths_are_in_the_openapi_document(self, tw: Harness) -> None:
        paths = (await tw.client.get("/openapi.json")).json()["paths"]
        for op in (
            "list", "user", "get", "create", "edit", "clone", "start", "stop", "preview",
            "delete", "orders", "logs", "positions", "positions/closed", "positions/orders",
        ):  # fmt: skip
            assert f"{BASE}/bots/{op}" in paths and "post" in paths[f"{BASE}/bots/{op}"], op


class TestLifecycle:
    async def test_preview_create_trade_log_stop_and_delete(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(SPOT, 6425)
        preview = await p.ok("/bots/preview", {
            "userId": uid, "exchangeId": "PAPER", "type": "spot_grid", "settings": GRID,
        })  # fmt: skip
        bot = await p.ok("/bots/create", {"userId": uid, "type": "spot_grid", "settings": GRID})
        bot_id = bot["botId"]
        await tw.runtime.bots.settle()

        placed = await p.ok("/bots/orders", {"botId": bot_id})
        limits = [o for o in preview if o["orderType"] == "Limit"]
        assert sorted((o["direction"], o["price"], o["amount"]) for o in placed) == sorted(
            (o["direction"], o["price"], o["amount"]) for o in limits
        )
        assert len(placed) == 4

        user = await p.ok("/users/get", {"userId": uid})
        assert (user["botsStarted"], user["botsActive"]) == (1, 1)
        message = await p.refused("/users/delete", {"userId": uid}, 409)
        assert "active bot" in message

        # down through the 6,350 buy, back up through its re-armed sell at 6,400
        await tw.move(SPOT, 6340, 6410)
        logs = await p.ok("/bots/logs", {"botId": bot_id, "limit": -1})
        messages = [x["message"] for x in logs["items"]]
        assert any("round trip" in m for m in messages), messages
        assert {x["severity"] for x in logs["items"]} <= {
            "info", "trade", "warning", "error", "custom",
        }  # fmt: skip
        assert any(x["severity"] == "trade" for x in logs["items"])
        first = await p.ok("/bots/logs", {"botId": bot_id, "limit": 2})
        rest = await p.ok(
            "/bots/logs", {"botId": bot_id, "limit": -1, "nextPageId": first["nextPageId"]}
        )
        assert first["items"] + rest["items"] == logs["items"]
        skipped = await p.ok("/bots/logs", {"botId": bot_id, "limit": 1, "offset": 2})
        assert skipped["items"] == logs["items"][2:3]

        got = await p.ok("/bots/get", {"userId": uid, "botId": bot_id})
        assert got["profit"] > 0 and got["roi"] > 0

        assert await p.ok("/bots/stop", {"botId": bot_id}) is True
        got = await p.ok("/bots/get", {"userId": uid, "botId": bot_id})
        assert got["status"] == "stopped"
        assert await p.ok("/bots/orders", {"botId": bot_id}) == []
        await p.refused("/bots/stop", {"botId": bot_id}, 409)  # already stopped

        assert await p.ok("/bots/start", {"botId": bot_id}) is True
        await tw.runtime.bots.settle()
        assert len(await p.ok("/bots/orders", {"botId": bot_id})) > 0
        assert await p.ok("/bots/delete", {"botId": bot_id}) is True  # stops it first
        assert await p.ok("/bots/list", {"limit": -1}) == {"items": [], "nextPageId": None}
        assert await p.ok("/users/delete", {"userId": uid}) is True

    async def test_a_futures_grid_shows_its_positions_and_their_orders(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(PERP, 6360)  # one buy grid just below (6,350), the next at 6,300
        settings = {
            "symbol": "PAPER_BTC_USDT_PERPETUAL", "lowerLimit": 6300, "upperLimit": 6500,
            "gridCount": 4, "investmentAmount": 1000, "leverage": 2,
        }  # fmt: skip
        bot = await p.ok(
            "/bots/create", {"userId": uid, "type": "futures_grid", "settings": settings}
        )
        bot_id = bot["botId"]
        assert bot["settings"]["leverage"] == 2 and bot["settings"]["symbol"] == settings["symbol"]

        await tw.move(PERP, 6340)  # the 6,350 buy fills: a long opens
        opened = await p.ok("/bots/positions", {"botId": bot_id})
        assert [(x["status"], x["direction"], x["exitPrice"], x["closeTime"]) for x in opened] == [
            ("OPEN", "LONG", None, 0)
        ]
        assert opened[0]["market"] == "PAPER_BTC_USDT_PERPETUAL" and opened[0]["amount"] > 0
        assert opened[0]["unrealizedProfit"] < 0  # 6,340 is below its entry

        await tw.move(PERP, 6410)  # its re-armed sell at 6,400 closes it
        assert await p.ok("/bots/positions", {"botId": bot_id}) == []
        closed = await p.ok(
            "/bots/positions/closed", {"botId": bot_id, "limit": 50, "nextPageId": ""}
        )
        [position] = closed["items"]
        assert (position["status"], position["direction"]) == ("CLOSED", "LONG")
        assert position["realizedProfit"] > 0 and position["exitPrice"] > position["enterPrice"]
        assert position["closeTime"] >= position["openTime"] > 0 and position["orderCount"] == 2
        made = await p.ok("/bots/positions/orders", {
            "botId": bot_id, "positionId": position["positionId"],
        })  # fmt: skip
        assert made["positionId"] == position["positionId"]
        assert [o["direction"] for o in made["enterOrders"]] == ["BUY"]
        assert [o["direction"] for o in made["exitOrders"]] == ["SELL"]
        assert made["exitOrders"][0]["profit"] > 0 and made["enterOrders"][0]["profit"] == 0
        await p.ok("/bots/stop", {"botId": bot_id})


class TestCopies:
    async def test_a_follower_takes_its_masters_edits_and_cannot_be_edited(
        self, tw: Harness
    ) -> None:
        p = await partner(tw)
        a, b = await p.user(), await p.user()
        await tw.move(SPOT, 6425)
        master = await p.ok("/bots/create", {"userId": a, "type": "spot_grid", "settings": GRID})
        follower = await p.ok("/bots/clone", {
            "userId": b, "botId": master["botId"], "followUpdates": True,
            "settings": {"investmentAmount": 800},
        })  # fmt: skip
        assert (follower["userId"], follower["masterBotId"]) == (b, master["botId"])
        assert follower["settings"]["investmentAmount"] == 800
        own = await p.ok("/bots/clone", {
            "userId": a, "botId": master["botId"], "followUpdates": False, "settings": None,
        })  # fmt: skip
        assert own["userId"] == a and own["settings"] == master["settings"]
        got = await p.ok("/bots/get", {"userId": a, "botId": master["botId"]})
        assert (got["cloned"], got["followers"]) == (2, 1)

        await p.ok("/bots/edit", {
            "userId": a, "botId": master["botId"], "settings": {"stopValue": 7000, "stopCondition": "Price"},
        })  # fmt: skip
        copied = await p.ok("/bots/get", {"userId": b, "botId": follower["botId"]})
        assert (copied["settings"]["stopCondition"], copied["settings"]["stopValue"]) == (
            "Price", 7000,
        )  # fmt: skip
        independent = await p.ok("/bots/get", {"userId": a, "botId": own["botId"]})
        assert independent["settings"]["stopCondition"] == "Manual"

        message = await p.refused("/bots/edit", {
            "userId": b, "botId": follower["botId"], "settings": {"stopValue": 8000},
        }, 409)  # fmt: skip
        assert "master" in message

        # create with masterBotId: a copy that follows, started at once
        linked = await p.ok("/bots/create", {
            "userId": b, "type": "spot_grid", "settings": {}, "masterBotId": master["botId"],
        })  # fmt: skip
        assert (linked["masterBotId"], linked["status"]) == (master["botId"], "active")
        got = await p.ok("/bots/get", {"userId": a, "botId": master["botId"]})
        assert (got["cloned"], got["followers"]) == (3, 2)
        await p.ok("/bots/delete", {"botId": linked["botId"]})
        await p.ok("/bots/delete", {"botId": master["botId"]})


class TestRefusals:
    async def test_another_partners_users_and_bots_are_not_found(self, tw: Harness) -> None:
        mine, theirs = await partner(tw), await partner(tw)
        uid = await mine.user()
        await tw.move(SPOT, 6425)
        bot = await mine.ok("/bots/create", {"userId": uid, "type": "spot_grid", "settings": GRID})
        ref = {"botId": bot["botId"]}
        for path, body in (
            ("/bots/get", {"userId": uid, **ref}), ("/bots/start", ref), ("/bots/stop", ref),
            ("/bots/delete", ref), ("/bots/orders", ref), ("/bots/logs", ref),
            ("/bots/positions", ref), ("/bots/edit", {**ref, "settings": {"stopValue": 1}}),
            ("/bots/user", {"userId": uid}),
            ("/bots/create", {"userId": uid, "type": "spot_grid", "settings": GRID}),
            ("/bots/clone", {"userId": uid, **ref, "followUpdates": False, "settings": {}}),
        ):  # fmt: skip
            assert "not found" in await theirs.refused(path, body, 404), path
        assert await theirs.ok("/bots/list", {"limit": -1}) == {"items": [], "nextPageId": None}
        # the bot is untouched, and its owner must be named right
        assert (await mine.ok("/bots/get", {"userId": uid, **ref}))["status"] == "active"
        other = await mine.user()
        await mine.refused("/bots/get", {"userId": other, **ref}, 404)
        await mine.ok("/bots/stop", ref)

    async def test_invalid_settings_name_the_field(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(SPOT, 6425)
        create = {"userId": uid, "type": "spot_grid"}
        message = await p.refused(
            "/bots/create", {**create, "settings": {**GRID, "upperLimit": 6000}}, 400
        )
        assert message.startswith("upperLimit") and "lowerLimit" in message
        message = await p.refused(
            "/bots/create", {**create, "settings": {**GRID, "gridCount": 1}}, 400
        )
        assert "gridCount" in message
        message = await p.refused(
            "/bots/create", {**create, "settings": {**GRID, "symbol": "BITMEX_ETH_USDT_"}}, 400
        )
        assert message.startswith("settings.symbol") and "BITMEX_ETH_USDT_" in message
        message = await p.refused(
            "/bots/create", {"userId": uid, "type": "grid", "settings": GRID}, 400
        )
        assert message.startswith("type")
        message = await p.refused("/bots/preview", {
            "userId": uid, "exchangeId": "PAPER", "type": "spot_dollar_cost_averaging", "settings": {},
        }, 400)  # fmt: skip
        assert "type" in message
        message = await p.refused("/bots/list", {"limit": 0}, 400)
        assert message.startswith("limit")
        message = await p.refused("/bots/list", {"limit": 5, "nextPageId": "nonsense"}, 400)
        assert message.startswith("nextPageId")
        assert await p.ok("/bots/list", {"limit": -1}) == {"items": [], "nextPageId": None}

    async def test_pages_of_all_the_partners_bots(self, tw: Harness) -> None:
        p = await partner(tw)
        a, b = await p.user(), await p.user()
        await tw.move(SPOT, 6425)
        small = {**GRID, "investmentAmount": 100, "gridCount": 2}
        ids = {
            (await p.ok("/bots/create", {"userId": u, "type": "spot_grid", "settings": small}))[
                "botId"
            ]
            for u in (a, b)
        }
        first = await p.ok("/bots/list", {"limit": 1, "nextPageId": ""})
        assert len(first["items"]) == 1 and first["nextPageId"]
        second = await p.ok("/bots/list", {"limit": 1, "nextPageId": first["nextPageId"]})
        assert second["nextPageId"] is None
        assert {x["botId"] for x in first["items"] + second["items"]} == ids
        only_b = await p.ok("/bots/user", {"userId": b, "limit": -1})
        assert [x["userId"] for x in only_b["items"]] == [b]
