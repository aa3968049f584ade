"""TrynQuant's bot shapes. The document lists the create fields and names ``BotConfig`` and
``Trade`` without spelling them out: a ``BotConfig`` gives back every create field under its
own name and type (as sent), plus ``id``, ``status`` and times; a ``Trade`` is one fill of
the bot's orders, in the words the document uses elsewhere (``side`` buy/sell, ``quantity``,
``order_id``). Amounts are JSON numbers, as the document types them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Number = int | float
"""A JSON number, kept as sent (``100`` stays ``100``, ``0.5`` stays ``0.5``)."""


class BotCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=100, description="Human-readable bot name")
    bot_type: str = Field(
        min_length=1, description="Bot strategy ID from the registry (e.g. rsi_bot, grid_standard)"
    )
    symbol: str = Field(min_length=1, description="Trading pair (e.g. BTC/USDT; BTCUSDT too)")
    exchange: str | None = Field(default=None, description="Exchange ID (e.g. bybit)")
    investment_usdt: Number | None = Field(
        default=None, gt=0, description="Capital allocated in USDT"
    )
    leverage: Number = Field(default=1, ge=1, description="Leverage multiplier (default 1)")
    stop_loss: Number | None = Field(default=None, gt=0, lt=100, description="Stop-loss percentage")
    is_paper_trading: bool = Field(default=False, description="Paper mode (default false)")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Strategy-specific parameters: the script's settings, camelCase or snake_case",
    )


class BotAction(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["start", "stop", "pause"]


class BotConfig(BaseModel):
    id: str
    name: str
    bot_type: str
    symbol: str
    exchange: str
    investment_usdt: Number | None
    leverage: Number
    stop_loss: Number | None
    is_paper_trading: bool
    parameters: dict[str, Any]
    status: Literal["stopped", "active", "paused", "error"]
    status_reason: str | None = Field(description="Why the bot stopped or failed, if it did.")
    total_pnl: float = Field(description="Realised plus unrealised profit, in USDT.")
    created_at: datetime
    updated_at: datetime


class Trade(BaseModel):
    id: str
    bot_id: str
    order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    price: float
    quantity: float
    fee: float
    fee_asset: str
    executed_at: datetime


class BotEnvelope(BaseModel):
    bot: BotConfig


class BotList(BaseModel):
    bots: list[BotConfig]


class BotDetail(BaseModel):
    bot: BotConfig
    trades: list[Trade]


class Message(BaseModel):
    message: str
