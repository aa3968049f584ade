"""FakeBinance's faults, authentication and restarts, and the CCXT errors they become."""

from __future__ import annotations

import time
from decimal import Decimal as D
from typing import Any

import ccxt
import httpx
import pytest

from tests.fakes.binance import (
    SPOT_ONLY_OPTIONS,
    FakeBinance,
    FaultKind,
    OrderStatus,
    ccxt_binance,
)

BTC = "BTC/USDT"
ORDER = "/api/v3/order"


async def buy(exchange: Any, client_order_id: str = "tw-1") -> Any:
    return await exchange.create_order(
        BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": client_order_id}
    )


def ping(fake: FakeBinance, timeout: float = 5) -> httpx.Response:
    # trust_env off: no proxy from the environment between a test and 127.0.0.1.
    return httpx.get(f"{fake.url}/api/v3/ping", timeout=timeout, trust_env=False)


def orders_with(fake: FakeBinance, client_order_id: str) -> list[Any]:
    return [o for o in fake.orders if o.client_order_id == client_order_id]


class TestRateLimit:
    async def test_429_is_ddos_protection_and_nothing_is_done(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        fake.rate_limit(method="POST", path=ORDER)

        # CCXT raises DDoSProtection on any 429, before reading the body (-1003 would be
        # RateLimitExceeded, its subclass): catch DDoSProtection.
        with pytest.raises(ccxt.DDoSProtection) as raised:
            await buy(exchange)

        assert type(raised.value) is ccxt.DDoSProtection
        assert fake.orders == []
        assert [r.fault for r in fake.requests_to("POST", ORDER)] == [FaultKind.RATE_LIMIT]
        await buy(exchange)
        assert len(fake.orders) == 1

    async def test_only_matching_requests_are_limited(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        fake.rate_limit(2, method="POST", path=ORDER)

        await exchange.fetch_open_orders(BTC)
        await exchange.fetch_balance()

        assert [f.remaining for f in fake.armed_faults] == [2]

    def test_the_answer_is_binances(self, fake: FakeBinance) -> None:
        fake.rate_limit(retry_after=7)

        response = ping(fake)

        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert response.json()["code"] == -1003
        assert ping(fake).json() == {}


class TestServerError:
    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_is_exchange_not_available_and_nothing_is_done(
        self, fake: FakeBinance, exchange: Any, status: int
    ) -> None:
        fake.server_error(status=status, path=ORDER)

        with pytest.raises(ccxt.ExchangeNotAvailable):
            await buy(exchange)

        assert fake.orders == []


class TestTimeout:
    async def test_accepted_then_too_late_is_one_order(self, fake: FakeBinance) -> None:
        exchange = ccxt_binance(fake, timeout=500)
        try:
            await exchange.load_markets()
            fake.timeout(method="POST", path=ORDER, executed=True)

            with pytest.raises(ccxt.RequestTimeout):
                await buy(exchange, "tw-t")
            found = await exchange.fetch_order(None, BTC, {"clientOrderId": "tw-t"})
            with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
                await buy(exchange, "tw-t")
        finally:
            await exchange.close()

        assert found["status"] == "open"
        assert len(orders_with(fake, "tw-t")) == 1
        assert len(fake.requests_to("POST", ORDER)) == 2

    async def test_never_accepted_is_no_order(self, fake: FakeBinance) -> None:
        exchange = ccxt_binance(fake, timeout=500)
        try:
            await exchange.load_markets()
            fake.timeout(method="POST", path=ORDER)

            with pytest.raises(ccxt.RequestTimeout):
                await buy(exchange, "tw-n")
            assert orders_with(fake, "tw-n") == []
            with pytest.raises(ccxt.OrderNotFound):
                await exchange.fetch_order(None, BTC, {"clientOrderId": "tw-n"})
            await buy(exchange, "tw-n")
        finally:
            await exchange.close()

        assert len(orders_with(fake, "tw-n")) == 1

    async def test_a_short_one_answers_late_with_execution_unknown(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        fake.timeout(method="POST", path=ORDER, seconds=0.05)

        # Binance's own -1007: CCXT makes it RequestTimeout too.
        with pytest.raises(ccxt.RequestTimeout, match="-1007"):
            await buy(exchange)

    def test_sync_client(self, fake: FakeBinance) -> None:
        exchange = ccxt_binance(fake, async_=False, timeout=500)
        exchange.load_markets()
        fake.timeout(method="POST", path=ORDER, executed=True)

        with pytest.raises(ccxt.RequestTimeout):
            exchange.create_order(BTC, "market", "buy", 0.001, None, {"clientOrderId": "tw-s"})

        assert fake.order("tw-s").status is OrderStatus.FILLED
        exchange.close()

    def test_stopping_ends_a_pending_one(self, fake: FakeBinance) -> None:
        fake.timeout(seconds=60)
        with pytest.raises(httpx.ReadTimeout):
            ping(fake, timeout=0.2)

        started = time.monotonic()
        fake.stop()

        assert time.monotonic() - started < 1


class TestLostAnswer:
    async def test_connection_closed_unanswered_after_the_order_is_placed(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        fake.lose_answer(method="POST", path=ORDER)

        with pytest.raises(ccxt.ExchangeNotAvailable):
            await buy(exchange, "tw-l")

        assert [o.status for o in orders_with(fake, "tw-l")] == [OrderStatus.NEW]
        assert fake.balance("USDT").locked == D(490)
        assert len(fake.requests_to("POST", ORDER)) == 1

    async def test_an_error_page_instead_of_the_answer(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        fake.lose_answer(status=502, method="POST", path=ORDER)

        with pytest.raises(ccxt.ExchangeNotAvailable):
            await buy(exchange, "tw-p")

        assert len(orders_with(fake, "tw-p")) == 1

    async def test_a_lost_cancel_is_resent_by_aiohttp_and_reads_as_unknown_order(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        created = await buy(exchange)
        fake.lose_answer(method="DELETE", path=ORDER)

        # aiohttp resends a GET or DELETE once when a kept-alive connection closes unanswered;
        # the resent cancel finds the order already cancelled, which Binance calls unknown.
        with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
            await exchange.cancel_order(created["id"], BTC)

        assert fake.order(created["id"]).status is OrderStatus.CANCELED
        faults = [r.fault for r in fake.requests_to("DELETE", ORDER)]
        assert faults == [FaultKind.LOSE_ANSWER, None]

    def test_sync_client_sees_a_network_error(self, fake: FakeBinance) -> None:
        exchange = ccxt_binance(fake, async_=False)
        exchange.load_markets()
        fake.lose_answer(method="POST", path=ORDER)

        # requests' ConnectionError: CCXT's sync client raises the base NetworkError for it.
        with pytest.raises(ccxt.NetworkError):
            exchange.create_order(BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-y"})

        assert len(orders_with(fake, "tw-y")) == 1
        exchange.close()


class TestAuthentication:
    @pytest.mark.parametrize(
        ("config", "code"),
        [
            ({"secret": "not-the-secret"}, "-1022"),
            ({"apiKey": "A" * 64}, "-2015"),
            ({"apiKey": "short-key"}, "-2014"),
        ],
        ids=["wrong secret", "unknown key", "malformed key"],
    )
    async def test_wrong_credentials(
        self, fake: FakeBinance, config: dict[str, Any], code: str
    ) -> None:
        exchange = ccxt_binance(fake, options=SPOT_ONLY_OPTIONS, **config)
        try:
            await exchange.load_markets()
            with pytest.raises(ccxt.AuthenticationError, match=code):
                await exchange.fetch_balance()
        finally:
            await exchange.close()

    async def test_a_client_with_other_keys_is_refused_at_load_markets(
        self, fake: FakeBinance
    ) -> None:
        exchange = ccxt_binance(fake, secret="not-the-secret")
        try:
            with pytest.raises(ccxt.AuthenticationError):
                await exchange.load_markets()
        finally:
            await exchange.close()

    async def test_a_client_without_keys_reads_market_data(self, fake: FakeBinance) -> None:
        exchange = ccxt_binance(fake, apiKey=None, secret=None)
        try:
            await exchange.load_markets()
            ticker = await exchange.fetch_ticker(BTC)
        finally:
            await exchange.close()

        assert ticker["last"] == 50000
        assert not [r for r in fake.requests if r.path.startswith("/sapi")]

    async def test_a_clock_far_behind_is_an_invalid_nonce(self, exchange: Any) -> None:
        exchange.options["timeDifference"] = 120_000

        with pytest.raises(ccxt.InvalidNonce):
            await exchange.fetch_balance()


class TestLifecycle:
    async def test_a_restart_keeps_state_and_address(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        created = await buy(exchange, "tw-r")
        url = fake.url

        fake.stop()
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await exchange.fetch_order(created["id"], BTC)
        fake.set_price(BTC, 48000)  # filled while nobody was watching
        fake.start()
        order = await exchange.fetch_order(created["id"], BTC)

        assert fake.url == url
        assert (order["status"], order["filled"]) == ("closed", 0.01)

    def test_starts_and_stops_again_and_again(self) -> None:
        fake = FakeBinance()
        with pytest.raises(RuntimeError, match="no address"):
            _ = fake.url
        for _ in range(3):
            with fake:
                assert ping(fake).json() == {}
                with pytest.raises(RuntimeError, match="already running"):
                    fake.start()
            assert not fake.running
        fake.stop()

    def test_each_fake_has_its_own_port_and_state(self) -> None:
        with FakeBinance() as one, FakeBinance(balances={"USDT": 5}) as other:
            assert one.url != other.url
            assert (one.balance("USDT").free, other.balance("USDT").free) == (D(10000), D(5))

    def test_an_unknown_endpoint_says_so(self, fake: FakeBinance) -> None:
        response = httpx.get(f"{fake.url}/api/v3/avgPrice", trust_env=False)

        assert response.status_code == 404
        assert "does not serve GET /api/v3/avgPrice" in response.text
