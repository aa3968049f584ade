"""Partner signal channels natively: a partner's channels and subscribers, users'
subscriptions, and each user's smart trades (what a channel signal became on their account)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import Response, status
from pydantic import BaseModel, Field

from tradewind.api.deps import PartnerScope, ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import Model
from tradewind.api.v1.trading_schemas import Dec
from tradewind.services import bots, channels
from tradewind.store.tables import BotRow, ChannelRow, ChannelSubscriptionRow, ChannelTradeRow

router = public_router(prefix="/channels", tags=["channels"])
trades_router = public_router(prefix="/smart-trades", tags=["smart trades"])


class ChannelCreate(Model):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)


class ChannelRead(BaseModel):
    channel_id: str
    partner_id: str
    name: str
    description: str
    subscribers: int
    created_at: datetime

    @classmethod
    def of(cls, row: ChannelRow, count: int) -> ChannelRead:
        return cls(
            channel_id=row.id, partner_id=row.partner_id, name=row.name,
            description=row.description, subscribers=count, created_at=row.created_at,
        )  # fmt: skip


class SubscriptionCreate(Model):
    account_id: str | None = Field(default=None, description="Default: your paper account.")
    amount_type: Literal["quote", "percent"] = "quote"
    amount: Decimal = Field(gt=0, description="Quote amount, or percent of the free balance.")
    max_leverage: Decimal = Field(default=Decimal(1), ge=1)
    follow_trailing: bool = True
    follow_dca: bool = Field(default=True, description="Also take rebuy and DCA calls.")


class SubscriptionRead(BaseModel):
    subscription_id: str
    channel_id: str
    user_id: str
    account_id: str
    amount_type: str
    amount: Dec
    max_leverage: Dec
    follow_trailing: bool
    follow_dca: bool
    created_at: datetime

    @classmethod
    def of(cls, row: ChannelSubscriptionRow) -> SubscriptionRead:
        return cls(
            subscription_id=row.id, channel_id=row.channel_id, user_id=row.user_id,
            account_id=row.account_id, amount_type=row.amount_type, amount=row.amount,
            max_leverage=row.max_leverage, follow_trailing=row.follow_trailing,
            follow_dca=row.follow_dca, created_at=row.created_at,
        )  # fmt: skip


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_channel(
    body: ChannelCreate, principal: PartnerScope, session: SessionDep, runtime: RuntimeDep
) -> ChannelRead:
    row = await channels.create_channel(
        session, runtime.clock, principal.user_id, body.name, body.description
    )
    return ChannelRead.of(row, 0)


@router.get("")
async def list_channels(principal: ReadScope, session: SessionDep) -> list[ChannelRead]:
    """A partner's own channels; for anyone else, every channel (to subscribe to)."""
    rows = await channels.list_channels(
        session, principal.user_id if principal.is_partner else None
    )
    counts = await channels.subscriber_counts(session, [r.id for r in rows])
    return [ChannelRead.of(r, counts.get(r.id, 0)) for r in rows]


@router.get("/{channel_id}/subscribers")
async def list_subscribers(
    channel_id: str, principal: PartnerScope, session: SessionDep
) -> list[SubscriptionRead]:
    await channels.owned_channel(session, principal.user_id, channel_id)
    return [SubscriptionRead.of(r) for r in await channels.subscribers(session, channel_id)]


@router.post("/{channel_id}/subscriptions", status_code=status.HTTP_201_CREATED)
async def subscribe(
    channel_id: str, body: SubscriptionCreate, principal: TradeScope, session: SessionDep,
    runtime: RuntimeDep,
) -> SubscriptionRead:  # fmt: skip
    new = channels.NewSubscription(**body.model_dump())
    row = await channels.subscribe(
        session, runtime.venues, runtime.clock, principal.user_id, channel_id, new
    )
    return SubscriptionRead.of(row)


