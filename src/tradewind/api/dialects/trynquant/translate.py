"""A TrynQuant bot request in our terms, and our bots in TrynQuant's.

The request's top-level fields fill the script's own settings where the script has one
meaning the same thing; ``parameters`` (the script's keys, camelCase or snake_case) win over
them. Errors name the field the client sent, not our setting (``investment_usdt``, not
``investmentAmount``; ``parameters.lower_limit`` as the client spelled it)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from pydantic.alias_generators import to_camel

from tradewind.api.dialects.trynquant.schemas import BotConfig, BotCreate, Trade
from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.domain.instruments import Instrument
from tradewind.store.tables import BotRow, FillRow
from tradewind.strategies.registry import Script, get_script
from tradewind.strategies.schema import InvalidSettings

EXTRA_KEY = "trynquant"
"""Where a bot row's ``extra`` keeps the create request's TrynQuant-only fields, as sent."""

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field_name, "message": message}])


def script_of(bot_type: str) -> Script:
    """The script for a TrynQuant ``bot_type``; an unknown one is a bad parameter (400)."""
    try:
        return get_script(bot_type)
    except NotFound as e:
        raise _invalid("bot_type", e.message) from None


def is_derivative(script: Script) -> bool:
    """Scripts with a leverage setting trade derivatives (the futures grid and DCA)."""
    return "leverage" in script.settings_model.model_fields


def market_symbol(instruments: Mapping[str, Instrument], symbol: str, derivative: bool) -> str:
    """Our symbol for the document's pair: ``BTC/USDT``, ``BTCUSDT`` (as its signals write it),
    ``BTC-USDT`` or our own ``BTC/USDT:USDT``. A futures bot on ``BTC/USDT`` trades the
    perpetual; a pair with no market of the bot's kind is left for the settings to refuse."""
    wanted = symbol.strip().upper().replace("-", "/").replace("_", "/")
    if wanted in instruments:
        exact = instruments[wanted]
        if exact.is_derivative == derivative or ":" in wanted:
            return exact.symbol
    matches = [
        i
        for i in instruments.values()
        if wanted in (i.symbol, f"{i.base}/{i.quote}", f"{i.base}{i.quote}")
    ]
    if not matches:
        known = ", ".join(sorted(instruments))
        raise _invalid("symbol", f"unknown pair {symbol!r}; pairs: {known}")
    same_kind = [i for i in matches if i.is_derivative == derivative]
    return (same_kind or matches)[0].symbol


def dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass
class Settings:
    """The script's settings built from a request, and which request field each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def fill(self, key: str, value: Any, source: str, keys: frozenset[str]) -> bool:
        """Set ``key`` from a top-level field unless ``parameters`` already did."""
        if key not in keys or key in self.values:
            return False
        self.values[key], self.sources[key] = value, source
        return True

    def named(self, err: InvalidSettings) -> InvalidSettings:
        """``err`` with each field named as the client sent it."""
        problems = []
        for detail in err.details or []:
            key, _, rest = str(detail["field"]).partition(".")
            where = self.sources.get(key, f"parameters.{key}")
            problems.append((where + (f".{rest}" if rest else ""), str(detail["message"])))
        return InvalidSettings(problems)


def settings_for(script: Script, body: BotCreate, symbol: str) -> Settings:
    """The script's settings for a create request (module docstring)."""
    model = script.settings_model
    keys = frozenset(info.alias or name for name, info in model.model_fields.items())
    out = Settings()
    for key, value in body.parameters.items():
        wire = to_camel(key)
        if wire in out.values:
            raise _invalid(f"parameters.{key}", f"given twice, as {out.sources[wire]} too")
        out.values[wire], out.sources[wire] = value, f"parameters.{key}"
    out.values["symbol"], out.sources["symbol"] = symbol, "symbol"

    investment = dec(body.investment_usdt)
    if investment is not None:
        if "investmentAmount" in keys:
            # USDT is the quote; a grid invested in the base asset takes its amount in parameters
            if out.values.get("investmentAsset", "Quote") == "Quote":
                out.fill("investmentAmount", investment, "investment_usdt", keys)
                out.fill("investmentAsset", "Quote", "investment_usdt", keys)
        elif "baseOrderSize" in keys and not {"baseOrderSize", "safetyOrderSize"} & set(out.values):
            size = _dca_order_size(investment, out.values, model.model_fields)
            if size is not None:
                out.fill("baseOrderSize", size, "investment_usdt", keys)
                out.fill("safetyOrderSize", size, "investment_usdt", keys)
        else:
            out.fill("orderSize", investment, "investment_usdt", keys)

    leverage = Decimal(str(body.leverage))
    if "leverage" in keys:
        out.fill("leverage", leverage, "leverage", keys)
    elif leverage != 1:
        raise _invalid("leverage", f"{body.bot_type} trades spot: leverage must be 1")

    stop_loss = dec(body.stop_loss)
    if stop_loss is not None:
        _stop_loss(out, keys, stop_loss, body.bot_type)

    # TrynQuant's signals find their bot by key and symbol or bot_id, not by a token.
    out.fill("signalToken", secrets.token_urlsafe(16), "parameters.signalToken", keys)
    return out


