"""Fixtures of the API tests that trade on an exchange."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.binance import FakeBinance


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    """A fake Binance (CCXT's own client trades against it), BTC/USDT at 50,200."""
    with FakeBinance() as fake:
        fake.set_price("BTC/USDT", 50_200)
        yield fake
