"""Fixtures: one venue ready to trade BTC/USDT, once as the paper venue and once as the CCXT
venue on FakeBinance, each with an account holding the fake's starting balances and the price
known (50,000). The CCXT side is the CCXT tests' own ``fake``, ``world`` and ``venue``; the paper
venue trades the instrument those give, at the same price, on the same store, so both apply
the same rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from tests.fakes.binance import DEFAULT_BALANCES, FakeBinance
from tests.venues.ccxt import conftest as ccxt_fixtures
from tests.venues.ccxt.world import BTC, World
from tradewind.domain import events as ev
from tradewind.domain.clock import ManualClock
from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import PositionMode
from tradewind.engine.bus import EventBus
from tradewind.marketdata.feeds import ManualFeed
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.paper.venue import PaperVenue

fake, world, venue = ccxt_fixtures.fake, ccxt_fixtures.world, ccxt_fixtures.venue
"""The CCXT venue's tests' fixtures, here too: a FakeBinance, a store with an account on it, and
the loaded ``CcxtVenue``."""
PRICE = D(50_000)
START = {asset: D(amount) for asset, amount in DEFAULT_BALANCES.items()}
"""Every account's balances at the start (the fake exchange's; the paper account is given them)."""


@dataclass
class Desk:
    """A venue, an account on it, and what a contract test needs to drive either of them."""

    kind: str
    venue: PaperVenue | CcxtVenue
    account_id: str
    world: World
    events: list[ev.Event] = field(default_factory=list)
    """What the venue told its listeners, in order."""
    symbol: str = BTC
    price: D = PRICE

    @property
    def instrument(self) -> Instrument:
        return self.venue.instrument(self.symbol)

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.world.clock, ManualClock)
        return self.world.clock

    async def new_account(self) -> str:
        """Another account on the same venue, with the same balances."""
        raise NotImplementedError

    async def move(self, price: D) -> None:
        """The market trades at ``price`` now, and the venue has seen it (fills included)."""
        raise NotImplementedError

    async def restart(self) -> None:
        """A new venue on the same store (and exchange), loaded as at start-up, in ``venue``."""
        raise NotImplementedError


@dataclass
class PaperDesk(Desk):
    venue: PaperVenue

    async def new_account(self) -> str:
        info = await self.venue.open_account(
            user_id=self.world.user_id, name="paper", mode=PositionMode.NETTING, leverage=D(1),
            currency="USDT", balances=START,
        )  # fmt: skip
        return info.account_id

    async def move(self, price: D) -> None:
        self.clock.advance(1)
        feed = self.venue.feeds[self.symbol]
        assert isinstance(feed, ManualFeed)
        feed.push(self.symbol, float(price), self.clock.now_ms())
        await self.venue.tick()

    async def restart(self) -> None:
        self.venue = paper_like(self.venue, self.world)
        await self.venue.load()
        self.venue.listeners.append(self.events.extend)


@dataclass
class ExchangeDesk(Desk):
    venue: CcxtVenue
    fake: FakeBinance = field(kw_only=True)
    started: list[CcxtVenue] = field(default_factory=list)
    """Venues started by ``restart``, closed by the fixture."""

    async def new_account(self) -> str:
        """Another account on the same keys: the same exchange account."""
        other = await self.world.add_account()
        await self.venue.add_account(other, self.world.client())
        return other

    async def move(self, price: D) -> None:
        self.clock.advance(1)
        self.fake.set_price(self.symbol, price)
        await self.venue.refresh_prices()
        await self.venue.sync()

    async def restart(self) -> None:
        venue = await self.world.venue()  # it tells ``world.events``: ``events`` here
        self.started.append(venue)
        await venue.load()
        await venue.reconcile()
        await venue.prime_price(self.symbol)
        self.venue = venue


def paper_like(venue: CcxtVenue | PaperVenue, world: World) -> PaperVenue:
    """A paper venue on ``venue``'s instrument and the world's store, its price where
    ``venue``'s is. (``test_order_checks.paper_on`` gives it no sessions, as a backtest's: it
    could not read an ended order back, which a repeated client order id needs.)"""
    mark = venue.mark(BTC)
    assert mark is not None
    feed = ManualFeed(BTC, half_spread=0)
    feed.push(BTC, float(mark), world.clock.now_ms())
    return PaperVenue(
        instruments={BTC: venue.instrument(BTC)}, feeds={BTC: feed},
        sessions=world.writer.sessions, clock=world.clock, bus=EventBus(), writer=world.writer,
    )  # fmt: skip


@pytest.fixture(params=["paper", "ccxt"])
async def desk(
    request: pytest.FixtureRequest,
    database_url: str,  # first: a store that is skipped starts no exchange
    fake: FakeBinance,
    world: World,
    venue: CcxtVenue,
) -> AsyncIterator[Desk]:
    fake.set_price(BTC, PRICE)
    # one bar of history, not the thousand flat ones the venue's feed is otherwise seeded with
    fake.set_candles(BTC, [(world.clock.now_ms() - 60_000, PRICE, PRICE, PRICE, PRICE, 1)])
    await venue.prime_price(BTC)
    assert venue.mark(BTC) == PRICE
    if request.param == "ccxt":
        # the world's venue tells ``world.events`` (``World.venue``)
        on_exchange = ExchangeDesk("ccxt", venue, world.account_id, world, world.events, fake=fake)
        try:
            yield on_exchange
        finally:
            for started in on_exchange.started:
                await started.close()
        return
    paper = paper_like(venue, world)
    await paper.tick()  # the paper venue's price path starts here
    on_paper = PaperDesk("paper", paper, "", world)
    paper.listeners.append(on_paper.events.extend)
    on_paper.account_id = await on_paper.new_account()
    yield on_paper
