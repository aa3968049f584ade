"""A bot's own books: the paper ledger's netting rules, counted from its fills."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.orders import Side
from tradewind.strategies.accounting import Inventory, ceil_to, floor_to, shown

ONE = D(1)


def test_increases_average_and_reductions_realise() -> None:
    books = Inventory()
    books.apply(Side.BUY, D("0.1"), D(100), D("0.01"), ONE)
    books.apply(Side.BUY, D("0.3"), D(80), D("0.024"), ONE)
    assert (books.amount, books.entry) == (D("0.4"), D(85))
    assert books.apply(Side.SELL, D("0.2"), D(90), D("0.018"), ONE) == D(1)  # (90 - 85) x 0.2
    assert (books.amount, books.entry, books.realized, books.fees) == (
        D("0.2"),
        D(85),
        D(1),
        D("0.052"),
    )
    assert books.profit(D(95), ONE) == D(1) - D("0.052") + D(2)


def test_a_larger_opposite_fill_closes_and_opens_the_other_way() -> None:
    books = Inventory()
    books.apply(Side.SELL, D(2), D(50), D(0), D(10))  # short 2 contracts of 10
    assert books.apply(Side.BUY, D(3), D(45), D(0), D(10)) == D(100)  # (45 - 50) x 2 x 10 x -1
    assert (books.amount, books.entry) == (D(1), D(45))
    books.apply(Side.SELL, D(1), D(45), D(0), D(10))
    assert (books.amount, books.entry) == (0, 0)


def test_the_level_for_a_profit() -> None:
    books = Inventory()
    books.apply(Side.BUY, D(2), D(100), D(1), ONE)
    level = books.level_for(D(-21), ONE)  # -1 fee + 2 x (p - 100) = -21
    assert level == D(90) and books.profit(D(90), ONE) == D(-21)
    assert Inventory().level_for(D(5), ONE) is None


@given(
    st.lists(
        st.tuples(st.sampled_from(Side), st.integers(1, 500), st.integers(1, 10_000)),
        min_size=1, max_size=30,
    )
)  # fmt: skip
def test_realised_plus_open_value_is_cash_flow(fills: list[tuple[Side, int, int]]) -> None:
    books, cash = Inventory(), D(0)
    for side, amount, price in fills:
        books.apply(side, D(amount), D(price), D(0), ONE)
        cash -= side.sign * D(amount) * D(price)
    mark = D(123)
    # everything bought and sold, valued at the mark, is the realised plus the unrealised
    assert abs(books.profit(mark, ONE) - (cash + books.amount * mark)) < D("1e-20")
    assert books.bought - books.sold == books.amount


def test_rounding_helpers() -> None:
    assert floor_to(D("0.123456"), D("0.00001")) == D("0.12345")
    assert ceil_to(D("6090.501"), D("0.01")) == D("6090.51")
    assert shown(D("4.544210689200000000001")) == "4.54421069"
    assert shown(D("6292.19"), 2) == "6292.19"
