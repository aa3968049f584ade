"""A running FakeBinance per test, and CCXT's async binance client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.fakes.binance import FakeBinance, ccxt_binance


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    with FakeBinance() as fake:
        yield fake


@pytest.fixture
async def exchange(fake: FakeBinance) -> AsyncIterator[Any]:
    exchange = ccxt_binance(fake, timeout=2000)
    try:
        await exchange.load_markets()
        fake.clear_requests()
        yield exchange
    finally:
        await exchange.close()
