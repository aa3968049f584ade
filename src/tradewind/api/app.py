"""The app factory. Its lifespan is the composition root: everything is built here, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tradewind import __version__
from tradewind.api import health
from tradewind.api.errors import ErrorMappers, install_error_handlers, native_envelope
from tradewind.api.middleware import RequestContext
from tradewind.api.ratelimit import LoginThrottle, TokenBuckets
from tradewind.api.runtime import Runtime
from tradewind.api.v1 import api_keys, users
from tradewind.domain.clock import Clock, SystemClock
from tradewind.logs import configure_logging, get_logger
from tradewind.services.security import TokenSigner, load_or_create_secret
from tradewind.settings import Settings
from tradewind.store.db import create_engine, session_factory
from tradewind.store.migrate import upgrade

log = get_logger("tradewind")

DESCRIPTION = """\
Tradewind's native API. Conventions: resources under `/api/v1`, JSON in and out, ids prefixed
by kind and sortable by creation, ISO-8601 UTC timestamps, cursor pagination
(`limit`, `cursor` → `next_cursor`), one error shape `{"error": {"code", "message", "details"}}`,
and an `X-Request-ID` header on every response. Authenticate with
`Authorization: Bearer pk_…:sk_…` (or the single `tk_live_…` token) or a login token.
"""


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the service. Nothing touches the store until the lifespan starts."""
    settings = settings or Settings()
    clock = clock or SystemClock()
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
        app.state.runtime = Runtime(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=session_factory(engine),
            signer=TokenSigner(secret, settings.jwt_ttl_seconds),
            key_limits=key_limits,
            ip_limits=ip_limits,
            login_throttle=LoginThrottle(
                settings.login_max_failures, settings.login_window_seconds
            ),
        )
        log.info("tradewind started", store=engine.dialect.name, data_dir=str(settings.data_dir))
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Tradewind", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    mappers = ErrorMappers(native_envelope)
    install_error_handlers(app, mappers)
    app.state.error_mappers = mappers
    app.add_middleware(
        RequestContext,
        mappers=mappers,
        ip_limits=ip_limits,
        max_body_bytes=settings.max_body_bytes,
        trust_forwarded_for=settings.trust_forwarded_for,
    )
    app.include_router(health.router)
    for module in (users, api_keys):
        app.include_router(module.router, prefix="/api/v1")
    return app
