from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.marketdata.factories import APR4, HOUR, MINUTE, bars, bundled
from tradewind.domain.errors import Conflict, NotFound
from tradewind.marketdata.candles import InvalidCandles
from tradewind.marketdata.store import CandleStore, SeriesKey, SeriesNotFound, symbol_dirname
from tradewind.marketdata.timeframes import Timeframe

ROWS = [(APR4 + i * MINUTE, 10.0 + i, 12.0 + i, 9.0 + i, 11.0 + i, float(i)) for i in range(10)]


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path / "marketdata")


class TestWriteRead:
    def test_round_trip(self, store: CandleStore) -> None:
        assert store.write("binance", "BTC/USDT", "1m", bars(*ROWS)) == 10
        back = store.read("binance", "BTC/USDT", Timeframe.M1)
        assert back.ts.tolist() == [r[0] for r in ROWS]
        assert back.close.tolist() == [r[4] for r in ROWS]
        assert back.volume.tolist() == [r[5] for r in ROWS]
        path = store.root / "candles" / "binance" / "BTC_USDT" / "1m.parquet"
        assert path.is_file()
        assert [p.name for p in path.parent.iterdir()] == ["1m.parquet"]  # no temporary left

    def test_merge_dedupes_and_sorts_new_rows_winning(self, store: CandleStore) -> None:
        store.write("binance", "BTC/USDT", "1m", bars(*ROWS[5:]))
        replaced = (ROWS[6][0], 1.0, 1.0, 1.0, 1.0, 99.0)
        assert store.write("binance", "BTC/USDT", "1m", bars(*ROWS[:5], replaced)) == 10
        back = store.read("binance", "BTC/USDT", "1m")
        assert back.ts.tolist() == [r[0] for r in ROWS]
        assert back.volume.tolist()[6] == 99.0

    def test_invalid_candles_write_nothing(self, store: CandleStore) -> None:
        bad = (ROWS[1][0], 10.0, 9.0, 9.0, 9.5, 1.0)
        with pytest.raises(InvalidCandles, match="row 1 "):
            store.write("binance", "BTC/USDT", "1m", bars(ROWS[0], bad))
        assert store.series() == []
        with pytest.raises(InvalidCandles, match="1h grid"):
            store.write("binance", "BTC/USDT", "1h", bars(*ROWS[1:2]))

    def test_empty_write_creates_nothing(self, store: CandleStore) -> None:
        assert store.write("binance", "BTC/USDT", "1m", bars()) == 0
        assert not store.root.exists()

    @pytest.mark.parametrize(
        ("venue", "symbol"),
        [("../x", "BTC/USDT"), ("binance", "../etc"), ("binance", ""), ("", "X")],
    )
    def test_unsafe_names_are_refused(self, store: CandleStore, venue: str, symbol: str) -> None:
        with pytest.raises(ValueError, match="must be"):
            store.write(venue, symbol, "1m", bars(*ROWS))

    def test_symbols_sharing_a_directory_are_not_mixed(self, store: CandleStore) -> None:
        assert symbol_dirname("BTC/USDT:USDT") == symbol_dirname("BTC_USDT/USDT") == "BTC_USDT_USDT"
        store.write("binance", "BTC/USDT:USDT", "1m", bars(*ROWS))
        with pytest.raises(Conflict, match="holds 'BTC/USDT:USDT'"):
            store.write("binance", "BTC_USDT/USDT", "1m", bars(*ROWS))
        with pytest.raises(SeriesNotFound):
            store.read("binance", "BTC_USDT/USDT", "1m")


class TestWindow:
    @pytest.fixture
    def hourly(self, store: CandleStore) -> CandleStore:
        store.write("paper", "BTC/USDT", "1h", bundled("BTC_USD-1h"))
        return store

    def test_start_inclusive_end_exclusive(self, hourly: CandleStore) -> None:
        got = hourly.read("paper", "BTC/USDT", "1h", start_ms=APR4, end_ms=APR4 + 24 * HOUR)
        assert len(got) == 24
        assert (got.ts[0], got.ts[-1]) == (APR4, APR4 + 23 * HOUR)

    def test_unaligned_bounds(self, hourly: CandleStore) -> None:
        got = hourly.read("paper", "BTC/USDT", "1h", start_ms=APR4 + 1, end_ms=APR4 + HOUR + 1)
        assert got.ts.tolist() == [APR4 + HOUR]

    def test_limit_counts_from_the_start_when_given(self, hourly: CandleStore) -> None:
        got = hourly.read("paper", "BTC/USDT", "1h", start_ms=APR4, limit=3)
        assert got.ts.tolist() == [APR4, APR4 + HOUR, APR4 + 2 * HOUR]

    def test_limit_keeps_the_most_recent_otherwise(self, hourly: CandleStore) -> None:
        got = hourly.read("paper", "BTC/USDT", "1h", end_ms=APR4, limit=2)
        assert got.ts.tolist() == [APR4 - 2 * HOUR, APR4 - HOUR]
        latest = hourly.read("paper", "BTC/USDT", "1h", limit=1)
        assert latest.ts.tolist() == [1_571_302_800_000]  # 2019-10-17T09:00Z, the last bar
        assert len(hourly.read("paper", "BTC/USDT", "1h", limit=0)) == 0
        assert len(hourly.read("paper", "BTC/USDT", "1h", end_ms=APR4, limit=10**9)) > 0

    def test_empty_window_and_negative_limit(self, hourly: CandleStore) -> None:
        assert len(hourly.read("paper", "BTC/USDT", "1h", start_ms=0, end_ms=1)) == 0
        with pytest.raises(ValueError, match="limit"):
            hourly.read("paper", "BTC/USDT", "1h", limit=-1)


