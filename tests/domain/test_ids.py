from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.ids import _encode, _encode26, has_prefix, new_id


def test_ids_are_prefixed_and_fixed_length() -> None:
    value = new_id("bot")
    assert value.startswith("bot_") and len(value) == 30 and has_prefix(value, "bot")
    assert not has_prefix(value, "usr")


def test_ids_made_in_one_millisecond_still_sort_by_creation() -> None:
    ids = [new_id("ord", now_ms=1_700_000_000_000) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000


@given(st.lists(st.integers(min_value=0, max_value=2**47), min_size=2, max_size=50))
def test_ids_sort_by_time(times: list[int]) -> None:
    base = 2**47  # later than any id minted before, so the monotonic guard does not interfere
    ordered = sorted(times)
    ids = [new_id("x", now_ms=base + t) for t in ordered]
    assert ids == sorted(ids)


@given(st.integers(min_value=0, max_value=2**50 - 1), st.integers(min_value=0, max_value=2**80 - 1))
def test_the_fast_encoding_is_the_digit_by_digit_one(ms: int, rand: int) -> None:
    assert _encode26(ms, rand) == _encode(ms, 10) + _encode(rand, 16)
