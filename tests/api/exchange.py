"""Helpers of the API tests that trade on an exchange account (the fake Binance's keys).

A test module that trades on one imports the fixtures ``settings_overrides`` and
``exchange_clients`` from here: the service then connects to the fake (``fake``, from
``tests/api/conftest.py``) and polls it every 50 ms."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.fakes.binance import FakeBinance, FakeClients


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"exchange_poll_seconds": 0.05}


@pytest.fixture
def exchange_clients(fake: FakeBinance) -> FakeClients:
    return FakeClients(fake)


async def exchange_account(client: httpx.AsyncClient, h: dict[str, str], fake: FakeBinance) -> str:
    """Add the fake's keys; the id of the trading account they came with."""
    r = await client.post("/api/v1/exchange-accounts", headers=h, json={
        "exchange": "binance", "api_key": fake.api_key, "secret": fake.secret, "label": "main",
    })  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "verified"
    listed = (await client.get("/api/v1/accounts", headers=h)).json()
    (account,) = [a for a in listed if a["venue"] == "binance"]
    assert account["name"] == "main"
    return str(account["account_id"])


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait for the service's polling to make ``check`` true."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
