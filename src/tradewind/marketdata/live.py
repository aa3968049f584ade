"""Live prices: a feed whose ticks are an exchange's prices, pushed as they are received.

A ``LiveFeed`` knows nothing of exchanges: a source (``venues/ccxt/prices.py`` for CCXT) asks
the exchange and pushes what it answers; the paper venue reads the feed as it reads a replay.

**Time.** A tick is stamped with the time it was *received*, on the clock the venue itself
reads (the source passes it), not with the exchange's own timestamp. Exchange clocks drift,
some tickers carry no time or the time of the last trade (minutes old on a quiet market), and a
price stamped ahead of the venue's clock would reach it "from the future": the venue's
``price_path(since, now)`` would miss it now and find it in an interval it has already walked.
Stamped on receipt, a tick is never earlier than the venue's last tick, so the path is never
rewritten behind it. A clock stepping back is clamped: ticks never go back in time.

**Path.** As ``ManualFeed``'s: a tick is a jump at its time and its price holds until the next
one, also through an outage (the last price is served with its age, ``last_update_ms``).

**Quotes.** bid and ask as the exchange gave them with the last price, or ``last ∓
half_spread`` when it gave none.

**Candles.** One-minute bars: those the source seeded from the exchange's history (only bars
that had closed when they were received), then bars built from the ticks (volume 0), a quiet
minute (or an outage) being a flat bar at the held price, as the path holds it. Like the path,
they run to whatever ``to_ms`` is asked: callers ask up to their clock's now.

**Memory.** Ticks older than ``keep_ms`` are folded into one-minute bars (the path before that
is gone; the venue asks only for the stretch since its last tick); ``max_bars`` bars are kept.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from tradewind.domain.errors import VenueUnavailable
from tradewind.marketdata.candles import Candles
from tradewind.marketdata.feeds import NoPrice, PricePath, Quote, _half_spread
from tradewind.marketdata.timeframes import Timeframe

MINUTE = Timeframe.M1.ms
KEEP_MS = 10 * 60_000
MAX_BARS = 14 * 24 * 60

Bar = tuple[int, float, float, float, float, float]


class NoLivePrice(NoPrice, VenueUnavailable):
    """No live price for the symbol: none received yet, or the exchange does not list it.
    A ``NoPrice`` to the venue's ticker; a ``VenueUnavailable`` (503) to an order."""

    def __init__(self, message: str) -> None:
        VenueUnavailable.__init__(self, message)


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """How one live feed is doing, for status pages and ``/readyz``."""

    symbol: str
    exchange: str
    exchange_symbol: str | None
    listed: bool | None
    """None until the exchange's markets are known."""
    connected: bool
    """The exchange's last answer for this symbol was a price (not a failure)."""
    last_update_ms: int | None
    """When the last answer with a price was received."""
    age_ms: int | None
    error: str | None


