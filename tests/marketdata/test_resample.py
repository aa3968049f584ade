"""Resampling, checked by hand on the first hours of the real BTC_USD-1m file (Coinbase,
2018-04-04), including its hole from 16:48 to 23:59 and a missing minute at 16:46."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.marketdata.factories import APR4, HOUR, MINUTE, bundled
from tradewind.marketdata.candles import COLUMNS, Candles
from tradewind.marketdata.resample import resample
from tradewind.marketdata.timeframes import Timeframe

BTC_1M = bundled("BTC_USD-1m")
HOLE_START = APR4 + 16 * HOUR + 48 * MINUTE  # 2018-04-04T16:48Z, first missing minute
HOLE_END = APR4 + 24 * HOUR  # 2018-04-05T00:00Z, first minute after the hole


def bar(candles: Candles, ts: int) -> tuple[float, float, float, float, float]:
    i = int(np.searchsorted(candles.ts, ts))
    assert candles.ts[i] == ts
    return (
        float(candles.open[i]),
        float(candles.high[i]),
        float(candles.low[i]),
        float(candles.close[i]),
        float(candles.volume[i]),
    )


def test_the_file_has_the_hole_the_tests_rely_on() -> None:
    ts = BTC_1M.ts
    assert ts[0] == APR4
    assert not ((ts >= HOLE_START) & (ts < HOLE_END)).any()
    assert HOLE_START - MINUTE in ts and HOLE_END in ts
    assert APR4 + 16 * HOUR + 46 * MINUTE not in ts


def test_first_5m_bars_by_hand() -> None:
    five = resample(BTC_1M, Timeframe.M5)
    # minutes 00:00-00:04 of the CSV:
    #   7424.91,7424.91,7422,7422,7.14319709   7420,7422,7405,7405,13.35069752
    #   7403.98,7403.98,7390,7395.88,45.28798792   7395.88,7395.88,7395.87,7395.87,1.5722662
    #   7395.88,7405,7395.88,7405,6.60034482
    *ohlc, volume = bar(five, APR4)
    assert ohlc == [7424.91, 7424.91, 7390.0, 7405.0]
    assert volume == pytest.approx(7.14319709 + 13.35069752 + 45.28798792 + 1.5722662 + 6.60034482)
    # 00:05-00:09: opens 7405, highs up to 7405.96, lows down to 7404.99, last close 7405.96
    *ohlc, volume = bar(five, APR4 + 5 * MINUTE)
    assert ohlc == [7405.0, 7405.96, 7404.99, 7405.96]
    assert volume == pytest.approx(3.63542954 + 1.82898461 + 26.67875648 + 3.96899665 + 0.90007587)


def test_first_hours_by_hand() -> None:
    hours = resample(BTC_1M, Timeframe.H1)
    assert bar(hours, APR4) == pytest.approx((7424.91, 7424.91, 7390.0, 7407.8, 349.49753619))
    assert bar(hours, APR4 + HOUR) == pytest.approx((7407.79, 7415.0, 7300.0, 7334.0, 666.22056001))


def test_the_hole_stays_a_hole() -> None:
    hours = resample(BTC_1M, Timeframe.H1)
    # 16:00 is made of the 47 minutes present (16:00-16:47 but 16:46); nothing until 00:00
    assert bar(hours, APR4 + 16 * HOUR) == pytest.approx(
        (6785.21, 6900.0, 6785.21, 6894.01, 564.69479075)
    )
    i = int(np.searchsorted(hours.ts, APR4 + 16 * HOUR))
    assert hours.ts[i + 1] == HOLE_END
    five = resample(BTC_1M, Timeframe.M5)
    assert five.ts[five.ts < HOLE_END].max() == APR4 + 16 * HOUR + 45 * MINUTE
    # 16:45 holds 16:45 and 16:47 only
    assert bar(five, APR4 + 16 * HOUR + 45 * MINUTE)[3] == 6894.01


def test_no_bar_is_invented() -> None:
    for tf in (Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.H4, Timeframe.D1):
        out = resample(BTC_1M, tf)
        expected = np.unique(BTC_1M.ts - BTC_1M.ts % tf.ms)
        assert out.ts.tolist() == expected.tolist()
        out.validate(tf)


def test_whole_file_totals_are_kept() -> None:
    day = resample(BTC_1M, Timeframe.D1)
    assert day.ts.tolist() == [APR4, APR4 + 24 * HOUR, APR4 + 48 * HOUR]
    assert day.volume.sum() == pytest.approx(BTC_1M.volume.sum())
    assert day.high.max() == BTC_1M.high.max()


def test_empty_and_bad_lengths() -> None:
    assert len(resample(Candles.empty(), Timeframe.H1)) == 0
    with pytest.raises(ValueError, match="positive"):
        resample(BTC_1M, 0)


@st.composite
def minute_series(draw: st.DrawFn) -> Candles:
    n = draw(st.integers(1, 200))
    steps = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    start = draw(st.integers(0, 10_000)) * MINUTE + APR4
    ts = start + (np.cumsum(np.array(steps, np.int64)) - steps[0]) * MINUTE
    price = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)
    extra = st.floats(0, 1e3, allow_nan=False, allow_infinity=False)
    rows = draw(st.lists(st.tuples(price, price, extra, extra, extra), min_size=n, max_size=n))
    opens, closes, up, down, volume = (np.array(c, np.float64) for c in zip(*rows, strict=True))
    highs = np.maximum(opens, closes) + up
    lows = np.minimum(opens, closes) - np.minimum(down, np.minimum(opens, closes) / 2)
    candles = Candles(ts, opens, highs, lows, closes, volume)
    candles.validate(Timeframe.M1)
    return candles


@given(minute_series())
def test_resampling_to_5m_keeps_the_totals(candles: Candles) -> None:
    out = resample(candles, Timeframe.M5)
    out.validate(Timeframe.M5)
    assert math.isclose(out.volume.sum(), candles.volume.sum(), rel_tol=1e-9, abs_tol=1e-9)
    assert out.high.max() == candles.high.max()
    assert out.low.min() == candles.low.min()
    assert out.open[0] == candles.open[0]
    assert out.close[-1] == candles.close[-1]
    assert len(out) == len(np.unique(candles.ts // Timeframe.M5.ms))


@given(minute_series(), st.sampled_from([Timeframe.M1, Timeframe.M5, Timeframe.M15]))
def test_each_bar_is_its_interval_s_first_open_extremes_last_close_and_volume(
    candles: Candles, tf: Timeframe
) -> None:
    """Against a plain per-interval reading, whether the source bars already are one per
    interval (given back as they are) or some share one."""
    want: dict[int, list[float]] = {}
    for t, o, h, low, c, v in zip(*(getattr(candles, n).tolist() for n in COLUMNS), strict=True):
        key = t - t % tf.ms
        if key not in want:
            want[key] = [o, h, low, c, v]
        else:
            row = want[key]
            row[1], row[2], row[3], row[4] = max(row[1], h), min(row[2], low), c, row[4] + v
    out = resample(candles, tf)
    assert out.ts.tolist() == list(want)
    for column, name in enumerate(COLUMNS[1:5]):
        assert getattr(out, name).tolist() == [row[column] for row in want.values()]
    assert np.allclose(out.volume, [row[4] for row in want.values()], rtol=1e-12)
