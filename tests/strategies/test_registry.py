"""The registry: one settings model per script, from which the JSON Schema and HaasOnline's
settings list both come; the TrynQuant aliases; validation errors that name the field."""

from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tradewind.domain.errors import NotFound
from tradewind.strategies.grid_settings import SpotGridSettings
from tradewind.strategies.registry import HAAS_SCRIPT_IDS, SCRIPTS, TRYNQUANT_ALIASES, get_script
from tradewind.strategies.schema import InvalidSettings
from tradewind.venues.paper.catalog import paper_instruments

INSTRUMENTS = paper_instruments()
ENTRY_KEYS = {"key", "group", "name", "description", "type", "value", "canBeEdited", "options"}

# HaasOnline's GET scripts/script answer for spot_grid, as its document shows it
HAAS_SPOT_GRID: list[tuple[str, str, str, str, Any, bool, list[str]]] = [
    ("symbol", "", "Symbol", "string", "", False, []),
    ("lowerLimit", "Price range", "Lower limit", "number", 0, False, []),
    ("upperLimit", "Price range", "Upper limit", "number", 0, False, []),
    ("gridMode", "Grid mode & quantity", "Grid mode", "option", "Arithmetic", False, ["Arithmetic", "Geometric"]),
    ("gridCount", "Grid mode & quantity", "Grid count", "number", 0, False, []),
    ("investmentAsset", "Investment amount", "Asset", "option", "Base", False, ["Base", "Quote"]),
    ("investmentAmount", "Investment amount", "Amount", "number", 0, False, []),
    ("tradeToFillGrid", "Advanced Settings", "Trade to fill grids?", "boolean", False, False, []),
    ("startCondition", "Advanced Settings", "Start condition", "option", "Instant", False, ["Instant", "Price", "RSI"]),
    ("startType", "Advanced Settings", "Start type", "option", "Above value", False, ["Above value", "Below value"]),
    ("startValue", "Advanced Settings", "Start value", "number", 0, False, []),
    ("stopCondition", "Advanced Settings", "Stop condition", "option", "Manual", True, ["Manual", "Price", "RSI"]),
    ("stopType", "Advanced Settings", "Stop type", "option", "Above value", True, ["Above value", "Below value"]),
    ("stopValue", "Advanced Settings", "Stop value", "number", 0, True, []),
    ("stopExit", "Advanced Settings", "Stop exits", "boolean", False, True, []),
]  # fmt: skip

HAAS_CREATE = {  # the document's create-bot example
    "symbol": "BITMEXSPOT_ETH_USDT_", "lowerLimit": 3000, "upperLimit": 4000,
    "gridMode": "Arithmetic", "gridCount": 2, "investmentAsset": "Quote",
    "investmentAmount": 100, "tradeToFillGrid": False, "startCondition": "Instant",
    "startType": "Above value", "startValue": 0, "stopCondition": "Manual",
    "stopType": "Above value", "stopValue": 0, "stopExit": False,
}  # fmt: skip


def test_the_spot_grid_settings_list_is_haasonlines() -> None:
    entries = get_script("spot_grid").haas_settings()
    shown = [(e["key"], e["group"], e["name"], e["type"], e["value"], e["canBeEdited"], e["options"])
             for e in entries]  # fmt: skip
    assert shown[: len(HAAS_SPOT_GRID)] == HAAS_SPOT_GRID
    assert [e["key"] for e in entries[len(HAAS_SPOT_GRID) :]] == ["interval"]  # ours
    by_key = {e["key"]: e for e in entries}
    assert by_key["symbol"]["description"] == "The symbol of the market the bot will run on"
    assert (
        by_key["gridCount"]["description"] == "The amount of grids the price range is split into."
    )
    assert by_key["stopExit"]["description"].startswith("If true, bot will sell all bought assets")


