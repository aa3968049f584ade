from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.marketdata.factories import APR4, HOUR, MINUTE, bars, bundled
from tradewind.marketdata.bundled import bundled_store
from tradewind.marketdata.feeds import ManualFeed, NoPrice, PriceFeed, Quote, ReplayFeed
from tradewind.marketdata.feeds import _price_at as feeds_price_at
from tradewind.marketdata.resample import resample
from tradewind.marketdata.timeframes import Timeframe

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, the wall-clock start of the replays below
UP = (APR4, 100.0, 110.0, 95.0, 105.0, 1.0)  # close >= open
DOWN = (APR4 + MINUTE, 105.0, 108.0, 90.0, 92.0, 2.0)  # close < open
LAST = (APR4 + 3 * MINUTE, 92.0, 93.0, 91.0, 93.0, 3.0)  # after a one-minute gap


def replay(*rows: tuple[float, ...], **options: object) -> ReplayFeed:
    kwargs: dict[str, object] = {
        "symbol": "BTC/USDT",
        "speed": 1.0,
        "start_at_ms": T0,
        "timeframe": Timeframe.M1,
        **options,
    }
    return ReplayFeed(bars(*rows), **kwargs)  # type: ignore[arg-type]


def path_price(path: list[tuple[int, float]], t: int) -> float:
    """The price at ``t`` by the documented rule: linear between vertices, the later of a jump."""
    times = np.array([p[0] for p in path])
    j = int(np.searchsorted(times, t, "right")) - 1
    if j + 1 == len(path):
        return path[j][1]
    (t1, p1), (t2, p2) = path[j], path[j + 1]
    return p1 + (p2 - p1) * (t - t1) / (t2 - t1)


class TestOhlcPath:
    def test_up_bar_visits_low_then_high(self) -> None:
        feed = replay(UP, DOWN, LAST, loop=False)
        assert feed.price_path(T0, T0 + MINUTE - 1)[:3] == [
            (T0, 100.0),
            (T0 + 20_000, 95.0),
            (T0 + 40_000, 110.0),
        ]

    def test_down_bar_visits_high_then_low(self) -> None:
        feed = replay(UP, DOWN, LAST)
        path = feed.price_path(T0 + MINUTE, T0 + 2 * MINUTE)
        assert path == [
            (T0 + MINUTE, 105.0),
            (T0 + MINUTE + 20_000, 108.0),
            (T0 + MINUTE + 40_000, 90.0),
            (T0 + 2 * MINUTE, 92.0),
        ]

    def test_the_whole_pass_with_jumps_and_the_gap_held(self) -> None:
        feed = replay(UP, DOWN, LAST, loop=False)
        assert feed.price_path(T0, T0 + 10 * MINUTE) == [
            (T0, 100.0), (T0 + 20_000, 95.0), (T0 + 40_000, 110.0),
            (T0 + 60_000, 105.0),  # UP's close is DOWN's open: one vertex
            (T0 + 80_000, 108.0), (T0 + 100_000, 90.0), (T0 + 120_000, 92.0),
            (T0 + 180_000, 92.0),  # held across the missing minute
            (T0 + 200_000, 91.0), (T0 + 220_000, 93.0), (T0 + 240_000, 93.0),  # LAST is up
            (T0 + 600_000, 93.0),  # no loop: the last close holds
        ]  # fmt: skip

    def test_a_jump_is_two_vertices_at_one_time(self) -> None:
        feed = replay(UP, (APR4 + MINUTE, 107.0, 108.0, 90.0, 92.0, 2.0))
        path = feed.price_path(T0 + 50_000, T0 + 70_000)
        assert (T0 + MINUTE, 105.0) in path and (T0 + MINUTE, 107.0) in path
        assert path.index((T0 + MINUTE, 105.0)) + 1 == path.index((T0 + MINUTE, 107.0))
        assert feed.quote_at(T0 + MINUTE).last == 107.0  # from that instant on, the later price
        assert feed.quote_at(T0 + MINUTE - 1).last == pytest.approx(105.0, abs=0.01)

    def test_quotes_lie_on_the_path_at_any_speed(self) -> None:
        eth = bundled("ETH_USD-1m")
        feed = ReplayFeed(eth, symbol="ETH/USDT", speed=7.3, start_at_ms=T0)
        a, b = T0 + 12_345, T0 + 12_345 + 2 * HOUR
        path = feed.price_path(a, b)
        assert path[0][0] == a and path[-1][0] == b
        assert all(t1 <= t2 for (t1, _), (t2, _) in itertools.pairwise(path))
        for t in np.linspace(a, b, 997).astype(int).tolist():
            assert feed.quote_at(t).last == pytest.approx(path_price(path, t), rel=1e-12)

    def test_paths_of_consecutive_windows_join_up(self) -> None:
        feed = ReplayFeed(bundled("BTC_USD-1m"), symbol="BTC/USDT", start_at_ms=T0)
        whole = feed.price_path(T0, T0 + 90_000)
        first, second = feed.price_path(T0, T0 + 45_123), feed.price_path(T0 + 45_123, T0 + 90_000)
        inner = {p for p in whole if T0 < p[0] < T0 + 90_000}
        assert inner <= set(first) | set(second)
        assert first[-1] == second[0]