class TestResampledRead:
    @pytest.fixture
    def both(self, store: CandleStore) -> CandleStore:
        store.write("paper", "BTC/USDT", "1m", bundled("BTC_USD-1m"))
        store.write("paper", "BTC/USDT", "1h", bundled("BTC_USD-1h"))
        return store

    def test_5m_comes_from_1m_and_4h_from_1h(self, both: CandleStore) -> None:
        assert both.source_for("paper", "BTC/USDT", "5m") == SeriesKey(
            "paper", "BTC/USDT", Timeframe.M1
        )
        assert both.source_for("paper", "BTC/USDT", "4h") == SeriesKey(
            "paper", "BTC/USDT", Timeframe.H1
        )
        assert both.source_for("paper", "BTC/USDT", "1h") == SeriesKey(
            "paper", "BTC/USDT", Timeframe.H1
        )
        four = both.read("paper", "BTC/USDT", "4h")
        assert len(four) == 5029  # two years, not the three days of minutes
        assert set((four.ts % (4 * HOUR)).tolist()) == {0}

    def test_1h_from_1m_when_only_minutes_are_stored(self, store: CandleStore) -> None:
        store.write("paper", "ETH/USDT", "1m", bundled("ETH_USD-1m"))
        hours = store.read("paper", "ETH/USDT", "1h")
        assert len(hours) == 48 - 7  # two days less the hole 17:00-23:59 on the 4th
        assert store.timeframes("paper", "ETH/USDT") == [Timeframe.M1]

    def test_resampled_window_has_whole_bars(self, both: CandleStore) -> None:
        got = both.read(
            "paper", "BTC/USDT", "5m", start_ms=APR4 + 3 * MINUTE, end_ms=APR4 + 15 * MINUTE
        )
        assert got.ts.tolist() == [APR4 + 5 * MINUTE, APR4 + 10 * MINUTE]
        whole = both.read("paper", "BTC/USDT", "5m")
        i = int(np.searchsorted(whole.ts, APR4 + 5 * MINUTE))
        assert got.volume.tolist() == whole.volume[i : i + 2].tolist()
        last_two = both.read("paper", "BTC/USDT", "5m", end_ms=APR4 + 15 * MINUTE, limit=2)
        assert last_two.ts.tolist() == got.ts.tolist()

    def test_missing_series(self, both: CandleStore) -> None:
        with pytest.raises(SeriesNotFound) as caught:
            both.read("paper", "DOGE/USDT", "1h")
        assert isinstance(caught.value, NotFound) and isinstance(caught.value, LookupError)
        both.write("paper", "X/Y", "1h", bundled("BTC_USD-1h")[:3])
        with pytest.raises(SeriesNotFound, match="X/Y 5m") as caught:
            both.read("paper", "X/Y", "5m")  # 1h cannot make 5m
        assert caught.value.details == {"stored": ["1h"]}


class TestFallbacks:
    def test_directory_fallback_is_read_and_copied_on_write(self, tmp_path: Path) -> None:
        shared = CandleStore(tmp_path / "shared")
        shared.write("binance", "BTC/USDT", "1m", bars(*ROWS[:5]))
        store = CandleStore(tmp_path / "mine", fallbacks=[tmp_path / "shared"])
        assert len(store.read("binance", "BTC/USDT", "1m")) == 5
        store.write("binance", "BTC/USDT", "1m", bars(*ROWS[5:]))
        assert len(store.read("binance", "BTC/USDT", "1m")) == 10
        assert len(shared.read("binance", "BTC/USDT", "1m")) == 5  # the fallback is untouched

    def test_root_shadows_fallback_in_series(self, tmp_path: Path) -> None:
        table = {SeriesKey("paper", "BTC/USDT", Timeframe.M1): tmp_path / "btc.parquet"}
        CandleStore(tmp_path / "a").write("paper", "BTC/USDT", "1m", bars(*ROWS[:3]))
        (tmp_path / "a" / "candles" / "paper" / "BTC_USDT" / "1m.parquet").rename(
            table[next(iter(table))]
        )
        store = CandleStore(tmp_path / "b", fallbacks=[table])
        assert [s.rows for s in store.series()] == [3]
        store.write("paper", "BTC/USDT", "1m", bars(*ROWS[3:4]))
        (info,) = store.series()
        assert (info.rows, info.first_ts, info.last_ts) == (4, ROWS[0][0], ROWS[3][0])

    def test_series_lists_everything_sorted(self, store: CandleStore) -> None:
        store.write("b", "Z/Z", "1h", bundled("BTC_USD-1h")[:2])
        store.write("b", "Z/Z", "1m", bars(*ROWS))
        store.write("a", "Y/Y", "1m", bars(*ROWS[:1]))
        got = [(s.venue, s.symbol, s.timeframe, s.rows) for s in store.series()]
        assert got == [("a", "Y/Y", "1m", 1), ("b", "Z/Z", "1m", 10), ("b", "Z/Z", "1h", 2)]
        assert store.info("b", "Z/Z", "1m") == store.series()[1]
        assert store.info("b", "Z/Z", "5m") is None