class LiveFeed:
    """An exchange's prices for one symbol, as received (see the module docstring)."""

    def __init__(
        self,
        symbol: str,
        *,
        exchange: str,
        half_spread: float | None = None,
        keep_ms: int = KEEP_MS,
        max_bars: int = MAX_BARS,
    ) -> None:
        if keep_ms < MINUTE:
            raise ValueError("keep_ms must be at least a minute")
        self._symbol = symbol
        self.exchange = exchange
        self.exchange_symbol: str | None = None
        self.listed: bool | None = None
        self.connected = False
        self.last_update_ms: int | None = None
        self.error: str | None = None
        self._half = _half_spread(symbol, half_spread)
        self._keep = keep_ms
        self._max_bars = max_bars
        self._times: list[int] = []
        self._lasts: list[float] = []
        self._bids: list[float | None] = []
        self._asks: list[float | None] = []
        self._bars: list[Bar] = []
        self._bar_ts: list[int] = []
        self._bars_until: int | None = None
        """Where ``_bars`` end (a minute boundary); bars from here on are built from ticks."""
        self._seen_ms: int | None = None

    @property
    def symbol(self) -> str:
        return self._symbol

    # ---- what the source reports ---------------------------------------------------------

    def list_as(self, exchange_symbol: str | None) -> None:
        """The exchange's symbol for this feed, or None: the exchange does not list it."""
        self.exchange_symbol = exchange_symbol
        self.listed = exchange_symbol is not None

    def seed(self, candles: Candles, *, received_ms: int) -> None:
        """One-minute bars of the exchange's history, received at ``received_ms``: those
        closed by then are kept (once, before the first tick)."""
        if self._times or self._bars:
            raise ValueError("a live feed is seeded once, before its first tick")
        columns = (candles.open, candles.high, candles.low, candles.close, candles.volume)
        for i, ts in enumerate(candles.ts.tolist()):
            o, h, lo, c, v = (float(column[i]) for column in columns)
            if (
                ts % MINUTE == 0
                and ts + MINUTE <= received_ms
                and (not self._bar_ts or ts > self._bar_ts[-1])
                and all(math.isfinite(x) for x in (o, h, lo, c, v))
            ):
                self._bars.append((ts, o, h, lo, c, v))
                self._bar_ts.append(ts)
        del self._bars[: -self._max_bars], self._bar_ts[: -self._max_bars]
        if self._bars:
            self._bars_until = self._bar_ts[-1] + MINUTE
            self._seen(received_ms)

    def push(
        self, ts_ms: int, last: float, *, bid: float | None = None, ask: float | None = None
    ) -> None:
        """A price received at ``ts_ms`` (the receiving clock's time)."""
        if not math.isfinite(last):
            raise ValueError("last must be a finite number")
        bid = bid if bid is not None and math.isfinite(bid) else None
        ask = ask if ask is not None and math.isfinite(ask) else None
        ts = max(int(ts_ms), self._times[-1]) if self._times else int(ts_ms)
        self.connected, self.error, self.last_update_ms = True, None, ts
        if self._bars_until is None:
            self._bars_until = Timeframe.M1.floor(ts)
        if not (
            self._times and (last, bid, ask) == (self._lasts[-1], self._bids[-1], self._asks[-1])
        ):
            self._times.append(ts)
            self._lasts.append(float(last))
            self._bids.append(bid)
            self._asks.append(ask)
        self._seen(ts)

    def failed(self, ts_ms: int, reason: str) -> None:
        """The exchange gave no price at ``ts_ms``: the last one holds."""
        self.connected, self.error = False, reason
        self._seen(int(ts_ms))

    def status(self, now_ms: int) -> LiveStatus:
        age = None if self.last_update_ms is None else max(0, now_ms - self.last_update_ms)
        return LiveStatus(
            symbol=self._symbol, exchange=self.exchange, exchange_symbol=self.exchange_symbol,
            listed=self.listed, connected=self.connected, last_update_ms=self.last_update_ms,
            age_ms=age, error=self.error,
        )  # fmt: skip

    # ---- what the venue reads ------------------------------------------------------------

    def quote_at(self, now_ms: int) -> Quote:
        i = bisect_right(self._times, now_ms) - 1
        if i < 0:
            raise NoLivePrice(self._no_price_reason())
        last, bid, ask = self._lasts[i], self._bids[i], self._asks[i]
        if bid is None or ask is None:
            bid, ask = last - self._half, last + self._half
        return Quote(self._symbol, now_ms, bid, ask, last)

    def price_path(self, from_ms: int, to_ms: int) -> PricePath:
        if to_ms < from_ms:
            raise ValueError("to_ms must not be before from_ms")
        times, lasts = self._times, self._lasts
        i = bisect_right(times, from_ms)
        prev = lasts[i - 1] if i else None
        path: PricePath = [] if prev is None else [(from_ms, prev)]
        for k in range(i, bisect_right(times, to_ms)):
            if prev is not None:
                path.append((times[k], prev))  # held until the jump
            prev = lasts[k]
            path.append((times[k], prev))
        if path and path[-1][0] != to_ms:
            path.append((to_ms, path[-1][1]))
        return [point for n, point in enumerate(path) if n == 0 or point != path[n - 1]]

    def candles_between(self, from_ms: int, to_ms: int) -> Candles:
        if to_ms <= from_ms:
            return Candles.empty()
        lo, hi = bisect_left(self._bar_ts, from_ms), bisect_left(self._bar_ts, to_ms)
        rows = self._bars[lo:hi]
        if self._bars_until is not None and self._times:
            rows += self._tick_bars(max(Timeframe.M1.ceil(from_ms), self._bars_until), to_ms)
        if not rows:
            return Candles.empty()
        ts, opens, highs, lows, closes, volumes = zip(*rows, strict=True)
        return Candles(np.array(ts), np.array(opens), np.array(highs), np.array(lows),
                       np.array(closes), np.array(volumes))  # fmt: skip

    # ---- internals -------------------------------------------------------------------------

    def _no_price_reason(self) -> str:
        if self.listed is False:
            return f"{self.exchange} does not list {self._symbol}: it has no live price"
        why = f" ({self.error})" if self.error else ""
        return f"no {self._symbol} price from {self.exchange} yet{why}"

    def _tick_bars(self, start: int, to_ms: int) -> list[Bar]:
        """Minute bars opening in ``[start, to_ms)`` from the ticks, the last one cut at
        ``to_ms``; as ``ManualFeed.candles_between`` makes them."""
        times, lasts = self._times, self._lasts
        rows: list[Bar] = []
        k = bisect_right(times, start)
        for opened in range(start, to_ms, MINUTE):
            hi = bisect_right(times, min(opened + MINUTE - 1, to_ms), k)
            seen = ([lasts[k - 1]] if k else []) + lasts[k:hi]
            if seen:
                rows.append((opened, seen[0], max(seen), min(seen), seen[-1], 0.0))
            k = bisect_right(times, opened + MINUTE, hi)
        return rows

    def _seen(self, ts: int) -> None:
        self._seen_ms = ts if self._seen_ms is None else max(self._seen_ms, ts)
        self._fold(self._seen_ms)

    def _fold(self, now: int) -> None:
        """Ticks older than ``keep_ms`` become minute bars; the one in force at the cut stays."""
        cut = Timeframe.M1.floor(now - self._keep)
        if self._bars_until is None or cut <= self._bars_until or not self._times:
            return
        for bar in self._tick_bars(self._bars_until, cut):
            self._bars.append(bar)
            self._bar_ts.append(bar[0])
        self._bars_until = cut
        drop = bisect_left(self._times, cut) - 1
        if drop > 0:
            for column in (self._times, self._lasts, self._bids, self._asks):
                del column[:drop]
        if len(self._bars) > self._max_bars + self._max_bars // 8:
            del self._bars[: -self._max_bars], self._bar_ts[: -self._max_bars]
