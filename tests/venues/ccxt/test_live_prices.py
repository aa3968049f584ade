"""Live prices for paper accounts: LivePrices follows FakeBinance through CCXT's real binance
client (Tradewind's own client factory, pointed at the fake), and the app's paper venue trades
on them. Nothing here reaches the internet. The websocket path is driven by a stub client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Harness
from tests.exchange_stub import SPOT_ONLY, point_at
from tests.fakes.binance import FakeBinance
from tests.helpers import key_auth, new_key, new_user
from tradewind.domain.clock import ManualClock
from tradewind.logs import configure_logging
from tradewind.marketdata.live import LiveFeed, NoLivePrice
from tradewind.services.credentials import Credentials
from tradewind.venues.ccxt.clients import ClientFactory, ccxt_client
from tradewind.venues.ccxt.prices import SEED_BARS, LivePrices, public_client
from tradewind.venues.paper.catalog import PAPER_INSTRUMENTS

BTC, ETH = "BTC/USDT", "ETH/USDT"
MINUTE = 60_000
TICKERS = "/api/v3/ticker/24hr"


def now_ms(clock: ManualClock) -> int:
    return int(clock.now().timestamp() * 1000)


def history(clock: ManualClock) -> list[tuple[int, float, float, float, float, float]]:
    """Five closed minutes before the clock's time, and the minute in progress."""
    start = now_ms(clock) // MINUTE * MINUTE - 5 * MINUTE
    return [
        (start + i * MINUTE, 49_000.0 + i, 49_010.0 + i, 48_990.0 + i, 49_005.0 + i, 2.0 + i)
        for i in range(6)
    ]


def clients_of(fake: FakeBinance) -> ClientFactory:
    """Tradewind's own client factory, pointed at the fake, without CCXT's throttle (it spaces
    Binance's weighted requests up to a second apart: right for Binance, slow for a test)."""

    def make(exchange_id: str, credentials: Credentials | None = None) -> Any:
        config = {**SPOT_ONLY, "enableRateLimit": False, "timeout_on_exit": 0}
        return point_at(ccxt_client(exchange_id, credentials, config=config), fake.url)

    return make


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeBinance]:
    with FakeBinance() as fake:
        fake.set_candles(BTC, history(clock))
        yield fake


@pytest.fixture
def feeds() -> dict[str, LiveFeed]:
    return {
        i.symbol: LiveFeed(i.symbol, exchange="binance", half_spread=float(i.half_spread))
        for i in PAPER_INSTRUMENTS
    }


@pytest.fixture
async def prices(
    fake: FakeBinance, feeds: dict[str, LiveFeed], clock: ManualClock
) -> AsyncIterator[LivePrices]:
    prices = LivePrices(clients_of(fake)("binance"), feeds, clock=clock, poll_seconds=1.0)
    try:
        yield prices
    finally:
        await prices.close()


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """What was logged since the last call."""
    configure_logging()
    capsys.readouterr()
    return lambda: capsys.readouterr().err


class TestPolling:
    async def test_the_quote_follows_the_exchange(
        self, prices: LivePrices, fake: FakeBinance, feeds: dict[str, LiveFeed], clock: ManualClock
    ) -> None:
        await prices.poll()
        assert feeds[BTC].quote_at(now_ms(clock)).last == 50_000.0
        fake.set_price(BTC, "51234.5")
        clock.advance(2)

        waits = await prices.poll()

        now = now_ms(clock)
        assert waits == [1.0]
        assert feeds[BTC].quote_at(now).last == 51_234.5
        assert feeds[BTC].price_path(now - 2_000, now) == [
            (now - 2_000, 50_000.0), (now, 50_000.0), (now, 51_234.5),
        ]  # fmt: skip
        assert feeds[ETH].quote_at(now).last == 3_000.0

    async def test_prices_are_stamped_when_received_not_with_the_exchanges_time(
        self, prices: LivePrices, feeds: dict[str, LiveFeed], clock: ManualClock
    ) -> None:
        await prices.poll()  # the fake's tickers carry its own (later) clock's time

        status = feeds[BTC].status(now_ms(clock))

        assert status.last_update_ms == now_ms(clock)
        assert (status.connected, status.listed, status.exchange_symbol) == (True, True, BTC)

    async def test_one_request_a_round_for_every_symbol(
        self, prices: LivePrices, fake: FakeBinance
    ) -> None:
        await prices.poll()
        fake.clear_requests()

        await prices.poll()
        await prices.poll()

        asked = fake.requests_to("GET", TICKERS)
        assert [r.path for r in fake.requests] == [TICKERS, TICKERS]
        assert BTC.replace("/", "") in asked[0].params["symbols"]
        assert ETH.replace("/", "") in asked[0].params["symbols"]

    async def test_symbols_the_exchange_lacks_get_no_price_logged_once(
        self, prices: LivePrices, feeds: dict[str, LiveFeed], clock: ManualClock, logs: Callable[[], str]
    ) -> None:  # fmt: skip
        await prices.poll()
        await prices.poll()

        for symbol in ("LTC/USDT", "BTC/USDT:USDT", "EURUSD"):
            assert feeds[symbol].listed is False
            with pytest.raises(NoLivePrice, match=f"binance does not list {symbol}"):
                feeds[symbol].quote_at(now_ms(clock))
        assert logs().count("symbols the exchange does not list get no price") == 1