class TestReplayClock:
    def test_speed_maps_wall_time_to_the_series(self) -> None:
        feed = ReplayFeed(bundled("BTC_USD-1m"), symbol="BTC/USDT", speed=60.0, start_at_ms=T0)
        assert feed.quote_at(T0).last == 7424.91  # first open
        # one wall second per minute: the 3rd bar (7403.98 → 7390 → 7403.98 → 7395.88, down)
        assert feed.quote_at(T0 + 2_000).last == 7403.98
        candles = feed.candles_between(T0, T0 + 3_000)
        assert candles.ts.tolist() == [T0, T0 + 1_000, T0 + 2_000]
        assert candles.close.tolist() == [7422.0, 7405.0, 7395.88]

    def test_the_hole_in_the_data_is_a_flat_price(self) -> None:
        btc = bundled("BTC_USD-1m")
        feed = ReplayFeed(btc, symbol="BTC/USDT", speed=1.0, start_at_ms=APR4)  # replay in place
        hole_start, hole_end = APR4 + 16 * HOUR + 48 * MINUTE, APR4 + 24 * HOUR
        assert feed.price_path(hole_start + MINUTE, hole_end - MINUTE) == [
            (hole_start + MINUTE, 6894.01),
            (hole_end - MINUTE, 6894.01),
        ]
        assert len(feed.candles_between(hole_start, hole_end)) == 0
        replayed = feed.candles_between(APR4, APR4 + 72 * HOUR)
        assert np.array_equal(replayed.ts, btc.ts) and np.array_equal(replayed.close, btc.close)

    def test_spread_around_last(self) -> None:
        quote = replay(UP, DOWN).quote_at(T0)
        assert quote == Quote("BTC/USDT", T0, 99.5, 100.5, 100.0)
        eur = replay(UP, symbol="EURUSD").quote_at(T0)
        assert (eur.bid, eur.ask) == (100.0 - 0.00005, 100.0 + 0.00005)
        assert replay(UP, symbol="ETH/USDT").quote_at(T0).ask == 100.05
        assert replay(UP, symbol="SOL/USDT").quote_at(T0).ask == 100.0  # not listed: no spread
        assert replay(UP, half_spread=2.0).quote_at(T0).bid == 98.0
        with pytest.raises(ValueError, match="half_spread"):
            replay(UP, half_spread=-1.0)


