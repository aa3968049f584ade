"""Active grid bots on one engine process: how many it keeps up with when every instrument
ticks once a second.

Builds the service's own parts in this process (SQLite file store, paper venue, bot engine),
opens ``--bots / --per-account`` paper accounts, creates ``--bots`` spot grid bots with
random ranges around the price on BTC/USDT, ETH/USDT and LTC/USDT, and starts them (their
trade-to-fill buys fill, their grids are placed). Then the market ticks once a second of
market time for ``--ticks`` seconds: each instrument's price takes a random-walk step, the
venue ticks (matching every resting order, grid re-arms, durable commit) and the engine
handles what it caused (fills to the bots, their wake-ups, their state and logs written)
until it is idle. The time from a tick to the idle engine is the tick's lag: with one tick a
second the process keeps up while the lag stays under a second.

In the same run it ticks the same prices on a venue holding the same resting orders but no
bot engine (the floor: the venue's own matching and writes), and prints both and the ratio.

    .venv/bin/python bench/bots.py [--bots 10000] [--ticks 60] [--per-account 10]

Target (issue 4): 10,000 active bots on one process with under 1 s lag.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import insert, text

from tradewind.api.app import tune_garbage_collector
from tradewind.domain.bots import BotStatus
from tradewind.domain.clock import ManualClock
from tradewind.domain.ids import new_id
from tradewind.domain.orders import PositionMode
from tradewind.engine.bots import BotEngine, BotSpec
from tradewind.engine.bus import EventBus
from tradewind.marketdata.feeds import ManualFeed
from tradewind.store.db import StoreRunner, create_engine, session_factory
from tradewind.store.migrate import upgrade
from tradewind.store.tables import BotRow, UserRow
from tradewind.venues.paper.catalog import paper_instruments
from tradewind.venues.paper.venue import PaperVenue

START = {"BTC/USDT": 6400.0, "ETH/USDT": 200.0, "LTC/USDT": 50.0}
STEP = 0.0008
"""Random-walk step per second, a fraction of the price (about 4.8% a day in a sigma)."""
console = Console(stderr=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def build(
    directory: Path, clock: ManualClock
) -> tuple[PaperVenue, StoreRunner, dict[str, ManualFeed], Any]:
    engine = create_engine(f"sqlite+aiosqlite:///{directory / 'bench.db'}")
    await upgrade(engine)
    store = StoreRunner(engine)
    feeds = {s: ManualFeed(s) for s in START}
    now = int(clock.now().timestamp() * 1000)
    for symbol, price in START.items():
        feeds[symbol].push(symbol, price, now)
    venue = PaperVenue(
        instruments=paper_instruments(), feeds=feeds, sessions=session_factory(engine),
        clock=clock, bus=EventBus(), writer=store,
    )  # fmt: skip
    await venue.load()
    tune_garbage_collector()  # as `tradewind serve` does once started
    return venue, store, feeds, engine


def grid_settings(rng: random.Random, symbol: str) -> dict[str, Any]:
    price = START[symbol]
    centre = price * (1 + rng.uniform(-0.01, 0.01))
    half = price * rng.uniform(0.01, 0.03)
    digits = 2 if price < 1000 else 1
    return {
        "symbol": symbol, "lowerLimit": round(centre - half, digits),
        "upperLimit": round(centre + half, digits), "gridCount": rng.randint(4, 8),
        "investmentAsset": "Quote", "investmentAmount": rng.randint(150, 300),
        "tradeToFillGrid": True,
    }  # fmt: skip


async def setup(
    venue: PaperVenue, store: StoreRunner, bots: int, per_account: int, seed: int
) -> list[BotSpec]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    users = [new_id("usr") for _ in range((bots + per_account - 1) // per_account)]

    def add_users(session: Any) -> None:
        session.execute(insert(UserRow), [
            {"id": u, "email": f"{u}@bench.test", "password_hash": "-", "plan": "free", "role": "user",
             "public_profile_enabled": False, "created_at": now, "updated_at": now}
            for u in users
        ])  # fmt: skip

    await store.run(add_users)
    accounts = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("paper accounts", total=len(users))
        for user in users:
            info = await venue.open_account(
                user_id=user, name="bench", mode=PositionMode.NETTING, leverage=Decimal(1),
                currency="USDT", balances={"USDT": Decimal(per_account * 400)}, is_default=True,
            )  # fmt: skip
            accounts.append((user, info.account_id))
            progress.advance(task)
    rows: list[dict[str, Any]] = []
    symbols = list(START)
    for i in range(bots):
        user, account = accounts[i // per_account]
        settings = grid_settings(rng, symbols[i % len(symbols)])
        rows.append({
            "id": new_id("bot"), "user_id": user, "account_id": account, "name": f"grid {i}",
            "script": "spot_grid", "symbol": settings["symbol"], "settings": settings,
            "status": BotStatus.STOPPED.value, "status_reason": None, "master_bot_id": None,
            "follow_updates": False, "cloned": 0, "investment": None, "leverage": Decimal(1),
            "stop_loss_pct": None, "extra": {}, "state": {}, "order_seq": 0, "pending": [],
            "fill_cursor": None, "log_seq": 0, "stop_exit": False, "realized_pnl": Decimal(0),
            "created_at": now, "updated_at": now, "deleted_at": None,
        })  # fmt: skip
    await store.run(lambda session: session.execute(insert(BotRow), rows))
    return [
        BotSpec.new(r["id"], r["user_id"], r["account_id"], "spot_grid", r["symbol"], r["settings"])
        for r in rows
    ]


async def start_all(bots: BotEngine, specs: list[BotSpec]) -> float:
    began = time.perf_counter()
    tasks = [asyncio.create_task(bots.start(spec)) for spec in specs]
    await asyncio.sleep(0)
    while not all(t.done() for t in tasks):
        await bots.settle()
        await asyncio.sleep(0)
    await bots.settle()
    return time.perf_counter() - began


def walk(rng: random.Random, ticks: int) -> list[dict[str, float]]:
    prices, path = dict(START), []
    for _ in range(ticks):
        prices = {s: p * (1 + rng.gauss(0, STEP)) for s, p in prices.items()}
        path.append(dict(prices))
    return path


async def run_ticks(
    venue: PaperVenue, feeds: dict[str, ManualFeed], clock: ManualClock,
    path: list[dict[str, float]], bots: BotEngine | None, label: str,
) -> tuple[list[float], int]:  # fmt: skip
    lags, fills = [], 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=len(path))
        for prices in path:
            clock.advance(1.0)
            now = int(clock.now().timestamp() * 1000)
            for symbol, price in prices.items():
                feeds[symbol].push(symbol, price, now)
            began = time.perf_counter()
            events = await venue.tick()
            if bots is not None:
                await bots.settle()
            lags.append(time.perf_counter() - began)
            fills += sum(1 for e in events if type(e).__name__ == "OrderFilled")
            progress.advance(task)
    return lags, fills


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tw-bench-bots-") as tmp:
        clock = ManualClock(datetime(2026, 11, 1, tzinfo=UTC))
        venue, store, feeds, db = await build(Path(tmp), clock)
        console.print(f"setting up {args.bots} grid bots on {len(START)} symbols ...")
        specs = await setup(venue, store, args.bots, args.per_account, args.seed)
        bots = BotEngine(venue=venue, writer=store)
        started = await start_all(bots, specs)
        active = sum(1 for s in specs if bots.is_running(s.id))
        resting = sum(len(venue.engine.open_orders(a)) for a in {s.account_id for s in specs})
        console.print(f"started {active} bots in {started:.1f} s; {resting} resting orders")
        path = walk(random.Random(args.seed + 1), args.ticks)

        # the floor: a copy of the store after the start, a venue on it with the same resting
        # orders and the same prices, and no bot engine
        await store.run(lambda session: session.execute(text("PRAGMA wal_checkpoint(FULL)")))
        shutil.copy(Path(tmp) / "bench.db", Path(tmp) / "floor.db")
        floor_db = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'floor.db'}")
        floor_store = StoreRunner(floor_db)
        floor_clock = ManualClock(clock.now())
        floor_feeds = {s: ManualFeed(s) for s in START}
        now = int(floor_clock.now().timestamp() * 1000)
        for symbol, price in START.items():
            floor_feeds[symbol].push(symbol, price, now)
        floor_venue = PaperVenue(
            instruments=venue.instruments, feeds=floor_feeds, sessions=session_factory(floor_db),
            clock=floor_clock, bus=EventBus(), writer=floor_store,
        )  # fmt: skip
        await floor_venue.load()
        await floor_venue.tick()
        floor, floor_fills = await run_ticks(
            floor_venue, floor_feeds, floor_clock, path, None, "venue alone"
        )
        floor_store.close()
        await floor_db.dispose()

        await venue.tick()
        await bots.settle()
        cycles_before = bots.cycles
        lags, fills = await run_ticks(venue, feeds, clock, path, bots, "venue + bot engine")
        still = sum(1 for s in specs if bots.is_running(s.id))
        store.close()
        await db.dispose()

    total = sum(lags)
    print(f"bots: {args.bots} active at start, {still} still active after {args.ticks} ticks")
    print(f"fills during the run: {fills} ({fills / args.ticks:.0f} per tick); "
          f"engine cycles: {bots.cycles - cycles_before}")  # fmt: skip
    print(f"{'':28}{'p50':>10}{'p99':>10}{'max':>10}{'mean':>10}")
    for name, values in (("venue tick alone (floor)", floor), ("tick + bots (lag)", lags)):
        print(
            f"{name:28}{percentile(values, 0.5) * 1000:>8.1f}ms{percentile(values, 0.99) * 1000:>8.1f}ms"
            f"{max(values) * 1000:>8.1f}ms{statistics.fmean(values) * 1000:>8.1f}ms"
        )
    print(f"ratio lag / floor (p50): {percentile(lags, 0.5) / percentile(floor, 0.5):.1f}x "
          f"(floor fills: {floor_fills})")  # fmt: skip
    print(f"bot-ticks per second: {args.bots * args.ticks / total:,.0f} "
          f"(each active bot on a ticking instrument, per second of processing)")  # fmt: skip
    print(f"keeps up at one tick a second: {'yes' if max(lags) < 1.0 else 'NO'} "
          f"(max lag {max(lags):.3f} s)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
