from __future__ import annotations

import pytest

from tradewind.marketdata.timeframes import Timeframe


def test_lengths() -> None:
    assert [tf.ms for tf in Timeframe] == [
        60_000,
        300_000,
        900_000,
        3_600_000,
        14_400_000,
        86_400_000,
    ]


def test_floor_and_ceil_align_to_the_epoch() -> None:
    ts = 1_522_800_000_000 + 7 * 60_000 + 5  # 2018-04-04T00:07:00.005Z
    assert Timeframe.M5.floor(ts) == 1_522_800_000_000 + 5 * 60_000
    assert Timeframe.M5.ceil(ts) == 1_522_800_000_000 + 10 * 60_000
    assert Timeframe.D1.floor(ts) == 1_522_800_000_000  # midnight UTC
    assert Timeframe.H4.ceil(1_522_800_000_000) == 1_522_800_000_000


@pytest.mark.parametrize(
    ("finer", "coarser", "expected"),
    [("1m", "5m", True), ("1h", "4h", True), ("1h", "1d", True), ("1h", "1h", True),
     ("5m", "15m", True), ("15m", "4h", True), ("4h", "1h", False), ("5m", "1m", False)],
)  # fmt: skip
def test_divides(finer: str, coarser: str, expected: bool) -> None:
    assert Timeframe(finer).divides(Timeframe(coarser)) is expected
