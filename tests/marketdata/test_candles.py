from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.marketdata.factories import APR4, MINUTE, bars
from tradewind.domain.errors import ValidationFailed
from tradewind.marketdata.candles import Candles, InvalidCandles
from tradewind.marketdata.timeframes import Timeframe

GOOD = [
    (APR4, 10.0, 12.0, 9.0, 11.0, 1.0),
    (APR4 + MINUTE, 11.0, 11.5, 10.0, 10.5, 2.0),
    (APR4 + 3 * MINUTE, 10.5, 10.5, 10.5, 10.5, 0.0),  # a gap before it is fine
]


class TestShape:
    def test_len_slice_and_between(self) -> None:
        candles = bars(*GOOD)
        assert len(candles) == 3
        assert candles[1:].ts.tolist() == [APR4 + MINUTE, APR4 + 3 * MINUTE]
        assert candles.between(APR4 + MINUTE, APR4 + 3 * MINUTE).ts.tolist() == [APR4 + MINUTE]
        assert len(candles.between(None, APR4)) == 0
        assert len(Candles.empty()) == 0

    def test_arrays_are_typed_and_read_only(self) -> None:
        candles = bars(*GOOD)
        assert candles.ts.dtype == np.int64
        assert candles.close.dtype == np.float64
        with pytest.raises(ValueError, match="read-only"):
            candles.close[0] = 1.0

    def test_columns_of_different_lengths_are_refused(self) -> None:
        with pytest.raises(ValueError, match="one length"):
            Candles(np.array([1, 2]), *([np.array([1.0])] * 5))

    def test_integer_index_is_refused(self) -> None:
        with pytest.raises(TypeError):
            bars(*GOOD)[0]  # type: ignore[index]

    def test_arrow_round_trip_does_not_copy(self) -> None:
        table = bars(*GOOD).to_arrow()
        back = Candles.from_arrow(table)
        assert back.ts.tolist() == [row[0] for row in GOOD]
        assert np.shares_memory(back.close, table.column("close").chunk(0).to_numpy())


class TestValidate:
    def test_good_candles_pass(self) -> None:
        bars(*GOOD).validate(Timeframe.M1)
        Candles.empty().validate(Timeframe.H1)

    @pytest.mark.parametrize(
        ("row", "reason"),
        [
            ((APR4 + 2 * MINUTE, 10.0, 9.0, 9.0, 9.5, 1.0), "high is below max"),
            ((APR4 + 2 * MINUTE, 10.0, 12.0, 10.5, 11.0, 1.0), "low is above min"),
            ((APR4 + 2 * MINUTE, 10.0, 12.0, 9.0, float("nan"), 1.0), "close is not a finite"),
            ((APR4 + 2 * MINUTE, 10.0, float("inf"), 9.0, 11.0, 1.0), "high is not a finite"),
            ((APR4 + 2 * MINUTE, 10.0, 12.0, 9.0, 11.0, -1.0), "volume is negative"),
            ((APR4 + 2 * MINUTE + 1, 10.0, 12.0, 9.0, 11.0, 1.0), "not on the 1m grid"),
            ((APR4 + MINUTE, 10.0, 12.0, 9.0, 11.0, 1.0), "not after the previous"),
        ],
    )
    def test_names_the_bad_row(self, row: tuple[float, ...], reason: str) -> None:
        candles = bars(*GOOD[:2], row, (APR4 + 9 * MINUTE, 1.0, 0.0, 2.0, 1.0, 0.0))
        with pytest.raises(InvalidCandles, match=reason) as caught:
            candles.validate(Timeframe.M1)
        assert caught.value.row == 2
        assert "row 2 (ts " in str(caught.value)

    def test_reports_the_first_bad_row_of_several(self) -> None:
        candles = bars(
            GOOD[0],
            (APR4 + MINUTE, 10.0, 9.0, 9.0, 9.5, 1.0),  # high too low
            (APR4 + MINUTE, 10.0, 12.0, 9.0, 11.0, 1.0),  # duplicate ts
        )
        with pytest.raises(InvalidCandles, match=r"row 1 .*2018-04-04T00:01:00Z"):
            candles.validate(Timeframe.M1)

    def test_is_a_value_error_and_a_domain_validation_error(self) -> None:
        with pytest.raises(ValueError, match="grid") as caught:
            bars(GOOD[1]).validate(Timeframe.H1)
        assert isinstance(caught.value, ValidationFailed)


class TestFromCsv:
    def write(self, tmp_path: Path, text: str) -> Path:
        path = tmp_path / "candles.csv"
        path.write_text(text)
        return path

    def test_reads_the_documented_format(self, tmp_path: Path) -> None:
        path = self.write(
            tmp_path,
            "timestamp_ms,open,high,low,close,volume\n"
            "1522800000000,7424.91,7424.91,7422,7422,7.14319709\n"
            "1522800060000,7420,7422,7405,7405,13.35069752\n",
        )
        candles = Candles.from_csv(path)
        assert candles.ts.tolist() == [APR4, APR4 + MINUTE]
        assert candles.open.tolist() == [7424.91, 7420.0]
        assert candles.volume.tolist() == [7.14319709, 13.35069752]

    def test_header_is_optional(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "1522800000000,1,2,0.5,1.5,3\n")
        assert Candles.from_csv(path).close.tolist() == [1.5]

    def test_iso_times_are_accepted(self, tmp_path: Path) -> None:
        path = self.write(
            tmp_path,
            "2018-04-04T00:00:00Z,1,2,0.5,1.5,3\n"
            "2018-04-04 00:01:00,1,2,0.5,1.5,3\n"  # no offset: UTC
            "2018-04-04T02:02:00+02:00,1,2,0.5,1.5,3\n",
        )
        assert Candles.from_csv(path).ts.tolist() == [APR4, APR4 + MINUTE, APR4 + 2 * MINUTE]

    def test_a_header_only_file_is_empty(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "timestamp_ms,open,high,low,close,volume\n")
        assert len(Candles.from_csv(path)) == 0

    def test_columns_in_another_order_are_refused(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "ts,open,close,high,low,volume\n1522800000000,1,1,1,1,1\n")
        with pytest.raises(InvalidCandles, match="expected the header"):
            Candles.from_csv(path)

    def test_seconds_are_refused(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "1522800000,1,2,0.5,1.5,3\n")
        with pytest.raises(InvalidCandles, match="look like seconds"):
            Candles.from_csv(path)

    def test_missing_and_unparsable_values_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidCandles, match="row 1 has no volume"):
            Candles.from_csv(
                self.write(tmp_path, "1522800000000,1,2,0.5,1.5,3\n1522800060000,1,2,0.5,1.5,\n")
            )
        with pytest.raises(InvalidCandles, match="abc"):
            Candles.from_csv(self.write(tmp_path, "1522800000000,abc,2,0.5,1.5,3\n"))
        with pytest.raises(InvalidCandles, match="neither epoch milliseconds nor ISO"):
            Candles.from_csv(
                self.write(tmp_path, "2018-04-04,1,2,0.5,1.5,3\nyesterday,1,2,0.5,1.5,3\n")
            )
