"""LiveFeed: an exchange's prices as received. No exchange here: the tests push what a source
would (tests/venues/ccxt/test_live_prices.py runs the CCXT source against a fake exchange)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.marketdata.factories import HOUR, MINUTE, bars
from tradewind.domain.errors import VenueUnavailable
from tradewind.marketdata.feeds import ManualFeed, NoPrice, PriceFeed, Quote
from tradewind.marketdata.live import LiveFeed, LiveStatus, NoLivePrice
from tradewind.marketdata.resample import resample
from tradewind.marketdata.timeframes import Timeframe

T0 = 1_795_348_800_000  # 2026-11-22T12:00Z, a minute boundary
BTC = "BTC/USDT"


def live(**options: object) -> LiveFeed:
    return LiveFeed(BTC, exchange="binance", half_spread=0.5, **options)  # type: ignore[arg-type]


class TestQuotes:
    def test_no_price_before_the_first_tick_is_a_503_for_an_order(self) -> None:
        feed = live()

        with pytest.raises(NoLivePrice, match="no BTC/USDT price from binance yet") as raised:
            feed.quote_at(T0)

        assert isinstance(raised.value, NoPrice)  # the venue's ticker skips the symbol
        assert isinstance(raised.value, VenueUnavailable)  # an order on it is refused: 503

    def test_an_unlisted_symbol_says_so(self) -> None:
        feed = live()
        feed.list_as(None)

        with pytest.raises(NoLivePrice, match="binance does not list BTC/USDT"):
            feed.quote_at(T0)
        assert feed.status(T0).listed is False

    def test_bid_and_ask_as_the_exchange_gave_them(self) -> None:
        feed = live()
        feed.push(T0, 100.0, bid=99.9, ask=100.2)

        assert feed.quote_at(T0 + 5_000) == Quote(BTC, T0 + 5_000, 99.9, 100.2, 100.0)

    def test_without_bid_and_ask_the_half_spread_applies(self) -> None:
        feed = live()
        feed.push(T0, 100.0)

        assert feed.quote_at(T0) == Quote(BTC, T0, 99.5, 100.5, 100.0)

    def test_a_clock_stepping_back_does_not_reorder_ticks(self) -> None:
        feed = live()
        feed.push(T0, 100.0)
        feed.push(T0 - 5_000, 101.0)  # received later, stamped earlier

        assert feed.price_path(T0 - 10_000, T0 + 1) == [(T0, 100.0), (T0, 101.0), (T0 + 1, 101.0)]
        assert feed.status(T0).last_update_ms == T0

    def test_refusals(self) -> None:
        feed = live()
        with pytest.raises(ValueError, match="finite"):
            feed.push(T0, float("nan"))
        with pytest.raises(ValueError, match="before"):
            feed.price_path(T0 + 1, T0)
        with pytest.raises(ValueError, match="a minute"):
            live(keep_ms=1_000)

    def test_it_is_a_price_feed(self) -> None:
        feed: PriceFeed = live()
        assert feed.symbol == BTC


class TestOutage:
    def test_the_last_price_holds_with_its_age_and_the_reason(self) -> None:
        feed = live()
        feed.push(T0, 100.0)

        feed.failed(T0 + 30_000, "binance is unavailable: 503")

        assert feed.quote_at(T0 + 30_000).last == 100.0
        assert feed.status(T0 + 30_000) == LiveStatus(
            symbol=BTC, exchange="binance", exchange_symbol=None, listed=None, connected=False,
            last_update_ms=T0, age_ms=30_000, error="binance is unavailable: 503",
        )  # fmt: skip

    def test_an_answer_clears_it(self) -> None:
        feed = live()
        feed.push(T0, 100.0)
        feed.failed(T0 + 1_000, "down")

        feed.push(T0 + 2_000, 100.0)  # the same price: no new vertex, but news all the same

        status = feed.status(T0 + 2_000)
        assert (status.connected, status.error, status.age_ms) == (True, None, 0)
        assert feed.price_path(T0, T0 + 2_000) == [(T0, 100.0), (T0 + 2_000, 100.0)]

    def test_the_outage_is_a_flat_stretch_of_bars_as_the_path_holds_the_price(self) -> None:
        feed = live(keep_ms=MINUTE)
        feed.push(T0 + 1_000, 100.0)
        feed.failed(T0 + 3 * MINUTE + 1_000, "down")  # old ticks folded meanwhile
        now = T0 + 3 * MINUTE + 30_000

        candles = feed.candles_between(T0, now)

        assert candles.ts.tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]
        assert set(candles.close.tolist()) == {100.0}
        assert feed.price_path(now - MINUTE, now) == [(now - MINUTE, 100.0), (now, 100.0)]


class TestCandles:
    def test_seeded_bars_then_bars_of_the_ticks(self) -> None:
        feed = live()
        feed.seed(
            bars(
                (T0 - 2 * MINUTE, 90.0, 95.0, 89.0, 94.0, 3.0),
                (T0 - MINUTE, 94.0, 99.0, 93.0, 98.0, 4.0),
                (T0, 98.0, 98.5, 97.0, 97.5, 1.0),  # in progress when received: dropped
                (T0 + MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0),  # "from the future": dropped
            ),
            received_ms=T0 + 30_000,
        )
        feed.push(T0 + 30_000, 100.0)
        feed.push(T0 + 70_000, 103.0)
        feed.push(T0 + 80_000, 101.0)

        candles = feed.candles_between(T0 - HOUR, T0 + 90_000)

        assert candles.ts.tolist() == [T0 - 2 * MINUTE, T0 - MINUTE, T0, T0 + MINUTE]
        assert candles.open.tolist() == [90.0, 94.0, 100.0, 100.0]
        assert candles.high.tolist() == [95.0, 99.0, 100.0, 103.0]
        assert candles.low.tolist() == [89.0, 93.0, 100.0, 100.0]
        assert candles.close.tolist() == [94.0, 98.0, 100.0, 101.0]
        assert candles.volume.tolist() == [3.0, 4.0, 0.0, 0.0]

    def test_seeded_bars_resample_for_bots_on_longer_timeframes(self) -> None:
        feed = live()
        history = [(T0 - HOUR + i * MINUTE, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1.0) for i in range(60)]  # fmt: skip
        feed.seed(bars(*history), received_ms=T0)

        hourly = resample(feed.candles_between(T0 - HOUR, T0), Timeframe.H1)

        assert hourly.ts.tolist() == [T0 - HOUR]
        assert (hourly.open[0], hourly.high[0], hourly.low[0], hourly.close[0]) == (
            100.0, 160.0, 99.0, 159.5,
        )  # fmt: skip

    def test_seeded_once_before_the_first_tick(self) -> None:
        feed = live()
        feed.push(T0, 100.0)
        with pytest.raises(ValueError, match="seeded once"):
            feed.seed(bars((T0 - MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0)), received_ms=T0)

    def test_old_ticks_are_folded_into_bars_and_the_bars_do_not_change(self) -> None:
        short, long = live(keep_ms=2 * MINUTE), live(keep_ms=10 * HOUR)
        for n in range(600):  # 50 minutes, a tick every 5 s
            for feed in (short, long):
                feed.push(T0 + 5_000 * n, 100.0 + (n * 7) % 13)

        now = T0 + 5_000 * 599
        assert len(short._times) < 40  # folded
        assert_same(short.candles_between(T0, now), long.candles_between(T0, now))
        assert short.price_path(now - MINUTE, now) == long.price_path(now - MINUTE, now)

    def test_at_most_max_bars_are_kept(self) -> None:
        feed = live(keep_ms=MINUTE, max_bars=30)
        for n in range(120):
            feed.push(T0 + n * MINUTE, 100.0 + n)

        candles = feed.candles_between(T0, T0 + 120 * MINUTE)

        assert len(candles) < 45
        assert candles.ts[-1] == T0 + 119 * MINUTE


def assert_same(a: object, b: object) -> None:
    for column in ("ts", "open", "high", "low", "close", "volume"):
        assert getattr(a, column).tolist() == getattr(b, column).tolist(), column


def simplified(path: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The path without vertices inside a stretch of one price (the same path: a repeated
    price is a vertex to a ManualFeed, nothing to a live feed)."""
    return [
        point
        for i, point in enumerate(path)
        if i in (0, len(path) - 1) or not path[i - 1][1] == point[1] == path[i + 1][1]
    ]


