"""The resting book's answers to the backtester: the nearest levels around a price, and
whether an order rests on the wrong side of it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.orders import OrderId, Side
from tradewind.venues.matching.resting import SymbolBook

D = Decimal
KINDS = st.sampled_from(["buy_limit", "sell_limit", "buy_stop", "sell_stop"])
PRICES = st.integers(min_value=90, max_value=110).map(D)


def book_of(levels: list[tuple[str, Decimal]]) -> SymbolBook:
    book = SymbolBook()
    for seq, (kind, price) in enumerate(levels):
        side = Side.BUY if kind.startswith("buy") else Side.SELL
        add = book.add_limit if kind.endswith("limit") else book.add_stop
        add(OrderId(f"ord_{seq}"), side, price, seq)
    return book


@given(st.lists(st.tuples(KINDS, PRICES), max_size=12), PRICES)
def test_nearest_is_the_closest_level_on_each_side(
    levels: list[tuple[str, Decimal]], price: Decimal
) -> None:
    under, over = book_of(levels).nearest(price)
    prices = [p for _, p in levels]
    assert under == max((p for p in prices if p <= price), default=None)
    assert over == min((p for p in prices if p >= price), default=None)


@given(st.lists(st.tuples(KINDS, PRICES), max_size=12), PRICES, PRICES)
def test_crossed_is_any_order_on_the_wrong_side(
    levels: list[tuple[str, Decimal]], a: Decimal, b: Decimal
) -> None:
    low, high = min(a, b), max(a, b)
    wrong = {
        "buy_limit": lambda p: p >= low,
        "sell_limit": lambda p: p <= high,
        "buy_stop": lambda p: p <= high,
        "sell_stop": lambda p: p >= low,
    }
    expected = any(wrong[kind](p) for kind, p in levels)
    assert book_of(levels).crossed(low, high) is expected


def test_a_removed_order_is_no_longer_a_level() -> None:
    book = book_of([("buy_limit", D(95)), ("sell_limit", D(105))])
    book.remove(OrderId("ord_1"))
    assert book.nearest(D(100)) == (D(95), None)
    assert not book.crossed(D(99), D(101))
