"""Bots on a live exchange: the start-up order that makes a restart safe, and the background
tasks that keep them trading.

1. the venue rebuilds its open orders from the store (``CcxtVenue.load``);
2. the prices of the bots' symbols are polled once (a bot's context needs a price);
3. the engine resumes the bots (``BotEngine.load``): restores their strategies, runs their
   pending operations again (placements are idempotent on the client id, on the exchange too)
   and gives them the fills the store has that they have not seen;
4. the venue reconciles with the exchange (``CcxtVenue.reconcile``): fills that happened while
   the process was down become fills now (each once: the bots see them after those of step 3,
   in order), orders cancelled there are closed here, and every difference is written in the
   bot's log;
5. two tasks run: the venue's polling (prices, then orders) and the engine's cycles.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from sqlalchemy import select

from tradewind.domain.bots import RUNNING
from tradewind.engine.bots import BotEngine
from tradewind.store.db import StoreRunner
from tradewind.store.tables import BotRow, TradingAccountRow
from tradewind.venues.ccxt.venue import CcxtVenue


@dataclass
class LiveTrading:
    """A live venue and the bot engine on it, running."""

    venue: CcxtVenue
    bots: BotEngine
    resumed: int
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        """Stop polling and cycling (what is in the store stays; ``start`` resumes from it)."""
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        await self.venue.close()


async def start(
    venue: CcxtVenue, writer: StoreRunner, *, poll_seconds: float | None
) -> LiveTrading:
    """Resume the venue's bots (the module docstring's order). Every trading account of the
    venue's exchange must have been added to it (the engine resumes the bots of them all).
    ``poll_seconds`` None starts no background task: the caller polls and settles (tests)."""
    await venue.load()
    async with writer.sessions() as session:
        symbols = (
            await session.scalars(
                select(BotRow.symbol)
                .join(TradingAccountRow, BotRow.account_id == TradingAccountRow.id)
                .where(
                    TradingAccountRow.venue == venue.name,
                    BotRow.status.in_(RUNNING),
                    BotRow.deleted_at.is_(None),
                )
                .distinct()
            )
        ).all()
    for symbol in symbols:
        if symbol in venue.instruments:
            venue.watch(symbol)
    await venue.refresh_prices()
    bots = BotEngine(venue=venue, writer=writer, join_writes=False)
    resumed = await bots.load()
    await venue.reconcile()
    live = LiveTrading(venue=venue, bots=bots, resumed=resumed)
    if poll_seconds is not None:
        live.tasks = [
            asyncio.create_task(venue.run(poll_seconds), name=f"{venue.name}-poll"),
            asyncio.create_task(bots.run(), name=f"{venue.name}-bots"),
        ]
    return live
