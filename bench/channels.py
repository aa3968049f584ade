"""One partner signal on a channel with many subscribers: from the signal to every
subscriber's entry orders at the venue.

Builds the service's parts in this process (SQLite file store, paper venue with a manual
BTC/USDT feed, bot engine running as the service runs it), a partner with one channel and
``--subscribers`` users, each with a paper account (1,000 USDT) and a subscription of 100 USDT
per signal (a subscription is one user's: one account per subscriber), all bulk inserted.
Then it times one ``services.channels.open_signal`` with an Anny V2 plan (two entries in the
entry range, three take-profit targets, a stop loss), the path the dialect's route takes,
until every subscriber's smart trade has its entry orders resting at the venue, and prints
where the time went: the engine's cycles, the venue's batches and the store's transactions.

    .venv/bin/python bench/channels.py [--subscribers 10000]

Target (issue 5): one partner signal reaches orders on 10,000 paper subscribers within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.api.app import tune_garbage_collector
from tradewind.domain.clock import ManualClock
from tradewind.domain.ids import new_id
from tradewind.engine.bots import BotEngine
from tradewind.engine.bus import EventBus
from tradewind.marketdata.feeds import ManualFeed
from tradewind.services import bots, channels, trading
from tradewind.store.db import StoreRunner, create_engine, session_factory
from tradewind.store.migrate import upgrade
from tradewind.store.tables import (
    BalanceRow,
    ChannelRow,
    ChannelSubscriptionRow,
    ChannelTradeRow,
    LedgerEntryRow,
    OrderRow,
    TradingAccountRow,
    UserRow,
)
from tradewind.venues.paper.catalog import paper_instruments
from tradewind.venues.paper.venue import PaperVenue

SPOT = "BTC/USDT"
PRICE = 6450.0
BALANCE = Decimal(1000)
PLAN = {
    "symbol": SPOT, "side": "buy",
    "entries": [{"price": "6400", "share": "50"}, {"price": "6300", "share": "50"}],
    "entryLow": "6300", "entryHigh": "6400",
    "takeProfits": [{"price": "6500", "share": "30"}, {"price": "6600", "share": "30"},
                    {"price": "6700", "share": "40"}],
    "stopLoss": "6000", "leverage": "1", "marginType": "isolated",
}  # fmt: skip
"""What the Anny V2 route makes of a signal with two entries, three targets and a stop."""
console = Console(stderr=True)


class Timeline:
    """Wraps coroutine methods to record when each call ran (seconds from ``began``)."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.calls: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original: Callable[..., Awaitable[Any]] | None = getattr(owner, attribute, None)
        if original is None:  # not in this version
            return

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.calls[name].append((start - self.began, time.perf_counter() - self.began))

        setattr(owner, attribute, timed)

    def report(self) -> None:
        print(f"{'phase':34}{'calls':>7}{'first':>9}{'last end':>10}{'total':>9}")
        rows = sorted(self.calls.items(), key=lambda kv: kv[1][0][0])
        for name, spans in rows:
            total = sum(end - start for start, end in spans)
            print(f"{name:34}{len(spans):>7}{spans[0][0]:>8.2f}s{max(e for _, e in spans):>9.2f}s"
                  f"{total:>8.2f}s")  # fmt: skip


async def build(directory: Path, clock: ManualClock) -> tuple[PaperVenue, StoreRunner, Any]:
    db = create_engine(f"sqlite+aiosqlite:///{directory / 'bench.db'}")
    await upgrade(db)
    store = StoreRunner(db)
    feed = ManualFeed(SPOT)
    feed.push(SPOT, PRICE, int(clock.now().timestamp() * 1000))
    venue = PaperVenue(
        instruments=paper_instruments(), feeds={SPOT: feed}, sessions=session_factory(db),
        clock=clock, bus=EventBus(), writer=store,
    )  # fmt: skip
    return venue, store, db


