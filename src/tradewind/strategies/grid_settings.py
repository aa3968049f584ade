"""Settings of the spot and futures grid bots (HaasOnline's keys, groups and texts), and the
grid itself: its price levels and the amount each level trades."""

from __future__ import annotations

from decimal import Decimal, localcontext
from enum import StrEnum
from itertools import pairwise

from pydantic import ValidationInfo, field_validator

from tradewind.domain.instruments import Instrument, InstrumentKind
from tradewind.strategies.accounting import PRECISION, floor_to
from tradewind.strategies.schema import Interval, SettingsModel, fail, setting

ZERO = Decimal(0)


class GridMode(StrEnum):
    ARITHMETIC = "Arithmetic"
    GEOMETRIC = "Geometric"


class InvestmentAsset(StrEnum):
    BASE = "Base"
    QUOTE = "Quote"


class StartCondition(StrEnum):
    INSTANT = "Instant"
    PRICE = "Price"
    RSI = "RSI"


class StopCondition(StrEnum):
    MANUAL = "Manual"
    PRICE = "Price"
    RSI = "RSI"


class Trigger(StrEnum):
    ABOVE = "Above value"
    BELOW = "Below value"


class GridDirection(StrEnum):
    LONG = "long"
    SHORT = "short"
    NEUTRAL = "neutral"


CONDITION_RSI_PERIOD = 14
"""HaasOnline: RSI conditions use the main interval and a 14-bar period."""

_MODE = (
    "Grid mode. Arithmetic grid mode will place all grids evenly spaced based on a constant "
    "price difference between grids. Geometric grid mode will place all grids evenly spaced "
    "based on a constant percentage difference between grids."
)
_START = (
    "Instant condition will start the bot immediately. Price condition activates bot once "
    "price is above or below set start value. RSI condition will activate bot once RSI is "
    "above or below set start value. (NOTE: RSI uses the main interval setting and has 14 "
    "period length)"
)
_STOP = (
    "Manual condition never deactivate the bot. Price condition deactivates bot once price is "
    "above or below set stop value. RSI condition will deactivate bot once RSI is above or "
    "below set stop value. (NOTE: RSI uses the main interval setting and has 14 period length)"
)
_STOP_EXIT = (
    "If true, bot will sell all bought assets when using [Below value] stop condition, or buy "
    "back when using [Above value] stop condition."
)
_ASSET = (
    "Select the asset type in which the investment amount is based on. Example: on BTC/USDT "
    "market the Base option would point to BTC, and Quote option would point to USDT."
)


