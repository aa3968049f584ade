"""Price feeds: quotes, intrabar price paths and candles, replayed from candles or pushed by hand.

Prices are ``float`` here: a feed is a model of the market, not money. The venue converts to
``Decimal`` at its edge, rounding to the instrument's tick. Every ``*_ms`` argument and every
timestamp a feed returns is wall-clock epoch milliseconds, the caller's (injected) clock;
nothing here reads a clock.

**Paths.** A price path is a list of ``(ts_ms, price)`` vertices. The price moves in a straight
line from one vertex to the next; two vertices at the same time are a jump, and the later one
is the price from that instant on. ``quote_at(t).last`` is always the path's price at ``t``.

**The OHLC path rule.** A replayed bar is walked through four vertices: its open when it opens;
then, for an up bar (close >= open), its low at 1/3 and its high at 2/3 of the bar, or for a
down bar (close < open) its high at 1/3 and its low at 2/3; then its close when it ends. The
nearer extreme is *not* assumed to come first: an up bar always dips to its low before it
rises to its high, a down bar always rises first. The next bar's open follows at the instant
the bar ends (a jump when it differs from the close); across a gap in the data the close is
held until the next bar opens. Vertex times are rounded down to the millisecond.

**Replay.** ``speed`` market milliseconds pass per wall millisecond (60: one minute of candles
per second, a 1h bar lasts a minute). The first bar opens at ``start_at_ms``. With ``loop`` the
series repeats without end, also before ``start_at_ms``: each pass is shifted by the series'
span (first open to the last bar's end), so the next pass opens the instant the last bar ends
and timestamps keep increasing; the price jumps from the last close to the first open there.
Without ``loop`` there is no price before the start, and the last close holds after the end.
``candles_between`` returns the replayed bars re-timed to the wall clock (a bar lasts
``bar / speed``), the bar in progress cut at ``to_ms`` along the same path, so a chart of them
agrees with the quotes.

**Spread.** bid = last - half_spread, ask = last + half_spread, in price units, per symbol:
``DEFAULT_HALF_SPREADS`` unless given; 0 for a symbol not listed there.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from tradewind.marketdata.candles import Candles, Floats, Int64s
from tradewind.marketdata.store import CandleStore
from tradewind.marketdata.timeframes import Timeframe

PricePath = list[tuple[int, float]]
Times = Int64s | list[int]
Prices = Floats | list[float]
_FEW_VERTICES = 32

DEFAULT_HALF_SPREADS: Mapping[str, float] = MappingProxyType(
    {
        "BTC/USDT": 0.5,
        "BTC/USDT:USDT": 0.5,
        "ETH/USDT": 0.05,
        "LTC/USDT": 0.01,
        "EURUSD": 0.00005,
    }
)


class NoPrice(LookupError):
    """The feed has no price at that time (before its first)."""


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask around the last price, at ``ts_ms`` (wall clock)."""

    symbol: str
    ts_ms: int
    bid: float
    ask: float
    last: float


class PriceFeed(Protocol):
    """What a venue reads from a market: replayed, pushed by hand or (later) live."""

    @property
    def symbol(self) -> str: ...

    def quote_at(self, now_ms: int) -> Quote:
        """The quote at ``now_ms``; ``NoPrice`` before the feed has one."""
        ...

    def price_path(self, from_ms: int, to_ms: int) -> PricePath:
        """The path's vertices in ``[from_ms, to_ms]``, with the prices at both ends."""
        ...

    def candles_between(self, from_ms: int, to_ms: int) -> Candles:
        """Bars opening in ``[from_ms, to_ms)``; the one in progress at ``to_ms`` cut there."""
        ...


def _half_spread(symbol: str, given: float | None) -> float:
    half = DEFAULT_HALF_SPREADS.get(symbol, 0.0) if given is None else float(given)
    if not (math.isfinite(half) and half >= 0):
        raise ValueError("half_spread must be a non-negative number")
    return half