class TestLooping:
    def test_candles_continue_across_the_seam(self) -> None:
        feed = replay(UP, DOWN, LAST, speed=60.0)
        span_wall = 4 * MINUTE // 60  # the series spans 4 minutes: 4 s of wall time per pass
        candles = feed.candles_between(T0, T0 + 3 * span_wall)
        assert len(candles) == 9
        assert candles.ts.tolist() == [
            T0 + loop * span_wall + offset for loop in range(3) for offset in (0, 1_000, 3_000)
        ]
        assert candles.open.tolist() == [100.0, 105.0, 92.0] * 3
        assert candles.volume.tolist() == [1.0, 2.0, 3.0] * 3

    def test_the_price_jumps_from_the_last_close_to_the_first_open(self) -> None:
        feed = replay(UP, DOWN, LAST)
        seam = T0 + 4 * MINUTE
        path = feed.price_path(seam - 1, seam + 1)
        assert path[1:3] == [(seam, 93.0), (seam, 100.0)]
        assert feed.quote_at(seam).last == 100.0
        assert feed.quote_at(seam + 20_000).last == 95.0  # the up bar again: low first

    def test_before_the_start_the_loop_runs_backwards_too(self) -> None:
        feed = replay(UP, DOWN, LAST)
        before = feed.candles_between(T0 - 4 * MINUTE, T0)
        assert before.ts.tolist() == [T0 - 4 * MINUTE, T0 - 3 * MINUTE, T0 - MINUTE]
        assert feed.quote_at(T0 - 1).last == pytest.approx(93.0, abs=0.01)

    def test_a_real_series_loops_with_increasing_timestamps(self) -> None:
        btc = bundled("BTC_USD-1m")
        feed = ReplayFeed(btc, symbol="BTC/USDT", speed=3_600.0, start_at_ms=T0)
        assert feed.span_ms == 3 * 24 * HOUR
        one_pass = feed.span_ms // 3_600  # 72 s of wall time
        candles = feed.candles_between(T0, T0 + 2 * one_pass)
        assert len(candles) == 2 * len(btc)
        assert (np.diff(candles.ts) > 0).all()
        assert np.array_equal(candles.close[len(btc) :], btc.close)

    def test_without_loop_the_replay_stops(self) -> None:
        feed = replay(UP, DOWN, LAST, loop=False)
        with pytest.raises(NoPrice):
            feed.quote_at(T0 - 1)
        assert feed.price_path(T0 - 10, T0 - 1) == []
        assert feed.quote_at(T0 + 10 * HOUR).last == 93.0
        assert len(feed.candles_between(T0 - HOUR, T0 + HOUR)) == 3


class TestReplayedCandles:
    def test_the_bar_in_progress_is_cut_at_to_ms(self) -> None:
        feed = replay(UP, DOWN, LAST)
        at = T0 + 30_000  # halfway from the low (95 at 20 s) to the high (110 at 40 s)
        (bar,) = zip(*(getattr(feed.candles_between(T0, at), n).tolist() for n in
                      ("ts", "open", "high", "low", "close", "volume")), strict=True)  # fmt: skip
        assert bar == (T0, 100.0, 102.5, 95.0, 102.5, 0.5)
        assert feed.quote_at(at).last == 102.5

    def test_resampled_to_wall_clock_bars(self, tmp_path: Path) -> None:
        feed = ReplayFeed(bundled("BTC_USD-1m"), symbol="BTC/USDT", speed=60.0, start_at_ms=T0)
        minutes = resample(feed.candles_between(T0, T0 + 10 * MINUTE), Timeframe.M1)
        hours = bundled_store(tmp_path).read("paper", "BTC/USDT", "1h", start_ms=APR4, limit=10)
        # at speed 60 a wall minute replays a market hour; the first hours have no holes
        assert minutes.close.tolist() == hours.close.tolist()[:10]
        assert minutes.high.tolist()[:2] == [7424.91, 7415.0]

    def test_empty_window(self) -> None:
        assert len(replay(UP).candles_between(T0, T0)) == 0


