"""Partner signal channels: channels, subscriptions, and signals fanned out to subscribers.

A channel signal (the plan: ``SmartTradeSettings`` without the budget) becomes, on each
subscriber's account, a ``smart_trade`` bot sized by the subscription (fixed quote amount or
percent of the free balance, leverage capped at the subscriber's maximum), started at once.
Calls edit the plan and every subscriber's running trade (trailing and rebuy/DCA calls only
where the subscription follows them); a cancel stops every trade and closes what it holds.
One subscriber's failure is recorded on its ``ChannelTradeRow`` (or, for what fails while
running, on its bot) and never stops the others. Duplicate deliveries are answered from
``ChannelDeliveryRow``: the same idempotency key for ever, the same body for 60 seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.clock import Clock
from tradewind.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from tradewind.domain.ids import new_id
from tradewind.engine.bots import BotSpec
from tradewind.services import bots, trading
from tradewind.store.db import execute_many_async
from tradewind.store.tables import (
    BotRow,
    ChannelDeliveryRow,
    ChannelRow,
    ChannelSignalRow,
    ChannelSubscriptionRow,
    ChannelTradeRow,
)
from tradewind.strategies.registry import get_script

SCRIPT = "smart_trade"
DEDUP_WINDOW = timedelta(seconds=60)
TRAILING_KEYS = frozenset({"trailingCallback", "trailingActivation", "trailingActivationPct"})


@dataclass(frozen=True, slots=True)
class NewSubscription:
    account_id: str | None = None
    amount_type: str = "quote"
    amount: Decimal = Decimal(100)
    max_leverage: Decimal = Decimal(1)
    follow_trailing: bool = True
    follow_dca: bool = True


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a signal or call across the subscribers."""

    signal_id: str
    subscribers: int
    failed: int

    @property
    def result(self) -> str:
        if self.failed and self.failed == self.subscribers:
            return "failed"
        return "partial" if self.failed else "success"


# ---- channels and subscriptions ----------------------------------------------------------