def _price_at(times: Times, prices: Prices, t: int) -> float | None:
    """The price at ``t`` on the path through ``(times, prices)`` (arrays or lists: a bisect
    reads a few elements either way)."""
    j = bisect_right(times, t) - 1
    if j < 0:
        return None
    if j + 1 < len(times):  # times[j] <= t < times[j + 1]
        frac = (t - int(times[j])) / (int(times[j + 1]) - int(times[j]))
        return float(prices[j] + (prices[j + 1] - prices[j]) * frac)
    return float(prices[j])


def _path(times: Times, prices: Prices, a: int, b: int) -> PricePath:
    if b < a:
        raise ValueError("to_ms must not be before from_ms")
    # Start after any jump at ``a`` itself: the path up to ``a`` (the previous call's) already
    # delivered it, so consecutive paths join without replaying a superseded price.
    at_a = bisect_right(times, a)
    lo = at_a - 1 if at_a > 0 and times[at_a - 1] == a else at_a
    hi = bisect_right(times, b)
    path = list(zip(_listed(times[lo:hi]), _listed(prices[lo:hi]), strict=True))
    if not path or path[0][0] != a:
        start = _price_at(times, prices, a)
        if start is not None:
            path.insert(0, (a, start))
    if path and path[-1][0] != b:
        end = _price_at(times, prices, b)
        assert end is not None  # some vertex is at or before b
        path.append((b, end))
    return [point for i, point in enumerate(path) if i == 0 or point != path[i - 1]]


def _listed(values: Any) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


