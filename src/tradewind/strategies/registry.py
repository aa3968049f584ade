"""The registry of bot scripts: one entry per script, and the TrynQuant alias table.

Each ``Script`` names its settings model and strategy class; the native JSON Schema, the
HaasOnline ``settings`` list and the editable-while-running keys are all derived from the
model (``schema``), so a setting is declared once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from tradewind.domain.errors import NotFound
from tradewind.domain.instruments import Instrument
from tradewind.strategies.base import Strategy
from tradewind.strategies.dca import FuturesDca, FuturesDcaSettings, SpotDca, SpotDcaSettings
from tradewind.strategies.grid import FuturesGrid, SpotGrid
from tradewind.strategies.grid_settings import FuturesGridSettings, SpotGridSettings
from tradewind.strategies.rsi import RsiBot, RsiSettings
from tradewind.strategies.schema import (
    SettingsModel,
    apply_edit,
    editable_fields,
    haas_settings,
    parse_settings,
)
from tradewind.strategies.sma_cross import SmaCrossBot, SmaCrossSettings
from tradewind.strategies.smart_trade import SmartTrade, SmartTradeSettings
from tradewind.strategies.webhook import WebhookBot, WebhookSettings


@dataclass(frozen=True, slots=True)
class Script:
    """A bot script: what it is called and what settings it takes."""

    id: str
    name: str
    description: str
    settings_model: type[SettingsModel]
    strategy_class: type[Strategy[Any, Any]]
    previewable: bool = False
    """Whether ``preview`` (the orders a start would place) is offered: grid bots."""

    @property
    def editable(self) -> frozenset[str]:
        """Keys of the settings that may change while the bot runs (``canBeEdited``)."""
        return editable_fields(self.settings_model)

    def json_schema(self) -> dict[str, Any]:
        """The settings' JSON Schema (camelCase keys, ``x-group`` and ``x-editable``)."""
        return self.settings_model.model_json_schema(by_alias=True)

    def haas_settings(self) -> list[dict[str, Any]]:
        return haas_settings(self.settings_model)

    def haas(self) -> dict[str, Any]:
        """The script as HaasOnline's scripts endpoints show it."""
        return {
            "type": self.id,
            "name": self.name,
            "description": self.description,
            "settings": self.haas_settings(),
        }

    def parse(self, data: Mapping[str, Any], instrument: Instrument | None = None) -> Any:
        """Validated settings (``InvalidSettings`` naming each bad field); with an
        ``instrument``, also its rules (minimum order, market kind, leverage)."""
        settings = parse_settings(self.settings_model, data)
        if instrument is not None:
            settings.validate_for(instrument)
        return settings

    def edit(
        self,
        current: SettingsModel,
        changes: Mapping[str, Any],
        *,
        running: bool,
        instrument: Instrument | None = None,
    ) -> Any:
        """``current`` with ``changes`` applied; while running only editable keys may change."""
        settings = apply_edit(current, changes, running=running)
        if instrument is not None:
            settings.validate_for(instrument)
        return settings

    def build(self, settings: SettingsModel) -> Strategy[Any, Any]:
        """A fresh strategy for ``settings`` (restore its state to resume one)."""
        if not isinstance(settings, self.settings_model):
            raise TypeError(f"{self.id} takes {self.settings_model.__name__}")
        return self.strategy_class(settings)


_SCRIPTS = (
    Script(
        "spot_grid", "Spot Grid Bot",
        "Buy low and sell high 24/7 automatically with just one click.",
        SpotGridSettings, SpotGrid, previewable=True,
    ),
    Script(
        "futures_grid", "Futures Grid Bot",
        "Amplify your purchasing power with an advanced version of Grid Trading.",
        FuturesGridSettings, FuturesGrid, previewable=True,
    ),
    Script(
        "spot_dollar_cost_averaging", "Spot Dollar Cost Average Bot",
        "Auto-place spot buy/sell orders for better average price or unwind.",
        SpotDcaSettings, SpotDca,
    ),
    Script(
        "futures_dollar_cost_averaging", "Futures Dollar Cost Average Bot",
        "Auto-place futures buy/sell orders for better average price or unwind.",
        FuturesDcaSettings, FuturesDca,
    ),
    Script(
        "rsi_bot", "RSI Bot",
        "Buy when the RSI crosses up out of oversold, sell when it crosses down out of "
        "overbought.",
        RsiSettings, RsiBot,
    ),
    Script(
        "sma_cross", "SMA Crossover Bot",
        "Buy when a fast moving average crosses up through a slow one, sell when it crosses "
        "back down.",
        SmaCrossSettings, SmaCrossBot,
    ),
    Script(
        "webhook", "Webhook Bot",
        "Executed trades based on signals provided by external parties.",
        WebhookSettings, WebhookBot,
    ),
    Script(
        "smart_trade", "Smart Trade",
        "One managed trade: entries, a take-profit ladder, stop loss and trailing stop "
        "(what a partner channel's signal becomes on each subscriber's account).",
        SmartTradeSettings, SmartTrade,
    ),
)  # fmt: skip

SCRIPTS: Mapping[str, Script] = MappingProxyType({s.id: s for s in _SCRIPTS})
"""Every script, by id, in the order the scripts endpoints list them."""

HAAS_SCRIPT_IDS = (
    "spot_grid",
    "futures_grid",
    "spot_dollar_cost_averaging",
    "futures_dollar_cost_averaging",
    "webhook",
)
"""HaasOnline's ``WhiteLabelScriptType`` enum: the scripts its dialect offers."""

TRYNQUANT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "grid_standard": "spot_grid",
        "grid_spot": "spot_grid",
        "grid_futures": "futures_grid",
        "futures_grid": "futures_grid",
        "dca_bot": "spot_dollar_cost_averaging",
        "dca_standard": "spot_dollar_cost_averaging",
        "dca_spot": "spot_dollar_cost_averaging",
        "dca_futures": "futures_dollar_cost_averaging",
        "rsi_bot": "rsi_bot",
        "sma_bot": "sma_cross",
        "webhook_bot": "webhook",
        "signal_bot": "webhook",
    }
)
"""TrynQuant ``bot_type`` -> script id. The document names ``rsi_bot`` and ``grid_standard``;
the rest follow its pattern (``<kind>_standard`` / ``<kind>_bot``) and the market kind."""


def get_script(script_id: str) -> Script:
    """The script with this id or TrynQuant alias; ``NotFound`` otherwise."""
    found = SCRIPTS.get(script_id) or SCRIPTS.get(TRYNQUANT_ALIASES.get(script_id, ""))
    if found is None:
        known = ", ".join([*SCRIPTS, *(a for a in TRYNQUANT_ALIASES if a not in SCRIPTS)])
        raise NotFound(f"unknown bot script {script_id!r}; known: {known}")
    return found
