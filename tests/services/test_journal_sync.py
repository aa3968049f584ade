"""Syncing a strategy's bot records against both stores: two reads of one strategy at once
(each in its own transaction, as two requests are) write each closed position once and
neither fails; a sync after new fills writes the trips they closed, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tradewind.domain.clock import ManualClock
from tradewind.domain.ids import new_id
from tradewind.services import journal, journal_sync
from tradewind.services.journal_sync import closed_positions
from tradewind.store.db import create_engine, session_factory
from tradewind.store.tables import (
    BotRow,
    FillRow,
    JournalBotLinkRow,
    JournalTradeRow,
    OrderRow,
    PositionRow,
    TradingAccountRow,
    UserRow,
)

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class Store:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: ManualClock


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = create_engine(database_url)
    yield Store(engine, session_factory(engine), ManualClock(T0))
    await engine.dispose()


@dataclass
class Bot:
    user_id: str
    account_id: str
    bot_id: str
    symbol: str
    fills: int = 0
    seq: int = 0


async def seed_bot(store: Store, symbol: str) -> Bot:
    user_id, account_id, bot_id = new_id("usr"), new_id("acct"), new_id("bot")
    async with store.sessions() as s:
        await s.execute(insert(UserRow).values(
            id=user_id, email=f"{user_id}@example.test", password_hash="x", created_at=T0,
            updated_at=T0,
        ))  # fmt: skip
        await s.execute(insert(TradingAccountRow).values(
            id=account_id, user_id=user_id, venue="paper", name="a", mode="hedge",
            leverage=Decimal(1), currency="USDT", initial_balances={}, created_at=T0,
        ))  # fmt: skip
        await s.execute(insert(BotRow).values(
            id=bot_id, user_id=user_id, account_id=account_id, name="b", script="spot_grid",
            symbol=symbol, settings={}, status="stopped", leverage=Decimal(1), extra={},
            state={}, realized_pnl=Decimal(0), created_at=T0, updated_at=T0,
        ))  # fmt: skip
        await s.commit()
    return Bot(user_id, account_id, bot_id, symbol)


_tickets = iter(range(1, 1 << 40))


def _order(bot: Bot, side: str, amount: Decimal, price: Decimal, ts: datetime) -> dict[str, Any]:
    bot.seq += 1
    return {
        "id": new_id("ord"), "account_id": bot.account_id, "symbol": bot.symbol, "side": side,
        "type": "limit", "amount": amount, "price": price, "stop_price": None,
        "client_order_id": f"{bot.bot_id}:{bot.seq}", "reduce_only": False, "position_id": None,
        "role": "entry", "status": "filled", "filled": amount, "average_price": price,
        "fee": Decimal(0), "triggered": False, "oco_group": None, "programs": {}, "reason": None,
        "reserved": Decimal(0), "reserved_asset": None, "ticket": next(_tickets),
        "created_at": ts, "updated_at": ts,
    }  # fmt: skip


def _fill(bot: Bot, order: dict[str, Any], position_id: str | None) -> dict[str, Any]:
    bot.fills += 1
    return {
        "id": new_id("fill"), "order_id": order["id"], "account_id": bot.account_id,
        "symbol": bot.symbol, "side": order["side"], "amount": order["amount"],
        "price": order["price"], "fee": Decimal("0.01"), "fee_asset": "USDT", "liquidity": "maker",
        "position_id": position_id, "realized_pnl": Decimal(0), "ticket": next(_tickets),
        "ts": order["created_at"],
    }  # fmt: skip


async def add_round_trips(store: Store, bot: Bot, count: int) -> None:
    """``count`` spot buys each sold one minute later at a profit (2 fills each)."""
    orders, fills = [], []
    for _ in range(count):
        ts = T0 + timedelta(minutes=2 * bot.fills)
        for side, price, at in (("buy", "100", ts), ("sell", "101", ts + timedelta(minutes=1))):
            order = _order(bot, side, Decimal("0.5"), Decimal(price), at)
            orders.append(order)
            fills.append(_fill(bot, order, None))
    async with store.sessions() as s:
        await s.execute(insert(OrderRow), orders)
        await s.execute(insert(FillRow), fills)
        await s.commit()


async def add_positions(store: Store, bot: Bot, count: int) -> None:
    """``count`` derivative positions, each opened and closed by one of the bot's fills."""
    orders, fills, positions = [], [], []
    for _ in range(count):
        ts = T0 + timedelta(minutes=2 * bot.fills)
        position_id = new_id("pos")
        positions.append({
            "id": position_id, "account_id": bot.account_id, "symbol": bot.symbol,
            "side": "buy", "amount": Decimal(0), "entry_price": Decimal(100),
            "leverage": Decimal(1), "margin": Decimal(0), "realized_pnl": Decimal(1),
            "fees": Decimal("0.02"), "stop_loss": None, "take_profit": None,
            "liquidation_price": None, "close_price": Decimal(102), "ticket": next(_tickets),
            "opened_at": ts, "updated_at": ts + timedelta(minutes=1),
            "closed_at": ts + timedelta(minutes=1),
        })  # fmt: skip
        for side, price, at in (("buy", "100", ts), ("sell", "102", ts + timedelta(minutes=1))):
            order = _order(bot, side, Decimal("0.5"), Decimal(price), at)
            orders.append(order)
            fills.append(_fill(bot, order, position_id))
    async with store.sessions() as s:
        await s.execute(insert(OrderRow), orders)
        await s.execute(insert(PositionRow), positions)
        await s.execute(insert(FillRow), fills)
        await s.commit()


