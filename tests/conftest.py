"""Fixtures: the real app on a real store, SQLite always and PostgreSQL when configured.

PostgreSQL runs when ``TRADEWIND_TEST_POSTGRES_URL`` is set (CI sets it). Each pytest worker
gets its own freshly created database, migrated once and truncated before each test. When
``CI=true`` and that variable is missing or the server is unreachable, the run fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.exchange_stub import StubClients
from tradewind.api.app import create_app
from tradewind.api.runtime import Runtime
from tradewind.domain.clock import ManualClock
from tradewind.settings import Settings, normalise_database_url
from tradewind.store.db import create_engine
from tradewind.store.migrate import upgrade
from tradewind.store.tables import Base
from tradewind.venues.paper.venue import PaperVenue

PG_ENV = "TRADEWIND_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not os.environ.get(PG_ENV):
        raise pytest.UsageError(
            f"CI=true but {PG_ENV} is not set: the PostgreSQL tests must run in CI"
        )


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster than per test)."""
    path = tmp_path_factory.mktemp("template") / "tradewind.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this worker, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    admin = make_url(normalise_database_url(base))
    name = f"tw_test_{_worker()}_{uuid.uuid4().hex[:8]}"

    async def admin_exec(sql: str) -> None:
        engine = create_engine(
            admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    try:
        asyncio.run(admin_exec(f'CREATE DATABASE "{name}"'))
    except Exception as e:
        message = f"PostgreSQL at {admin.host}:{admin.port} is unreachable: {e}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = admin.set(database=name).render_as_string(hide_password=False)

    async def migrate() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    yield url
    asyncio.run(admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "store" / "tradewind.db"
        target.parent.mkdir()
        shutil.copy(sqlite_template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")

    async def truncate() -> None:
        engine = create_engine(url)
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
        await engine.dispose()

    asyncio.run(truncate())
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, settings_overrides: dict[str, object]) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "jwt_secret": "test-secret-" + "x" * 32,
        # Tests move prices by hand (ManualFeed) and call venue.tick() themselves.
        "price_source": "manual",
        "paper_tick_seconds": 0,
    }
    return Settings(**(values | settings_overrides))  # type: ignore[arg-type]


@dataclass
class Harness:
    client: httpx.AsyncClient
    settings: Settings
    clock: ManualClock
    app: FastAPI

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    @property
    def venue(self) -> PaperVenue:
        return self.runtime.venues.paper

    async def move(self, symbol: str, *prices: float, step_seconds: float = 1.0) -> None:
        """Push prices one second apart (by default) and let the paper venue process them."""
        for price in prices:
            self.clock.advance(step_seconds)
            now = int(self.clock.now().timestamp() * 1000)
            self.venue.feeds[symbol].push(symbol, price, now)  # type: ignore[attr-defined]
            await self.venue.tick()
            await self.runtime.bots.settle()


@pytest.fixture
def exchange_clients() -> StubClients:
    """The app's CCXT clients, every URL pointed at an address where nothing listens: no test
    reaches a real exchange. Override in a module to point them at a stub."""
    return StubClients()


@pytest.fixture
async def tw(
    settings: Settings, clock: ManualClock, exchange_clients: StubClients
) -> AsyncIterator[Harness]:
    """The real app (lifespan run, store migrated) behind an HTTP client."""
    app = create_app(settings, clock=clock, exchange_clients=exchange_clients)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tradewind.test"
        ) as client:
            yield Harness(client=client, settings=settings, clock=clock, app=app)


@pytest.fixture
def client(tw: Harness) -> httpx.AsyncClient:
    return tw.client


# Under a loaded xdist run a property example can take longer than hypothesis' 200 ms default;
# the examples' correctness is what is tested, not their speed.
settings_profile = "tradewind"
hypothesis_settings.register_profile(settings_profile, deadline=None)
hypothesis_settings.load_profile(settings_profile)
