"""An exchange's public prices through CCXT, pushed into the paper venue's ``LiveFeed``s.

``LivePrices`` loads the exchange's markets and gives each feed its market there: the same
unified symbol (``BTC/USDT``; a perpetual ``BTC/USDT:USDT`` only where the exchange lists that
perpetual). A symbol the exchange does not list, or lists as inactive, gets no price (logged
once; an order on it is refused as the venue being unavailable), rather than a replay that would
put old prices beside live ones in one account. Each listed feed is seeded with the
exchange's last ``SEED_BARS`` one-minute candles, so bots on bars start with history. Then the
tickers are followed: by websocket (``watch_tickers``, else ``watch_ticker`` per symbol) when
the client is a ``ccxt.pro`` one and its exchange offers it, else by polling (``fetch_tickers``,
else ``fetch_ticker`` per symbol) every ``poll_seconds``. Symbols are asked in groups of one
market type (spot, linear, inverse), as exchanges want them.

Failures never leave ``run``: an exchange that is down, rate limiting or answering nonsense is
logged once when the outage starts and once when it ends; meanwhile the feeds keep their last
price (``connected`` false, the reason in ``error``) and each retry waits twice as long as the
one before, from ``poll_seconds`` up to ``max_backoff``, or the ``Retry-After`` the exchange
asked for when that is longer. CCXT's errors are translated here and go no further.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt
import numpy as np

from tradewind.domain.clock import Clock
from tradewind.logs import get_logger
from tradewind.marketdata.candles import Candles
from tradewind.marketdata.live import LiveFeed
from tradewind.venues.ccxt.calls import RATE_LIMITS, retry_after, translate

log = get_logger("tradewind.live_prices")

SEED_BARS = 1000
"""One-minute candles asked for per symbol at start: Binance's most per request."""
START_WAIT = 10.0
"""Seconds ``start`` waits for the exchange's first answer (or first failure)."""
MAX_BACKOFF = 60.0


def public_client(exchange_id: str) -> Any:
    """A client for an exchange's public data: ``ccxt.pro``'s (websockets and REST) where it
    has the exchange, else the REST one. ValueError when CCXT has no such exchange."""
    import ccxt.pro as ccxt_pro  # only here: tests inject REST clients pointed at a fake

    cls = getattr(ccxt_pro, exchange_id, None) or getattr(ccxt, exchange_id, None)
    if exchange_id not in ccxt.exchanges or cls is None:
        raise ValueError(f"CCXT has no exchange {exchange_id!r} to take live prices from")
    return cls({"enableRateLimit": True})


@dataclass
class _Outage:
    """A run of failed requests of one kind: logged when it starts and when it ends."""

    failures: int = 0
    since_ms: int = 0

    def failed(self, now: int) -> bool:
        """Count a failure; True when it starts an outage."""
        self.failures += 1
        if self.failures == 1:
            self.since_ms = now
        return self.failures == 1


@dataclass
class _Group:
    """Symbols asked in one request (one market type), and the feeds their prices go to."""

    symbols: list[str]
    feeds: dict[str, list[LiveFeed]]
    outage: _Outage = field(default_factory=_Outage)


