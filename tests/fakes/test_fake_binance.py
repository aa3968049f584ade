"""FakeBinance as CCXT's own binance client sees it: markets, market data, balances, orders."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import ccxt
import pytest

from tests.fakes.binance import (
    SPOT_ONLY_OPTIONS,
    Balance,
    FakeBinance,
    OrderStatus,
    ccxt_binance,
)

BTC, ETH = "BTC/USDT", "ETH/USDT"


class TestLoadMarkets:
    async def test_filters_become_precision_and_limits(self, exchange: Any) -> None:
        btc = exchange.market(BTC)

        assert sorted(exchange.symbols) == [BTC, ETH]
        assert (btc["id"], btc["spot"], btc["active"]) == ("BTCUSDT", True, True)
        assert btc["precision"]["price"] == 0.01
        assert btc["precision"]["amount"] == 0.00001
        assert btc["limits"]["amount"]["min"] == 0.00001
        assert btc["limits"]["cost"]["min"] == 5
        assert btc["maker"] == btc["taker"] == 0.001
        assert exchange.market(ETH)["precision"]["amount"] == 0.0001
        assert exchange.price_to_precision(BTC, 50000.123) == "50000.12"

    async def test_a_client_with_no_options_is_served_every_api_it_asks(
        self, fake: FakeBinance
    ) -> None:
        exchange = ccxt_binance(fake)
        try:
            await exchange.load_markets()
        finally:
            await exchange.close()

        assert {r.path for r in fake.requests} == {
            "/api/v3/exchangeInfo",
            "/fapi/v1/exchangeInfo",
            "/dapi/v1/exchangeInfo",
            "/sapi/v1/margin/allPairs",
            "/sapi/v1/margin/isolated/allPairs",
            "/sapi/v1/capital/config/getall",
        }
        assert {"BTC", "ETH", "USDT"} <= set(exchange.currencies)

    async def test_spot_only_options_make_it_one_request(self, fake: FakeBinance) -> None:
        exchange = ccxt_binance(fake, options=SPOT_ONLY_OPTIONS)
        try:
            await exchange.load_markets()
        finally:
            await exchange.close()

        assert [r.path for r in fake.requests] == ["/api/v3/exchangeInfo"]
        assert sorted(exchange.symbols) == [BTC, ETH]


class TestMarketData:
    async def test_time(self, exchange: Any) -> None:
        assert abs(await exchange.fetch_time() - time.time() * 1000) < 5000

    async def test_ticker_follows_the_price(self, fake: FakeBinance, exchange: Any) -> None:
        fake.set_price(BTC, 51000)

        ticker = await exchange.fetch_ticker(BTC)

        assert (ticker["last"], ticker["bid"], ticker["ask"]) == (51000, 51000, 51000)
        assert (ticker["open"], ticker["change"], ticker["high"]) == (50000, 1000, 51000)

    async def test_tickers_last_prices_and_bids_asks(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        fake.set_price(ETH, 3100)

        tickers = await exchange.fetch_tickers([BTC, ETH])
        last_prices = await exchange.fetch_last_prices()
        bids_asks = await exchange.fetch_bids_asks([ETH])

        assert {s: t["last"] for s, t in tickers.items()} == {BTC: 50000, ETH: 3100}
        assert last_prices[ETH]["price"] == 3100
        assert bids_asks[ETH]["bid"] == bids_asks[ETH]["ask"] == 3100

    async def test_order_book_is_the_last_price_both_sides(self, exchange: Any) -> None:
        book = await exchange.fetch_order_book(BTC)

        assert book["bids"][0][0] == book["asks"][0][0] == 50000

    async def test_ohlcv_gives_the_candles_set(self, fake: FakeBinance, exchange: Any) -> None:
        t0 = 1_700_000_040_000 // 60_000 * 60_000
        fake.set_candles(
            BTC, [(t0 + i * 60_000, 100 + i, 110 + i, 90 + i, 105 + i, 2) for i in range(5)]
        )

        latest = await exchange.fetch_ohlcv(BTC, "1m", limit=2)
        from_t1 = await exchange.fetch_ohlcv(BTC, "1m", since=t0 + 60_000, limit=2)

        assert latest == [
            [t0 + 180_000, 103, 113, 93, 108, 2],
            [t0 + 240_000, 104, 114, 94, 109, 2],
        ]
        assert [c[0] for c in from_t1] == [t0 + 60_000, t0 + 120_000]

    async def test_ohlcv_without_candles_is_flat_at_the_price(self, exchange: Any) -> None:
        candles = await exchange.fetch_ohlcv(ETH, "1h", limit=3)

        assert [c[1:5] for c in candles] == [[3000] * 4] * 3
        assert candles[1][0] - candles[0][0] == 3_600_000
        assert candles[-1][0] <= time.time() * 1000 < candles[-1][0] + 3_600_000


class TestBalance:
    async def test_free_used_total(self, fake: FakeBinance, exchange: Any) -> None:
        fake.set_balance("USDT", 2500)

        balance = await exchange.fetch_balance()

        assert balance["USDT"] == {"free": 2500, "used": 0, "total": 2500}
        assert balance["BTC"]["free"] == 1

    async def test_a_resting_order_locks_what_it_may_spend(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        await exchange.create_order(BTC, "limit", "buy", 0.01, 49000)
        await exchange.create_order(ETH, "limit", "sell", 2, 3500)

        balance = await exchange.fetch_balance()

        assert balance["USDT"] == {"free": 9510, "used": 490, "total": 10000}
        assert balance["ETH"] == {"free": 8, "used": 2, "total": 10}


class TestLimitOrders:
    async def test_created_with_a_client_id_then_found_by_either_id(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        created = await exchange.create_order(
            BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-1"}
        )

        by_id = await exchange.fetch_order(created["id"], BTC)
        by_client_id = await exchange.fetch_order(None, BTC, {"clientOrderId": "tw-1"})

        assert (created["clientOrderId"], created["status"], created["timeInForce"]) == (
            "tw-1",
            "open",
            "GTC",
        )
        assert (created["amount"], created["price"], created["remaining"]) == (0.01, 49000, 0.01)
        assert by_id["id"] == by_client_id["id"] == created["id"]
        assert by_client_id["clientOrderId"] == "tw-1"
        assert fake.order("tw-1").status is OrderStatus.NEW
        assert fake.requests_to("POST", "/api/v3/order")[0].client_order_id == "tw-1"

    async def test_a_partial_fill_leaves_it_open(self, fake: FakeBinance, exchange: Any) -> None:
        created = await exchange.create_order(BTC, "limit", "buy", 0.01, 49000)

        fake.fill(created["id"], "0.004")
        order = await exchange.fetch_order(created["id"], BTC)

        assert (order["status"], order["filled"], order["remaining"]) == ("open", 0.004, 0.006)
        assert order["cost"] == 196
        assert order["info"]["status"] == "PARTIALLY_FILLED"

    async def test_the_price_crossing_it_fills_the_rest_at_the_limit(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        created = await exchange.create_order(
            BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-2"}
        )
        fake.fill("tw-2", "0.004")

        assert fake.set_price(BTC, 49500) == []
        [rest] = fake.set_price(BTC, 48000)
        order = await exchange.fetch_order(created["id"], BTC)
        trades = await exchange.fetch_my_trades(BTC)
        balance = await exchange.fetch_balance()

        assert (rest.price, rest.qty, rest.is_maker) == (D(49000), D("0.006"), True)
        assert (order["status"], order["filled"], order["remaining"]) == ("closed", 0.01, 0)
        assert order["average"] == 49000
        assert [(t["order"], t["amount"], t["price"], t["takerOrMaker"]) for t in trades] == [
            (created["id"], 0.004, 49000, "maker"),
            (created["id"], 0.006, 49000, "maker"),
        ]
        assert [t["fee"] for t in trades] == [
            {"currency": "BTC", "cost": 0.000004},
            {"currency": "BTC", "cost": 0.000006},
        ]
        assert balance["USDT"] == {"free": 9510, "used": 0, "total": 9510}
        assert fake.balance("BTC").free == D("1.00999")

    async def test_a_sell_fills_when_the_price_rises_to_it(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        created = await exchange.create_order(ETH, "limit", "sell", 1, 3200)

        fake.set_price(ETH, 3199.99)
        still_open = await exchange.fetch_order(created["id"], ETH)
        fake.set_price(ETH, 3250)
        filled = await exchange.fetch_order(created["id"], ETH)

        assert still_open["status"] == "open"
        assert (filled["status"], filled["average"]) == ("closed", 3200)
        assert fake.balance("USDT").free == D("10000") + D("3200") - D("3.2")
        assert fake.balance("ETH") == Balance(free=D(9), locked=D(0))

    async def test_a_marketable_limit_fills_at_once_at_the_last_price(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        created = await exchange.create_order(BTC, "limit", "buy", 0.01, 50500)

        assert (created["status"], created["filled"], created["average"]) == ("closed", 0.01, 50000)
        assert created["trades"][0]["price"] == 50000
        assert fake.trades[0].is_maker is False
        assert fake.balance("USDT").free == D(9500)

    async def test_ioc_that_cannot_fill_expires(self, exchange: Any) -> None:
        created = await exchange.create_order(
            BTC, "limit", "buy", 0.01, 49000, {"timeInForce": "IOC"}
        )

        assert (created["status"], created["filled"]) == ("expired", 0)

    async def test_post_only_that_would_take_is_refused(self, exchange: Any) -> None:
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await exchange.create_order(BTC, "limit", "buy", 0.01, 50500, {"postOnly": True})

        resting = await exchange.create_order(BTC, "limit", "buy", 0.01, 49000, {"postOnly": True})
        assert (resting["status"], resting["postOnly"]) == ("open", True)

    async def test_cancel_by_id_releases_what_it_locked(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        created = await exchange.create_order(
            BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-3"}
        )

        cancelled = await exchange.cancel_order(created["id"], BTC)
        fetched = await exchange.fetch_order(created["id"], BTC)

        assert cancelled["status"] == fetched["status"] == "canceled"
        # As on Binance: the cancel's answer carries the cancel request's own client id.
        assert cancelled["info"]["origClientOrderId"] == "tw-3"
        assert cancelled["clientOrderId"] != "tw-3"
        assert fetched["clientOrderId"] == "tw-3"
        assert fake.balance("USDT").free == D(10000)

    async def test_cancel_by_client_id(self, fake: FakeBinance, exchange: Any) -> None:
        await exchange.create_order(BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-4"})

        cancelled = await exchange.cancel_order(None, BTC, {"clientOrderId": "tw-4"})

        assert cancelled["status"] == "canceled"
        assert fake.order("tw-4").status is OrderStatus.CANCELED

    async def test_open_all_closed_and_cancelled_lists(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        resting = await exchange.create_order(BTC, "limit", "buy", 0.01, 49000)
        filled = await exchange.create_order(BTC, "market", "buy", 0.001)
        cancelled = await exchange.create_order(BTC, "limit", "sell", 0.01, 60000)
        await exchange.cancel_order(cancelled["id"], BTC)
        eth = await exchange.create_order(ETH, "limit", "buy", 1, 2900)

        open_btc = await exchange.fetch_open_orders(BTC)
        every = await exchange.fetch_orders(BTC)
        closed = await exchange.fetch_closed_orders(BTC)
        canceled = await exchange.fetch_canceled_orders(BTC)
        exchange.options["fetchOpenOrders"]["warnWithoutSymbol"] = False
        open_anywhere = await exchange.fetch_open_orders()

        assert [o["id"] for o in open_btc] == [resting["id"]]
        assert [o["id"] for o in every] == [resting["id"], filled["id"], cancelled["id"]]
        assert [o["id"] for o in closed] == [filled["id"]]
        assert [o["id"] for o in canceled] == [cancelled["id"]]
        assert {o["id"] for o in open_anywhere} == {resting["id"], eth["id"]}

    async def test_trades_of_one_order(self, fake: FakeBinance, exchange: Any) -> None:
        first = await exchange.create_order(BTC, "market", "buy", 0.001)
        await exchange.create_order(BTC, "market", "buy", 0.002)

        trades = await exchange.fetch_order_trades(first["id"], BTC)

        assert [(t["order"], t["amount"], t["takerOrMaker"]) for t in trades] == [
            (first["id"], 0.001, "taker")
        ]

    async def test_cancel_all_in_a_market(self, fake: FakeBinance, exchange: Any) -> None:
        await exchange.create_order(BTC, "limit", "buy", 0.01, 49000)
        await exchange.create_order(BTC, "limit", "buy", 0.01, 48000)

        cancelled = await exchange.cancel_all_orders(BTC)

        assert [o["status"] for o in cancelled] == ["canceled", "canceled"]
        assert not [o for o in fake.orders if o.is_open]


class TestMarketOrders:
    async def test_buy_fills_at_the_last_price_less_the_fee_in_base(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        order = await exchange.create_order(BTC, "market", "buy", 0.01)

        assert (order["status"], order["filled"], order["average"], order["cost"]) == (
            "closed",
            0.01,
            50000,
            500,
        )
        assert order["fee"] == {"currency": "BTC", "cost": 0.00001}
        assert fake.balance("USDT").free == D(9500)
        assert fake.balance("BTC").free == D("1.00999")

    async def test_buy_by_cost_sends_quote_order_qty(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        order = await exchange.create_market_buy_order_with_cost(BTC, 101)

        assert (order["status"], order["filled"], order["cost"]) == ("closed", 0.00202, 101)
        assert fake.requests_to("POST", "/api/v3/order")[0].params["quoteOrderQty"] == "101"

    async def test_sell_pays_the_fee_in_quote(self, fake: FakeBinance, exchange: Any) -> None:
        order = await exchange.create_order(ETH, "market", "sell", 2)

        assert (order["status"], order["cost"]) == ("closed", 6000)
        assert order["fee"] == {"currency": "USDT", "cost": 6}
        assert fake.balance("USDT").free == D(15994)


class TestRefusals:
    async def test_a_client_id_of_an_open_order_is_a_duplicate(
        self, fake: FakeBinance, exchange: Any
    ) -> None:
        first = await exchange.create_order(
            BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-5"}
        )

        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            await exchange.create_order(BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-5"})

        assert len([o for o in fake.orders if o.client_order_id == "tw-5"]) == 1
        await exchange.cancel_order(first["id"], BTC)
        again = await exchange.create_order(
            BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "tw-5"}
        )
        assert again["id"] != first["id"]

    async def test_insufficient_balance(self, fake: FakeBinance, exchange: Any) -> None:
        fake.set_balance("USDT", 100)

        with pytest.raises(ccxt.InsufficientFunds):
            await exchange.create_order(BTC, "limit", "buy", 0.01, 49000)
        with pytest.raises(ccxt.InsufficientFunds):
            await exchange.create_order(ETH, "market", "sell", 11)
        assert fake.orders == []

    async def test_unknown_orders(self, exchange: Any) -> None:
        with pytest.raises(ccxt.OrderNotFound):
            await exchange.fetch_order("999", BTC)
        with pytest.raises(ccxt.OrderNotFound):
            await exchange.fetch_order(None, BTC, {"clientOrderId": "nobody"})
        with pytest.raises(ccxt.OrderNotFound):
            await exchange.cancel_order("999", BTC)

    async def test_cancelling_a_filled_order_is_an_unknown_order(self, exchange: Any) -> None:
        filled = await exchange.create_order(BTC, "market", "buy", 0.001)

        with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
            await exchange.cancel_order(filled["id"], BTC)

    async def test_an_order_of_another_market_is_not_found(self, exchange: Any) -> None:
        created = await exchange.create_order(BTC, "limit", "buy", 0.01, 49000)

        with pytest.raises(ccxt.OrderNotFound):
            await exchange.fetch_order(created["id"], ETH)

    async def test_filters(self, fake: FakeBinance, exchange: Any) -> None:
        # Below the minimum notional is -1013, which CCXT maps to BadRequest, not InvalidOrder.
        with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
            await exchange.create_order(BTC, "limit", "buy", 0.0001, 40000)
        with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
            await exchange.create_order(BTC, "limit", "buy", 10000, 1)
        assert fake.orders == []

    async def test_a_client_id_longer_than_36_is_refused(self, exchange: Any) -> None:
        with pytest.raises(ccxt.BadRequest, match="newClientOrderId"):
            await exchange.create_order(
                BTC, "limit", "buy", 0.01, 49000, {"clientOrderId": "x" * 37}
            )


class TestSyncClient:
    @pytest.fixture
    def client(self, fake: FakeBinance) -> Iterator[Any]:
        exchange = ccxt_binance(fake, async_=False, timeout=2000)
        try:
            exchange.load_markets()
            yield exchange
        finally:
            exchange.close()

    def test_orders_round_trip(self, fake: FakeBinance, client: Any) -> None:
        created = client.create_order(BTC, "limit", "sell", 0.5, 52000, {"clientOrderId": "tw-s"})
        fake.fill("tw-s", "0.2")

        partial = client.fetch_order(None, BTC, {"clientOrderId": "tw-s"})
        fake.set_price(BTC, 52000)
        closed = client.fetch_order(created["id"], BTC)

        assert (partial["status"], partial["filled"], partial["remaining"]) == ("open", 0.2, 0.3)
        assert (closed["status"], closed["filled"]) == ("closed", 0.5)
        assert [t["amount"] for t in client.fetch_my_trades(BTC)] == [0.2, 0.3]
        with pytest.raises(ccxt.OrderNotFound):
            client.cancel_order(created["id"], BTC)
        assert client.fetch_balance()["BTC"] == {"free": 0.5, "used": 0, "total": 0.5}
