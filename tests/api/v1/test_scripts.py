"""The scripts registry through the native and HaasOnline APIs."""

from __future__ import annotations

from tests.api.v1.test_users import make_partner
from tests.conftest import Harness
from tests.helpers import new_user


async def test_native_lists_every_script_with_its_schema(tw: Harness) -> None:
    h = {"Authorization": (await new_user(tw.client))["auth"]}
    scripts = (await tw.client.get("/api/v1/scripts", headers=h)).json()
    ids = {s["type"] for s in scripts}
    assert ids == {
        "spot_grid",
        "futures_grid",
        "spot_dollar_cost_averaging",
        "futures_dollar_cost_averaging",
        "rsi_bot",
        "sma_cross",
        "webhook",
        "smart_trade",
    }
    grid = (
        await tw.client.get("/api/v1/scripts/grid_standard", headers=h)
    ).json()  # the TrynQuant alias
    assert grid["type"] == "spot_grid" and grid["previewable"] is True
    props = grid["settings_schema"]["properties"]
    for key in (
        "symbol",
        "lowerLimit",
        "upperLimit",
        "gridMode",
        "gridCount",
        "investmentAsset",
        "investmentAmount",
        "tradeToFillGrid",
    ):
        assert key in props
    assert (await tw.client.get("/api/v1/scripts/nope", headers=h)).status_code == 404


async def test_haas_scripts_list_and_one_scripts_settings(tw: Harness) -> None:
    h = {"Authorization": (await make_partner(tw))["auth"]}
    body = (await tw.client.get("/compat/haas/scripts", headers=h)).json()
    assert body["isSuccess"] is True
    assert [s["type"] for s in body["data"]] == [
        "spot_grid", "futures_grid", "spot_dollar_cost_averaging", "futures_dollar_cost_averaging", "webhook",
    ]  # fmt: skip
    one = (
        await tw.client.post("/compat/haas/scripts/script", headers=h, json={"type": "spot_grid"})
    ).json()["data"]
    assert one["name"] == "Spot Grid Bot"
    for setting in one["settings"]:
        assert {"key", "group", "name", "description", "type", "canBeEdited"} <= set(setting)
    keys = {s["key"] for s in one["settings"]}
    assert {"symbol", "lowerLimit", "upperLimit", "gridMode", "gridCount", "stopExit"} <= keys
    r = await tw.client.post("/compat/haas/scripts/script", headers=h, json={"type": "rsi_bot"})
    assert r.status_code == 404 and r.json()["isSuccess"] is False