def test_the_other_scripts_match_the_entries_the_document_shows() -> None:
    futures = {e["key"]: e for e in get_script("futures_grid").haas_settings()}
    assert futures["maxWin"] == {
        "key": "maxWin", "group": "Safety settings", "name": "Max. allowed win",
        "description": "Disabled if zero. Set the maximum win allowed (total profits). If "
        "reached, the bot will trigger a take-profit and deactivate.",
        "type": "number", "value": 0, "canBeEdited": True, "options": [],
    }  # fmt: skip
    for script_id in ("spot_dollar_cost_averaging", "futures_dollar_cost_averaging"):
        dca = {e["key"]: e for e in get_script(script_id).haas_settings()}
        assert dca["direction"] == {
            "key": "direction", "group": "Price Settings", "name": "Direction",
            "description": "Trading direction", "type": "option", "value": "Buy",
            "canBeEdited": False, "options": ["Buy", "Sell"],
        }  # fmt: skip
        assert dca["priceDeviation"] == {
            "key": "priceDeviation", "group": "Price Settings", "name": "Price Deviation %",
            "description": "Gap between each order", "type": "number", "value": 2,
            "canBeEdited": False, "options": [],
        }  # fmt: skip
    assert get_script("webhook").haas_settings()[1] == {
        "key": "signalToken", "group": "", "name": "Token", "description": "",
        "type": "string", "value": "", "canBeEdited": True, "options": [],
    }  # fmt: skip
    assert [get_script(s).haas()["name"] for s in HAAS_SCRIPT_IDS] == [
        "Spot Grid Bot", "Futures Grid Bot", "Spot Dollar Cost Average Bot",
        "Futures Dollar Cost Average Bot", "Webhook Bot",
    ]  # fmt: skip


@pytest.mark.parametrize("script_id", SCRIPTS)
def test_every_field_is_in_both_schemas_once(script_id: str) -> None:
    script = SCRIPTS[script_id]
    entries = script.haas_settings()
    schema = script.json_schema()
    keys = [e["key"] for e in entries]
    assert keys == list(schema["properties"]) and len(set(keys)) == len(keys)
    assert keys[0] == "symbol"
    for entry in entries:
        assert set(entry) == ENTRY_KEYS
        assert entry["type"] in {"string", "number", "boolean", "option"}
        assert bool(entry["options"]) == (entry["type"] == "option")
        if entry["options"]:
            assert entry["value"] in entry["options"]
        prop = schema["properties"][entry["key"]]
        assert prop["title"] == entry["name"] and prop["x-group"] == entry["group"]
        assert prop["x-editable"] == entry["canBeEdited"]
    assert script.editable == {e["key"] for e in entries if e["canBeEdited"]}
    assert schema["additionalProperties"] is False


def test_what_may_change_while_running() -> None:
    assert get_script("spot_grid").editable == {
        "stopCondition",
        "stopType",
        "stopValue",
        "stopExit",
    }
    assert get_script("futures_grid").editable == {
        "stopCondition", "stopType", "stopValue", "stopExit", "maxWin", "maxLoss",
    }  # fmt: skip
    assert get_script("webhook").editable == {"signalToken"}


@pytest.mark.parametrize(("alias", "script_id"), sorted(TRYNQUANT_ALIASES.items()))
def test_trynquant_ids_resolve(alias: str, script_id: str) -> None:
    assert get_script(alias).id == script_id


def test_the_document_aliases_and_an_unknown_id() -> None:
    assert get_script("grid_standard").id == "spot_grid"
    assert get_script("dca_bot").id == get_script("dca_standard").id == "spot_dollar_cost_averaging"
    assert get_script("webhook_bot").id == "webhook"
    with pytest.raises(NotFound, match="unknown bot script 'martingale'"):
        get_script("martingale")


def test_haasonlines_example_parses_and_is_stored_with_its_keys() -> None:
    settings = get_script("spot_grid").parse(HAAS_CREATE)
    assert isinstance(settings, SpotGridSettings)
    assert settings.lower_limit == D(3000) and settings.grid_count == 2
    wire = settings.to_wire()
    assert list(wire)[: len(HAAS_CREATE)] == list(HAAS_CREATE)
    assert get_script("spot_grid").parse(wire) == settings


