"""CCXT's own binance client, pointed at a FakeBinance."""

from __future__ import annotations

from typing import Any, Literal, overload
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support

from tests.fakes.binance.server import FakeBinance
from tradewind.venues.ccxt.clients import Credentials, ccxt_client

# Optional: load_markets then makes one request (spot exchangeInfo) instead of seven (spot,
# futures, margin pairs and the wallet's coin list, all of which the fake also serves).
SPOT_ONLY_OPTIONS = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


def point_ccxt(exchange: Any, base_url: str) -> Any:
    """Points every API of a CCXT binance client at ``base_url``, keeping each API's path.

    ``https://api.binance.com/api/v3`` becomes ``{base_url}/api/v3``, the futures and wallet
    APIs likewise. Nothing else about the client changes; it is returned for chaining. Do
    not call ``set_sandbox_mode`` afterwards: it swaps in the testnet's real URLs.
    """
    base = base_url.rstrip("/")
    api = {
        name: base + urlsplit(url).path if isinstance(url, str) else url
        for name, url in exchange.urls["api"].items()
    }
    exchange.urls = {**exchange.urls, "api": api}
    return exchange


@overload
def ccxt_binance(
    fake: FakeBinance, *, async_: Literal[True] = True, **config: Any
) -> ccxt.async_support.binance: ...
@overload
def ccxt_binance(fake: FakeBinance, *, async_: Literal[False], **config: Any) -> ccxt.binance: ...
def ccxt_binance(fake: FakeBinance, *, async_: bool = True, **config: Any) -> Any:
    """A CCXT binance client (``ccxt.async_support`` unless ``async_=False``) for ``fake``.

    It carries the fake's key and secret, has the rate limiter off (the fake does not limit;
    arm ``fake.rate_limit`` to test 429s) and, async, does not pause 250 ms in ``close()``
    (a pause for TLS, which the fake does not speak). ``config`` is CCXT's own and overrides
    all three, e.g. ``timeout=500`` (ms) for timeout tests or ``options=SPOT_ONLY_OPTIONS``. No
    option is needed: the fake serves everything ``load_markets`` asks for. The fake must have
    been started once (its port is fixed from then on, across restarts)::

        from tests.fakes.binance import FakeBinance, ccxt_binance

        with FakeBinance() as fake:
            exchange = ccxt_binance(fake, timeout=2000)
            try:
                await exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 49000,
                                            {"clientOrderId": "tw-1"})
            finally:
                await exchange.close()

    What CCXT makes of the fake's answers, as of ccxt 4.5 (see tests/fakes for proof):
    -2010 insufficient balance → InsufficientFunds; -2010 duplicate client id → InvalidOrder;
    -2013/-2011 unknown order → OrderNotFound (cancelling a filled order too); -1013 LOT_SIZE
    or PRICE_FILTER → InvalidOrder, NOTIONAL → BadRequest; 429 → DDoSProtection (not its
    subclass RateLimitExceeded); HTML 5xx → ExchangeNotAvailable; client timeout →
    RequestTimeout; connection closed unanswered → ExchangeNotAvailable (sync client:
    NetworkError); -2014/-2015/-1022 → AuthenticationError (but -2015 after a successful
    private call → DDoSProtection, CCXT's guess at a temporary ban).

    Kept from the real thing: a cancel's answer carries the cancel's own clientOrderId (the
    order's is in ``info["origClientOrderId"]``), and aiohttp resends a GET or DELETE once
    when a kept-alive connection closes unanswered (a lost cancel then reads OrderNotFound).
    """
    settings = {"apiKey": fake.api_key, "secret": fake.secret, "enableRateLimit": False}
    if async_:
        # close() otherwise sleeps 250 ms for TLS connections to wind down; the fake has none.
        settings["timeout_on_exit"] = 0
        exchange = ccxt.async_support.binance({**settings, **config})
    else:
        exchange = ccxt.binance({**settings, **config})
    return point_ccxt(exchange, fake.url)


class FakeClients:
    """Tradewind's own CCXT client factory (``exchange_clients`` of the app), every URL
    pointed at ``fake``."""

    def __init__(self, fake: FakeBinance) -> None:
        self.fake = fake

    def __call__(self, exchange_id: str, credentials: Credentials | None = None) -> Any:
        config = {"options": SPOT_ONLY_OPTIONS, "timeout": 3000, "timeout_on_exit": 0}
        return point_ccxt(ccxt_client(exchange_id, credentials, config=config), self.fake.url)
