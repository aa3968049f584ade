"""The Tradyn terminal on an exchange account: a Tradyn key bound to the trading account that
came with exchange keys trades on FakeBinance through CCXT's own client (as the native
terminal does in ``tests/api/v1/test_live_trading.py``), in Tradyn's shapes and envelope; what
a spot account cannot do (positions, perpetuals) is refused in that envelope, naming the field."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.api.dialects.test_tradyn import BASE, bearer, data, error
from tests.api.exchange import (  # the fixtures: on the fake exchange
    exchange_account,
    exchange_clients,  # noqa: F401
    settings_overrides,  # noqa: F401
    until,
)
from tests.conftest import Harness
from tests.fakes.binance import FakeBinance
from tests.helpers import new_key, new_user

BTC = "BTC/USDT"


async def on_exchange(tw: Harness, fake: FakeBinance, scope: str = "trade") -> dict[str, str]:
    """A Tradyn key bound to a new user's exchange account (keys of the fake)."""
    user = await new_user(tw.client)
    account_id = await exchange_account(tw.client, {"Authorization": user["auth"]}, fake)
    return bearer(await new_key(tw.client, user["auth"], scope, account_id=account_id))


def balances(account: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {b["asset"]: (b["free"], b["locked"]) for b in account["balances"]}


def open_on_fake(fake: FakeBinance) -> list[tuple[str, D, D]]:
    return [(o.side.value, o.price, o.orig_qty) for o in fake.orders if o.is_open]


class TestOrdersOnAnExchangeAccount:
    async def test_a_limit_order_rests_is_listed_modified_and_cancelled_on_the_exchange(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        placed = data(await tw.client.post(BASE + "/api/orders", headers=h, json={
            "symbol": "BTCUSDT", "type": 2, "volume": 0.01, "price": 49000,
        }))  # fmt: skip

        assert (placed["symbol"], placed["type"], placed["volume"], placed["price"]) == (
            "BTCUSDT", 2, 0.01, 49000.0,
        )  # fmt: skip
        assert placed["state"] == "open" and placed["ticket"] < 0  # an exchange order's ticket
        assert open_on_fake(fake) == [("BUY", D(49000), D("0.01"))]
        ticket = placed["ticket"]
        listed = data(await tw.client.get(BASE + "/api/orders", headers=h))
        assert [(o["ticket"], o["order_id"]) for o in listed] == [(ticket, placed["order_id"])]

        moved = data(
            await tw.client.put(BASE + f"/api/orders/{ticket}", headers=h, json={"price": 48500})
        )

        assert (moved["ticket"], moved["price"]) == (ticket, 48500.0)
        assert open_on_fake(fake) == [("BUY", D(48500), D("0.01"))]

        cancelled = data(await tw.client.delete(BASE + f"/api/orders/{ticket}", headers=h))

        assert cancelled == {"ticket": ticket, "status": "cancelled"}
        assert open_on_fake(fake) == []
        assert data(await tw.client.get(BASE + "/api/orders", headers=h)) == []
        assert error(await tw.client.delete(BASE + f"/api/orders/{ticket}", headers=h), 404) == (
            f"order {ticket} not found"
        )

    async def test_a_buy_stop_waits_in_tradewind_until_cancelled(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        placed = data(await tw.client.post(BASE + "/api/orders", headers=h, json={
            "symbol": "BTCUSDT", "type": 4, "volume": 0.01, "price": 52000,
        }))  # fmt: skip

        assert (placed["type"], placed["price"], placed["state"]) == (4, 52000.0, "open")
        assert fake.orders == []  # the exchange has no stops: the venue triggers it
        listed = data(await tw.client.get(BASE + "/api/orders", headers=h))
        assert [o["ticket"] for o in listed] == [placed["ticket"]]
        data(await tw.client.delete(BASE + f"/api/orders/{placed['ticket']}", headers=h))
        assert data(await tw.client.get(BASE + "/api/orders", headers=h)) == []

    async def test_a_market_trade_fills_at_the_exchanges_price(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        bought = data(await tw.client.post(BASE + "/api/trade", headers=h, json={
            "symbol": "BTCUSDT", "action": "buy", "volume": 0.01,
        }))  # fmt: skip

        assert (bought["symbol"], bought["type"], bought["volume"], bought["price"]) == (
            "BTCUSDT", "buy", 0.01, 50200.0,
        )  # fmt: skip
        (trade,) = fake.trades
        assert bought["commission"] == -float(trade.commission)
        assert bought["ticket"] == bought["order"] < 0  # no position: the order's ticket
        sold = data(await tw.client.post(BASE + "/api/orders", headers=h, json={
            "symbol": "BTCUSDT", "type": 1, "volume": 0.005,
        }))  # fmt: skip
        assert (sold["type"], sold["volume"], sold["price"]) == ("sell", 0.005, 50200.0)
        deals = data(await tw.client.get(BASE + "/api/account/history?from=0", headers=h))
        assert [(d["type"], d["volume"], d["price"], d["order"]) for d in deals] == [
            ("buy", 0.01, 50200.0, bought["order"]), ("sell", 0.005, 50200.0, sold["order"]),
        ]  # fmt: skip
        assert all(d["ticket"] < 0 and d["position"] is None for d in deals)
        assert data(await tw.client.get(BASE + "/api/orders", headers=h)) == []

    async def test_the_exchanges_refusal_reaches_the_caller(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        r = await tw.client.post(BASE + "/api/orders", headers=h, json={
            "symbol": "BTCUSDT", "type": 2, "volume": 1, "price": 49000,
        })  # fmt: skip

        assert "insufficient balance" in error(r, 400)
        assert data(await tw.client.get(BASE + "/api/orders", headers=h)) == []


class TestAccountOnAnExchangeAccount:
    async def test_balances_and_what_orders_hold_and_trades_change(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        account = data(await tw.client.get(BASE + "/api/account", headers=h))

        assert (account["currency"], account["leverage"], account["trade_mode"]) == (
            "USDT", 1, "real",
        )  # fmt: skip
        assert (account["name"], account["margin"], account["margin_level"]) == ("main", 0.0, None)
        assert balances(account) == {
            "BTC": (1.0, 0.0), "ETH": (10.0, 0.0), "USDT": (10000.0, 0.0),
        }  # fmt: skip

        data(await tw.client.post(BASE + "/api/orders", headers=h, json={
            "symbol": "BTCUSDT", "type": 2, "volume": 0.01, "price": 49000,
        }))  # fmt: skip
        held = balances(data(await tw.client.get(BASE + "/api/account", headers=h)))
        assert held["USDT"] == (9510.0, 490.0)

        data(await tw.client.post(BASE + "/api/trade", headers=h, json={
            "symbol": "BTCUSDT", "action": "buy", "volume": 0.01,
        }))  # fmt: skip
        after = balances(data(await tw.client.get(BASE + "/api/account", headers=h)))
        (trade,) = fake.trades
        assert after["USDT"] == (9510.0 - 502.0, 490.0)
        assert after["BTC"] == (pytest.approx(1.01 - float(trade.commission)), 0.0)

        async def valued() -> bool:  # BTC and ETH valued in USDT once their prices are polled
            account = data(await tw.client.get(BASE + "/api/account", headers=h))
            return bool(account["equity"] > after["USDT"][0] + 490 + 50000)

        await until(valued)

    async def test_symbols_and_ticks_are_the_exchanges(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake, "read")

        names = {s["symbol"] for s in data(await tw.client.get(BASE + "/api/symbols", headers=h))}

        assert names == {"BTCUSDT", "ETHUSDT"}
        btc = data(await tw.client.get(BASE + "/api/symbols/BTCUSDT", headers=h))
        assert (btc["type"], btc["volume_step"], btc["point"]) == ("spot", 0.00001, 0.01)
        tick = data(await tw.client.get(BASE + "/api/tick/BTCUSDT", headers=h))
        assert (tick["symbol"], tick["bid"], tick["ask"], tick["last"]) == (
            "BTCUSDT", 50200.0, 50200.0, 50200.0,
        )  # fmt: skip

    async def test_trade_check_holds_the_cost_against_the_free_balance(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        def check(action: str, volume: float, **extra: float) -> Any:
            return tw.client.post(BASE + "/api/trade/check", headers=h,
                                  json={"symbol": "BTCUSDT", "action": action, "volume": volume, **extra})  # fmt: skip

        ok = data(await check("buy", 0.01))
        assert (ok["valid"], ok["price"], ok["free_margin"], ok["error"]) == (
            True, 50200.0, 10000.0, None,
        )  # fmt: skip
        assert ok["required_margin"] == pytest.approx(502 * 1.001)
        short = data(await check("buy", 1))
        assert (short["valid"], short["error"]) == (False, "Insufficient funds")
        sell = data(await check("sell", 2))
        assert (sell["valid"], sell["required_margin"], sell["free_margin"]) == (False, 2.0, 1.0)
        stops = data(await check("buy", 0.01, sl=51000))
        assert stops["valid"] is False and "Invalid stops" in stops["error"]
        step = data(await check("buy", 0.000015))
        assert step["valid"] is False and "step" in step["error"]
        assert fake.orders == []


class TestWhatASpotAccountCannotDo:
    async def test_positions_and_perpetuals_are_refused_naming_the_field(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        assert data(await tw.client.get(BASE + "/api/positions", headers=h)) == []
        assert "spot markets only" in error(
            await tw.client.get(BASE + "/api/positions/-1", headers=h), 404
        )
        for r in (
            await tw.client.put(BASE + "/api/positions/-1", headers=h, json={"sl": 40000}),
            await tw.client.post(BASE + "/api/positions/-1/close", headers=h, json={}),
        ):
            message = error(r, 400)
            assert message.startswith("Invalid parameter 'ticket': position -1: account ")
            assert "on binance, traded on spot markets only, so it has no positions" in message
        message = error(await tw.client.post(BASE + "/api/positions/close-all", headers=h), 400)
        assert message.startswith("Invalid parameter 'account': close-all: ")
        message = error(await tw.client.post(BASE + "/api/positions/close-all", headers=h,
                                             json={"symbol": "BTCUSDT"}), 400)  # fmt: skip
        assert message.startswith("Invalid parameter 'symbol': close-all: ")
        r = await tw.client.post(BASE + "/api/trade", headers=h, json={
            "symbol": "BTCUSDT.P", "action": "sell", "volume": 0.01,
        })  # fmt: skip
        assert error(r, 400) == (
            "Invalid parameter 'symbol': binance is traded on spot markets only: "
            "no perpetual BTCUSDT.P"
        )
        assert fake.orders == []

    async def test_bad_stops_are_refused_before_anything_is_sent(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await on_exchange(tw, fake)

        r = await tw.client.post(BASE + "/api/trade", headers=h, json={
            "symbol": "BTCUSDT", "action": "buy", "volume": 0.01, "sl": 51000,
        })  # fmt: skip

        assert error(r, 400).startswith("Invalid stops: sl 51000 is on the wrong side of 50200")
        r = await tw.client.post(BASE + "/api/orders", headers=h, json={
            "symbol": "BTCUSDT", "type": 1, "volume": 0.01, "tp": 51000,
        })  # fmt: skip
        assert error(r, 400).startswith("Invalid stops: tp 51000 is on the wrong side of 50200")
        assert fake.orders == []

    async def test_a_read_only_key_cannot_trade(self, tw: Harness, fake: FakeBinance) -> None:
        h = await on_exchange(tw, fake, "read")

        r = await tw.client.post(BASE + "/api/trade", headers=h, json={
            "symbol": "BTCUSDT", "action": "buy", "volume": 0.01,
        })  # fmt: skip

        error(r, 403)
        assert fake.orders == []