class _GridRange(SettingsModel):
    lower_limit: Decimal = setting(
        title="Lower limit", description="Lower price limit", group="Price range", gt=0
    )
    upper_limit: Decimal = setting(
        title="Upper limit", description="Upper price limit", group="Price range", gt=0
    )
    grid_mode: GridMode = setting(
        GridMode.ARITHMETIC, title="Grid mode", description=_MODE, group="Grid mode & quantity"
    )
    grid_count: int = setting(
        title="Grid count", description="The amount of grids the price range is split into.",
        group="Grid mode & quantity", ge=2, le=1000,
    )  # fmt: skip

    @field_validator("upper_limit")
    @classmethod
    def _above_lower(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        lower = info.data.get("lower_limit")
        if lower is not None and value <= lower:
            raise ValueError(f"must be above lowerLimit ({lower})")
        return value


class _SpotInvestment(SettingsModel):
    investment_asset: InvestmentAsset = setting(
        InvestmentAsset.BASE, title="Asset", description=_ASSET, group="Investment amount"
    )
    investment_amount: Decimal = setting(
        title="Amount",
        description="Total amount to be invested into the grid range. This amount is split "
        "among grids.",
        group="Investment amount", gt=0,
    )  # fmt: skip
    trade_to_fill_grid: bool = setting(
        False, title="Trade to fill grids?", group="Advanced Settings",
        description="If true, bot will automatically buy or sell assets to fill both buy and "
        "sell grids.",
    )  # fmt: skip


class _FuturesInvestment(SettingsModel):
    investment_amount: Decimal = setting(
        title="Amount",
        description="Margin, in the quote asset, invested into the grid range. It is split "
        "among grids; each grid trades margin x leverage worth of contracts.",
        group="Investment amount", gt=0,
    )  # fmt: skip
    leverage: Decimal = setting(
        Decimal(1), title="Leverage", description="Leverage multiplier.",
        group="Investment amount", ge=1,
    )  # fmt: skip
    direction: GridDirection = setting(
        GridDirection.NEUTRAL, title="Direction", group="Grid mode & quantity",
        description="Long holds a long position for the grids above the price; short holds a "
        "short one for the grids below it; neutral starts flat, buying below and selling above.",
    )  # fmt: skip
    max_win: Decimal = setting(
        ZERO, title="Max. allowed win", group="Safety settings", editable=True, ge=0,
        description="Disabled if zero. Set the maximum win allowed (total profits). If reached, "
        "the bot will trigger a take-profit and deactivate.",
    )  # fmt: skip
    max_loss: Decimal = setting(
        ZERO, title="Max. allowed loss", group="Safety settings", editable=True, ge=0,
        description="Disabled if zero. Set the maximum loss allowed (total profits). If "
        "reached, the bot will trigger a stop-loss and deactivate.",
    )  # fmt: skip


class _GridConditions(SettingsModel):
    start_condition: StartCondition = setting(
        StartCondition.INSTANT, title="Start condition", description=_START,
        group="Advanced Settings",
    )  # fmt: skip
    start_type: Trigger = setting(
        Trigger.ABOVE, title="Start type", group="Advanced Settings",
        description="Activation on above or below start value.",
    )  # fmt: skip
    start_value: Decimal = setting(
        ZERO, title="Start value", group="Advanced Settings", ge=0,
        description="The value for Price or RSI start conditions.",
    )  # fmt: skip
    stop_condition: StopCondition = setting(
        StopCondition.MANUAL, title="Stop condition", description=_STOP,
        group="Advanced Settings", editable=True,
    )  # fmt: skip
    stop_type: Trigger = setting(
        Trigger.ABOVE, title="Stop type", group="Advanced Settings", editable=True,
        description="Deactivation on above or below stop value.",
    )  # fmt: skip
    stop_value: Decimal = setting(
        ZERO, title="Stop value", group="Advanced Settings", editable=True, ge=0,
        description="The value for Price or RSI stop conditions.",
    )  # fmt: skip
    stop_exit: bool = setting(
        False, title="Stop exits", description=_STOP_EXIT, group="Advanced Settings",
        editable=True,
    )  # fmt: skip
    interval: Interval = setting(
        "1h", title="Interval", group="Advanced Settings",
        description="The bar length RSI start and stop conditions are computed on.",
    )  # fmt: skip

    @field_validator("start_value")
    @classmethod
    def _start_value(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        return _check_value(value, info.data.get("start_condition"), "startCondition")

    @field_validator("stop_value")
    @classmethod
    def _stop_value(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        return _check_value(value, info.data.get("stop_condition"), "stopCondition")


def _check_value(value: Decimal, condition: object, key: str) -> Decimal:
    if condition == "Price" and value <= 0:
        raise ValueError(f"a Price {key} needs a price above 0")
    if condition == "RSI" and not ZERO < value < 100:
        raise ValueError(f"an RSI {key} needs a value between 0 and 100")
    return value


class SpotGridSettings(_GridConditions, _SpotInvestment, _GridRange):
    """``spot_grid``: every HaasOnline spot-grid setting, plus ``interval``."""

    def validate_for(self, instrument: Instrument) -> None:
        super().validate_for(instrument)
        if instrument.kind is not InstrumentKind.SPOT:
            fail("symbol", f"a spot grid trades a spot market; {self.symbol} is {instrument.kind}")
        _check_grid(self, instrument)


class FuturesGridSettings(_GridConditions, _FuturesInvestment, _GridRange):
    """``futures_grid``: the spot grid on a derivative, with leverage, direction, maxWin and
    maxLoss (no investment asset: the margin is in the quote asset; no trade-to-fill: the
    direction says what is held)."""

    def validate_for(self, instrument: Instrument) -> None:
        super().validate_for(instrument)
        if not instrument.is_derivative:
            fail("symbol", f"a futures grid trades a derivative; {self.symbol} is spot")
        if self.leverage > instrument.max_leverage:
            fail("leverage", f"must be at most {instrument.max_leverage} on {self.symbol}")
        _check_grid(self, instrument)


GridSettings = SpotGridSettings | FuturesGridSettings


def grid_levels(settings: GridSettings, instrument: Instrument) -> list[Decimal]:
    """The ``gridCount + 1`` prices from lower to upper limit, rounded to the tick: evenly
    spaced (Arithmetic) or at a constant ratio (Geometric)."""
    lower, upper, n = settings.lower_limit, settings.upper_limit, settings.grid_count
    with localcontext() as ctx:
        ctx.prec = PRECISION
        if settings.grid_mode is GridMode.ARITHMETIC:
            raw = [lower + (upper - lower) * i / n for i in range(n + 1)]
        else:
            raw = [lower * (upper / lower) ** (Decimal(i) / n) for i in range(n + 1)]
    return [instrument.round_price(price) for price in raw]


def pair_amounts(
    settings: GridSettings, instrument: Instrument, levels: list[Decimal]
) -> list[Decimal]:
    """The amount grid ``i`` (between ``levels[i]`` and ``levels[i + 1]``) trades, rounded
    down to the step: the investment split evenly among the grids, valued at the grid's
    lower price (Quote, and futures: margin x leverage), or as is (Base)."""
    n = settings.grid_count
    with localcontext() as ctx:
        ctx.prec = PRECISION
        share = settings.investment_amount / n
        if isinstance(settings, SpotGridSettings) and (
            settings.investment_asset is InvestmentAsset.BASE
        ):
            return [floor_to(share, instrument.amount_step)] * n
        if isinstance(settings, FuturesGridSettings):
            share *= settings.leverage
        return [
            floor_to(share / (levels[i] * instrument.contract_size), instrument.amount_step)
            for i in range(n)
        ]


def _check_grid(settings: GridSettings, instrument: Instrument) -> None:
    levels = grid_levels(settings, instrument)
    if any(b <= a for a, b in pairwise(levels)):
        fail("grid_count", f"{settings.grid_count} grids are too dense for the tick size")
    for i, amount in enumerate(pair_amounts(settings, instrument, levels)):
        if amount < instrument.min_amount:
            fail(
                "investment_amount",
                f"each grid would trade {amount} {instrument.base}, below the minimum order of "
                f"{instrument.min_amount} {instrument.base}",
            )
        if instrument.notional(amount, levels[i]) < instrument.min_notional:
            fail(
                "investment_amount",
                f"each grid would trade {instrument.notional(amount, levels[i])} "
                f"{instrument.quote}, below the minimum order value of "
                f"{instrument.min_notional} {instrument.quote}",
            )
