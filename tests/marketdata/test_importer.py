from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.marketdata.factories import APR4, bundled
from tradewind.marketdata.candles import CSV_HEADER, InvalidCandles
from tradewind.marketdata.importer import import_csv
from tradewind.marketdata.store import CandleStore


def write_csv(path: Path, rows: list[str], header: bool = True) -> Path:
    path.write_text("\n".join(([CSV_HEADER] if header else []) + rows) + "\n")
    return path


def test_round_trip_of_a_real_file(tmp_path: Path) -> None:
    source = bundled("LTC_USD-1m")
    lines = [
        f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}"
        for t, o, h, lo, c, v in zip(
            *(
                getattr(source, name).tolist()
                for name in ("ts", "open", "high", "low", "close", "volume")
            ),
            strict=True,
        )
    ]
    path = write_csv(tmp_path / "ltc.csv", lines)
    store = CandleStore(tmp_path / "store")
    assert import_csv(store, path, "coinbase", "LTC/USD", "1m") == 3_887
    back = store.read("coinbase", "LTC/USD", "1m")
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(back, name), getattr(source, name))


def test_headerless_iso_file(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "x.csv",
        ["2018-04-04T00:00:00Z,1,2,0.5,1.5,3", "2018-04-04T01:00:00Z,1.5,2,1,1,4"],
        header=False,
    )
    store = CandleStore(tmp_path / "store")
    assert import_csv(store, path, "kraken", "XBT/EUR", "1h") == 2
    assert store.read("kraken", "XBT/EUR", "1h").ts.tolist() == [APR4, APR4 + 3_600_000]


def test_import_merges_with_what_is_stored(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "store")
    import_csv(store, write_csv(tmp_path / "a.csv", [f"{APR4},1,2,0.5,1.5,3"]), "v", "A/B", "1m")
    import_csv(
        store, write_csv(tmp_path / "b.csv", [f"{APR4 + 60_000},1,2,0.5,1.5,3"]), "v", "A/B", "1m"
    )
    assert len(store.read("v", "A/B", "1m")) == 2


def test_an_invalid_file_names_itself_and_the_row_and_writes_nothing(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv", [f"{APR4},1,2,0.5,1.5,3", f"{APR4 + 30_000},1,2,0.5,1.5,3"]
    )
    store = CandleStore(tmp_path / "store")
    with pytest.raises(InvalidCandles, match=r"bad\.csv: row 1 .*not on the 1m grid") as caught:
        import_csv(store, path, "v", "A/B", "1m")
    assert caught.value.row == 1
    assert store.series() == []
