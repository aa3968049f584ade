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


def test_random_parts_are_drawn_afresh_and_a_forked_child_does_not_repeat_its_parent() -> None:
    """Random bytes are drawn from the OS a batch at a time; a forked child (a sweep's or a
    job's worker) forgets the batch it inherited, or it would mint its parent's ids."""
    import os

    from tradewind.domain import ids

    first = ids._last_ms + 1000  # later than any id minted before: each gets fresh bytes
    randoms = {new_id("x", now_ms=first + k)[-16:] for k in range(1000)}  # past one batch
    assert len(randoms) == 1000
    new_id("x", now_ms=first + 1000)  # bytes left in the batch for a child to inherit
    at = first + 2000
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: mint one id at ``at`` and hand it over
        try:
            os.write(write, new_id("x", now_ms=at).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    os.close(read)
    parent = new_id("x", now_ms=at)
    assert child[:12] == parent[:12]  # the same millisecond
    assert child != parent