def _dca_order_size(investment: Decimal, values: dict[str, Any], fields: Any) -> Decimal | None:
    """Base and safety orders of one size, the whole ladder worth ``investment``."""
    count = dec(values.get("safetyOrderCount", fields["safety_order_count"].default))
    scale = dec(values.get("volumeScale", fields["volume_scale"].default))
    if count is None or scale is None or count < 0 or scale <= 0 or count > 100:
        return None  # the settings' own check names the bad parameter
    units = 1 + sum((scale**k for k in range(int(count))), Decimal(0))
    return (investment / units).quantize(CENT, rounding=ROUND_DOWN)


def _stop_loss(out: Settings, keys: frozenset[str], pct: Decimal, bot_type: str) -> None:
    """The script's own stop-loss: a % from entry (DCA, RSI), a loss limit of that % of the
    margin (futures grid), or a price stop that % below the range, selling what the grid
    bought (spot grid)."""
    if "stopLoss" in keys:
        out.fill("stopLoss", pct, "stop_loss", keys)
    elif "maxLoss" in keys:
        margin = dec(out.values.get("investmentAmount"))
        if margin is not None:
            out.fill("maxLoss", margin * pct / HUNDRED, "stop_loss", keys)
    elif "stopCondition" in keys:
        lower = dec(out.values.get("lowerLimit"))
        if lower is not None and out.fill("stopCondition", "Price", "stop_loss", keys):
            out.fill("stopType", "Below value", "stop_loss", keys)
            out.fill("stopValue", lower * (HUNDRED - pct) / HUNDRED, "stop_loss", keys)
            out.fill("stopExit", True, "stop_loss", keys)
    else:
        raise _invalid("stop_loss", f"{bot_type} bots have no stop-loss; leave it out")


def extra_for(body: BotCreate, exchange: str) -> dict[str, Any]:
    """What the bot row keeps so that the bot reads back exactly as it was sent."""
    return {
        EXTRA_KEY: {
            "bot_type": body.bot_type, "symbol": body.symbol, "exchange": exchange,
            "investment_usdt": body.investment_usdt, "leverage": body.leverage,
            "stop_loss": body.stop_loss, "is_paper_trading": body.is_paper_trading,
            "parameters": body.parameters,
        }
    }  # fmt: skip


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def bot_config(row: BotRow, total_pnl: Decimal, venue: str) -> BotConfig:
    """A bot as TrynQuant shows it; one made elsewhere (the native API) shows its own values."""
    sent: dict[str, Any] = (row.extra or {}).get(EXTRA_KEY) or {}
    parameters = {k: v for k, v in row.settings.items() if k != "symbol"}
    return BotConfig(
        id=row.id, name=row.name, bot_type=sent.get("bot_type", row.script),
        symbol=sent.get("symbol", row.symbol), exchange=sent.get("exchange", venue),
        investment_usdt=sent.get("investment_usdt", _number(row.investment)),
        leverage=sent.get("leverage", _number(row.leverage) or 1),
        stop_loss=sent.get("stop_loss", _number(row.stop_loss_pct)),
        is_paper_trading=sent.get("is_paper_trading", venue == "paper"),
        parameters=sent.get("parameters", parameters), status=row.status,
        status_reason=row.status_reason, total_pnl=float(total_pnl), created_at=row.created_at,
        updated_at=row.updated_at,
    )  # fmt: skip


def trade(fill: FillRow, bot_id: str, symbol: str) -> Trade:
    return Trade(
        id=fill.id, bot_id=bot_id, order_id=fill.order_id, symbol=symbol, side=fill.side,
        price=float(fill.price), quantity=float(fill.amount), fee=float(fill.fee),
        fee_asset=fill.fee_asset, executed_at=fill.ts,
    )  # fmt: skip
