"""What the backtest and sweep job tests share: a quick grid run, a trader's key, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user

GRID = {
    "symbol": "BTC/USDT", "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip
QUICK = {
    "type": "spot_grid", "settings": GRID, "timeframe": "1h",
    "start": "2018-10-20T07:00:00Z", "end": "2018-10-27T08:00:00Z",
}  # fmt: skip
FINAL = {"completed", "failed", "cancelled"}


async def trader(tw: Harness) -> dict[str, str]:
    user = await new_user(tw.client)
    return key_auth(await new_key(tw.client, user["auth"], "trade"))


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + 60
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
