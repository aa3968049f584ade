"""Everything the app builds at start-up, in one object held on ``app.state.runtime``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tradewind.api.ratelimit import LoginThrottle, TokenBuckets
from tradewind.backtest.jobs import BacktestJobs
from tradewind.domain.clock import Clock
from tradewind.engine.bots import BotEngine
from tradewind.engine.bus import EventBus
from tradewind.services.api_keys import UsageRecorder
from tradewind.services.credentials import Vault
from tradewind.services.live import LiveVenues
from tradewind.services.market import MarketData
from tradewind.services.markets import ExchangeMarkets
from tradewind.services.security import TokenSigner
from tradewind.services.trading import Venues
from tradewind.settings import Settings
from tradewind.store.db import StoreRunner
from tradewind.venues.ccxt.clients import ClientFactory


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    key_limits: TokenBuckets
    ip_limits: TokenBuckets
    login_throttle: LoginThrottle
    bus: EventBus
    market: MarketData
    venues: Venues
    key_usage: UsageRecorder
    store: StoreRunner
    bots: BotEngine
    """The paper venue's bot engine (every venue's: ``venues.engine(name)``)."""
    live: LiveVenues
    backtests: BacktestJobs
    vault: Vault
    exchange_clients: ClientFactory
    exchange_markets: ExchangeMarkets
