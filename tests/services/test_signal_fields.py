"""The fields a signal's payload is read from (``services.signals``)."""

from __future__ import annotations

import pytest

from tradewind.domain.errors import ValidationFailed
from tradewind.services.signals import parse_timestamp


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("1972-02-22T12:02:41.945Z", 67_608_161_945),  # float seconds * 1000 gave ...944
        ("2026-11-28T13:43:56.123+01:00", 1_795_869_836_123),
        ("2026-11-28T12:43:56.123", 1_795_869_836_123),  # naive: UTC
        (1_764_333_836_123, 1_764_333_836_123),
        ("1764333836", 1_764_333_836_000),
    ],
)
def test_a_timestamp_is_read_to_the_exact_millisecond(value: object, ms: int) -> None:
    assert parse_timestamp(value) == ms


def test_a_timestamp_that_is_not_one_names_its_field() -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_timestamp("yesterday", "time")
    assert raised.value.details == [
        {"field": "time", "message": "'yesterday' is not a unix time or an ISO 8601 time"}
    ]