async def create_channel(
    session: AsyncSession, clock: Clock, partner_id: str, name: str, description: str
) -> ChannelRow:
    row = ChannelRow(
        id=new_id("chn"), partner_id=partner_id, name=name, description=description,
        created_at=clock.now(),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def list_channels(session: AsyncSession, partner_id: str | None) -> list[ChannelRow]:
    """A partner's channels; every channel when ``partner_id`` is None (to subscribe to)."""
    stmt = select(ChannelRow)
    if partner_id is not None:
        stmt = stmt.where(ChannelRow.partner_id == partner_id)
    return list((await session.scalars(stmt.order_by(ChannelRow.id))).all())


async def get_channel(session: AsyncSession, channel_id: str) -> ChannelRow:
    row = await session.get(ChannelRow, channel_id)
    if row is None:
        raise NotFound("channel not found")
    return row


async def owned_channel(session: AsyncSession, partner_id: str, channel_id: str) -> ChannelRow:
    row = await get_channel(session, channel_id)
    if row.partner_id != partner_id:
        raise NotFound("channel not found")
    return row


async def subscriber_counts(session: AsyncSession, channel_ids: list[str]) -> dict[str, int]:
    if not channel_ids:
        return {}
    stmt = (
        select(ChannelSubscriptionRow.channel_id, func.count())
        .where(ChannelSubscriptionRow.channel_id.in_(channel_ids))
        .group_by(ChannelSubscriptionRow.channel_id)
    )
    return {k: int(v) for k, v in (await session.execute(stmt)).all()}


async def subscribers(session: AsyncSession, channel_id: str) -> list[ChannelSubscriptionRow]:
    stmt = select(ChannelSubscriptionRow).where(ChannelSubscriptionRow.channel_id == channel_id)
    return list((await session.scalars(stmt.order_by(ChannelSubscriptionRow.id))).all())


async def subscribe(
    session: AsyncSession, venues: trading.Venues, clock: Clock, user_id: str, channel_id: str,
    new: NewSubscription,
) -> ChannelSubscriptionRow:  # fmt: skip
    """Subscribe on the named account of the user's (else their default paper account)."""
    await get_channel(session, channel_id)
    if new.amount_type == "percent" and new.amount > 100:
        raise ValidationFailed(
            "a percentage of the balance is at most 100",
            details=[{"field": "amount", "message": "at most 100 with amount_type percent"}],
        )
    account_id = await trading.resolve_account(session, venues, user_id, account_id=new.account_id)
    taken = await session.scalar(
        select(ChannelSubscriptionRow.id).where(
            ChannelSubscriptionRow.channel_id == channel_id,
            ChannelSubscriptionRow.user_id == user_id,
        )
    )
    if taken:
        raise Conflict(f"already subscribed to this channel ({taken})")
    row = ChannelSubscriptionRow(
        id=new_id("sub"), channel_id=channel_id, user_id=user_id, account_id=account_id,
        amount_type=new.amount_type, amount=new.amount, max_leverage=new.max_leverage,
        follow_trailing=new.follow_trailing, follow_dca=new.follow_dca, created_at=clock.now(),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def my_subscriptions(
    session: AsyncSession, user_id: str, channel_id: str
) -> list[ChannelSubscriptionRow]:
    stmt = select(ChannelSubscriptionRow).where(
        ChannelSubscriptionRow.user_id == user_id, ChannelSubscriptionRow.channel_id == channel_id
    )
    return list((await session.scalars(stmt)).all())


async def unsubscribe(
    session: AsyncSession, user_id: str, channel_id: str, subscription_id: str
) -> None:
    """Stop taking the channel's signals; trades already running go on."""
    row = await session.get(ChannelSubscriptionRow, subscription_id)
    if row is None or row.user_id != user_id or row.channel_id != channel_id:
        raise NotFound("subscription not found")
    await session.delete(row)
    await session.flush()


async def channel_for(session: AsyncSession, partner_id: str, channel_id: str | None) -> ChannelRow:
    """The channel a signal names, else the partner's only one."""
    if channel_id:
        try:
            return await owned_channel(session, partner_id, channel_id)
        except NotFound:
            raise ValidationFailed(
                "unknown channel", details=[{"field": "channel_id", "message": "not yours"}]
            ) from None
    owned = await list_channels(session, partner_id)
    if len(owned) != 1:
        raise ValidationFailed(
            f"you have {len(owned)} channels: name one",
            details=[{"field": "channel_id", "message": "required unless you have one channel"}],
        )
    return owned[0]


# ---- idempotency -------------------------------------------------------------------------


def dedup_key(method: str, path: str, body: Any, idempotency_key: str | None) -> tuple[str, bool]:
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest(), True
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return "body:" + hashlib.sha256(text.encode()).hexdigest(), False


async def answered(
    session: AsyncSession, clock: Clock, partner_id: str, key: str, keyed: bool
) -> dict[str, Any] | None:
    """The first answer to this delivery, if it was answered (keys: ever; bodies: 60 s)."""
    stmt = select(ChannelDeliveryRow).where(
        ChannelDeliveryRow.partner_id == partner_id, ChannelDeliveryRow.dedup_key == key
    )
    if not keyed:
        stmt = stmt.where(ChannelDeliveryRow.created_at >= clock.now() - DEDUP_WINDOW)
    row = (await session.scalars(stmt.order_by(ChannelDeliveryRow.id.desc()).limit(1))).first()
    return row.response if row else None


async def remember(
    session: AsyncSession, clock: Clock, partner_id: str, key: str, keyed: bool,
    response: dict[str, Any],
) -> None:  # fmt: skip
    session.add(
        ChannelDeliveryRow(
            id=new_id("dlv"), partner_id=partner_id, dedup_key=key, keyed=keyed,
            response=response, created_at=clock.now(),
        )
    )  # fmt: skip
    await session.commit()


# ---- signals -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deps:
    venues: trading.Venues
    clock: Clock


async def open_signal(
    session: AsyncSession, deps: Deps, partner_id: str, channel_id: str | None,
    plan: dict[str, Any], body: dict[str, Any],
) -> Outcome:  # fmt: skip
    """Record the signal and start a smart trade for every subscriber: all their bots (the
    plan checked once per sizing) and trades are written in one transaction, then started
    together, in one engine cycle whose orders are one venue batch."""
    channel = await channel_for(session, partner_id, channel_id)
    script = get_script(SCRIPT)
    script.parse({**plan, "amount": 1})  # the plan alone must be valid: INVALID_INPUT_CONTENT
    now = deps.clock.now()
    signal = ChannelSignalRow(
        id=new_id("sig"), channel_id=channel.id, partner_id=partner_id, symbol=plan["symbol"],
        status="active", body=body, plan=plan, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(signal)
    await session.commit()
    subs = await _subscribers(session, channel.id, plan)
    checks = await bots.price_checks(
        deps.venues, [(sub.account_id, plan["symbol"]) for sub in subs]
    )
    unpriced = {sub.id: e for sub, e in zip(subs, checks, strict=True) if e is not None}
    priced = [sub for sub in subs if sub.id not in unpriced]
    created = await _create_bots(session, deps, priced, (signal.id, channel.id), plan)
    outcome = unpriced | dict(zip((sub.id for sub in priced), created, strict=True))
    made = [outcome[sub.id] for sub in subs]
    trades = [_trade(signal.id, sub, bot, now) for sub, bot in zip(subs, made, strict=True)]
    await execute_many_async(session, _INSERT_TRADES, trades)
    await session.commit()
    started = [
        (t["id"], bot) for t, bot in zip(trades, made, strict=True) if isinstance(bot, BotSpec)
    ]
    errors = await bots.start_created(deps.venues, [bot for _, bot in started])
    refused = [(t, e) for (t, _), e in zip(started, errors, strict=True) if e is not None]
    for trade_id, error in refused:  # the engine refused to take it: it stays stopped
        await session.execute(
            update(ChannelTradeRow)
            .where(ChannelTradeRow.id == trade_id)
            .values(status="failed", message=error.message, updated_at=deps.clock.now())
        )
    await session.commit()
    return Outcome(signal.id, len(subs), len(subs) - len(started) + len(refused))


_TRADES = cast(Table, ChannelTradeRow.__table__)
_INSERT_TRADES = insert(_TRADES)


@dataclass(frozen=True, slots=True)
class _Sub:
    id: str
    user_id: str
    account_id: str
    sizing: tuple[str, str, str]
    """The subscription's amount, amount type and leverage, as the bot's settings take them."""


async def _subscribers(session: AsyncSession, channel_id: str, plan: dict[str, Any]) -> list[_Sub]:
    """The channel's subscriptions as plain values, each with its sizing of the plan."""
    sub = ChannelSubscriptionRow
    stmt = select(
        sub.id, sub.user_id, sub.account_id, sub.amount, sub.amount_type, sub.max_leverage
    ).where(sub.channel_id == channel_id)
    wanted = Decimal(str(plan.get("leverage", 1)))
    found = []
    for row in (await session.execute(stmt.order_by(sub.id))).all():
        leverage = max(min(wanted, row.max_leverage), Decimal(1))
        sizing = (format(row.amount, "f"), row.amount_type, str(leverage))
        found.append(_Sub(row.id, row.user_id, row.account_id, sizing))
    return found


async def _create_bots(
    session: AsyncSession, deps: Deps, subs: list[_Sub], ref: tuple[str, str],
    plan: dict[str, Any],
) -> list[BotSpec | DomainError]:  # fmt: skip
    """Each subscriber's bot (or why it has none), in their order: the plan sized by the
    subscription, created for all subscribers of one sizing at once."""
    groups: dict[tuple[str, str, str], list[_Sub]] = {}
    for sub in subs:
        groups.setdefault(sub.sizing, []).append(sub)
    made: dict[str, BotSpec | DomainError] = {}
    for (amount, amount_type, leverage), members in groups.items():
        new = bots.NewBot(
            script=SCRIPT, name=f"{plan['symbol']} {plan.get('side', 'buy')} ({ref[0]})",
            settings={**plan, "amount": amount, "amountType": amount_type, "leverage": leverage},
            leverage=Decimal(leverage), extra={"signal_id": ref[0], "channel_id": ref[1]},
        )  # fmt: skip
        owners = [(sub.user_id, sub.account_id) for sub in members]
        found = await bots.create_for(session, deps.venues, deps.clock, new, owners)
        made.update(zip((sub.id for sub in members), found, strict=True))
    return [made[sub.id] for sub in subs]


def _trade(signal_id: str, sub: _Sub, bot: BotSpec | DomainError, now: datetime) -> dict[str, Any]:
    """The subscriber's trade of the signal: its bot, or why it has none."""
    if isinstance(bot, BotSpec):
        bot_id, status, message = bot.id, "started", None
    else:
        bot_id, status, message = None, "failed", bot.message
    return {
        "id": new_id("ctr"), "signal_id": signal_id, "user_id": sub.user_id,
        "subscription_id": sub.id, "bot_id": bot_id, "status": status, "message": message,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


async def get_signal(session: AsyncSession, partner_id: str, signal_id: str) -> ChannelSignalRow:
    row = await session.get(ChannelSignalRow, signal_id)
    if row is None or row.partner_id != partner_id:
        raise NotFound(f"no signal {signal_id}")
    return row


async def call(
    session: AsyncSession, deps: Deps, partner_id: str, signal_id: str,
    changes_to: Callable[[dict[str, Any]], dict[str, Any]], *, kind: str,
) -> Outcome:  # fmt: skip
    """Apply a call (``changes_to`` the current plan gives the changes) to the signal and
    every running trade of it. ``kind``: trailing and rebuy/dca calls reach only
    subscriptions that follow them."""
    signal = await get_signal(session, partner_id, signal_id)
    if signal.status != "active":
        raise Conflict(f"signal {signal_id} is {signal.status}")
    changes = changes_to(signal.plan)
    script = get_script(SCRIPT)
    current = script.parse({**signal.plan, "amount": 1})
    script.edit(current, changes, running=True)  # refused here, before any subscriber
    signal.plan = {**signal.plan, **_jsonable(changes)}
    signal.updated_at = deps.clock.now()
    await session.commit()
    trades = await _trades(session, signal.id)
    reached = failed = 0
    for trade in trades:
        if (kind == "trailing" and not trade.follow_trailing) or (
            kind in ("rebuy", "dca") and not trade.follow_dca
        ):
            continue
        if trade.bot_id is None or not deps.venues.is_running(trade.bot_id):
            continue
        reached += 1
        try:
            await bots.edit(
                session, deps.venues, deps.clock, trade.user_id, trade.bot_id,
                changes=changes,
            )  # fmt: skip
        except DomainError as e:
            failed += 1
            await session.rollback()
            await _note(session, deps.clock, trade.id, f"{kind} call refused: {e.message}")
    await session.commit()
    return Outcome(signal.id, reached, failed)


async def cancel(session: AsyncSession, deps: Deps, partner_id: str, signal_id: str) -> Outcome:
    """Cancel the signal: every subscriber's trade cancels its orders and closes at market."""
    signal = await get_signal(session, partner_id, signal_id)
    if signal.status != "active":
        raise Conflict(f"signal {signal_id} is {signal.status}")
    signal.status, signal.updated_at = "cancelled", deps.clock.now()
    await session.commit()
    reached = failed = 0
    for trade in await _trades(session, signal.id):
        if trade.bot_id is None or not deps.venues.is_running(trade.bot_id):
            continue
        reached += 1
        try:
            await bots.stop(session, deps.venues, trade.user_id, trade.bot_id, close_positions=True)
        except DomainError as e:
            failed += 1
            await session.rollback()
            await _note(session, deps.clock, trade.id, f"cancel failed: {e.message}")
    await session.commit()
    return Outcome(signal.id, reached, failed)


@dataclass(frozen=True, slots=True)
class _Trade:
    id: str
    user_id: str
    bot_id: str | None
    follow_trailing: bool
    follow_dca: bool


async def _trades(session: AsyncSession, signal_id: str) -> list[_Trade]:
    """Plain values: a subscriber's failure rolls the session back, expiring rows."""
    stmt = (
        select(ChannelTradeRow, ChannelSubscriptionRow)
        .outerjoin(
            ChannelSubscriptionRow, ChannelSubscriptionRow.id == ChannelTradeRow.subscription_id
        )
        .where(ChannelTradeRow.signal_id == signal_id)
        .order_by(ChannelTradeRow.id)
    )
    return [
        _Trade(t.id, t.user_id, t.bot_id, s is None or s.follow_trailing, s is None or s.follow_dca)
        for t, s in (await session.execute(stmt)).all()
    ]


async def _note(session: AsyncSession, clock: Clock, trade_id: str, message: str) -> None:
    trade = await session.get(ChannelTradeRow, trade_id)
    if trade is not None:
        trade.message, trade.updated_at = message, clock.now()
        await session.commit()


def _jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(changes, default=str))
    return loaded


# ---- smart trades, as each subscriber sees them ------------------------------------------


async def smart_trades(
    session: AsyncSession, user_id: str
) -> list[tuple[BotRow, ChannelTradeRow | None]]:
    """The user's smart trades (bots of the script), newest first, with their channel link."""
    stmt = (
        select(BotRow, ChannelTradeRow)
        .outerjoin(ChannelTradeRow, ChannelTradeRow.bot_id == BotRow.id)
        .where(BotRow.user_id == user_id, BotRow.script == SCRIPT, BotRow.deleted_at.is_(None))
        .order_by(BotRow.id.desc())
    )
    return [(b, t) for b, t in (await session.execute(stmt)).all()]


async def failed_trades(session: AsyncSession, user_id: str) -> list[ChannelTradeRow]:
    """Channel signals that could not become a trade on the user's account, with why."""
    stmt = select(ChannelTradeRow).where(
        ChannelTradeRow.user_id == user_id, ChannelTradeRow.bot_id.is_(None)
    )
    return list((await session.scalars(stmt.order_by(ChannelTradeRow.id.desc()))).all())


async def smart_trade(
    session: AsyncSession, user_id: str, bot_id: str
) -> tuple[BotRow, ChannelTradeRow | None]:
    row = await bots.get(session, user_id, bot_id)
    if row.script != SCRIPT:
        raise NotFound("smart trade not found")
    link = await session.scalar(select(ChannelTradeRow).where(ChannelTradeRow.bot_id == bot_id))
    return row, link
