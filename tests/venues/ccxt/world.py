"""A store, a FakeBinance and a CcxtVenue on it, for the CCXT venue's and the engine's tests:
CCXT's real binance client, the fake on 127.0.0.1, nothing on the internet."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.binance import SPOT_ONLY_OPTIONS, FakeBinance, ccxt_binance
from tests.helpers import unique_email
from tradewind.domain.clock import Clock
from tradewind.domain.events import Event
from tradewind.domain.ids import new_id
from tradewind.engine.bus import EventBus
from tradewind.store.db import StoreRunner, create_engine
from tradewind.store.tables import FillRow, OrderRow, TradingAccountRow, UserRow
from tradewind.venues.ccxt.calls import RetryPolicy
from tradewind.venues.ccxt.client_ids import exchange_client_id
from tradewind.venues.ccxt.venue import CcxtVenue

EXCHANGE = "binance"
BTC = "BTC/USDT"


class Sleeps:
    """The retry policy's waits, recorded (and cut short: the tests check what was asked)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))


@dataclass
class World:
    fake: FakeBinance
    writer: StoreRunner
    engine: AsyncEngine
    clock: Clock
    user_id: str
    account_id: str
    sleeps: Sleeps = field(default_factory=Sleeps)
    events: list[Event] = field(default_factory=list)
    bus: EventBus = field(default_factory=EventBus)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=8, backoff=0.05, max_wait=5.0, sleep=self.sleeps)

    async def venue(self, **client_config: Any) -> CcxtVenue:
        """A new venue on the store with a new client (as after a restart): not loaded."""
        venue = CcxtVenue(
            name=EXCHANGE, writer=self.writer, clock=self.clock, bus=self.bus, policy=self.policy()
        )
        await venue.add_account(self.account_id, self.client(**client_config))
        venue.listeners.append(self.events.extend)
        return venue

    def client_id(self, name: str, generation: int = 0) -> str:
        """The client id the exchange gets for this account's order named ``name``."""
        return exchange_client_id(name, generation, account_id=self.account_id)

    async def add_account(self) -> str:
        """Another user's trading account on ``binance``, not yet in any venue: given the same
        exchange keys (``client``), it trades the same exchange account as ``account_id``."""
        now = datetime.now(UTC)
        user_id, account_id = new_id("usr"), new_id("acc")
        await self.writer.run(lambda session: _add_account(session, user_id, account_id, now))
        return account_id

    def client(self, **client_config: Any) -> Any:
        """A CCXT client on the fake with its keys (the same keys every time)."""
        config = {"timeout": 1000, "options": SPOT_ONLY_OPTIONS, **client_config}
        return ccxt_binance(self.fake, **config)

    async def order_rows(self) -> list[OrderRow]:
        async with self.writer.sessions() as session:
            rows = await session.scalars(
                select(OrderRow).where(OrderRow.account_id == self.account_id).order_by(OrderRow.id)
            )
            return list(rows)

    async def fill_rows(self) -> list[FillRow]:
        async with self.writer.sessions() as session:
            rows = await session.scalars(
                select(FillRow).where(FillRow.account_id == self.account_id).order_by(FillRow.id)
            )
            return list(rows)

    async def close(self) -> None:
        self.writer.close()
        await self.engine.dispose()


async def new_world(fake: FakeBinance, database_url: str, clock: Clock) -> World:
    """A user with a trading account on ``binance`` in a migrated store."""
    engine = create_engine(database_url)
    writer = StoreRunner(engine)
    now = datetime.now(UTC)
    user_id, account_id = new_id("usr"), new_id("acc")
    await writer.run(lambda session: _add_account(session, user_id, account_id, now))
    return World(
        fake=fake, writer=writer, engine=engine, clock=clock, user_id=user_id, account_id=account_id
    )


def _add_account(session: Any, user_id: str, account_id: str, now: datetime) -> None:
    session.add(UserRow(id=user_id, email=unique_email(), password_hash="x",
                        created_at=now, updated_at=now))  # fmt: skip
    session.flush()
    session.add(TradingAccountRow(
        id=account_id, user_id=user_id, venue=EXCHANGE, name="binance", mode="netting",
        leverage=Decimal(1), currency="USDT", is_default=False, initial_balances={},
        leverages={}, created_at=now,
    ))  # fmt: skip