class TestCandles:
    async def test_seeded_from_the_exchanges_one_minute_klines(
        self, prices: LivePrices, fake: FakeBinance, feeds: dict[str, LiveFeed], clock: ManualClock
    ) -> None:
        await prices.poll()
        now = now_ms(clock)

        candles = feeds[BTC].candles_between(now - 10 * MINUTE, now + 1)

        closed = history(clock)[:5]  # the minute in progress is not kept: it would never close
        assert candles.ts.tolist() == [row[0] for row in closed] + [now // MINUTE * MINUTE]
        assert candles.close.tolist() == [row[4] for row in closed] + [50_000.0]
        assert candles.volume.tolist()[:5] == [row[5] for row in closed]
        (klines,) = fake.requests_to("GET", "/api/v3/klines")[:1]
        assert (klines.params["interval"], klines.params["limit"]) == ("1m", str(SEED_BARS))


class TestOutage:
    async def test_the_last_price_holds_logged_once_and_it_recovers(
        self, prices: LivePrices, fake: FakeBinance, feeds: dict[str, LiveFeed],
        clock: ManualClock, logs: Callable[[], str],
    ) -> None:  # fmt: skip
        await prices.poll()
        fake.server_error(n=5)

        waits = []
        for _ in range(5):
            clock.advance(1)
            waits += await prices.poll()

        assert waits == [2.0, 4.0, 8.0, 16.0, 32.0]  # backing off: poll_seconds doubled
        status = feeds[BTC].status(now_ms(clock))
        assert feeds[BTC].quote_at(now_ms(clock)).last == 50_000.0
        assert (status.connected, status.age_ms) == (False, 5_000)
        assert status.error is not None and "503" in status.error and "<html" not in status.error
        fake.set_price(BTC, 50_500)

        assert await prices.poll() == [1.0]
        status = feeds[BTC].status(now_ms(clock))
        assert feeds[BTC].quote_at(now_ms(clock)).last == 50_500.0
        assert (status.connected, status.age_ms, status.error) == (True, 0, None)
        logged = logs()
        assert logged.count("live prices unavailable") == 1
        assert logged.count("live prices back") == 1 and "failures=5" in logged

    async def test_a_rate_limit_waits_as_long_as_the_exchange_asks(
        self, prices: LivePrices, fake: FakeBinance
    ) -> None:
        await prices.poll()
        fake.rate_limit(retry_after=30)

        assert await prices.poll() == [30.0]

    async def test_an_exchange_down_at_start(
        self, prices: LivePrices, fake: FakeBinance, feeds: dict[str, LiveFeed], clock: ManualClock
    ) -> None:
        fake.stop()

        assert await prices.poll() == [2.0]
        with pytest.raises(NoLivePrice, match="no BTC/USDT price from binance yet"):
            feeds[BTC].quote_at(now_ms(clock))
        assert feeds[BTC].status(now_ms(clock)).error is not None
        fake.start()

        assert await prices.poll() == [1.0]
        assert feeds[BTC].quote_at(now_ms(clock)).last == 50_000.0


class StubWatcher:
    """A ccxt.pro client as far as LivePrices uses one: tickers come when a test sends them."""

    id = "stubex"
    has = {"watchTickers": True, "fetchOHLCV": False}

    def __init__(self) -> None:
        self.updates: asyncio.Queue[dict[str, Any] | Exception] = asyncio.Queue()
        self.closed = False

    async def load_markets(self) -> dict[str, Any]:
        return {BTC: {"symbol": BTC, "type": "spot", "active": True}}

    async def watch_tickers(self, symbols: list[str]) -> dict[str, Any]:
        assert symbols == [BTC]
        update = await self.updates.get()
        if isinstance(update, Exception):
            raise update
        return update

    async def close(self) -> None:
        self.closed = True


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.005)


