"""The app factory. Its lifespan is the composition root: everything is built here, once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tradewind import __version__
from tradewind.api import health, ws
from tradewind.api.dialects.anny import envelope as anny_envelope
from tradewind.api.dialects.anny import routes as anny_routes
from tradewind.api.dialects.haas import backtests as haas_backtests
from tradewind.api.dialects.haas import bots as haas_bots
from tradewind.api.dialects.haas import envelope as haas_envelope
from tradewind.api.dialects.haas import routes as haas_routes
from tradewind.api.dialects.haas import scripts as haas_scripts
from tradewind.api.dialects.quantarya import envelope as quantarya_envelope
from tradewind.api.dialects.quantarya import routes as quantarya_routes
from tradewind.api.dialects.tradyn import envelope as tradyn_envelope
from tradewind.api.dialects.tradyn import routes as tradyn_routes
from tradewind.api.dialects.trynquant import envelope as trynquant_envelope
from tradewind.api.dialects.trynquant import routes as trynquant_routes
from tradewind.api.errors import ErrorMappers, install_error_handlers, native_envelope
from tradewind.api.middleware import RequestContext
from tradewind.api.ratelimit import LoginThrottle, TokenBuckets
from tradewind.api.registry import serve_public_document
from tradewind.api.runtime import Runtime
from tradewind.api.v1 import (
    accounts,
    api_keys,
    bots,
    channels,
    journal,
    markets,
    scripts,
    signals,
    users,
)
from tradewind.api.v1 import backtests as backtests_api
from tradewind.api.v1 import exchanges as exchanges_api
from tradewind.api.v1 import sweeps as sweeps_api
from tradewind.backtest.jobs import BacktestJobs
from tradewind.diagnostics import install_stack_dumps
from tradewind.domain.clock import Clock, SystemClock
from tradewind.engine.bots import BotEngine
from tradewind.engine.bus import EventBus
from tradewind.logs import configure_logging, get_logger
from tradewind.marketdata.bundled import bundled_store
from tradewind.services.api_keys import UsageRecorder
from tradewind.services.credentials import load_vault
from tradewind.services.live import LiveVenues
from tradewind.services.market import MarketData
from tradewind.services.markets import ExchangeMarkets
from tradewind.services.security import TokenSigner, load_or_create_secret
from tradewind.services.trading import Venues
from tradewind.settings import Settings
from tradewind.store.db import StoreRunner, create_engine, session_factory
from tradewind.store.migrate import upgrade
from tradewind.venues.ccxt.clients import ClientFactory, ccxt_client
from tradewind.venues.ccxt.prices import LivePrices, public_client
from tradewind.venues.paper.catalog import PAPER_INSTRUMENTS, paper_instruments
from tradewind.venues.paper.venue import PaperVenue

log = get_logger("tradewind")

DESCRIPTION = """\
Tradewind's native API. Conventions: resources under `/api/v1`, JSON in and out, ids prefixed
by kind and sortable by creation, ISO-8601 UTC timestamps, cursor pagination
(`limit`, `cursor` → `next_cursor`), one error shape `{"error": {"code", "message", "details"}}`,
and an `X-Request-ID` header on every response. Authenticate with
`Authorization: Bearer pk_…:sk_…` (or the single `tk_live_…` token) or a login token.
"""


_tuned = False


def tune_garbage_collector() -> None:
    """Once per process (tests build many apps in one), after start-up:

    - what start-up built (routes, models, market data, loaded bots: a few hundred thousand
      objects) lives as long as the process; frozen out of the cyclic collector's reach, a
      full collection walks only what came after (it paused everything for about 100 ms
      every few seconds under load);
    - collections less often: garbage here is freed by reference counting, cycles are rare,
      and a burst (a signal reaching 10,000 bots builds millions of objects that live on)
      set off full collections over everything built so far, about 2 s in 8.
    """
    global _tuned
    if not _tuned:
        _tuned = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    exchange_clients: ClientFactory | None = None,
) -> FastAPI:
    """Build the service. Nothing touches the store until the lifespan starts.
    ``exchange_clients`` makes the CCXT clients (tests point them at a fake exchange)."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    clients = exchange_clients or ccxt_client
    configure_logging(settings.log_level, json=settings.log_json)
    burst = settings.rate_limit_burst_seconds
    key_limits = TokenBuckets(settings.rate_limit_per_key, settings.rate_limit_per_key * burst)
    ip_limits = TokenBuckets(settings.rate_limit_per_ip, settings.rate_limit_per_ip * burst)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.effective_database_url)
        await upgrade(engine)
        secret = settings.jwt_secret or load_or_create_secret(settings.data_dir / "jwt.key")
        master_key = settings.master_key.get_secret_value() if settings.master_key else None
        vault = load_vault(master_key, settings.data_dir)  # first: a bad key stops the start
        sessions = session_factory(engine)
        store = StoreRunner(engine)
        bus = EventBus()
        market = MarketData(bundled_store(settings.data_dir), clock)
        replay = market.replay_feeds(PAPER_INSTRUMENTS, bar_seconds=settings.replay_bar_seconds)
        feeds = (
            replay
            if settings.price_source == "replay"
            else market.manual_feeds(PAPER_INSTRUMENTS, seed=replay)
            if settings.price_source == "manual"
            else {}
        )
        live_prices = None
        if settings.price_source == "live":  # an exchange's public prices, through CCXT
            live_feeds = market.live_feeds(PAPER_INSTRUMENTS, exchange=settings.live_exchange)
            live_prices = LivePrices(
                (exchange_clients or public_client)(settings.live_exchange), live_feeds,
                clock=clock, poll_seconds=settings.live_poll_seconds,
            )  # fmt: skip
            await live_prices.start()  # waits for the first answer: bots resume with history
            feeds = {**live_feeds}
        paper = PaperVenue(
            instruments=paper_instruments(),
            feeds=feeds,
            sessions=sessions,
            clock=clock,
            bus=bus,
            writer=store,
        )
        await paper.load()
        bots = BotEngine(venue=paper, writer=store, join_writes=settings.engine_join_writes)
        resumed = await bots.load()
        bot_loop = asyncio.create_task(bots.run(), name="bot-engine")
        ticker = (
            asyncio.create_task(paper.run(settings.paper_tick_seconds), name="paper-venue-ticker")
            if settings.paper_tick_seconds > 0
            else None
        )
        backtests = BacktestJobs(
            store=store, clock=clock, data_dir=settings.data_dir,
            workers=settings.backtest_workers, max_span_days=settings.backtest_max_span_days,
            sweep_workers=settings.sweep_workers, max_combinations=settings.sweep_max_combinations,
        )  # fmt: skip
        interrupted = await backtests.recover()
        exchange_markets = ExchangeMarkets(
            store=store, clock=clock, clients=clients, refresh_seconds=settings.markets_refresh_seconds,
            local={"paper": lambda: paper.instruments.values()},
        )  # fmt: skip
        venues = Venues(paper, bots)
        live_venues = LiveVenues(
            venues=venues, writer=store, clock=clock, bus=bus, clients=clients, vault=vault,
            poll_seconds=settings.exchange_poll_seconds,
        )  # fmt: skip
        await live_venues.start()  # an exchange that cannot be reached is tried again meanwhile
        app.state.runtime = Runtime(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=sessions,
            signer=TokenSigner(secret, settings.jwt_ttl_seconds),
            key_limits=key_limits,
            ip_limits=ip_limits,
            login_throttle=LoginThrottle(
                settings.login_max_failures, settings.login_window_seconds
            ),
            bus=bus,
            market=market,
            venues=venues,
            key_usage=UsageRecorder(),
            store=store,
            bots=bots,
            live=live_venues,
            backtests=backtests,
            vault=vault,
            exchange_clients=clients,
            exchange_markets=exchange_markets,
        )
        log.info(
            "tradewind started", store=engine.dialect.name, data_dir=str(settings.data_dir),
            bots_resumed=resumed, backtests_interrupted=interrupted,
            exchanges=[s.venue for s in live_venues.status() if s.connected],
        )  # fmt: skip
        tune_garbage_collector()
        install_stack_dumps()
        try:
            yield
        finally:
            await backtests.close()
            await live_venues.close()
            for task in (ticker, bot_loop):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if live_prices is not None:
                await live_prices.close()
            store.close()
            await engine.dispose()

    app = FastAPI(
        title="Tradewind", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    serve_public_document(app)
    mappers = ErrorMappers(native_envelope)
    mappers.register(tradyn_envelope.PREFIX, tradyn_envelope.envelope)
    mappers.register(trynquant_envelope.PREFIX, trynquant_envelope.envelope)
    mappers.register(haas_envelope.PREFIX, haas_envelope.envelope)
    mappers.register(anny_envelope.PREFIX, anny_envelope.envelope)
    mappers.register(quantarya_envelope.PREFIX, quantarya_envelope.envelope)
    install_error_handlers(app, mappers)
    app.state.error_mappers = mappers
    app.add_middleware(
        RequestContext,
        mappers=mappers,
        ip_limits=ip_limits,
        max_body_bytes=settings.max_body_bytes,
        trust_forwarded_for=settings.trust_forwarded_for,
    )
    app.include_router(signals.hooks_router, prefix="/api/v1")  # first: the alerts' hot path
    app.include_router(health.router)
    for module in (
        users, api_keys, accounts, markets, scripts, bots, signals, backtests_api, sweeps_api,
    ):  # fmt: skip
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(tradyn_routes.router)
    app.include_router(trynquant_routes.router)
    app.include_router(haas_routes.router)
    app.include_router(haas_scripts.router)
    app.include_router(haas_bots.router)
    app.include_router(haas_backtests.router)
    app.include_router(channels.router, prefix="/api/v1")
    app.include_router(channels.trades_router, prefix="/api/v1")
    app.include_router(anny_routes.router)
    app.include_router(journal.router, prefix="/api/v1")
    app.include_router(exchanges_api.router, prefix="/api/v1")
    app.include_router(quantarya_routes.router)
    app.include_router(ws.router)
    return app
