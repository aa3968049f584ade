"""The engine's open orders and the indexes over them (by price, OCO group, position, trail)."""

from __future__ import annotations

from typing import TypeVar

from tradewind.domain.orders import AccountId, Order, OrderId
from tradewind.venues.matching.resting import SymbolBook
from tradewind.venues.matching.rules import is_limit

K = TypeVar("K")


class OpenOrders:
    """Open orders in arrival order. ``seq`` numbers arrivals, so equal prices keep it."""

    def __init__(self) -> None:
        self.orders: dict[OrderId, Order] = {}
        self.books: dict[str, SymbolBook] = {}
        self._seq: dict[OrderId, int] = {}
        self._next_seq = 0
        self._trailing: dict[str, dict[OrderId, None]] = {}
        self._oco: dict[str, dict[OrderId, None]] = {}
        self._reducing: dict[tuple[AccountId, str], dict[OrderId, None]] = {}
        self.by_account: dict[AccountId, dict[OrderId, None]] = {}
        """Each account's open orders, in arrival order."""

    def __contains__(self, order_id: OrderId) -> bool:
        return order_id in self.orders

    def register(self, order: Order) -> None:
        self.orders[order.id] = order
        self.by_account.setdefault(order.account_id, {})[order.id] = None
        self._seq[order.id] = self._next_seq
        self._next_seq += 1
        if order.oco_group is not None:
            self._oco.setdefault(order.oco_group, {})[order.id] = None
        if order.reduce_only or order.position_id is not None:
            self._reducing.setdefault((order.account_id, order.symbol), {})[order.id] = None
        if order.trailing is not None:
            self._trailing.setdefault(order.symbol, {})[order.id] = None

    def index(self, order: Order) -> None:
        """(Re)file a registered order under the price that fills or triggers it now."""
        if order.id not in self.orders:
            return
        book = self.books.setdefault(order.symbol, SymbolBook())
        seq = self._seq[order.id]
        if is_limit(order):
            assert order.price is not None
            book.add_limit(order.id, order.side, order.price, seq)
        elif order.stop_price is not None and not order.triggered:
            book.add_stop(order.id, order.side, order.stop_price, seq)
        else:
            book.remove(order.id)

    def triggered(self, order: Order) -> None:
        """A stop has triggered: it no longer rests as a stop, nor trails."""
        if (book := self.books.get(order.symbol)) is not None:
            book.remove(order.id)
        _discard(self._trailing, order.symbol, order.id)

    def forget(self, order: Order) -> None:
        if self.orders.pop(order.id, None) is None:
            return
        del self._seq[order.id]
        _discard(self.by_account, order.account_id, order.id)
        self.triggered(order)
        if order.oco_group is not None:
            _discard(self._oco, order.oco_group, order.id)
        _discard(self._reducing, (order.account_id, order.symbol), order.id)

    def trailing(self, symbol: str) -> list[Order]:
        return [self.orders[i] for i in self._trailing.get(symbol, {})]

    def siblings(self, order: Order) -> list[Order]:
        """The other open orders of ``order``'s OCO group."""
        if order.oco_group is None:
            return []
        return [self.orders[i] for i in self._oco.get(order.oco_group, {}) if i != order.id]

    def reducing(self, account_id: AccountId, symbol: str) -> list[Order]:
        """Open reduce-only (or position-bound) orders of one account and symbol."""
        return [self.orders[i] for i in self._reducing.get((account_id, symbol), {})]


def _discard(index: dict[K, dict[OrderId, None]], key: K, order_id: OrderId) -> None:
    members = index.get(key)
    if members is not None:
        members.pop(order_id, None)
        if not members:
            del index[key]