class ReplayFeed:
    """Stored candles played back against the wall clock (see the module docstring)."""

    def __init__(
        self,
        candles: Candles,
        *,
        symbol: str,
        speed: float = 60.0,
        loop: bool = True,
        start_at_ms: int,
        timeframe: Timeframe | None = None,
        half_spread: float | None = None,
    ) -> None:
        if not len(candles):
            raise ValueError("a replay needs at least one candle")
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError("speed must be a positive number")
        bar = (timeframe or _infer_timeframe(candles)).ms
        if _min_step(candles.ts) < bar:
            raise ValueError(f"bars overlap: some are closer than {bar} ms apart")
        self._symbol = symbol
        self._candles = candles
        self._speed = float(speed)
        self._loop = loop
        self._start = int(start_at_ms)
        self._half = _half_spread(symbol, half_spread)
        self._bar = bar
        self._ts0 = int(candles.ts[0])
        """Bars are placed by their offset from the first open, ``ts - ts0`` (computed where
        needed: an array of them was 8 MB for a million bars)."""
        self._span = int(candles.ts[-1]) - self._ts0 + bar
        # each bar's four path points: offsets into the bar, and prices (one row per bar)
        self._corner_offsets: Int64s = np.array([0, bar // 3, 2 * bar // 3, bar], np.int64)
        self._v = _vertices(candles, self._corner_offsets, self._span)
        self._last_quote: Quote | None = None

    @classmethod
    def from_store(
        cls,
        store: CandleStore,
        venue: str,
        symbol: str,
        timeframe: Timeframe | None = None,
        *,
        start_at_ms: int,
        speed: float = 60.0,
        loop: bool = True,
        half_spread: float | None = None,
    ) -> ReplayFeed:
        """Replay a whole stored series, at its finest stored timeframe unless one is given."""
        stored = store.timeframes(venue, symbol)
        tf = timeframe or (stored[0] if stored else Timeframe.M1)
        return cls(
            store.read(venue, symbol, tf),
            symbol=symbol,
            speed=speed,
            loop=loop,
            start_at_ms=start_at_ms,
            timeframe=tf,
            half_spread=half_spread,
        )

    @property
    def symbol(self) -> str:
        return self._symbol

    @property
    def bar_ms(self) -> int:
        """Length of one source bar, in market milliseconds."""
        return self._bar

    @property
    def span_ms(self) -> int:
        """Market milliseconds in one pass: first open to the end of the last bar."""
        return self._span

    def quote_at(self, now_ms: int) -> Quote:
        if self._last_quote is not None and self._last_quote.ts_ms == now_ms:
            return self._last_quote  # the path is a function of time: asked again this ms
        last = self._price_at(now_ms)
        if last is None:
            raise NoPrice(f"the {self._symbol} replay starts at {self._start}")
        self._last_quote = Quote(self._symbol, now_ms, last - self._half, last + self._half, last)
        return self._last_quote

    def price_path(self, from_ms: int, to_ms: int) -> PricePath:
        times, prices = self._window(from_ms, to_ms)
        return _path(times, prices, from_ms, to_ms)

    def candles_between(self, from_ms: int, to_ms: int) -> Candles:
        if to_ms <= from_ms:
            return Candles.empty()
        c, n = self._candles, len(self._candles)
        first = self._global_bar(self._market(from_ms) - self._speed) - 1
        stop = self._global_bar(self._market(to_ms) + self._speed)
        index: Int64s | None = None
        if self._loop:
            loops, index = np.divmod(np.arange(first, max(first, stop), dtype=np.int64), n)
            opens = loops * self._span + (c.ts[index] - self._ts0)
        else:  # one pass: the rows are a run (sliced: views, no gathering)
            first, stop = max(first, 0), min(stop, n)
            opens = c.ts[first : max(first, stop)] - self._ts0
        starts = self._wall(opens)
        # wall times rise with the rows: those opening in [from_ms, to_ms) are a run of them
        a, b = (int(x) for x in np.searchsorted(starts, (from_ms, to_ms), "left"))
        rows = slice(first + a, first + b) if index is None else index[a:b]
        opens, starts = opens[a:b], starts[a:b]
        ends = self._wall(opens + self._bar)
        opening, high, low, close, volume = (
            c.open[rows],
            c.high[rows],
            c.low[rows],
            c.close[rows],
            c.volume[rows],
        )
        if len(starts) and ends[-1] > to_ms:  # the bar in progress: cut it at to_ms
            high, low, close, volume = high.copy(), low.copy(), close.copy(), volume.copy()
            times = self._wall(int(opens[-1]) + self._corner_offsets)
            last = rows.stop - 1 if isinstance(rows, slice) else int(rows[-1])
            prices = _corner_prices(c, last)
            now = _price_at(times, prices, to_ms)
            assert now is not None  # the bar has started
            seen = np.append(prices[times <= to_ms], now)
            high[-1], low[-1], close[-1] = seen.max(), seen.min(), now
            volume[-1] *= (to_ms - int(starts[-1])) / (int(ends[-1]) - int(starts[-1]))
        return Candles(starts, opening, high, low, close, volume)

    def _price_at(self, now_ms: int) -> float | None:
        """The path's price at ``now_ms``: what ``_price_at`` gives over ``_window(now, now)``,
        found without building arrays (a quote is asked for on every order)."""
        count = len(self._v)
        g = self._global_vertex(self._market(now_ms))
        if not self._loop:
            g = min(max(g, 0), count)
        # wall times floor market times: step to the first vertex after ``now_ms``
        while (self._loop or g < count) and self._vertex(g)[0] <= now_ms:
            g += 1
        while (self._loop or g > 0) and self._vertex(g - 1)[0] > now_ms:
            g -= 1
        if g <= 0 and not self._loop:
            return None
        t0, p0 = self._vertex(g - 1)
        if not self._loop and g >= count:
            return p0
        t1, p1 = self._vertex(g)
        return p0 + (p1 - p0) * ((now_ms - t0) / (t1 - t0))

    def _vertex(self, g: int) -> tuple[int, float]:
        """Vertex ``g`` of the endless series: its wall time and price."""
        loop, i = divmod(g, len(self._v))
        t, p = self._v.at(i)
        return self._start + math.floor((loop * self._span + t) / self._speed), p

    def _global_bar(self, market: float) -> int:
        """How many bars of the endless series open at or before ``market``. (The times are
        whole milliseconds, so those at or before ``market`` are those at or before its floor:
        searched with an integer, numpy does not convert the whole array to float first,
        which cost 5 ms a call on a million-candle series.)"""
        loop = math.floor(market / self._span)
        key = np.int64(math.floor(market - loop * self._span) + self._ts0)
        return loop * len(self._candles) + int(np.searchsorted(self._candles.ts, key, "right"))

    def _global_vertex(self, market: float) -> int:
        """How many vertices of the endless series lie at or before ``market`` (as
        ``_global_bar`` for the bars)."""
        loop = math.floor(market / self._span)
        return loop * len(self._v) + self._v.count_upto(math.floor(market - loop * self._span))

    def _market(self, wall_ms: int) -> float:
        return (wall_ms - self._start) * self._speed

    def _wall(self, market: Int64s | int) -> Int64s:
        return self._start + np.floor(np.asarray(market) / self._speed).astype(np.int64)

    def _window(self, a: int, b: int) -> tuple[Int64s, Floats] | tuple[list[int], list[float]]:
        """The vertices whose wall time is in ``[a, b]``, with a neighbour on each side: read
        one by one into lists when they are few (a bar's path, asked for at every tick of a
        backtest's event bar: numpy's fixed cost a call was most of it), else as arrays."""
        count = len(self._v)
        lo = self._global_vertex(self._market(a) - self._speed) - 2
        hi = self._global_vertex(self._market(b) + self._speed) + 1
        if not self._loop:
            lo, hi = min(max(lo, 0), count - 1), min(hi, count - 1)
        stop = max(lo, hi + 1)
        loop = lo // count
        if stop - lo <= _FEW_VERTICES and (stop - 1) // count == loop:
            first = lo - loop * count
            offsets, points = self._v.points(first, first + stop - lo)
            shift, start, speed = loop * self._span, self._start, self._speed
            return [start + math.floor((shift + t) / speed) for t in offsets], points
        loops, index = np.divmod(np.arange(lo, stop, dtype=np.int64), count)
        times, prices = self._v.take(index)
        return self._wall(loops * self._span + times), prices


def _min_step(ts: Int64s, chunk: int = 1 << 16) -> int | float:
    """The smallest gap between consecutive times (inf for one bar), a chunk at a time: a
    million candles' ``np.diff`` was an 8 MB temporary and 12 ms of page faults."""
    least: int | float = math.inf
    for a in range(0, len(ts) - 1, chunk):
        part = ts[a : a + chunk + 1]
        least = min(least, int((part[1:] - part[:-1]).min()))
    return least


def _infer_timeframe(candles: Candles) -> Timeframe:
    step = _min_step(candles.ts)
    for tf in Timeframe:
        if step == tf.ms:
            return tf
    raise ValueError("cannot infer the bar length from these candles: pass timeframe")


def _corner_prices(candles: Candles, row: int) -> Floats:
    """One bar's four path prices: open, the nearer extreme, the farther one, close."""
    o, h, lo, c = (float(x[row]) for x in (candles.open, candles.high, candles.low, candles.close))
    return np.array([_corner(k, o, h, lo, c) for k in range(4)], np.float64)


class _Vertices:
    """A series' path vertices (times as offsets from its first open, and prices), read by
    index, counted up to a time, or taken for a window of indexes."""

    def __init__(self, times: Int64s, prices: Floats) -> None:
        self.times, self.prices = times, prices

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def count_upto(self, offset: int) -> int:
        """How many vertices lie at or before ``offset`` (searched with an integer: numpy
        would convert the whole array to float for a float key)."""
        return int(np.searchsorted(self.times, np.int64(offset), "right"))

    def at(self, i: int) -> tuple[int, float]:
        return int(self.times[i]), float(self.prices[i])

    def points(self, i: int, j: int) -> tuple[list[int], list[float]]:
        """Vertices ``[i, j)`` as lists (a few: a bar's path)."""
        return self.times[i:j].tolist(), self.prices[i:j].tolist()

    def take(self, index: Int64s) -> tuple[Int64s, Floats]:
        return self.times[index], self.prices[index]


def _corner(k: int, o: Any, h: Any, lo: Any, c: Any) -> Any:
    """Corner ``k`` of a bar's path: open, the nearer extreme, the farther one, close (the
    low first on an up bar)."""
    if k == 0:
        return o
    if k == 3:
        return c
    return lo if (k == 1) == (c >= o) else h


def _corners(o: Floats, h: Floats, lo: Floats, c: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    """``_corner`` for arrays of bars: their four corners, each an array."""
    up = c >= o
    return o, np.where(up, lo, h), np.where(up, h, lo), c


class _BarVertices(_Vertices):
    """The vertices of a series without gaps, computed from the bars when asked, not stored:
    vertex ``4b + k`` is bar ``b``'s corner ``k`` (``_path_vertices``). Storing them took two
    arrays of four points a bar (64 MB and 0.15 s of page faults for a million bars), most of
    which a backtest that jumps over quiet bars never reads."""

    def __init__(self, candles: Candles, corner_offsets: Int64s) -> None:
        self._c, self._corners = candles, corner_offsets
        self._corner_list = [int(c) for c in corner_offsets]
        self._n = len(candles)
        self._bar = int(corner_offsets[3])
        """Bar ``b`` opens at offset ``b * bar`` (no gaps: every step is one bar)."""

    def __len__(self) -> int:
        return 4 * self._n

    def count_upto(self, offset: int) -> int:
        n, bar = self._n, self._bar
        return sum(min(max((offset - c) // bar + 1, 0), n) for c in self._corner_list)

    def at(self, i: int) -> tuple[int, float]:
        b, k = divmod(i, 4)
        c = self._c
        price = _corner(k, c.open[b], c.high[b], c.low[b], c.close[b])
        return b * self._bar + self._corner_list[k], float(price)

    def points(self, i: int, j: int) -> tuple[list[int], list[float]]:
        first, c = i // 4, self._c
        o, h, lo, cl = (
            x[first : (j - 1) // 4 + 1].tolist() for x in (c.open, c.high, c.low, c.close)
        )
        bar, corners = self._bar, self._corner_list
        times, prices = [], []
        for g in range(i, j):
            b, k = divmod(g, 4)
            r = b - first
            times.append(b * bar + corners[k])
            prices.append(_corner(k, o[r], h[r], lo[r], cl[r]))
        return times, prices

    def take(self, index: Int64s) -> tuple[Int64s, Floats]:
        b, k = np.divmod(index, 4)
        c = self._c
        prices = np.choose(k, _corners(c.open[b], c.high[b], c.low[b], c.close[b]))
        return b * self._bar + self._corners[k], prices


_VERTICES: dict[tuple[Any, ...], tuple[tuple[Any, ...], _Vertices]] = {}
"""The last two stored path vertices of series with gaps (one without computes its own,
``_BarVertices``), by their arrays' memory (a sweep runs hundreds of backtests on the same
candles: building the vertices was a fifth of each run). The entry
holds the arrays, so their memory is not reused while it lives; candles are never changed
in place."""


def _vertices(candles: Candles, corner_offsets: Int64s, span: int) -> _Vertices:
    """The series' vertices: computed from the bars when it has no gap, else built once
    (and shared by the feeds on the same candles)."""
    n, bar = len(candles), int(corner_offsets[3])
    if _gapless(int(candles.ts[-1] - candles.ts[0]), n, bar, span):
        return _BarVertices(candles, corner_offsets)
    arrays = (candles.ts, candles.open, candles.high, candles.low, candles.close)
    key = (
        *((a.__array_interface__["data"][0], a.shape, a.strides) for a in arrays),
        bar,
        span,
    )
    found = _VERTICES.get(key)
    if found is None:
        offsets = candles.ts - candles.ts[0]
        times, prices = _path_vertices(offsets, corner_offsets, candles, span)
        times.flags.writeable = prices.flags.writeable = False  # shared: nobody writes
        if len(_VERTICES) >= 2:
            del _VERTICES[next(iter(_VERTICES))]
        found = _VERTICES[key] = (arrays, _Vertices(times, prices))
    return found[1]


def _gapless(last_offset: int, n: int, bar: int, span: int) -> bool:
    """Whether ``n`` bars whose last opens ``last_offset`` after the first follow each other
    without a gap (bars are at least a bar apart, so then exactly one)."""
    return last_offset == (n - 1) * bar and span == n * bar


def _path_vertices(
    offsets: Int64s, corner_offsets: Int64s, candles: Candles, span: int
) -> tuple[Int64s, Floats]:
    """Each bar's four path points (open, the nearer extreme, the farther one, close), and a
    fifth holding the close until the next bar opens, only across a gap (a series without
    gaps computes its vertices from the bars instead: ``_BarVertices``)."""
    n, bar = len(offsets), int(corner_offsets[3])
    next_open = np.append(offsets[1:], span)
    gap = next_open > offsets + bar
    starts = np.zeros(n, np.int64)  # where each bar's points start
    np.cumsum(4 + gap[:-1], out=starts[1:])
    total = 4 * n + int(gap.sum())
    times, prices = np.empty(total, np.int64), np.empty(total, np.float64)
    corners = _corners(candles.open, candles.high, candles.low, candles.close)
    for k, corner in enumerate(corners):
        times[starts + k] = offsets + corner_offsets[k]
        prices[starts + k] = corner
    times[starts[gap] + 4] = next_open[gap]
    prices[starts[gap] + 4] = candles.close[gap]
    return times, prices


class ManualFeed:
    """Prices pushed by tests and scripts; the last pushed price holds until the next.

    Its path steps: a push is a jump at its time. ``candles_between`` makes ``timeframe`` bars
    from the path (open = the price in force when the bar opens, volume 0), also across
    quiet stretches where the price is simply held.
    """

    def __init__(
        self, symbol: str, *, half_spread: float | None = None, timeframe: Timeframe = Timeframe.M1
    ) -> None:
        self._symbol = symbol
        self._half = _half_spread(symbol, half_spread)
        self._timeframe = timeframe
        self._times: list[int] = []
        self._prices: list[float] = []
        self._vertices: tuple[Int64s, Floats] | None = None

    @property
    def symbol(self) -> str:
        return self._symbol

    def push(self, symbol: str, price: float, ts_ms: int) -> None:
        """Set the price from ``ts_ms`` on; pushes must not go back in time."""
        if symbol != self._symbol:
            raise ValueError(f"this feed is for {self._symbol}, not {symbol}")
        if not math.isfinite(price):
            raise ValueError("price must be a finite number")
        if self._times and ts_ms < self._times[-1]:
            raise ValueError(f"push at {ts_ms} is before the last one at {self._times[-1]}")
        self._times.append(int(ts_ms))
        self._prices.append(float(price))
        self._vertices = None

    def quote_at(self, now_ms: int) -> Quote:
        last = _price_at(*self._path_vertices(), now_ms)
        if last is None:
            raise NoPrice(f"no {self._symbol} price at {now_ms}")
        return Quote(self._symbol, now_ms, last - self._half, last + self._half, last)

    def price_path(self, from_ms: int, to_ms: int) -> PricePath:
        return _path(*self._path_vertices(), from_ms, to_ms)

    def candles_between(self, from_ms: int, to_ms: int) -> Candles:
        if not self._times or to_ms <= from_ms:
            return Candles.empty()
        tf = self._timeframe
        times, prices = np.array(self._times), np.array(self._prices)
        vertices = self._path_vertices()
        rows: list[tuple[int, float, float, float, float]] = []
        for start in range(max(tf.ceil(from_ms), tf.floor(self._times[0])), to_ms, tf.ms):
            until = min(start + tf.ms - 1, to_ms)
            lo = int(np.searchsorted(times, start, "right"))
            hi = int(np.searchsorted(times, until, "right"))
            opening = _price_at(*vertices, start)
            seen = ([] if opening is None else [opening]) + prices[lo:hi].tolist()
            if seen:
                rows.append((start, seen[0], max(seen), min(seen), seen[-1]))
        if not rows:
            return Candles.empty()
        ts, opens, highs, lows, closes = (np.array(column) for column in zip(*rows, strict=True))
        return Candles(ts, opens, highs, lows, closes, np.zeros(len(rows)))

    def _path_vertices(self) -> tuple[Int64s, Floats]:
        if self._vertices is None:
            t, p = np.array(self._times, np.int64), np.array(self._prices, np.float64)
            # before each later push, a vertex holding the previous price: a step, not a ramp
            times = np.concatenate((t[:1], np.repeat(t[1:], 2)))
            prices = np.concatenate((p[:1], np.stack((p[:-1], p[1:]), axis=1).ravel()))
            self._vertices = times, prices
        return self._vertices
