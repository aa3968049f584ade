"""The paper venue against its store: a restart of the service, and the ledger's sums in the rows."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import httpx
from sqlalchemy import select

from tests.helpers import PASSWORD, unique_email
from tradewind.api.app import create_app
from tradewind.domain.clock import ManualClock
from tradewind.settings import Settings
from tradewind.store.tables import BalanceRow, LedgerEntryRow


async def _session(
    app: object, clock: ManualClock
) -> tuple[httpx.AsyncClient, dict[str, str], str]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")  # type: ignore[arg-type]
    email = unique_email()
    await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    login = (
        await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    h = {"Authorization": f"Bearer {login['access_token']}"}
    account = (await client.get("/api/v1/accounts", headers=h)).json()[0]["account_id"]
    return client, h, account


async def _move(app: object, clock: ManualClock, symbol: str, price: float) -> None:
    venue = app.state.runtime.venues.paper  # type: ignore[attr-defined]
    clock.advance(1)
    venue.feeds[symbol].push(symbol, price, venue.now_ms())
    await venue.tick()


async def test_a_restarted_service_has_everything_and_still_fills(
    settings: Settings, clock: ManualClock
) -> None:
    first = create_app(settings, clock=clock)
    async with first.router.lifespan_context(first):
        client, h, acc = await _session(first, clock)
        await _move(first, clock, "BTC/USDT", 7000)
        await _move(first, clock, "BTC/USDT:USDT", 7000)
        url = f"/api/v1/accounts/{acc}"
        resting = (await client.post(url + "/orders", headers=h, json={
            "symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.1", "price": "6900"})).json()  # fmt: skip
        await client.post(
            url + "/orders",
            headers=h,
            json={"symbol": "BTC/USDT:USDT", "side": "sell", "amount": "0.05"},
        )
        before = {
            "balances": (await client.get(url + "/balances", headers=h)).json(),
            "orders": (await client.get(url + "/orders", headers=h)).json(),
            "positions": (await client.get(url + "/positions", headers=h)).json()["data"],
        }
        await client.aclose()
    second = create_app(settings, clock=clock)  # a new process: nothing in memory but the store
    async with second.router.lifespan_context(second):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://t")
        login = (
            await client.post(
                "/api/v1/auth/login",
                json={"email": (await _email(second, acc)), "password": PASSWORD},
            )
        ).json()
        h = {"Authorization": f"Bearer {login['access_token']}"}
        after_positions = (await client.get(url + "/positions", headers=h)).json()["data"]
        assert (await client.get(url + "/balances", headers=h)).json() == before["balances"]
        assert (await client.get(url + "/orders", headers=h)).json() == before["orders"]
        assert [(p["position_id"], p["amount"], p["entry_price"]) for p in after_positions] == [
            (p["position_id"], p["amount"], p["entry_price"]) for p in before["positions"]
        ]
        await _move(second, clock, "BTC/USDT", 6899)
        order = (await client.get(url + f"/orders/{resting['order_id']}", headers=h)).json()
        assert order["status"] == "filled" and order["average_price"] == "6900"
        new = (
            await client.post(
                url + "/orders",
                headers=h,
                json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.001"},
            )
        ).json()
        assert new["ticket"] > max(
            o["ticket"] for o in before["orders"]["data"]
        )  # tickets continue, never reused
        await client.aclose()


async def _email(app: object, account_id: str) -> str:
    from tradewind.store.tables import TradingAccountRow, UserRow

    async with app.state.runtime.sessions() as s:  # type: ignore[attr-defined]
        return str(await s.scalar(
            select(UserRow.email).join(TradingAccountRow, TradingAccountRow.user_id == UserRow.id)
            .where(TradingAccountRow.id == account_id)
        ))  # fmt: skip


async def test_every_stored_balance_is_the_sum_of_its_stored_ledger_entries(
    settings: Settings, clock: ManualClock
) -> None:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        client, h, acc = await _session(app, clock)
        url = f"/api/v1/accounts/{acc}"
        await _move(app, clock, "BTC/USDT", 7000)
        await _move(app, clock, "BTC/USDT:USDT", 7000)
        await _move(app, clock, "EURUSD", 1.1)
        for body in (
            {"symbol": "BTC/USDT", "side": "buy", "amount": "0.1"},
            {
                "symbol": "BTC/USDT",
                "side": "sell",
                "type": "limit",
                "amount": "0.05",
                "price": "7100",
            },
            {
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "limit",
                "amount": "0.02",
                "price": "6800",
            },
            {"symbol": "BTC/USDT:USDT", "side": "buy", "amount": "0.3"},
            {"symbol": "EURUSD", "side": "sell", "amount": "0.5", "stop_loss": "1.12"},
        ):
            r = await client.post(url + "/orders", headers=h, json=body)
            assert r.status_code == 201, r.text
        for price in (7050, 7120, 6950, 6790, 7300):
            await _move(app, clock, "BTC/USDT", price)
            await _move(app, clock, "BTC/USDT:USDT", price)
        await _move(app, clock, "EURUSD", 1.125)
        positions = (await client.get(url + "/positions", headers=h)).json()["data"]
        await client.post(
            url + f"/positions/{positions[0]['position_id']}/close",
            headers=h,
            json={"amount": "0.1"},
        )
        async with app.state.runtime.sessions() as s:
            balances = (
                await s.scalars(select(BalanceRow).where(BalanceRow.account_id == acc))
            ).all()
            entries = (
                await s.scalars(select(LedgerEntryRow).where(LedgerEntryRow.account_id == acc))
            ).all()
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for e in entries:
            sums[e.asset] += e.delta
        assert len(entries) > 10
        assert {b.asset: b.free + b.locked for b in balances} == dict(sums)
        await client.aclose()
