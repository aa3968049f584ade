"""Fixtures: a running FakeBinance, a store with an account on it, a loaded CcxtVenue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.binance import FakeBinance
from tests.venues.ccxt.world import World, new_world
from tradewind.domain.clock import ManualClock
from tradewind.venues.ccxt.venue import CcxtVenue


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    with FakeBinance() as fake:
        yield fake


@pytest.fixture
async def world(fake: FakeBinance, database_url: str, clock: ManualClock) -> AsyncIterator[World]:
    world = await new_world(fake, database_url, clock)
    try:
        yield world
    finally:
        await world.close()


@pytest.fixture
async def venue(world: World) -> AsyncIterator[CcxtVenue]:
    venue = await world.venue()
    await venue.load()
    await venue.reconcile()
    world.fake.clear_requests()
    try:
        yield venue
    finally:
        await venue.close()