class TestWebsocket:
    async def test_tickers_are_watched_in_the_background_and_errors_back_off(
        self, clock: ManualClock
    ) -> None:
        import ccxt

        client, waits = StubWatcher(), []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(0)

        feed = LiveFeed(BTC, exchange="stubex")
        prices = LivePrices(client, {BTC: feed}, clock=clock, poll_seconds=1.0, sleep=sleep)
        assert prices.watching
        client.updates.put_nowait({BTC: {"last": 100.0, "bid": 99.0, "ask": 101.0}})

        await prices.start(wait=5)  # returns once the first update is in

        assert feed.quote_at(now_ms(clock)).bid == 99.0
        client.updates.put_nowait(ccxt.NetworkError("connection lost"))
        await until(lambda: not feed.connected)
        assert feed.quote_at(now_ms(clock)).last == 100.0
        assert waits == [2.0]
        client.updates.put_nowait({BTC: {"last": 102.0}})
        await until(lambda: feed.connected)
        assert feed.quote_at(now_ms(clock)).last == 102.0
        await prices.close()
        assert client.closed


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"price_source": "live", "live_poll_seconds": 0.02}


@pytest.fixture
def exchange_clients(fake: FakeBinance) -> ClientFactory:
    return clients_of(fake)


async def trader(tw: Harness) -> tuple[dict[str, str], str]:
    user = await new_user(tw.client)
    h = key_auth(await new_key(tw.client, user["auth"], "trade"))
    accounts = (await tw.client.get("/api/v1/accounts", headers=h)).json()
    return h, accounts[0]["account_id"]


class TestPaperVenueOnLivePrices:
    async def test_a_resting_limit_order_fills_when_the_exchanges_price_crosses_it(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h, acc = await trader(tw)
        tw.clock.advance(1)
        await tw.venue.tick()
        r = await tw.client.post(f"/api/v1/accounts/{acc}/orders", headers=h, json={
            "symbol": BTC, "side": "buy", "type": "limit", "amount": "0.01", "price": "49000",
        })  # fmt: skip
        assert r.status_code == 201, r.text
        order = r.json()
        assert order["status"] == "open"

        fake.set_price(BTC, 48_900)
        feed = tw.venue.feeds[BTC]
        await until(lambda: feed.quote_at(tw.venue.now_ms()).last == 48_900.0)
        tw.clock.advance(1)
        await tw.venue.tick()

        got = (await tw.client.get(f"/api/v1/accounts/{acc}/orders/{order['order_id']}", headers=h)).json()  # fmt: skip
        assert got["status"] == "filled" and got["average_price"] == "49000"
        assert got["fills"][0]["liquidity"] == "maker"

    async def test_an_order_on_a_symbol_the_exchange_lacks_is_refused_503(
        self, tw: Harness
    ) -> None:
        h, acc = await trader(tw)

        r = await tw.client.post(f"/api/v1/accounts/{acc}/orders", headers=h, json={
            "symbol": "LTC/USDT", "side": "buy", "type": "market", "amount": "1",
        })  # fmt: skip

        assert r.status_code == 503
        assert "binance does not list LTC/USDT" in r.json()["error"]["message"]

    async def test_ticker_and_candles_are_the_exchanges(self, tw: Harness) -> None:
        h, _ = await trader(tw)
        tw.clock.advance(30)  # into the minute the first price came in

        ticker = (await tw.client.get(f"/api/v1/markets/paper/{BTC}/ticker", headers=h)).json()
        page = (await tw.client.get(f"/api/v1/markets/paper/{BTC}/candles", headers=h,
                                    params={"timeframe": "1m", "limit": 3})).json()  # fmt: skip

        assert (ticker["bid"], ticker["last"], ticker["ask"]) == ("49999.5", "50000", "50000.5")
        # two seeded from the exchange's klines, and the minute of the prices since
        assert [c["close"] for c in page["candles"]] == [49_008.0, 49_009.0, 50_000.0]

    async def test_readyz_reports_each_feed(self, tw: Harness) -> None:
        r = await tw.client.get("/readyz")

        assert r.status_code == 200
        status = {s["symbol"]: s for s in r.json()["live_prices"]}
        assert status[BTC]["connected"] is True and status[BTC]["exchange"] == "binance"
        assert status["EURUSD"]["listed"] is False


class TestPublicClient:
    async def test_a_websocket_client_where_ccxt_pro_has_the_exchange(
        self, clock: ManualClock
    ) -> None:
        client = public_client("binance")  # made, never connected
        try:
            assert LivePrices(client, {}, clock=clock, poll_seconds=2.0).watching
            assert not client.apiKey and client.enableRateLimit  # public, and throttled
        finally:
            await client.close()

    @pytest.mark.parametrize("exchange", ["nope", "paper"])
    def test_an_exchange_ccxt_lacks_is_refused(self, exchange: str) -> None:
        with pytest.raises(ValueError, match=f"CCXT has no exchange '{exchange}'"):
            public_client(exchange)
