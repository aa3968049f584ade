"""Markets: CCXT's unified markets normalised, and the cache (fresh, reloaded, stale, none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.exchange_stub import UNREACHABLE, BinanceStub, StubClients
from tradewind.domain.clock import ManualClock
from tradewind.domain.errors import NotFound, VenueUnavailable
from tradewind.services.markets import (
    DECIMAL_PLACES,
    RETRY_AFTER_FAILURE,
    SIGNIFICANT_DIGITS,
    TICK_SIZE,
    ExchangeMarkets,
    Market,
    MarketType,
    from_ccxt,
    from_instrument,
)
from tradewind.store.db import StoreRunner, create_engine
from tradewind.venues.paper.catalog import paper_instruments

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def ccxt_market(**over: Any) -> dict[str, Any]:
    base = {
        "id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "settle": None,
        "type": "spot", "spot": True, "contract": False, "option": False, "active": True,
        "contractSize": None, "precision": {"amount": 1e-05, "price": 0.01},
        "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "cost": {"min": 5.0, "max": None},
                   "leverage": {"min": None, "max": None}},
    }  # fmt: skip
    return base | over


class TestFromCcxt:
    def test_spot_in_tick_size_mode(self) -> None:
        m = from_ccxt(ccxt_market(), TICK_SIZE)
        assert m is not None
        assert (m.tick_size, m.price_decimals, m.amount_step, m.amount_decimals) == (
            Decimal("0.01"), 2, Decimal("0.00001"), 5,
        )  # fmt: skip
        assert (m.min_amount, m.min_notional, m.max_leverage, m.contract_size) == (
            Decimal("0.00001"), Decimal(5), None, None,
        )  # fmt: skip
        assert (m.type, m.settle, m.exchange_symbol, m.active) == (
            MarketType.SPOT, None, "BTCUSDT", True,
        )  # fmt: skip

    def test_a_tick_that_is_not_a_power_of_ten(self) -> None:
        m = from_ccxt(ccxt_market(precision={"price": 0.5, "amount": 1}), TICK_SIZE)
        assert m is not None and (m.tick_size, m.price_decimals, m.amount_decimals) == (
            Decimal("0.5"), 1, 0,
        )  # fmt: skip

    def test_decimal_places_mode(self) -> None:
        m = from_ccxt(ccxt_market(precision={"price": 4, "amount": 8.0}), DECIMAL_PLACES)
        assert m is not None
        assert (m.tick_size, m.price_decimals, m.amount_step, m.amount_decimals) == (
            Decimal("0.0001"), 4, Decimal("1E-8"), 8,
        )  # fmt: skip

    def test_significant_digits_mode_has_no_tick(self) -> None:
        m = from_ccxt(ccxt_market(precision={"price": 5, "amount": 5}), SIGNIFICANT_DIGITS)
        assert m is not None and (m.tick_size, m.price_decimals) == (None, None)

    def test_a_perpetual(self) -> None:
        raw = ccxt_market(
            id="ETHUSDT", symbol="ETH/USDT:USDT", base="ETH", settle="USDT", type="swap",
            contract=True, contractSize=0.01, limits={"leverage": {"max": 100}}, active=False,
        )  # fmt: skip
        m = from_ccxt(raw, TICK_SIZE)
        assert m is not None and m.is_derivative
        assert (m.type, m.settle, m.contract_size, m.max_leverage, m.active) == (
            MarketType.SWAP, "USDT", Decimal("0.01"), Decimal(100), False,
        )  # fmt: skip
        assert (m.min_amount, m.min_notional) == (None, None)

    @pytest.mark.parametrize(
        "over", [{"type": "option", "option": True}, {"type": "index"}, {"type": "margin"}]
    )
    def test_what_tradewind_does_not_trade_is_left_out(self, over: dict[str, Any]) -> None:
        assert from_ccxt(ccxt_market(**over), TICK_SIZE) is None


@given(
    tick=st.decimals(min_value=Decimal("1e-8"), max_value=Decimal(1000), places=8),
    minimum=st.none() | st.decimals(min_value=0, max_value=Decimal(10**9), places=8),
)
def test_json_round_trip(tick: Decimal, minimum: Decimal | None) -> None:
    m = from_ccxt(ccxt_market(precision={"price": str(tick), "amount": 1}), TICK_SIZE)
    assert m is not None
    m = Market(**{**{f: getattr(m, f) for f in m.__slots__}, "min_notional": minimum})
    assert Market.from_json(m.to_json()) == m


def test_paper_instruments_as_markets() -> None:
    by_symbol = {i.symbol: from_instrument(i) for i in paper_instruments().values()}
    btc, perp = by_symbol["BTC/USDT"], by_symbol["BTC/USDT:USDT"]
    assert (btc.type, btc.settle, btc.max_leverage) == (MarketType.SPOT, None, None)
    assert (perp.type, perp.settle, perp.exchange_symbol) == (MarketType.SWAP, "USDT", "BTCUSDT")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreRunner]:
    engine = create_engine(database_url)
    runner = StoreRunner(engine)
    yield runner
    runner.close()
    await engine.dispose()


@pytest.fixture
async def stub() -> AsyncIterator[BinanceStub]:
    async with BinanceStub().serving() as served:
        yield served


def cache(store: StoreRunner, clock: ManualClock, clients: StubClients) -> ExchangeMarkets:
    return ExchangeMarkets(store=store, clock=clock, clients=clients, refresh_seconds=3600)


class TestCache:
    async def test_fresh_copy_served_without_asking_again(
        self, store: StoreRunner, stub: BinanceStub
    ) -> None:
        clock, clients = ManualClock(T0), StubClients(stub.url)
        markets = cache(store, clock, clients)
        first = await markets.get("binance")
        clock.advance(3599)
        second = await markets.get("BINANCE")
        assert [m.symbol for m in first.markets] == ["BTC/USDT", "ETH/USDT"]
        assert (second.fetched_at, second.age_seconds, second.stale) == (T0, 3599, False)
        assert len(clients.made) == 1

    async def test_the_store_copy_outlives_the_process(
        self, store: StoreRunner, stub: BinanceStub
    ) -> None:
        clock = ManualClock(T0)
        loaded = await cache(store, clock, StubClients(stub.url)).get("binance")
        clock.advance(60)
        later = cache(store, clock, StubClients(UNREACHABLE))  # a restart, exchange gone
        again = await later.get("binance")
        assert again.markets == loaded.markets and again.age_seconds == 60 and not again.stale

    async def test_stale_with_its_age_then_reloaded_when_the_exchange_is_back(
        self, store: StoreRunner, stub: BinanceStub
    ) -> None:
        clock, clients = ManualClock(T0), StubClients(stub.url)
        markets = cache(store, clock, clients)
        await markets.get("binance")
        clients.url = UNREACHABLE
        clock.advance(4000)

        stale = await markets.get("binance")

        assert (stale.stale, stale.age_seconds, stale.fetched_at) == (True, 4000, T0)
        assert stale.error is not None and "ExchangeNotAvailable" in stale.error
        # not asked again until the retry delay has passed
        clients.url = stub.url
        assert (await markets.get("binance")).stale and len(clients.made) == 2
        clock.advance(RETRY_AFTER_FAILURE)
        fresh = await markets.get("binance")
        assert (fresh.stale, fresh.age_seconds, fresh.error) == (False, 0, None)
        assert len(clients.made) == 3

    async def test_none_cached_and_unreachable_is_venue_unavailable(
        self, store: StoreRunner
    ) -> None:
        markets = cache(store, ManualClock(T0), StubClients(UNREACHABLE))
        with pytest.raises(VenueUnavailable, match="no copy of its markets is cached"):
            await markets.get("binance")
        assert await markets.cached("binance") is None
        with pytest.raises(NotFound):
            await markets.get("nowhere")