class LivePrices:
    """Follows one exchange's tickers into feeds (see the module docstring).

    ``feeds`` are by paper symbol; ``client`` is a public (credential-less) CCXT async client,
    closed by ``close``."""

    def __init__(
        self,
        client: Any,
        feeds: Mapping[str, LiveFeed],
        *,
        clock: Clock,
        poll_seconds: float,
        max_backoff: float = MAX_BACKOFF,
        seed_bars: int = SEED_BARS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.exchange = str(client.id)
        self.feeds = dict(feeds)
        self._client = client
        self._clock = clock
        self._poll = poll_seconds
        self._max_backoff = max_backoff
        self._seed_bars = seed_bars
        self._sleep = sleep
        self._groups: list[_Group] | None = None
        self._markets_outage = _Outage()
        self._answered = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def watching(self) -> bool:
        """Prices come by websocket (a ``ccxt.pro`` client whose exchange offers tickers)."""
        has = self._client.has
        return bool(has.get("watchTickers") or has.get("watchTicker"))

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, wait: float = START_WAIT) -> None:
        """Follow prices in a background task; return once the exchange has answered (markets,
        candles and a first round of prices) or failed once, or after ``wait`` seconds."""
        self._task = asyncio.create_task(self.run(), name=f"live-prices-{self.exchange}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._answered.wait(), wait)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.close()

    async def run(self) -> None:
        """Prepare until the markets are known, then follow every group for ever."""
        while not await self.prepare():
            self._answered.set()
            await self._sleep(self._backoff(self._markets_outage.failures))
        assert self._groups is not None
        if not self._groups:  # the exchange lists none of the symbols
            self._answered.set()
        await asyncio.gather(*(self._follow(group) for group in self._groups))

    # ---- one step each (the tests drive these) ---------------------------------------------

    async def prepare(self) -> bool:
        """Load the markets, give each feed its market, seed the candles: one try; True when
        done (now or before)."""
        if self._groups is not None:
            return True
        try:
            markets = await self._client.load_markets()
        except Exception as e:
            reason = self._failed(self._markets_outage, e, "markets", sorted(self.feeds))
            now = self._now()
            for feed in self.feeds.values():
                feed.failed(now, reason)
            return False
        self._answered_after(self._markets_outage, "markets")
        self._groups = self._group(markets)
        await self._seed()
        return True

    async def poll(self) -> list[float]:
        """One round of requests, every group: the seconds each wants to wait before the next
        (``prepare`` first)."""
        if not await self.prepare():
            return [self._backoff(self._markets_outage.failures)]
        assert self._groups is not None
        return [await self._round(group) for group in self._groups]

    # ---- internals -------------------------------------------------------------------------

    def _now(self) -> int:
        return self._clock.now_ms()

    def _group(self, markets: Mapping[str, Any]) -> list[_Group]:
        listed: dict[str, list[LiveFeed]] = {}
        missing = []
        for symbol, feed in sorted(self.feeds.items()):
            market = markets.get(symbol)
            if market is None or market.get("active") is False:
                feed.list_as(None)
                missing.append(symbol)
            else:
                feed.list_as(str(market["symbol"]))
                listed.setdefault(str(market["symbol"]), []).append(feed)
        if missing:
            log.warning(
                "live prices: symbols the exchange does not list get no price",
                exchange=self.exchange, symbols=missing,
            )  # fmt: skip
        has = self._client.has
        together = has.get("watchTickers") if self.watching else has.get("fetchTickers")
        groups: dict[tuple[Any, ...], _Group] = {}
        for symbol, feeds in listed.items():
            market = markets[symbol]
            key = (
                (market.get("type"), bool(market.get("linear")), bool(market.get("inverse")))
                if together
                else (symbol,)
            )
            group = groups.setdefault(key, _Group([], {}))
            group.symbols.append(symbol)
            group.feeds[symbol] = feeds
        log.info(
            "live prices", exchange=self.exchange, symbols=sorted(listed),
            by="websocket" if self.watching else f"polling every {self._poll:g} s",
        )  # fmt: skip
        return list(groups.values())

    async def _seed(self) -> None:
        if not self._client.has.get("fetchOHLCV"):
            return
        failed: list[str] = []
        reason = ""
        assert self._groups is not None
        for group in self._groups:
            for symbol, feeds in group.feeds.items():
                try:
                    rows = await self._client.fetch_ohlcv(symbol, "1m", limit=self._seed_bars)
                except Exception as e:
                    failed.append(symbol)
                    reason = _reason(e, self.exchange)
                    continue
                candles, now = ohlcv_candles(rows), self._now()
                for feed in feeds:
                    feed.seed(candles, received_ms=now)
        if failed:
            log.warning(
                "live prices: candles could not be seeded; bots on bars start without history",
                exchange=self.exchange, symbols=failed, error=reason,
            )  # fmt: skip

    async def _follow(self, group: _Group) -> None:
        while True:
            wait = await self._round(group)
            self._answered.set()
            if wait > 0:
                await self._sleep(wait)

    async def _round(self, group: _Group) -> float:
        """One request for a group's prices; the seconds to wait before the next."""
        try:
            tickers = await self._receive(group)
        except Exception as e:
            reason = self._failed(group.outage, e, "tickers", group.symbols)
            now = self._now()
            for feeds in group.feeds.values():
                for feed in feeds:
                    feed.failed(now, reason)
            wait = self._backoff(group.outage.failures)
            asked = retry_after(self._client, e) if isinstance(e, RATE_LIMITS) else None
            return wait if asked is None else max(wait, asked)
        now = self._now()
        self._answered_after(group.outage, "tickers", group.symbols)
        for symbol, ticker in tickers.items():
            price = _price(ticker)
            if price is not None:
                for feed in group.feeds.get(symbol, ()):
                    feed.push(now, price[0], bid=price[1], ask=price[2])
        return 0.0 if self.watching else self._poll

    async def _receive(self, group: _Group) -> Mapping[str, Any]:
        client, symbols, has = self._client, group.symbols, self._client.has
        if self.watching:
            if has.get("watchTickers"):
                answer: Mapping[str, Any] = await client.watch_tickers(symbols)
                return answer
            return {symbols[0]: await client.watch_ticker(symbols[0])}
        if has.get("fetchTickers"):
            answer = await client.fetch_tickers(symbols)
            return answer
        return {symbols[0]: await client.fetch_ticker(symbols[0])}

    def _backoff(self, failures: int) -> float:
        return float(min(self._poll * 2 ** min(failures, 32), self._max_backoff))

    def _failed(self, outage: _Outage, error: Exception, request: str, symbols: list[str]) -> str:
        reason = _reason(error, self.exchange)
        if outage.failed(self._now()):
            fields = {"exchange": self.exchange, "request": request, "symbols": symbols}
            if isinstance(error, ccxt.BaseError):
                log.warning("live prices unavailable; the last prices hold", **fields, error=reason)
            else:  # not the exchange's doing: a bug, shown whole
                log.exception("live prices failed; the last prices hold", **fields)
        return reason

    def _answered_after(
        self, outage: _Outage, request: str, symbols: list[str] | None = None
    ) -> None:
        if outage.failures:
            log.info(
                "live prices back", exchange=self.exchange, request=request, symbols=symbols,
                failures=outage.failures, down_seconds=(self._now() - outage.since_ms) / 1000,
            )  # fmt: skip
        outage.failures = 0


def _reason(error: Exception, exchange: str) -> str:
    if isinstance(error, ccxt.BaseError):
        text = translate(error, exchange=exchange).message
    else:
        text = f"{type(error).__name__}: {error}"
    text = _HTML.sub("", _QUERY.sub("", text)).strip()
    return text if len(text) <= 200 else text[:199] + "…"


_QUERY = re.compile(r"\?\S*")
_HTML = re.compile(r"<(!doctype|html).*", re.I | re.S)  # an error page's markup says nothing


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _price(ticker: Any) -> tuple[float, float | None, float | None] | None:
    """(last, bid, ask) of a CCXT ticker: last, else close, else the mid of bid and ask."""
    if not isinstance(ticker, Mapping):
        return None
    bid, ask = _number(ticker.get("bid")), _number(ticker.get("ask"))
    last = _number(ticker.get("last")) or _number(ticker.get("close"))
    if last is None and bid is not None and ask is not None:
        last = (bid + ask) / 2
    return None if last is None else (last, bid, ask)


def ohlcv_candles(rows: Any) -> Candles:
    """CCXT's OHLCV rows (``[ts, open, high, low, close, volume]``); a row missing a price is
    dropped, a missing volume is 0."""
    kept = []
    for row in rows or ():
        prices = [_number(x) for x in row[1:5]]
        if len(row) >= 5 and isinstance(row[0], int | float) and None not in prices:
            volume = _number(row[5]) if len(row) > 5 else None
            kept.append((int(row[0]), *prices, volume or 0.0))
    if not kept:
        return Candles.empty()
    ts, opens, highs, lows, closes, volumes = zip(*kept, strict=True)
    return Candles(np.array(ts), np.array(opens), np.array(highs), np.array(lows),
                   np.array(closes), np.array(volumes))  # fmt: skip
