"""Tradyn's request bodies. Unknown fields are ignored, as MetaTrader bridges send extras
(comment, magic, deviation) that clients expect to be accepted."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Volume = Annotated[
    Decimal, Field(gt=0, description="Lots (contracts of the instrument's contract size).")
]
Price = Annotated[Decimal | None, Field(gt=0)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TradeRequest(Body):
    symbol: str
    action: Literal["buy", "sell"]
    volume: Volume
    sl: Price = None
    tp: Price = None
    comment: str | None = None


class PendingOrderRequest(Body):
    symbol: str
    type: Literal[0, 1, 2, 3, 4, 5] = Field(
        description="0 Buy, 1 Sell (at market), 2 Buy Limit, 3 Sell Limit, 4 Buy Stop, 5 Sell Stop."
    )
    volume: Volume
    price: Price = None
    sl: Price = None
    tp: Price = None
    comment: str | None = None


class OrderModify(Body):
    price: Price = None
    sl: Price = None
    tp: Price = None


class PositionModify(Body):
    sl: Price = None
    tp: Price = None


class PositionCloseRequest(Body):
    volume: Volume | None = None


class CloseAllRequest(Body):
    symbol: str | None = None
