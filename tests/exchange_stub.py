"""A tiny stand-in for an exchange's REST API, and CCXT clients pointed at it.

``BinanceStub`` answers the three calls the markets cache and the credential check make
through CCXT's binance client (``exchangeInfo``, the currencies list, ``account``), on
127.0.0.1, in the test's own event loop. ``StubClients`` is a ``ClientFactory`` making real
CCXT clients whose every URL points at ``url``: a stub, or ``UNREACHABLE`` (nothing listens
there), so no test ever reaches the internet. Set ``url`` to move the exchange mid-test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from tradewind.services.credentials import Credentials
from tradewind.venues.ccxt.clients import ccxt_client

UNREACHABLE = "http://127.0.0.1:9"

SPOT_ONLY = {"options": {"fetchMarkets": {"types": ["spot"]}}, "timeout": 3000}
"""Binance's client loads spot markets alone (its default asks the futures APIs too)."""


def point_at(client: Any, base_url: str) -> Any:
    """Every API URL of ``client`` moved to ``base_url``, its path kept."""

    def moved(value: Any) -> Any:
        if isinstance(value, str):
            return base_url + urlsplit(value).path
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        return value

    client.urls["api"] = moved(client.urls["api"])
    return client


class StubClients:
    """Real CCXT clients (Tradewind's own factory) pointed at ``url``."""

    def __init__(self, url: str = UNREACHABLE) -> None:
        self.url = url
        self.made: list[tuple[str, bool]] = []

    def __call__(self, exchange_id: str, credentials: Credentials | None = None) -> Any:
        self.made.append((exchange_id, credentials is not None))
        config = SPOT_ONLY if exchange_id == "binance" else {"timeout": 3000}
        return point_at(ccxt_client(exchange_id, credentials, config=config), self.url)


def spot_symbol(
    base: str, quote: str, *, tick: str = "0.01", step: str = "0.00001", min_qty: str = "0.00001",
    min_notional: str = "5", trading: bool = True,
) -> dict[str, Any]:  # fmt: skip
    return {
        "symbol": base + quote, "status": "TRADING" if trading else "BREAK", "baseAsset": base,
        "quoteAsset": quote, "baseAssetPrecision": 8, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"], "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False, "permissions": ["SPOT"], "permissionSets": [["SPOT"]],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000", "stepSize": step},
            {"filterType": "NOTIONAL", "minNotional": min_notional, "maxNotional": "9000000"},
        ],
    }  # fmt: skip


class BinanceStub:
    """Binance spot, as far as loading markets and reading a balance go. Only ``api_key``
    is accepted (the signature is not checked: the stub sees no secret, as Binance does)."""

    def __init__(self, api_key: str = "stub-key-0123456789abcdef") -> None:
        self.api_key = api_key
        self.symbols = [spot_symbol("BTC", "USDT"), spot_symbol("ETH", "USDT", step="0.0001")]
        self.requests: list[str] = []
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        if request.path == "/api/v3/exchangeInfo":
            body = {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": self.symbols}
            return web.json_response(body)
        authorised = request.headers.get("X-MBX-APIKEY") == self.api_key
        if request.path in ("/sapi/v1/capital/config/getall", "/api/v3/account") and not authorised:
            return web.json_response(
                {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
                status=401,
            )
        if request.path.startswith(("/sapi/v1/capital/config/", "/sapi/v1/margin/")):
            return web.json_response([])
        if request.path == "/api/v3/account":
            return web.json_response({
                "makerCommission": 10, "takerCommission": 10, "canTrade": True, "updateTime": 0,
                "accountType": "SPOT", "permissions": ["SPOT"],
                "balances": [{"asset": "USDT", "free": "1000.0", "locked": "0.0"}],
            })  # fmt: skip
        return web.json_response({"code": -1100, "msg": "not in the stub"}, status=400)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[BinanceStub]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()
