"""The matching engine. The rules it follows are in the package docstring."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, localcontext
from itertools import pairwise

from tradewind.domain.errors import Conflict, InsufficientFunds, NotFound
from tradewind.domain.events import (
    BalanceChanged,
    Event,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
)
from tradewind.domain.ids import new_id as default_new_id
from tradewind.domain.instruments import Instrument, InvalidOrder
from tradewind.domain.orders import (
    PREFIX_FILL,
    PREFIX_ORDER,
    AccountId,
    Fill,
    FillId,
    Liquidity,
    Order,
    OrderId,
    OrderStatus,
    OrderType,
    Side,
    check_transition,
)
from tradewind.venues.matching import programs
from tradewind.venues.matching.book import AccountBook, Quote
from tradewind.venues.matching.registry import OpenOrders
from tradewind.venues.matching.rules import (
    EXACT,
    check_amend,
    check_order,
    floor_to,
    is_limit,
    is_reached,
    market_price,
    path_since,
    record_fill,
    reference_price,
    taker_price,
)

Refused = (InsufficientFunds, InvalidOrder)
"""What a placement or a fill may be refused with; anything else is a bug and propagates."""


_ORDER_FIELDS = tuple(f.name for f in dataclasses.fields(Order) if f.init)
assert len(_ORDER_FIELDS) == len(dataclasses.fields(Order)), "an Order field outside __init__"
_get_fields = operator.attrgetter(*_ORDER_FIELDS)


def snapshot(order: Order) -> Order:
    """Events carry copies: the live order keeps changing after the event is made. (A shallow
    copy field by field: ``copy.copy`` goes through ``__reduce_ex__`` at several times the
    cost, and every placement and fill makes one.)"""
    return Order(*_get_fields(order))


class MatchingEngine:
    """Fills orders against prices for the accounts of one ``AccountBook``."""

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        book: AccountBook,
        *,
        slippage: Decimal = Decimal(0),
        new_id: Callable[[str], str] = default_new_id,
    ) -> None:
        self._instruments = dict(instruments)
        self._book = book
        self._slippage = slippage
        self._new_id = new_id
        self._open = OpenOrders()
        self._quotes: dict[str, Quote] = {}
        self._moved: dict[OrderId, None] = {}  # trailing stops moved during this on_prices call

    # ---- the public surface ----------------------------------------------------------------

    def submit(self, order: Order, quote: Quote, now_ms: int) -> list[Event]:
        """Place a client's order. A refused order raises (status REJECTED, nothing held)."""
        if order.id in self._open:
            raise Conflict(f"order {order.id} is already open")
        with localcontext(EXACT):
            try:
                self._instrument(order.symbol)
                check_order(order, quote)
                self._quotes[order.symbol] = quote
                return self._admit(order, quote, now_ms, post_only=False)
            except Refused as e:
                order.status, order.reason = OrderStatus.REJECTED, e.message
                order.updated_ms = now_ms
                raise

    def cancel(
        self, order_id: OrderId, now_ms: int, reason: str = "cancelled by user"
    ) -> list[Event]:
        """Cancel an open order and free what it holds."""
        events: list[Event] = []
        self._cancel(self._get(order_id), reason, now_ms, events)
        return events

    def amend(
        self,
        order_id: OrderId,
        now_ms: int,
        *,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        amount: Decimal | None = None,
    ) -> list[Event]:
        """Change a resting order's price, stop price or amount (the caller has checked them).

        The reservation is taken again for the new terms; if that is refused the order stays
        as it was and the error is raised. An order that now crosses the last quote takes at
        once, as on arrival.
        """
        order = self._get(order_id)
        if price is None and stop_price is None and amount is None:
            return []
        check_amend(order, price, stop_price, amount)
        quote = self._quotes.get(order.symbol)
        with localcontext(EXACT):
            saved = snapshot(order)
            changes = list(self._book.release(order))
            order.price = order.price if price is None else price
            order.stop_price = order.stop_price if stop_price is None else stop_price
            order.amount = order.amount if amount is None else amount
            try:
                changes += self._book.reserve(order, self._reference(order, quote))
            except Refused:
                _restore(order, dataclasses.replace(saved, reserved=Decimal(0)))
                self._book.reserve(order, self._reference(order, quote))
                raise
            order.updated_ms = now_ms
            latest = {(e.account_id, e.asset): e for e in changes if isinstance(e, BalanceChanged)}
            events: list[Event] = [OrderAmended(snapshot(order)), *latest.values()]
            self._open.index(order)
            if quote is not None and is_reached(order, quote):
                now = dataclasses.replace(quote, ts_ms=now_ms)
                self._process(order, now, events, taking=True)
        return events

    def on_prices(
        self, symbol: str, path: Sequence[tuple[int, Decimal]], half_spread: Decimal | None = None
    ) -> list[Event]:
        """Walk ``symbol``'s price along ``path``: fill, trigger and run programs on the way."""
        instrument = self._instrument(symbol)
        spread = instrument.half_spread if half_spread is None else half_spread
        events: list[Event] = []
        last = self._quotes.get(symbol)
        with localcontext(EXACT):
            if path and last is not None and path[0][0] < last.ts_ms:
                path = path_since(path, last.ts_ms)
            if not path:
                return events
            self._moved = {}
            quote = Quote.at(symbol, path[0][1], spread, path[0][0])
            self._quotes[symbol] = quote
            self._reach(quote, events)
            self._trail(quote)
            for start, end in pairwise(path):
                if end[1] != start[1]:
                    self._walk(symbol, start, end, spread, events)
                quote = Quote.at(symbol, end[1], spread, end[0])
                self._quotes[symbol] = quote
                self._trail(quote)
            events += [OrderAmended(snapshot(self._open.orders[i])) for i in self._moved]
            self._moved = {}
        return events

    def open_orders(
        self, account_id: AccountId | None = None, symbol: str | None = None
    ) -> list[Order]:
        """Open orders in arrival order (the live objects: read them, do not change them)."""
        if account_id is not None:
            orders = self._open.orders
            found = [orders[i] for i in self._open.by_account.get(account_id, ())]
        else:
            found = list(self._open.orders.values())
        return found if symbol is None else [o for o in found if o.symbol == symbol]

    def resting_bounds(
        self, symbol: str, price: Decimal, margin: Decimal
    ) -> tuple[Decimal | None, Decimal | None] | None:
        """For the backtester's jumps: the nearest level of ``symbol``'s resting orders (limit
        prices, untriggered stop prices) at or below ``price`` and at or above it. None when a
        price within ``margin`` of ``price`` may act on an order wherever the price goes next
        (one rests on the wrong side of it) or a trailing stop rests (its level follows the
        price). O(log n), where a scan of the orders was O(n) at every tick."""
        if self._open.trailing(symbol):
            return None
        book = self._open.books.get(symbol)
        if book is None or not len(book):
            return None, None
        if book.crossed(price - margin, price + margin):
            return None
        return book.nearest(price)

    def open_count(self, account_id: AccountId) -> int:
        """How many orders of the account are open."""
        return len(self._open.by_account.get(account_id, ()))

    def resting_count(self, symbol: str) -> int:
        """How many orders rest in ``symbol``'s book (by price or stop price)."""
        book = self._open.books.get(symbol)
        return 0 if book is None else len(book)

    def commit_ladder(
        self, orders: Sequence[Order], rows: Sequence[tuple[int, int]]
    ) -> list[tuple[Order, Fill]]:
        """Commit the fills the compiled re-arm program found (``compiled.walk``): ``rows``
        are ``(time, pair)``, in the order they happened, ``orders`` the open order of each
        pair. Each fills its pair's order whole at its own price as maker, and the pair's
        re-arm is made (``programs.rearm_order``), as ``_fill`` and ``_after_fill`` do one
        at a time. The account is settled once for the batch (``AccountBook.settle_batch``);
        the orders left resting are then held for and indexed in the order they were made.
        Returns each filled order (now FILLED) with its fill.

        Only the backtester calls this, for orders ``compiled.Ladder.of`` accepted and a walk
        that checked the funds; a refusal here is a bug, and raises."""
        current = list(orders)
        instrument = self._instrument(current[0].symbol)
        fills: list[Fill] = []
        done: list[tuple[Order, Fill]] = []
        made: dict[int, int] = {}  # pair -> when its resting order was made, for arrival order
        with localcontext(EXACT):
            for at, (ts, pair) in enumerate(rows):
                order = current[pair]
                if pair not in made:  # the order that rested before the batch: let it go
                    self._book.release(order)
                    self._open.forget(order)
                assert order.price is not None
                fill = self._new_fill(order, instrument, order.price, Liquidity.MAKER, ts)
                record_fill(order, fill, instrument.tick_size, ts)
                child = programs.rearm_order(order, fill, OrderId(self._new_id(PREFIX_ORDER)))
                assert child is not None
                current[pair] = child
                made[pair] = at
                fills.append(fill)
                done.append((order, fill))
            self._book.settle_batch(fills)
            for pair in sorted(made, key=made.__getitem__):
                child = current[pair]
                self._book.reserve(child, self._reference(child, None))
                self._open.register(child)
                self._open.index(child)
        return done

    def seen(self, quote: Quote) -> None:
        """Take ``quote`` as the last price of its symbol (after ``commit_ladder``: where the
        compiled walk left the price)."""
        self._quotes[quote.symbol] = quote

    def get(self, order_id: OrderId) -> Order | None:
        """The open order with this id; finished orders are not kept (their events were)."""
        return self._open.orders.get(order_id)

    def last_quote(self, symbol: str) -> Quote | None:
        """The quote the engine last saw for ``symbol`` (from ``submit`` or ``on_prices``)."""
        return self._quotes.get(symbol)

    def restore(self, orders: Iterable[Order]) -> None:
        """Load resting orders after a restart; what they hold is already in the book."""
        for order in sorted(orders, key=lambda o: (o.created_ms, o.id)):
            if order.is_open and order.id not in self._open:
                self._instrument(order.symbol)
                self._open.register(order)
                self._open.index(order)

    # ---- placing ---------------------------------------------------------------------------

    def _admit(self, order: Order, quote: Quote, now_ms: int, *, post_only: bool) -> list[Event]:
        """Reserve, then fill, trigger or rest. Atomic: when refused, nothing is held or changed."""
        held = self._book.reserve(order, self._reference(order, quote))
        saved = snapshot(order)
        events: list[Event] = []
        try:
            self._arrive(order, quote, now_ms, events, post_only=post_only)
        except Refused:
            _restore(order, saved)
            self._book.release(order)
            raise
        if order.id in self._open:  # it rests: announce what it holds right after it
            accepted = (i for i, e in enumerate(events) if isinstance(e, OrderAccepted))
            at = next(accepted, len(events) - 1) + 1
            events[at:at] = held
        # else it filled at once, and the fill's balance events already tell the final state
        return events

    def _place(self, order: Order, events: list[Event], *, post_only: bool = False) -> None:
        """Place an order a program made; nobody is there to raise to, so refusals are events."""
        try:
            events += self._admit(
                order, self._quotes[order.symbol], order.created_ms, post_only=post_only
            )
        except Refused as e:
            order.status, order.reason = OrderStatus.REJECTED, e.message
            events.append(OrderRejected(snapshot(order), e.message))

    def _arrive(
        self, order: Order, quote: Quote, ts: int, events: list[Event], *, post_only: bool
    ) -> None:
        if order.type is OrderType.MARKET:
            self._fill(order, self._market(order.side, quote), Liquidity.TAKER, ts, events)
        elif is_limit(order):
            if not is_reached(order, quote):
                self._rest(order, events)
            elif post_only:
                raise InvalidOrder("a re-armed order would cross the market", "price")
            else:
                price = taker_price(order, quote, self._slippage, self._tick(order.symbol))
                self._fill(order, price, Liquidity.TAKER, ts, events)
        else:
            programs.trail(order, quote.bid, quote.ask, self._tick(order.symbol))
            if is_reached(order, quote):
                self._trigger(order, quote, events)
            else:
                self._rest(order, events)

    def _rest(self, order: Order, events: list[Event]) -> None:
        if order.id not in self._open:
            self._open.register(order)
            events.append(OrderAccepted(snapshot(order)))
        self._open.index(order)

    # ---- walking the price -----------------------------------------------------------------

    def _walk(
        self,
        symbol: str,
        start: tuple[int, Decimal],
        end: tuple[int, Decimal],
        spread: Decimal,
        events: list[Event],
    ) -> None:
        """Process, in the order the price reaches them, the orders one segment crosses."""
        (t0, p0), (t1, p1) = start, end
        falling = p1 < p0
        while (book := self._open.books.get(symbol)) is not None:
            best = book.next_crossed(p1, spread, falling)
            if best is None:
                return
            level = min(best[0], p0) if falling else max(best[0], p0)
            ts = t0 + int((t1 - t0) * (level - p0) / (p1 - p0))
            quote = Quote.at(symbol, level, spread, ts)
            self._quotes[symbol] = quote
            self._process(self._open.orders[best[2]], quote, events)

    def _reach(self, quote: Quote, events: list[Event]) -> None:
        """At a path's first point: everything that point already satisfies, in arrival order."""
        book = self._open.books.get(quote.symbol)
        if book is None:
            return
        for order_id in book.reached(quote.bid, quote.ask):
            order = self._open.orders.get(order_id)
            if order is not None and order_id in book and is_reached(order, quote):
                self._process(order, quote, events)

    def _process(
        self, order: Order, quote: Quote, events: list[Event], *, taking: bool = False
    ) -> None:
        """A resting order the price has reached: a limit fills at its own price as maker (or,
        ``taking``, after an amend, at the market price as taker), a stop triggers. A fill the
        account cannot take cancels the order, with the reason."""
        try:
            if not is_limit(order):
                self._trigger(order, quote, events)
            elif taking:
                price = taker_price(order, quote, self._slippage, self._tick(order.symbol))
                self._fill(order, price, Liquidity.TAKER, quote.ts_ms, events)
            else:
                assert order.price is not None
                self._fill(order, order.price, Liquidity.MAKER, quote.ts_ms, events)
        except Refused as e:
            if order.is_open:
                self._cancel(order, e.message, quote.ts_ms, events)

    def _trigger(self, order: Order, quote: Quote, events: list[Event]) -> None:
        order.triggered, order.updated_ms = True, quote.ts_ms
        if order.id in self._moved:  # announce a trailing stop's last move before its trigger
            del self._moved[order.id]
            events.append(OrderAmended(snapshot(order)))
        self._open.triggered(order)
        events.append(OrderTriggered(snapshot(order)))
        if order.type is OrderType.STOP:
            price = self._market(order.side, quote)
            self._fill(order, price, Liquidity.TAKER, quote.ts_ms, events)
        else:
            self._arrive(order, quote, quote.ts_ms, events, post_only=False)
            self._cancel_siblings(order, quote.ts_ms, events)

    def _trail(self, quote: Quote) -> None:
        tick = self._tick(quote.symbol)
        for order in self._open.trailing(quote.symbol):
            if programs.trail(order, quote.bid, quote.ask, tick):
                order.updated_ms = quote.ts_ms
                self._open.index(order)
                self._moved[order.id] = None

    # ---- filling ---------------------------------------------------------------------------

    def _fill(
        self, order: Order, price: Decimal, liquidity: Liquidity, ts: int, events: list[Event]
    ) -> None:
        """Fill the whole remaining amount, settle it, then run the order's programs."""
        bound = order.reduce_only or order.position_id is not None
        if bound and not self._fit_to_position(order, ts, events):
            return
        instrument = self._instrument(order.symbol)
        fill = self._new_fill(order, instrument, price, liquidity, ts)
        fill, settled = self._book.settle(order, fill)
        status = record_fill(order, fill, instrument.tick_size, ts)
        if status is OrderStatus.FILLED:
            self._open.forget(order)
            self._moved.pop(order.id, None)
            settled += self._book.release(order)
        events.append(OrderFilled(snapshot(order), fill))
        events += settled
        self._after_fill(order, fill, events)

    def _new_fill(
        self, order: Order, instrument: Instrument, price: Decimal, liquidity: Liquidity, ts: int
    ) -> Fill:
        """The fill of ``order``'s whole remaining amount at ``price`` (its fee at the
        liquidity's rate, in the settlement asset)."""
        rate = instrument.maker_fee if liquidity is Liquidity.MAKER else instrument.taker_fee
        amount = order.remaining
        return Fill(
            id=FillId(self._new_id(PREFIX_FILL)), order_id=order.id, account_id=order.account_id,
            symbol=order.symbol, side=order.side, amount=amount, price=price,
            fee=instrument.notional(amount, price) * rate, fee_asset=instrument.settle,
            liquidity=liquidity, ts_ms=ts,
        )  # fmt: skip

    def _after_fill(self, order: Order, fill: Fill, events: list[Event]) -> None:
        """The programs, in this order: OCO, reduce-only upkeep, re-arm, bracket."""
        self._cancel_siblings(order, fill.ts_ms, events)
        for reducing in self._open.reducing(order.account_id, order.symbol):
            if reducing.is_open:
                self._fit_to_position(reducing, fill.ts_ms, events)
        if order.rearm is not None:
            child = programs.rearm_order(order, fill, OrderId(self._new_id(PREFIX_ORDER)))
            if child is not None:
                self._place(child, events, post_only=True)
        for leg in programs.bracket_orders(order, fill, self._new_id):
            self._place(leg, events)

    def _fit_to_position(self, order: Order, ts: int, events: list[Event]) -> bool:
        """Shrink a reduce-only order to its position, or cancel it when nothing is left."""
        allowed = self._book.reducible(order)
        if allowed >= order.remaining:
            return True
        instrument = self._instrument(order.symbol)
        keep = floor_to(max(allowed, Decimal(0)), instrument.amount_step)
        if keep <= 0 or keep < instrument.min_amount:
            self._cancel(order, "position closed", ts, events)
            return False
        order.amount, order.updated_ms = order.filled + keep, ts
        events.append(OrderAmended(snapshot(order)))
        return True

    def _cancel_siblings(self, order: Order, ts: int, events: list[Event]) -> None:
        for sibling in self._open.siblings(order):
            if sibling.is_open:
                self._cancel(sibling, "oco", ts, events)

    def _cancel(self, order: Order, reason: str, ts: int, events: list[Event]) -> None:
        check_transition(order.status, OrderStatus.CANCELLED)
        order.status, order.reason, order.updated_ms = OrderStatus.CANCELLED, reason, ts
        self._open.forget(order)
        self._moved.pop(order.id, None)
        freed = self._book.release(order)
        events.append(OrderCancelled(snapshot(order), reason))
        events += freed

    # ---- small things ----------------------------------------------------------------------

    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self._instruments[symbol]
        except KeyError:
            raise InvalidOrder(f"unknown symbol {symbol}", "symbol") from None

    def _tick(self, symbol: str) -> Decimal:
        return self._instrument(symbol).tick_size

    def _market(self, side: Side, quote: Quote) -> Decimal:
        return market_price(side, quote, self._slippage, self._tick(quote.symbol))

    def _reference(self, order: Order, quote: Quote | None) -> Decimal:
        return reference_price(order, quote, self._slippage, self._tick(order.symbol))

    def _get(self, order_id: OrderId) -> Order:
        order = self._open.orders.get(order_id)
        if order is None:
            raise NotFound("order not found or not open")
        return order


def _restore(order: Order, saved: Order) -> None:
    for f in dataclasses.fields(Order):
        setattr(order, f.name, getattr(saved, f.name))
