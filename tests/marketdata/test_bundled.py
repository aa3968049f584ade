from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.marketdata.factories import APR4
from tradewind.marketdata.bundled import BUNDLED, BUNDLED_DIR, bundled_store
from tradewind.marketdata.timeframes import Timeframe

ALLOWED = {"BTC_USD-1h", "BTC_USD-1m", "ETH_USD-1m", "LTC_USD-1m", "EUR_USD-1h", "EUR_USD-1h-2017"}
ROWS = {
    ("paper", "BTC/USDT", "1h"): 20_111,
    ("paper", "BTC/USDT", "1m"): 3_887,
    ("paper", "BTC/USDT:USDT", "1h"): 20_111,
    ("paper", "BTC/USDT:USDT", "1m"): 3_887,
    ("paper", "ETH/USDT", "1m"): 2_449,
    ("paper", "ETH/USDT:USDT", "1m"): 2_449,
    ("paper", "LTC/USDT", "1m"): 3_887,
    ("paper", "EURUSD", "1h"): 74_439,
    ("paper-2017", "EURUSD", "1h"): 6_225,
}


def test_only_permissively_licensed_files_are_bundled() -> None:
    files = {p.name for p in BUNDLED_DIR.iterdir()}
    assert files == {f"{stem}.parquet" for stem in ALLOWED} | {"NOTICE.md"}
    assert {s.file for s in BUNDLED} == ALLOWED


def test_notice_attributes_every_file() -> None:
    notice = (BUNDLED_DIR / "NOTICE.md").read_text()
    for stem in ALLOWED:
        assert f"`{stem}.csv`" in notice
    for licence in ("Apache-2.0", "MIT", "Mohammad Amin Haghpanah", "QuantConnect"):
        assert licence in notice
    top = (Path(__file__).resolve().parents[2] / "NOTICE").read_text()
    assert "src/tradewind/marketdata/bundled/NOTICE.md" in top


def test_every_bundled_series_is_readable(tmp_path: Path) -> None:
    store = bundled_store(tmp_path)
    listed = {(s.venue, s.symbol, str(s.timeframe)): s.rows for s in store.series()}
    assert listed == ROWS
    for (venue, symbol, tf), rows in ROWS.items():
        candles = store.read(venue, symbol, tf)
        assert len(candles) == rows
        candles.validate(Timeframe(tf))
    assert not tmp_path.joinpath("marketdata").exists()  # read in place, nothing copied


def test_btc_first_rows_are_the_sources(tmp_path: Path) -> None:
    store = bundled_store(tmp_path)
    hour = store.read("paper", "BTC/USDT", "1h", limit=1, start_ms=0)
    # BTC_USD-1h.csv line 2: 1498906800000,2505.56,2513.38,2495.12,2509.17,114.6
    assert hour.ts.tolist() == [1_498_906_800_000]
    assert [hour.open[0], hour.high[0], hour.low[0], hour.close[0], hour.volume[0]] == [
        2505.56, 2513.38, 2495.12, 2509.17, 114.6,
    ]  # fmt: skip
    minute = store.read("paper", "BTC/USDT", "1m", limit=1, start_ms=0)
    assert (minute.ts[0], minute.open[0], minute.volume[0]) == (APR4, 7424.91, 7.14319709)


def test_perpetual_replays_the_spot_data(tmp_path: Path) -> None:
    store = bundled_store(tmp_path)
    spot = store.read("paper", "BTC/USDT", "4h")
    perp = store.read("paper", "BTC/USDT:USDT", "4h")
    assert np.array_equal(spot.close, perp.close) and len(spot) == 5029


@pytest.mark.parametrize(
    ("venue", "first"), [("paper", 1_167_685_200_000), ("paper-2017", 1_483_308_000_000)]
)
def test_both_eurusd_series(tmp_path: Path, venue: str, first: int) -> None:
    daily = bundled_store(tmp_path).read(venue, "EURUSD", "1d")
    assert daily.ts[0] == Timeframe.D1.floor(first)
    assert (np.diff(daily.ts) > Timeframe.D1.ms).any()  # weekends stay gaps


def test_writing_a_bundled_series_copies_it_into_the_data_dir(tmp_path: Path) -> None:
    store = bundled_store(tmp_path)
    extra = store.read("paper", "ETH/USDT", "1m", limit=2)
    assert store.write("paper", "ETH/USDT", "1m", extra) == 2_449
    assert (tmp_path / "marketdata" / "candles" / "paper" / "ETH_USDT" / "1m.parquet").is_file()