async def linked_strategy(store: Store, bot: Bot) -> str:
    async with store.sessions() as s:
        new = journal.NewStrategy(title="s")
        sid = (await journal.create_strategy(s, store.clock, bot.user_id, new)).id
        await journal.link_bot(s, store.clock, bot.user_id, bot.bot_id, sid)
        await s.commit()
    return sid


async def read(store: Store, bot: Bot, sid: str) -> list[JournalTradeRow]:
    """What a request listing the strategy's records does: sync, read, commit."""
    async with store.sessions() as s:
        page = await journal.list_trades(
            s, store.clock, bot.user_id, sid, journal.TradeFilter(), None, None
        )
        await s.commit()
        return page.items


async def record_count(store: Store, sid: str) -> int:
    async with store.sessions() as s:
        stmt = select(func.count()).where(JournalTradeRow.strategy_id == sid)
        return int(await s.scalar(stmt) or 0)


async def sync_at_once(store: Store, sid: str, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``n`` syncs of one strategy in their own sessions, each having read what is written
    before any of them writes (the race of two requests at once)."""
    gate = asyncio.Barrier(n)
    write = journal_sync._insert_ignoring_duplicates

    async def after_all_read(session: AsyncSession, values: list[dict[str, Any]]) -> None:
        await gate.wait()
        await write(session, values)

    monkeypatch.setattr(journal_sync, "_insert_ignoring_duplicates", after_all_read)

    async def one() -> None:
        async with store.sessions() as s:
            await journal.sync_strategy(s, store.clock, sid)
            await s.commit()

    await asyncio.gather(*(one() for _ in range(n)))
    monkeypatch.undo()


@pytest.mark.store
@pytest.mark.parametrize("kind", ["spot", "derivative"])
async def test_two_reads_at_once_write_each_position_once(
    store: Store, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "spot":
        bot = await seed_bot(store, "BTC/USDT")
        await add_round_trips(store, bot, 3)
    else:
        bot = await seed_bot(store, "BTC/USDT:USDT")
        await add_positions(store, bot, 3)
    async with store.sessions() as s:
        user = journal.NewStrategy(title="s")
        sid = (await journal.create_strategy(s, store.clock, bot.user_id, user)).id
        await s.commit()
    # linked directly (link_bot would sync at once): the first reads find nothing written
    async with store.sessions() as s:
        s.add(JournalBotLinkRow(bot_id=bot.bot_id, strategy_id=sid, created_at=T0))
        await s.commit()

    await sync_at_once(store, sid, 2, monkeypatch)
    assert await record_count(store, sid) == 3

    if kind == "spot":
        await add_round_trips(store, bot, 2)
    else:
        await add_positions(store, bot, 2)
    await asyncio.gather(read(store, bot, sid), read(store, bot, sid), read(store, bot, sid))
    assert await record_count(store, sid) == 5
    refs = [r.position_ref for r in await read(store, bot, sid)]
    assert len(set(refs)) == 5


@pytest.mark.store
async def test_a_read_shows_the_trips_closed_since_the_last_one(store: Store) -> None:
    bot = await seed_bot(store, "BTC/USDT")
    await add_round_trips(store, bot, 4)
    sid = await linked_strategy(store, bot)
    assert len(await read(store, bot, sid)) == 4
    assert len(await read(store, bot, sid)) == 4  # unchanged: nothing added

    # a buy alone closes nothing; the sell after it closes one more trip
    ts = T0 + timedelta(days=1)
    buy = _order(bot, "buy", Decimal(1), Decimal(90), ts)
    async with store.sessions() as s:
        await s.execute(insert(OrderRow), [buy])
        await s.execute(insert(FillRow), [_fill(bot, buy, None)])
        await s.commit()
    assert len(await read(store, bot, sid)) == 4
    sell = _order(bot, "sell", Decimal(1), Decimal(95), ts + timedelta(minutes=5))
    async with store.sessions() as s:
        await s.execute(insert(OrderRow), [sell])
        await s.execute(insert(FillRow), [_fill(bot, sell, None)])
        await s.commit()
    records = await read(store, bot, sid)
    assert len(records) == 5
    newest = max(records, key=lambda r: r.closed_at or r.opened_at)
    assert (newest.entry, newest.close_price, newest.position_ref) == (
        Decimal(90),
        Decimal(95),
        f"{bot.bot_id}:trip:5",
    )

    # the records are exactly the bot's round trips, derived from scratch
    async with store.sessions() as s:
        row = await s.get(BotRow, bot.bot_id)
        assert row is not None
        expected = await closed_positions(s, row)
    got = sorted(records, key=lambda r: (r.closed_at or r.opened_at, r.position_ref or ""))
    assert [(r.position_ref, r.entry, r.close_price, r.opened_at, r.closed_at, r.meta)
            for r in got] == [
        (c.ref, c.entry, c.close_price, c.opened_at, c.closed_at, c.meta) for c in expected
    ]  # fmt: skip


@pytest.mark.store
async def test_a_read_shows_a_position_closed_since_the_last_one(store: Store) -> None:
    bot = await seed_bot(store, "BTC/USDT:USDT")
    await add_positions(store, bot, 2)
    sid = await linked_strategy(store, bot)
    assert len(await read(store, bot, sid)) == 2
    await add_positions(store, bot, 1)
    assert len(await read(store, bot, sid)) == 3
    assert len(await read(store, bot, sid)) == 3


@pytest.mark.store
async def test_an_unchanged_read_derives_nothing_and_a_rollback_is_not_remembered(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await seed_bot(store, "BTC/USDT")
    await add_round_trips(store, bot, 3)
    async with store.sessions() as s:
        new = journal.NewStrategy(title="s")
        sid = (await journal.create_strategy(s, store.clock, bot.user_id, new)).id
        s.add(JournalBotLinkRow(bot_id=bot.bot_id, strategy_id=sid, created_at=T0))
        await s.commit()
    derived = 0
    derive = journal_sync.closed_positions

    async def counted(session: AsyncSession, row: BotRow) -> Any:
        nonlocal derived
        derived += 1
        return await derive(session, row)

    monkeypatch.setattr(journal_sync, "closed_positions", counted)
    async with store.sessions() as s:  # synced, then rolled back: nothing written
        assert await journal.sync_strategy(s, store.clock, sid) == 3
        await s.rollback()
    assert await record_count(store, sid) == 0
    assert len(await read(store, bot, sid)) == 3
    assert derived == 2
    for _ in range(3):
        assert len(await read(store, bot, sid)) == 3
    assert derived == 2  # nothing new on the account: the bot is not read again
    await add_round_trips(store, bot, 1)
    assert len(await read(store, bot, sid)) == 4
    assert derived == 3


@pytest.mark.store
async def test_a_bot_on_a_market_only_an_exchange_has_gets_its_trips(store: Store) -> None:
    """SOL/USDT is not the paper venue's: its round trips are read from the symbol's base
    (they were none)."""
    bot = await seed_bot(store, "SOL/USDT")
    await add_round_trips(store, bot, 3)
    sid = await linked_strategy(store, bot)

    records = await read(store, bot, sid)

    assert sorted((r.position_ref, r.entry, r.close_price) for r in records) == [
        (f"{bot.bot_id}:trip:{n}", Decimal(100), Decimal(101)) for n in (1, 2, 3)
    ]