@router.get("/{channel_id}/subscriptions")
async def my_subscriptions(
    channel_id: str, principal: ReadScope, session: SessionDep
) -> list[SubscriptionRead]:
    rows = await channels.my_subscriptions(session, principal.user_id, channel_id)
    return [SubscriptionRead.of(r) for r in rows]


@router.delete(
    "/{channel_id}/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def unsubscribe(
    channel_id: str, subscription_id: str, principal: TradeScope, session: SessionDep
) -> Response:
    await channels.unsubscribe(session, principal.user_id, channel_id, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- smart trades ------------------------------------------------------------------------


class SmartTradeRead(BaseModel):
    smart_trade_id: str = Field(description="The bot running it.")
    signal_id: str | None
    channel_id: str | None
    account_id: str
    symbol: str
    status: str
    status_reason: str | None
    phase: str | None = Field(description="open, closing or closed (from the strategy).")
    closed_by: str | None
    plan: dict[str, Any]
    entered: Dec
    held: Dec
    average_entry: Dec
    realized_pnl: Dec
    note: str | None = Field(description="The latest refused call, if any.")
    created_at: datetime

    @classmethod
    def of(cls, row: BotRow, link: ChannelTradeRow | None) -> SmartTradeRead:
        book = (row.state or {}).get("book", {})
        state = (row.state or {}).get("strategy", {})
        extra = row.extra or {}
        return cls(
            smart_trade_id=row.id, signal_id=extra.get("signal_id"),
            channel_id=extra.get("channel_id"), account_id=row.account_id, symbol=row.symbol,
            status=row.status, status_reason=row.status_reason, phase=state.get("phase"),
            closed_by=state.get("closed_by"), plan=row.settings,
            entered=Decimal(str(state.get("entered", 0))),
            held=abs(Decimal(str(book.get("amount", 0)))),
            average_entry=Decimal(str(book.get("entry", 0))),
            realized_pnl=Decimal(str(book.get("realized", 0))) - Decimal(str(book.get("fees", 0))),
            note=link.message if link else None, created_at=row.created_at,
        )  # fmt: skip


class FailedSignalRead(BaseModel):
    signal_id: str
    message: str | None
    created_at: datetime


class SmartTradeList(BaseModel):
    data: list[SmartTradeRead]
    failed: list[FailedSignalRead] = Field(
        description="Channel signals that could not become a trade on your account, and why."
    )


class SmartTradeDetail(SmartTradeRead):
    orders: list[dict[str, Any]]
    log: list[str]


@trades_router.get("")
async def list_smart_trades(principal: ReadScope, session: SessionDep) -> SmartTradeList:
    rows = await channels.smart_trades(session, principal.user_id)
    failed = await channels.failed_trades(session, principal.user_id)
    return SmartTradeList(
        data=[SmartTradeRead.of(b, t) for b, t in rows],
        failed=[FailedSignalRead(signal_id=f.signal_id, message=f.message,
                                 created_at=f.created_at) for f in failed],
    )  # fmt: skip


@trades_router.get("/{smart_trade_id}")
async def get_smart_trade(
    smart_trade_id: str, principal: ReadScope, session: SessionDep
) -> SmartTradeDetail:
    row, link = await channels.smart_trade(session, principal.user_id, smart_trade_id)
    orders = await bots.orders(session, principal.user_id, row.id, limit=200, cursor=None)
    logs = await bots.logs(session, principal.user_id, row.id, limit=200, cursor=None)
    base = SmartTradeRead.of(row, link)
    return SmartTradeDetail(
        **base.model_dump(),
        orders=[
            {"order_id": o.id, "client_order_id": o.client_order_id, "side": o.side,
             "type": o.type, "role": o.role, "status": o.status, "price": _t(o.price),
             "amount": _t(o.amount), "filled": _t(o.filled), "average_price": _t(o.average_price)}
            for o in orders.items
        ],
        log=[line.message for line in reversed(logs.items)],
    )  # fmt: skip


def _t(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