async def setup(store: StoreRunner, subscribers: int) -> tuple[str, str, list[str]]:
    """A partner, its channel, and ``subscribers`` users each with a funded paper account and
    a subscription; returns the partner, the channel and the accounts."""
    now = datetime.now(UTC)
    partner, channel = new_id("usr"), new_id("chn")
    users = [new_id("usr") for _ in range(subscribers)]
    accounts = [new_id("acc") for _ in range(subscribers)]

    def user(u: str, role: str) -> dict[str, Any]:
        return {"id": u, "email": f"{u}@bench.test", "password_hash": "-", "plan": "free",
                "role": role, "public_profile_enabled": False, "created_at": now,
                "updated_at": now}  # fmt: skip

    def work(session: Any) -> None:
        session.execute(
            insert(UserRow), [user(partner, "partner")] + [user(u, "user") for u in users]
        )
        session.execute(insert(ChannelRow), [{
            "id": channel, "partner_id": partner, "name": "Alpha", "description": "bench",
            "created_at": now,
        }])  # fmt: skip
        session.execute(insert(TradingAccountRow), [{
            "id": a, "user_id": u, "venue": "paper", "name": "Paper", "mode": "netting",
            "leverage": Decimal(1), "currency": "USDT", "is_default": True,
            "initial_balances": {"USDT": str(BALANCE)}, "leverages": {}, "created_at": now,
            "reset_at": None,
        } for u, a in zip(users, accounts, strict=True)])  # fmt: skip
        session.execute(insert(BalanceRow), [
            {"account_id": a, "asset": "USDT", "free": BALANCE, "locked": Decimal(0), "updated_at": now}
            for a in accounts
        ])  # fmt: skip
        session.execute(insert(LedgerEntryRow), [{
            "id": new_id("led"), "account_id": a, "asset": "USDT", "delta": BALANCE,
            "kind": "deposit", "ref": None, "ts": now,
        } for a in accounts])  # fmt: skip
        session.execute(insert(ChannelSubscriptionRow), [{
            "id": new_id("sub"), "channel_id": channel, "user_id": u, "account_id": a,
            "amount_type": "quote", "amount": Decimal(100), "max_leverage": Decimal(1),
            "follow_trailing": True, "follow_dca": True, "created_at": now,
        } for u, a in zip(users, accounts, strict=True)])  # fmt: skip

    await store.run(work)
    return partner, channel, accounts


async def watch(venue: PaperVenue, accounts: list[str], done: asyncio.Event) -> None:
    """Progress: the entry orders resting at the venue (two a subscriber). Counted in one
    cheap read: the watcher shares the event loop it measures (counting each subscriber's
    orders took 100 ms of it a poll, an eighth of the run)."""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("entry orders resting", total=2 * len(accounts))
        while not done.is_set():
            progress.update(task, completed=len(venue.engine.open_orders()))
            await asyncio.sleep(0.5)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tw-bench-channels-") as tmp:
        clock = ManualClock(datetime(2026, 11, 1, tzinfo=UTC))
        venue, store, db = await build(Path(tmp), clock)
        console.print(f"setting up a channel with {args.subscribers} subscribers ...")
        partner, channel, accounts = await setup(store, args.subscribers)
        await venue.load()
        tune_garbage_collector()  # as `tradewind serve` does once started
        gc.collect()  # as the service does once started: what start-up built is never collected
        gc.freeze()
        engine = BotEngine(venue=venue, writer=store)
        deps = channels.Deps(trading.Venues(venue), clock, engine)
        sessions = session_factory(db)
        body = {"symbol": SPOT, "side": "buy", "note": "bench"}
        loop = asyncio.create_task(engine.run())

        timeline = Timeline()
        for owner, attribute, name in (
            (bots, "create_for", "bots.create_for (+ insert)"),
            (bots, "start_created", "bots.start_created"),
            (engine, "step", "engine cycle"),
            (engine, "_persist", "  engine: write bots and logs"),
            (engine, "_clear_pending", "  engine: clear pending"),
            (venue, "execute", "  venue: run the batch"),
            (store, "run", "store transaction (any)"),
            (AsyncSession, "commit", "request session commit"),
            (AsyncSession, "execute", "request session statement"),
        ):
            timeline.wrap(owner, attribute, name)
        done = asyncio.Event()
        progress = asyncio.create_task(watch(venue, accounts, done))
        timeline.began = began = time.perf_counter()
        async with sessions() as session:
            outcome = await channels.open_signal(session, deps, partner, channel, PLAN, body)
        returned = time.perf_counter() - began
        await engine.settle()
        took = time.perf_counter() - began
        done.set()
        await progress
        loop.cancel()

        async with sessions() as session:
            statuses = dict(
                (await session.execute(
                    select(ChannelTradeRow.status, func.count())
                    .where(ChannelTradeRow.signal_id == outcome.signal_id)
                    .group_by(ChannelTradeRow.status)
                )).all()
            )  # fmt: skip
            stored = await session.scalar(select(func.count()).select_from(OrderRow))
        resting = sum(len(venue.open_orders(a)) for a in accounts)
        with_entries = sum(1 for a in accounts if len(venue.open_orders(a)) >= 2)
        store.close()
        await db.dispose()

    print(f"one partner signal to {args.subscribers} subscribers: {took:.2f} s until every "
          f"entry order was placed ({args.subscribers / took:,.0f} subscribers/s; "
          f"open_signal returned after {returned:.2f} s)")  # fmt: skip
    print(f"outcome: {outcome.result}, {outcome.subscribers} subscribers, {outcome.failed} failed; "
          f"trades: {statuses.get('started', 0)} started, {statuses.get('failed', 0)} failed")  # fmt: skip
    print(f"orders: {resting} resting at the venue, {stored} stored; "
          f"{with_entries} subscribers with both entry orders; engine cycles: {engine.cycles}")  # fmt: skip
    if args.timeline:
        timeline.report()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--timeline", action="store_true", help="where the time went, by phase")
    asyncio.run(main(parser.parse_args()))
