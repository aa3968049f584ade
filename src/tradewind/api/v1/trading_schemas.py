"""Schemas of the native trading API. Decimals go out as strings (exact) and come in as
numbers or strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from tradewind.api.v1.schemas import Model
from tradewind.domain.numbers import decimal_text, optional_text
from tradewind.domain.orders import OrderRole, OrderStatus, OrderType, PositionMode, Side

Dec = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str, when_used="json")]
OptDec = Annotated[
    Decimal | None,
    PlainSerializer(optional_text, return_type=str | None, when_used="json"),
]
Asset = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,12}$")]


class AccountCreate(Model):
    venue: Literal["paper"] = "paper"
    name: str = Field(min_length=1, max_length=100)
    balances: dict[Asset, Annotated[Decimal, Field(ge=0, le=Decimal("1e15"))]] = Field(
        description='Starting balances, e.g. {"USDT": 10000}.', min_length=1
    )
    mode: PositionMode = Field(
        default=PositionMode.NETTING,
        description="netting: one position per symbol; hedging: one per trade.",
    )
    leverage: Annotated[Decimal, Field(ge=1, le=1000)] = Decimal(10)
    currency: Asset | None = Field(
        default=None,
        description="Currency of the account summary; the first balance's asset by default.",
    )


class AccountRead(BaseModel):
    account_id: str
    venue: str
    name: str
    mode: PositionMode
    leverage: Dec
    currency: str
    is_default: bool
    created_at: datetime


class BalanceRead(BaseModel):
    asset: str
    free: Dec
    locked: Dec
    total: Dec


class AccountBalances(BaseModel):
    account_id: str
    currency: str
    balances: list[BalanceRead]
    balance: Dec = Field(description="Balance of the account currency.")
    equity: Dec = Field(
        description="Balance plus unrealised profit of positions settled in the account currency."
    )
    margin: Dec
    free_margin: Dec
    margin_level: OptDec = Field(description="Equity / margin * 100; null with no margin in use.")
    unrealized_pnl: Dec


class TrailingIn(Model):
    callback: Annotated[
        Decimal,
        Field(gt=0, lt=1, description="Distance behind the best price, as a fraction (0.01 = 1%)."),
    ]
    activation_price: Decimal | None = None


class OrderCreate(Model):
    symbol: str
    side: Side
    type: OrderType = OrderType.MARKET
    amount: Annotated[
        Decimal, Field(gt=0, description="Base units for spot, contracts (lots) for derivatives.")
    ]
    price: Annotated[Decimal | None, Field(gt=0)] = None
    stop_price: Annotated[Decimal | None, Field(gt=0)] = None
    client_order_id: Annotated[
        str | None, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    ] = None
    reduce_only: bool = False
    stop_loss: Annotated[Decimal | None, Field(gt=0)] = None
    take_profit: Annotated[Decimal | None, Field(gt=0)] = None
    trailing: TrailingIn | None = Field(
        default=None, description="Makes a stop order trail the price."
    )


class OrderAmend(Model):
    price: Annotated[Decimal | None, Field(gt=0)] = None
    stop_price: Annotated[Decimal | None, Field(gt=0)] = None
    amount: Annotated[Decimal | None, Field(gt=0)] = None


class FillRead(BaseModel):
    fill_id: str
    order_id: str
    symbol: str
    side: Side
    amount: Dec
    price: Dec
    fee: Dec
    fee_asset: str
    liquidity: Literal["maker", "taker"]
    position_id: str | None
    realized_pnl: Dec
    ts: datetime


class OrderRead(BaseModel):
    order_id: str
    ticket: int | None
    account_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    amount: Dec
    filled: Dec
    price: OptDec
    stop_price: OptDec
    average_price: OptDec
    fee: Dec
    reduce_only: bool
    position_id: str | None
    role: OrderRole
    reason: str | None
    created_at: datetime
    updated_at: datetime
    fills: list[FillRead] = Field(default_factory=list, description="Fills this request produced.")


class PositionRead(BaseModel):
    position_id: str
    ticket: int | None
    account_id: str
    symbol: str
    side: Side
    status: Literal["open", "closed"]
    amount: Dec
    entry_price: Dec
    mark_price: OptDec
    unrealized_pnl: OptDec
    realized_pnl: Dec
    margin: Dec
    leverage: Dec
    liquidation_price: OptDec
    stop_loss: OptDec
    take_profit: OptDec
    fees: Dec
    close_price: OptDec
    opened_at: datetime
    closed_at: datetime | None


class PositionClose(Model):
    amount: Annotated[
        Decimal | None, Field(gt=0, description="Part to close; all when omitted.")
    ] = None


class PositionProtect(Model):
    stop_loss: Annotated[Decimal | None, Field(gt=0)] = None
    take_profit: Annotated[Decimal | None, Field(gt=0)] = None