class TestReplaySetup:
    def test_timeframe_is_inferred_from_the_smallest_step(self) -> None:
        assert ReplayFeed(bars(UP, DOWN, LAST), symbol="X", start_at_ms=T0).bar_ms == MINUTE
        assert ReplayFeed(bundled("EUR_USD-1h-2017"), symbol="X", start_at_ms=T0).bar_ms == HOUR
        with pytest.raises(ValueError, match="infer"):
            ReplayFeed(bars(UP, LAST), symbol="X", start_at_ms=T0)  # 3 minutes is no timeframe

    @pytest.mark.parametrize(
        ("rows", "options", "message"),
        [
            ((), {}, "at least one"),
            ((UP,), {"timeframe": None}, "infer"),
            ((UP, DOWN), {"speed": 0.0}, "speed"),
            ((UP, DOWN), {"timeframe": Timeframe.M5}, "overlap"),
        ],
    )
    def test_refused(
        self, rows: tuple[tuple[float, ...], ...], options: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            replay(*rows, **options)

    def test_from_store_uses_the_finest_stored_timeframe(self, tmp_path: Path) -> None:
        store = bundled_store(tmp_path)
        feed = ReplayFeed.from_store(store, "paper", "BTC/USDT", start_at_ms=T0)
        assert feed.bar_ms == MINUTE and feed.symbol == "BTC/USDT"
        hourly = ReplayFeed.from_store(store, "paper", "BTC/USDT", Timeframe.H1, start_at_ms=T0)
        assert hourly.span_ms == 20_111 * HOUR


class TestManualFeed:
    def test_pushed_prices_hold_until_the_next(self) -> None:
        feed = ManualFeed("BTC/USDT")
        with pytest.raises(NoPrice):
            feed.quote_at(T0)
        feed.push("BTC/USDT", 100.0, T0)
        feed.push("BTC/USDT", 101.0, T0 + 1_000)
        assert feed.quote_at(T0 + 999) == Quote("BTC/USDT", T0 + 999, 99.5, 100.5, 100.0)
        assert feed.quote_at(T0 + 1_000).last == 101.0
        assert feed.quote_at(T0 + HOUR).last == 101.0

    def test_path_is_a_step(self) -> None:
        feed = ManualFeed("EURUSD")
        for price, ts in ((1.1, T0), (1.2, T0 + 10), (1.15, T0 + 20)):
            feed.push("EURUSD", price, ts)
        assert feed.price_path(T0 - 5, T0 + 30) == [
            (T0, 1.1), (T0 + 10, 1.1), (T0 + 10, 1.2), (T0 + 20, 1.2), (T0 + 20, 1.15), (T0 + 30, 1.15),
        ]  # fmt: skip
        assert feed.price_path(T0 + 5, T0 + 15) == [
            (T0 + 5, 1.1),
            (T0 + 10, 1.1),
            (T0 + 10, 1.2),
            (T0 + 15, 1.2),
        ]

    def test_candles_from_pushes(self) -> None:
        feed = ManualFeed("BTC/USDT", timeframe=Timeframe.M1)
        for price, ts in ((100.0, T0 + 1_000), (103.0, T0 + 61_000), (99.0, T0 + 90_000)):
            feed.push("BTC/USDT", price, ts)
        candles = feed.candles_between(T0 - HOUR, T0 + 150_000)
        assert candles.ts.tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
        assert candles.open.tolist() == [100.0, 100.0, 99.0]  # the price in force at the open
        assert candles.high.tolist() == [100.0, 103.0, 99.0]
        assert candles.low.tolist() == [100.0, 99.0, 99.0]
        assert candles.close.tolist() == [100.0, 99.0, 99.0]
        assert len(ManualFeed("X").candles_between(T0, T0 + HOUR)) == 0

    def test_refusals(self) -> None:
        feed = ManualFeed("BTC/USDT")
        feed.push("BTC/USDT", 100.0, T0)
        with pytest.raises(ValueError, match="not ETH/USDT"):
            feed.push("ETH/USDT", 100.0, T0 + 1)
        with pytest.raises(ValueError, match="before the last"):
            feed.push("BTC/USDT", 100.0, T0 - 1)
        with pytest.raises(ValueError, match="finite"):
            feed.push("BTC/USDT", float("nan"), T0 + 1)
        with pytest.raises(ValueError, match="before"):
            feed.price_path(T0 + 1, T0)


def test_both_feeds_satisfy_the_protocol() -> None:
    feeds: list[PriceFeed] = [replay(UP, DOWN), ManualFeed("BTC/USDT")]
    assert [f.symbol for f in feeds] == ["BTC/USDT", "BTC/USDT"]


@given(
    speed=st.sampled_from([1.0, 7.3, 60.0, 333.3]),
    loop=st.booleans(),
    offset=st.integers(min_value=-(10**7), max_value=10**9),
)
def test_a_quote_is_the_price_of_the_path_at_that_moment(
    speed: float, loop: bool, offset: int
) -> None:
    """The quote's shortcut (no arrays) agrees with the path's vertices around the moment."""
    feed = replay(UP, DOWN, LAST, speed=speed, loop=loop)
    now = T0 + offset
    times, prices = feed._window(now, now)
    expected = feeds_price_at(times, prices, now)
    if expected is None:
        with pytest.raises(NoPrice):
            feed.quote_at(now)
    else:
        assert feed.quote_at(now).last == expected


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # bars skipped before this one (a gap)
            st.floats(1, 100),
            st.floats(1, 100),
            st.floats(1, 100),
            st.floats(1, 100),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_replay_path_is_each_bars_four_corners_and_a_held_close_across_gaps(
    rows: list[tuple[int, float, float, float, float]],
) -> None:
    """The vertices, against a plain per-bar reading of the documented path: open, the
    extreme nearer the open's side (low on an up bar), the other extreme, close, at 0, 1/3,
    2/3 and the whole of the bar; across a gap one more point holds the close until the next
    bar opens."""
    from tradewind.marketdata.feeds import _path_vertices

    ts, table = 0, []
    for skipped, o, a, b, c in rows:
        ts += skipped * MINUTE
        table.append((ts, o, max(o, a, b, c), min(o, a, b, c), c, 1.0))
        ts += MINUTE
    candles = bars(*table)
    offsets = candles.ts - candles.ts[0]
    span = int(offsets[-1]) + MINUTE
    corners = np.array([0, MINUTE // 3, 2 * MINUTE // 3, MINUTE], np.int64)
    times, prices = _path_vertices(offsets, corners, candles, span)
    want_t: list[int] = []
    want_p: list[float] = []
    for i, (_, o, h, low, c, _v) in enumerate(table):
        start = int(offsets[i])
        want_t += [start + int(k) for k in corners]
        want_p += [o, low, h, c] if c >= o else [o, h, low, c]
        next_open = int(offsets[i + 1]) if i + 1 < len(table) else span
        if next_open > start + MINUTE:
            want_t.append(next_open)
            want_p.append(c)
    assert times.tolist() == want_t
    assert prices.tolist() == want_p


def test_feeds_on_the_same_candles_share_their_path_and_nobody_can_change_it() -> None:
    """A sweep builds hundreds of feeds on one series: its stored path (a series with a gap;
    one without computes its vertices from the bars) is built once."""
    rows = [(0, 10, 12, 9, 11, 1), (MINUTE, 11, 13, 10, 12, 1), (4 * MINUTE, 12, 13, 10, 12, 1)]
    candles = bars(*rows)
    a = ReplayFeed(candles, symbol="BTC/USDT", start_at_ms=0, speed=1.0)
    b = ReplayFeed(candles, symbol="BTC/USDT", start_at_ms=5, speed=60.0, loop=False)
    assert a._v is b._v
    assert not a._v.times.flags.writeable and not a._v.prices.flags.writeable
    other = bars(*rows)  # equal, not the same
    c = ReplayFeed(other, symbol="BTC/USDT", start_at_ms=0)
    assert c._v is not a._v and c._v.times.tolist() == a._v.times.tolist()


@given(
    st.lists(
        st.tuples(st.floats(1, 100), st.floats(1, 100), st.floats(1, 100), st.floats(1, 100)),
        min_size=1,
        max_size=30,
    ),
    st.lists(st.integers(-MINUTE, 31 * MINUTE), max_size=20),
)
def test_vertices_of_a_series_without_gaps_are_computed_as_they_would_be_stored(
    rows: list[tuple[float, float, float, float]], offsets_asked: list[int]
) -> None:
    """A series without gaps reads its vertices from the bars (``_BarVertices``): the same
    count at or before any time, the same vertex at any index, the same window of them as
    the stored arrays (``_path_vertices``)."""
    from tradewind.marketdata.feeds import _BarVertices, _path_vertices, _Vertices

    table = [
        (i * MINUTE, o, max(o, a, b, c), min(o, a, b, c), c, 1.0)
        for i, (o, a, b, c) in enumerate(rows)
    ]
    candles = bars(*table)
    offsets = candles.ts - candles.ts[0]
    corners = np.array([0, MINUTE // 3, 2 * MINUTE // 3, MINUTE], np.int64)
    stored = _Vertices(*_path_vertices(offsets, corners, candles, len(rows) * MINUTE))
    computed = _BarVertices(candles, corners)
    assert len(computed) == len(stored)
    for offset in [*offsets_asked, 0, MINUTE, len(rows) * MINUTE]:
        assert computed.count_upto(offset) == stored.count_upto(offset)
    for i in range(len(stored)):
        assert computed.at(i) == stored.at(i)
    index = np.arange(len(stored), dtype=np.int64)[::-1]
    for got, want in zip(computed.take(index), stored.take(index), strict=True):
        assert np.array_equal(got, want)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),  # bars skipped before this one (a gap)
            st.floats(1, 100),
            st.floats(1, 100),
            st.floats(1, 100),
            st.floats(1, 100),
        ),
        min_size=1,
        max_size=25,
    ),
    st.booleans(),
    st.sampled_from([1.0, 60.0, 7.5]),
    st.lists(st.tuples(st.integers(-2 * MINUTE, 60 * MINUTE), st.integers(0, 8 * MINUTE))),
)
def test_a_short_path_read_vertex_by_vertex_is_the_path_read_as_arrays(
    rows: list[tuple[int, float, float, float, float]],
    loop: bool,
    speed: float,
    windows: list[tuple[int, int]],
) -> None:
    """A bar's path is read vertex by vertex into lists (``_Vertices.points``), a long one as
    arrays: the same points either way, with and without gaps, looping or not, at any speed."""
    from unittest import mock

    ts, table = 0, []
    for skipped, o, a, b, c in rows:
        ts += skipped * MINUTE
        table.append((ts, o, max(o, a, b, c), min(o, a, b, c), c, 1.0))
        ts += MINUTE
    feed = ReplayFeed(
        bars(*table), symbol="BTC/USDT", start_at_ms=0, speed=speed, loop=loop,
        timeframe=Timeframe.M1,
    )  # fmt: skip
    for start, length in windows:
        a, b = int(start / speed), int((start + length) / speed)
        if not loop and b < 0:
            continue
        few = feed.price_path(a, b)
        with mock.patch("tradewind.marketdata.feeds._FEW_VERTICES", -1):
            assert feed.price_path(a, b) == few
    v = feed._v
    for i in range(len(v)):
        for j in range(i + 1, min(len(v), i + 9) + 1):
            times, prices = v.take(np.arange(i, j, dtype=np.int64))
            assert v.points(i, j) == (times.tolist(), prices.tolist())
