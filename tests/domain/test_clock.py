from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.clock import from_ms, to_ms


@given(st.integers(-(10**13), 10**14))
def test_milliseconds_and_datetimes_convert_exactly_both_ways(ms: int) -> None:
    moment = from_ms(ms)
    assert moment.tzinfo is UTC and to_ms(moment) == ms


def test_a_naive_datetime_is_utc_and_other_zones_are_converted() -> None:
    ms = 1_704_067_200_123  # 2024-01-01T00:00:00.123Z
    assert to_ms(datetime(2024, 1, 1, 0, 0, 0, 123_000)) == ms
    assert to_ms(datetime(2024, 1, 1, 2, 0, 0, 123_000, tzinfo=timezone(timedelta(hours=2)))) == ms
    assert to_ms(datetime(2024, 1, 1, 0, 0, 0, 123_999, tzinfo=UTC)) == ms  # floored, as ints
