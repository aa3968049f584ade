"""Bots as records through the native API: create, list, get, edit, delete, preview."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user

GRID = {
    "symbol": "BTC/USDT", "lowerLimit": 6500, "upperLimit": 7500, "gridMode": "Arithmetic", "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000,
}  # fmt: skip


async def trader(tw: Harness, scope: str = "trade") -> dict[str, str]:
    user = await new_user(tw.client)
    return key_auth(await new_key(tw.client, user["auth"], scope))


class TestCreate:
    async def test_a_new_bot_is_stopped_with_validated_settings(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("BTC/USDT", 7000)
        r = await tw.client.post(
            "/api/v1/bots",
            headers=h,
            json={"type": "grid_standard", "name": "g1", "settings": GRID},
        )
        assert r.status_code == 201, r.text
        bot = r.json()
        assert (
            bot["bot_id"].startswith("bot_")
            and bot["type"] == "spot_grid"
            and bot["status"] == "stopped"
        )
        assert bot["settings"]["gridCount"] == 4 and bot["settings"]["gridMode"] == "Arithmetic"
        listed = (await tw.client.get("/api/v1/bots?type=spot_grid", headers=h)).json()["data"]
        assert [b["bot_id"] for b in listed] == [bot["bot_id"]]

    @pytest.mark.parametrize(("bad", "field"), [
        ({**GRID, "lowerLimit": 8000}, "upperLimit"),  # "must be above lowerLimit"
        ({**GRID, "gridCount": 1}, "gridCount"),
        ({**GRID, "gridCount": "many"}, "gridCount"),
        ({**GRID, "investmentAmount": 0.001}, "investmentAmount"),
    ])  # fmt: skip
    async def test_invalid_settings_name_the_field_and_create_nothing(
        self, tw: Harness, bad: dict[str, object], field: str
    ) -> None:
        h = await trader(tw)
        await tw.move("BTC/USDT", 7000)
        r = await tw.client.post(
            "/api/v1/bots",
            headers=h,
            json={"type": "spot_grid", "name": "bad", "settings": bad},
        )
        assert r.status_code == 422, r.text
        assert any(field in d["field"] for d in r.json()["error"]["details"])
        assert (await tw.client.get("/api/v1/bots", headers=h)).json()["data"] == []

    async def test_unknown_script_symbol_and_read_key(self, tw: Harness) -> None:
        h = await trader(tw)
        r = await tw.client.post(
            "/api/v1/bots", headers=h, json={"type": "martingale", "name": "x", "settings": GRID}
        )
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "type"
        r = await tw.client.post(
            "/api/v1/bots",
            headers=h,
            json={"type": "spot_grid", "name": "x", "settings": {**GRID, "symbol": "NOPE"}},
        )
        assert r.status_code == 404
        reader = await trader(tw, "read")
        r = await tw.client.post(
            "/api/v1/bots",
            headers=reader,
            json={"type": "spot_grid", "name": "x", "settings": GRID},
        )
        assert r.status_code == 403


class TestEditDelete:
    async def test_edit_get_delete_and_another_users_bot_is_404(self, tw: Harness) -> None:
        h = await trader(tw)
        other = await trader(tw)
        await tw.move("BTC/USDT", 7000)
        bot = (
            await tw.client.post(
                "/api/v1/bots", headers=h, json={"type": "spot_grid", "name": "g", "settings": GRID}
            )
        ).json()
        url = f"/api/v1/bots/{bot['bot_id']}"
        r = await tw.client.patch(
            url, headers=h, json={"name": "renamed", "settings": {"gridCount": 5}}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["name"], r.json()["settings"]["gridCount"]) == ("renamed", 5)
        r = await tw.client.patch(url, headers=h, json={"settings": {"upperLimit": 100}})
        assert r.status_code == 422
        assert (
            Decimal((await tw.client.get(url, headers=h)).json()["settings"]["upperLimit"]) == 7500
        )
        for method in ("get", "delete"):
            assert (await tw.client.request(method.upper(), url, headers=other)).status_code == 404
        assert (await tw.client.patch(url, headers=other, json={"name": "mine"})).status_code == 404
        assert (await tw.client.delete(url, headers=h)).status_code == 204
        assert (await tw.client.get(url, headers=h)).status_code == 404
        assert (await tw.client.get("/api/v1/bots", headers=h)).json()["data"] == []


class TestPreview:
    async def test_grid_preview_places_buys_below_and_sells_above_creating_nothing(
        self, tw: Harness
    ) -> None:
        h = await trader(tw)
        await tw.move("BTC/USDT", 7000)
        r = await tw.client.post("/api/v1/bots/preview", headers=h, json={
            "type": "spot_grid", "settings": {**GRID, "tradeToFillGrid": True}})  # fmt: skip
        assert r.status_code == 200, r.text
        orders = r.json()["orders"]
        limits = [o for o in orders if o["type"] == "limit"]
        levels = [Decimal(6500) + Decimal(250) * i for i in range(5)]  # 4 grids over 6500..7500
        buys = sorted(Decimal(o["price"]) for o in limits if o["side"] == "buy")
        sells = sorted(Decimal(o["price"]) for o in limits if o["side"] == "sell")
        assert buys == [p for p in levels[:-1] if p < 7000]
        assert sells == [p for p in levels[1:] if p > 7000]
        assert all(
            Decimal(o["rearm_price"]) > Decimal(o["price"]) for o in limits if o["side"] == "buy"
        )
        assert (await tw.client.get("/api/v1/bots", headers=h)).json()["data"] == []
        r = await tw.client.post(
            "/api/v1/bots/preview",
            headers=h,
            json={"type": "rsi_bot", "settings": {"symbol": "BTC/USDT"}},
        )
        assert r.status_code == 422