GRID = {"symbol": "BTC/USDT", "lowerLimit": 6000, "upperLimit": 7000, "gridCount": 10,
        "investmentAsset": "Quote", "investmentAmount": 1000}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"gridCount": "many"}, "gridCount", "valid integer"),
        ({"gridCount": 1}, "gridCount", "greater than or equal to 2"),
        ({"lowerLimit": 8000}, "upperLimit", "must be above lowerLimit (8000)"),
        ({"gridMode": "Fibonacci"}, "gridMode", "'Arithmetic' or 'Geometric'"),
        ({"gridLevels": 10}, "gridLevels", "Extra inputs are not permitted"),
        ({"symbol": ""}, "symbol", "at least 1 character"),
        ({"stopCondition": "Price", "stopValue": 0}, "stopValue", "needs a price above 0"),
        ({"startCondition": "RSI", "startValue": 150}, "startValue", "between 0 and 100"),
    ],
)
def test_settings_errors_name_the_field(changes: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(InvalidSettings) as caught:
        get_script("spot_grid").parse(GRID | changes)
    assert caught.value.field == field
    assert text in caught.value.message
    assert caught.value.details[0] == {
        "field": field,
        "message": caught.value.details[0]["message"],
    }


@pytest.mark.parametrize(
    ("script_id", "data", "symbol", "field", "text"),
    [
        ("spot_grid", GRID | {"investmentAmount": 40}, "BTC/USDT", "investmentAmount",
         "below the minimum order value of 5 USDT"),
        ("spot_grid", GRID | {"investmentAsset": "Base", "investmentAmount": "0.00005"},
         "BTC/USDT", "investmentAmount", "below the minimum order of 0.00001 BTC"),
        ("spot_grid", GRID | {"gridCount": 1000, "lowerLimit": 6999, "investmentAmount": 10**6},
         "BTC/USDT", "gridCount", "too dense"),
        ("spot_grid", GRID | {"symbol": "BTC/USDT:USDT"}, "BTC/USDT:USDT", "symbol",
         "trades a spot market"),
        ("spot_grid", GRID, "ETH/USDT", "symbol", "the instrument is ETH/USDT"),
        ("futures_grid", {k: v for k, v in GRID.items() if k != "investmentAsset"}
         | {"symbol": "BTC/USDT:USDT", "leverage": 200}, "BTC/USDT:USDT", "leverage",
         "at most 100"),
        ("rsi_bot", {"symbol": "BTC/USDT", "orderSize": 2}, "BTC/USDT", "orderSize",
         "below the minimum"),
    ],
)  # fmt: skip
def test_rules_that_need_the_instrument(
    script_id: str, data: dict[str, Any], symbol: str, field: str, text: str
) -> None:
    with pytest.raises(InvalidSettings) as caught:
        get_script(script_id).parse(data, INSTRUMENTS[symbol])
    assert caught.value.field == field
    assert text in caught.value.message


def test_edits_while_running_are_limited_to_the_editable_fields() -> None:
    script = get_script("spot_grid")
    current = script.parse(GRID)
    with pytest.raises(InvalidSettings) as caught:
        script.edit(current, {"lowerLimit": 5000, "stopValue": 5500}, running=True)
    assert caught.value.field == "lowerLimit"
    assert "cannot be changed while the bot is running" in caught.value.message
    edited = script.edit(current, {"stopCondition": "Price", "stop_value": 5500}, running=True)
    assert (edited.stop_condition, edited.stop_value) == ("Price", D(5500))
    assert script.edit(current, {"lowerLimit": 5000}, running=False).lower_limit == D(5000)
    with pytest.raises(InvalidSettings) as caught:
        script.edit(current, {"upperLimit": 100}, running=False)
    assert caught.value.field == "upperLimit"


def test_build_makes_the_scripts_strategy() -> None:
    script = get_script("grid_standard")
    bot = script.build(script.parse(GRID))
    assert bot.script_id == "spot_grid" and bot.state.phase == "idle"
    with pytest.raises(TypeError):
        script.build(get_script("webhook").parse({"symbol": "BTC/USDT", "signalToken": "t"}))


def test_the_trader_docs_list_every_setting() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "bots.md"
    first_cells = [line.split("|")[1] for line in page.read_text().splitlines()
                   if line.startswith("| `")]  # fmt: skip
    documented = {name for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)}
    for script in SCRIPTS.values():
        missing = {e["key"] for e in script.haas_settings()} - documented
        assert not missing, f"docs/bots.md does not list {script.id}'s {sorted(missing)}"
    for alias in TRYNQUANT_ALIASES:
        assert f"`{alias}`" in page.read_text()
