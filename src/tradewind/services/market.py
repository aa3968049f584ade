"""Market data for the APIs and the paper venue: the candle store, one price feed per
instrument, and candles of the market as the paper venue replays it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from tradewind.domain.clock import Clock, to_ms
from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.domain.instruments import Instrument
from tradewind.marketdata.candles import Candles
from tradewind.marketdata.feeds import ManualFeed, PriceFeed, ReplayFeed
from tradewind.marketdata.live import LiveFeed, LiveStatus
from tradewind.marketdata.resample import resample
from tradewind.marketdata.store import CandleStore
from tradewind.marketdata.timeframes import Timeframe

# Replays are anchored here, so a given wall-clock time always shows the same market position
# (a restart resumes where the market was, not from the first bar).
REPLAY_ANCHOR_MS = to_ms(datetime(2026, 1, 1, tzinfo=UTC))


class MarketData:
    def __init__(self, store: CandleStore, clock: Clock) -> None:
        self.store = store
        self._clock = clock
        self.feeds: dict[tuple[str, str], PriceFeed] = {}
        self._source_tf: dict[tuple[str, str], Timeframe] = {}

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def replay_feeds(
        self, instruments: Iterable[Instrument], *, bar_seconds: float
    ) -> dict[str, PriceFeed]:
        """A replay of the finest stored series for each instrument; one real bar per
        ``bar_seconds`` of wall time."""
        feeds: dict[str, PriceFeed] = {}
        for instrument in instruments:
            stored = self.store.timeframes(instrument.venue, instrument.symbol)
            if not stored:
                continue
            tf = self._replay_timeframe(instrument, stored)
            candles = self.store.read(instrument.venue, instrument.symbol, tf)
            speed = tf.ms / (bar_seconds * 1000)
            feed = ReplayFeed(
                candles,
                symbol=instrument.symbol,
                speed=speed,
                loop=True,
                start_at_ms=REPLAY_ANCHOR_MS,
            )
            feeds[instrument.symbol] = feed
            self.feeds[(instrument.venue, instrument.symbol)] = feed
            self._source_tf[(instrument.venue, instrument.symbol)] = tf
        return feeds

    def _replay_timeframe(self, instrument: Instrument, stored: list[Timeframe]) -> Timeframe:
        # The longest history gives the most varied market: 1h beats three days of 1m.
        best = max(
            stored, key=lambda tf: len(self.store.read(instrument.venue, instrument.symbol, tf))
        )
        return best

    def manual_feeds(
        self, instruments: Iterable[Instrument], seed: dict[str, PriceFeed] | None = None
    ) -> dict[str, PriceFeed]:
        """Feeds that move only when a test or script pushes a price; each starts at the price
        its replay shows now, so quotes exist from the start."""
        feeds: dict[str, PriceFeed] = {}
        now = self.now_ms()
        for instrument in instruments:
            feed = ManualFeed(instrument.symbol, half_spread=float(instrument.half_spread))
            if seed and instrument.symbol in seed:
                feed.push(instrument.symbol, seed[instrument.symbol].quote_at(now).last, now)
            feeds[instrument.symbol] = feed
            self.feeds[(instrument.venue, instrument.symbol)] = feed
        return feeds

    def live_feeds(
        self, instruments: Iterable[Instrument], *, exchange: str
    ) -> dict[str, LiveFeed]:
        """Feeds of ``exchange``'s prices as they are received (a source pushes them: see
        ``venues/ccxt/prices.py``); without a price until the exchange gives one."""
        feeds: dict[str, LiveFeed] = {}
        for instrument in instruments:
            feed = LiveFeed(
                instrument.symbol, exchange=exchange, half_spread=float(instrument.half_spread)
            )
            feeds[instrument.symbol] = feed
            self.feeds[(instrument.venue, instrument.symbol)] = feed
            self._source_tf[(instrument.venue, instrument.symbol)] = Timeframe.M1
        return feeds

    def live_status(self) -> list[LiveStatus]:
        """How each live feed is doing (none unless prices are live)."""
        now = self.now_ms()
        return [f.status(now) for f in self.feeds.values() if isinstance(f, LiveFeed)]

    def candles(
        self, venue: str, symbol: str, timeframe: str, *, start_ms: int | None = None, end_ms: int | None = None,
        limit: int = 500,
    ) -> Candles:  # fmt: skip
        """Candles of the market the venue trades on: for a replayed paper market, the replay
        (time-shifted to now), for a live one the exchange's (seeded, then built from its
        prices), resampled to ``timeframe``; else the stored series."""
        tf = _timeframe(timeframe)
        feed = self.feeds.get((venue, symbol))
        if isinstance(feed, ReplayFeed | LiveFeed):
            source = self._source_tf[(venue, symbol)]
            if not source.divides(tf):
                raise ValidationFailed(
                    f"{symbol} is replayed from {source} bars; ask for {source} or coarser",
                    details=[{"field": "timeframe", "message": f"finest available is {source}"}],
                )
            end = end_ms if end_ms is not None else self.now_ms()
            if isinstance(feed, LiveFeed):  # live prices have no future
                end = min(end, self.now_ms())
            start = start_ms if start_ms is not None else end - tf.ms * (limit + 1)
            bars = resample(feed.candles_between(start, end), tf)
            return bars[max(0, len(bars) - limit) :] if start_ms is None else bars[:limit]
        if not self.store.timeframes(venue, symbol):
            raise NotFound(f"no market data for {venue} {symbol}")
        return self.store.read(venue, symbol, tf, start_ms, end_ms, limit)

    def recent_candles(self, venue: str, symbol: str, timeframe: str, count: int) -> Candles:
        return self.candles(venue, symbol, timeframe, limit=count)


def _timeframe(value: str) -> Timeframe:
    try:
        return Timeframe(value)
    except ValueError:
        raise ValidationFailed(
            f"unknown timeframe {value}",
            details=[{"field": "timeframe", "message": f"one of {[t.value for t in Timeframe]}"}],
        ) from None