tick = st.tuples(st.integers(0, 3 * MINUTE), st.sampled_from([99.0, 100.0, 100.5, 101.0, 102.0]))
ticks = st.lists(tick, min_size=1, max_size=40)


@given(ticks=ticks, a=st.integers(-MINUTE, 60 * MINUTE), length=st.integers(0, 20 * MINUTE))
def test_path_quotes_and_candles_are_a_manual_feeds(
    ticks: list[tuple[int, float]], a: int, length: int
) -> None:
    """A live feed is a ManualFeed whose pushes come from an exchange: the same pushes give the
    same path, quotes and bars."""
    manual, feed = ManualFeed(BTC, half_spread=0.5), live(keep_ms=HOUR * 100)
    t = T0
    for step, price in ticks:
        t += step
        manual.push(BTC, price, t)
        feed.push(t, price)
    start, end = T0 + a, T0 + a + length

    assert feed.price_path(start, end) == simplified(manual.price_path(start, end))
    try:
        want = manual.quote_at(start)
    except NoPrice:
        with pytest.raises(NoPrice):
            feed.quote_at(start)
    else:
        assert feed.quote_at(start) == want
    assert_same(feed.candles_between(start, end), manual.candles_between(start, end))


@given(ticks=st.lists(tick, min_size=1, max_size=80))
def test_folding_old_ticks_into_bars_changes_nothing_recent(ticks: list[tuple[int, float]]) -> None:
    short, long = live(keep_ms=MINUTE), live(keep_ms=HOUR * 100)
    t = T0
    for step, price in ticks:
        t += step
        short.push(t, price)
        long.push(t, price)

    assert_same(short.candles_between(T0 - HOUR, t + 1), long.candles_between(T0 - HOUR, t + 1))
    assert short.price_path(t - MINUTE, t) == long.price_path(t - MINUTE, t)
    assert short.quote_at(t) == long.quote_at(t)
