"""Live trading through the HTTP API: exchange keys added, their trading account on
``binance``, a spot grid bot on it trading on FakeBinance through CCXT's own client (the
service's polling, its engine per venue), stopped, and resumed after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import httpx

from tests.api.exchange import (  # the fixtures: on the fake exchange
    exchange_account,
    exchange_clients,  # noqa: F401
    settings_overrides,  # noqa: F401
    until,
)
from tests.conftest import Harness
from tests.fakes.binance import FakeBinance, FakeClients
from tests.helpers import key_auth, new_key, new_user
from tradewind.api.app import create_app
from tradewind.domain.clock import ManualClock
from tradewind.settings import Settings
from tradewind.venues.ccxt.client_ids import exchange_client_id

BTC = "BTC/USDT"
V1 = "/api/v1"
GRID = {
    "symbol": BTC, "lowerLimit": 49000, "upperLimit": 51000, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip
# at 50,200: buys at 49,000, 49,500 and 50,000; a sell at 51,000, after a market buy for it
LADDER = [
    ("BUY", D(49000), D("0.0051")), ("BUY", D(49500), D("0.00505")),
    ("BUY", D(50000), D("0.005")), ("SELL", D(51000), D("0.00495")),
]  # fmt: skip


async def trader(client: httpx.AsyncClient) -> dict[str, str]:
    user = await new_user(client)
    return key_auth(await new_key(client, user["auth"], "full"))


async def started_grid(client: httpx.AsyncClient, h: dict[str, str], account_id: str) -> str:
    r = await client.post(f"{V1}/bots", headers=h, json={
        "type": "spot_grid", "name": "live grid", "settings": GRID, "account_id": account_id,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    bot_id = str(r.json()["bot_id"])
    r = await client.post(f"{V1}/bots/{bot_id}/start", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    return bot_id


def resting(fake: FakeBinance) -> list[tuple[str, D, D]]:
    return sorted((o.side.value, o.price, o.orig_qty) for o in fake.orders if o.is_open)


def ladder_rests(fake: FakeBinance) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return resting(fake) == LADDER

    return check


def named(fake: FakeBinance, name: str, account_id: str) -> Any:
    cid = exchange_client_id(name, account_id=account_id)
    found = [o for o in fake.orders if o.client_order_id == cid]
    return found[0] if found else None


async def bot_orders(client: httpx.AsyncClient, h: dict[str, str], bot_id: str) -> list[Any]:
    r = await client.get(f"{V1}/bots/{bot_id}/orders?limit=100", headers=h)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def logs(client: httpx.AsyncClient, h: dict[str, str], bot_id: str) -> list[str]:
    r = await client.get(f"{V1}/bots/{bot_id}/logs?limit=200", headers=h)
    assert r.status_code == 200, r.text
    return [line["message"] for line in r.json()["data"]]


class TestABotOnAnExchangeAccount:
    async def test_trades_on_the_exchange_re_arms_and_stops(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)

        bot_id = await started_grid(tw.client, h, account_id)

        await until(ladder_rests(fake))  # the sell once the market buy's fill is polled
        assert named(fake, f"{bot_id}:4", account_id).price == D(50000)
        assert len({o.client_order_id for o in fake.orders}) == len(fake.orders) == 5

        fake.set_price(BTC, 49_900)  # the 50,000 buy fills; the venue re-arms a sell at 50,500

        async def re_armed() -> bool:
            order = named(fake, f"{bot_id}:4:r1", account_id)
            return order is not None and order.is_open

        await until(re_armed)
        assert (named(fake, f"{bot_id}:4:r1", account_id).side.value, named(fake, f"{bot_id}:4:r1", account_id).price) == (
            "SELL", D(50500),
        )  # fmt: skip

        async def filled_in_the_api() -> bool:
            orders = await bot_orders(tw.client, h, bot_id)
            return any(o["status"] == "filled" and D(o["price"]) == D(50000) for o in orders)

        await until(filled_in_the_api)
        fills = (await tw.client.get(f"{V1}/accounts/{account_id}/fills", headers=h)).json()
        assert sorted((f["side"], D(f["price"])) for f in fills["data"]) == [
            ("buy", D(50000)), ("buy", D(50200)),
        ]  # fmt: skip
        orders = await bot_orders(tw.client, h, bot_id)
        assert any(o["client_order_id"] == f"{bot_id}:4:r1" and o["status"] == "open"
                   for o in orders)  # fmt: skip
        assert any(line.startswith("Bought 0.005 BTC at 50000") for line in
                   await logs(tw.client, h, bot_id))  # fmt: skip

        r = await tw.client.post(f"{V1}/bots/{bot_id}/stop", headers=h)

        assert r.status_code == 200 and r.json()["status"] == "stopped", r.text
        assert [o for o in fake.orders if o.is_open] == []

    async def test_another_user_neither_sees_nor_uses_it(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)
        other = await trader(tw.client)

        assert (
            await tw.client.get(f"{V1}/accounts/{account_id}", headers=other)
        ).status_code == 404
        listed = (await tw.client.get(f"{V1}/accounts", headers=other)).json()
        assert all(a["venue"] == "paper" for a in listed)
        r = await tw.client.post(f"{V1}/bots", headers=other, json={
            "type": "spot_grid", "name": "x", "settings": GRID, "account_id": account_id,
        })  # fmt: skip
        assert r.status_code == 404
        assert (
            await tw.client.get(f"{V1}/accounts/{account_id}/fills", headers=other)
        ).status_code == 404

    async def test_its_keys_are_not_deleted_while_a_bot_runs_on_them(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)
        bot_id = await started_grid(tw.client, h, account_id)
        (keys,) = (await tw.client.get(f"{V1}/exchange-accounts", headers=h)).json()["data"]

        r = await tw.client.delete(f"{V1}/exchange-accounts/{keys['account_id']}", headers=h)
        assert r.status_code == 409, r.text

        await tw.client.post(f"{V1}/bots/{bot_id}/stop", headers=h)
        r = await tw.client.delete(f"{V1}/exchange-accounts/{keys['account_id']}", headers=h)
        assert r.status_code == 204, r.text
        # the account stays for its records, and trades no more
        assert (await tw.client.get(f"{V1}/accounts/{account_id}", headers=h)).status_code == 200
        r = await tw.client.post(f"{V1}/bots/{bot_id}/start", headers=h)
        assert r.status_code == 409, r.text


@asynccontextmanager
async def serving(
    settings: Settings, clock: ManualClock, clients: FakeClients
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock, exchange_clients=clients)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://tw.test") as client:
            yield client


class TestARestart:
    async def test_a_fill_while_down_is_applied_once_and_re_armed_once(
        self, settings: Settings, clock: ManualClock, fake: FakeBinance
    ) -> None:
        clients = FakeClients(fake)
        async with serving(settings, clock, clients) as client:
            h = await trader(client)
            account_id = await exchange_account(client, h, fake)
            bot_id = await started_grid(client, h, account_id)
            await until(ladder_rests(fake))
        # the service is down, the bot still active: the 50,000 buy fills meanwhile
        fake.set_price(BTC, 49_900)
        assert named(fake, f"{bot_id}:4", account_id).is_open is False

        async with serving(settings, clock, clients) as client:
            r = await client.get(f"{V1}/bots/{bot_id}", headers=h)
            assert r.json()["status"] == "active"

            async def re_armed() -> bool:  # at start-up (the app waits for it, at most 10 s)
                return named(fake, f"{bot_id}:4:r1", account_id) is not None

            await until(re_armed)
            assert named(fake, f"{bot_id}:4:r1", account_id).price == D(50500)
            found = await logs(client, h, bot_id)
            assert found.count("Bought 0.005 BTC at 50000 (grid:2)") == 1, found
            assert any("while Tradewind was not watching" in line for line in found), found
            await asyncio.sleep(0.3)  # a few polling rounds: nothing more happens

        async with serving(settings, clock, clients) as client:  # and once more
            fills = (await client.get(f"{V1}/accounts/{account_id}/fills", headers=h)).json()
            assert sorted((f["side"], D(f["price"])) for f in fills["data"]) == [
                ("buy", D(50000)), ("buy", D(50200)),
            ]  # fmt: skip
            assert len([o for o in fake.orders if o.client_order_id ==
                        exchange_client_id(f"{bot_id}:4:r1", account_id=account_id)]) == 1  # fmt: skip
            assert sum(1 for o in fake.orders if o.is_open) == 4


async def place(
    client: httpx.AsyncClient, h: dict[str, str], account_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{V1}/accounts/{account_id}/orders", headers=h,
                             json={"symbol": BTC, "amount": "0.01", **body})  # fmt: skip


class TestTheTerminalOnAnExchangeAccount:
    async def test_a_limit_order_rests_is_amended_and_cancelled_on_the_exchange(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)

        r = await place(tw.client, h, account_id, side="buy", type="limit", price="49000")

        assert r.status_code == 201, r.text
        order = r.json()
        assert (order["status"], order["ticket"] < 0) == ("open", True)
        (on_fake,) = fake.orders  # under an id derived from the order's own: never a bot's
        assert on_fake.client_order_id == exchange_client_id(
            order["order_id"], account_id=account_id
        )
        assert (on_fake.is_open, on_fake.price) == (True, D(49000))
        url = f"{V1}/accounts/{account_id}/orders"
        listed = (await tw.client.get(f"{url}?status=open", headers=h)).json()["data"]
        assert [o["order_id"] for o in listed] == [order["order_id"]]

        r = await tw.client.patch(f"{url}/{order['order_id']}", headers=h, json={"price": "48500"})

        assert r.status_code == 200, r.text
        assert (r.json()["status"], D(r.json()["price"])) == ("open", D(48500))
        assert not fake.order(on_fake.order_id).is_open
        replaced = [o for o in fake.orders if o.is_open]
        assert [(o.client_order_id, o.price) for o in replaced] == [
            (exchange_client_id(order["order_id"], 1, account_id=account_id), D(48500))
        ]

        r = await tw.client.delete(f"{url}/{order['order_id']}", headers=h)

        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        assert [o for o in fake.orders if o.is_open] == []
        assert (await tw.client.get(f"{url}?status=open", headers=h)).json()["data"] == []

    async def test_a_marketable_order_fills_with_the_exchanges_fee(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)

        r = await place(tw.client, h, account_id, side="buy", client_order_id="mine-1")

        assert r.status_code == 201, r.text
        order = r.json()
        assert (order["status"], D(order["average_price"])) == ("filled", D(50200))
        (trade,) = fake.trades
        fills = (await tw.client.get(f"{V1}/accounts/{account_id}/fills", headers=h)).json()
        assert [(f["order_id"], D(f["amount"]), D(f["fee"]), f["fee_asset"]) for f in
                fills["data"]] == [(order["order_id"], D("0.01"), trade.commission, "BTC")]  # fmt: skip
        assert order["fills"] == fills["data"]
        again = await place(tw.client, h, account_id, side="buy", client_order_id="mine-1")
        assert again.json()["order_id"] == order["order_id"] and len(fake.orders) == 1

    async def test_the_exchanges_refusals_reach_the_caller(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)

        r = await place(tw.client, h, account_id, side="buy", type="limit", price="49000",
                        amount="1")  # fmt: skip

        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "insufficient_funds"
        assert "Account has insufficient balance" in r.json()["error"]["message"]
        url = f"{V1}/accounts/{account_id}"
        assert (await tw.client.get(f"{url}/orders", headers=h)).json()["data"] == []

    async def test_what_spot_cannot_do_names_the_field(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)
        url = f"{V1}/accounts/{account_id}"

        r = await place(tw.client, h, account_id, side="sell", reduce_only=True)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "reduce_only"
        r = await tw.client.post(f"{url}/positions/pos_1/close", headers=h, json={})
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "position_id"
        r = await tw.client.post(f"{url}/reset", headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "account_id"
        assert (await tw.client.get(f"{url}/positions", headers=h)).json()["data"] == []
        assert fake.orders == []

    async def test_another_users_account_is_not_found(self, tw: Harness, fake: FakeBinance) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)
        other = await trader(tw.client)

        r = await place(tw.client, other, account_id, side="buy")

        assert r.status_code == 404, r.text
        assert fake.orders == []


class TestSignalsToABotOnAnExchangeAccount:
    async def test_a_tradingview_alert_and_a_token_signal_trade_on_the_exchange_once(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h = await trader(tw.client)
        account_id = await exchange_account(tw.client, h, fake)
        r = await tw.client.post(f"{V1}/bots", headers=h, json={
            "type": "webhook", "name": "alerts", "account_id": account_id,
            "settings": {"symbol": BTC, "signalToken": "live-token"},
        })  # fmt: skip
        assert r.status_code == 201, r.text
        bot_id = str(r.json()["bot_id"])
        assert (await tw.client.post(f"{V1}/bots/{bot_id}/start", headers=h)).status_code == 200
        hook = (await tw.client.post(f"{V1}/bots/{bot_id}/hook", headers=h)).json()

        # a TradingView alert on the bot's URL, delivered twice (TradingView retries)
        alert = {"action": "buy", "quantity": 0.002, "symbol": "BTCUSDT", "idempotency_key": "tv-1"}
        first = await tw.client.post(hook["url"], json=alert)
        again = await tw.client.post(hook["url"], json=alert)
        assert first.status_code == 201 and first.json()["executed"], first.text
        assert again.json()["signal_id"] == first.json()["signal_id"]
        # a signal on the bot's token, through the native API
        r = await tw.client.post(f"{V1}/signals", headers=h, json={
            "token": "live-token", "action": "sell", "amount": "0.001",
        })  # fmt: skip
        assert r.status_code == 201 and r.json()["status"] == "executed", r.text

        # each reached the exchange once, as a market order under the bot's client ids
        placed = [o for o in fake.orders if o.client_order_id in
                  {exchange_client_id(f"{bot_id}:{n}", account_id=account_id) for n in (1, 2)}]  # fmt: skip
        assert sorted((o.side.value, o.orig_qty) for o in placed) == [
            ("BUY", D("0.002")), ("SELL", D("0.001")),
        ]  # fmt: skip
        assert len(fake.requests_to("POST", "/api/v3/order")) == 2

        async def both_filled_in_the_api() -> bool:
            orders = await bot_orders(tw.client, h, bot_id)
            return sorted(o["status"] for o in orders) == ["filled", "filled"]

        await until(both_filled_in_the_api)
