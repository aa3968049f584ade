"""The fake exchange's state: markets, prices, balances, orders, trades and candles; no HTTP.

Every public method takes one lock, so the server's thread and a test's thread may both call
in. Symbols are Binance ids (``BTCUSDT``); the unified form (``BTC/USDT``) is accepted too.

Matching is against the last price alone (a book with no spread and endless depth): a buy
limit at or above it, or a sell limit at or below it, fills at once at the last price as
taker; otherwise the order rests, its cost reserved, until ``set_price`` crosses it or a test
fills it by hand, at its limit price as maker. Fees are 0.1% in the asset received.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal

from tests.fakes.binance.candles import CandleRow, select_klines, to_candle
from tests.fakes.binance.model import (
    FEE_RATE,
    Balance,
    BinanceError,
    Candle,
    Market,
    Number,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TickerStats,
    TimeInForce,
    Trade,
    now_ms,
    to_decimal,
)

_COMMISSION_STEP = Decimal("0.00000001")
_ZERO = Decimal(0)


def _crosses(side: Side, limit: Decimal, price: Decimal) -> bool:
    return price <= limit if side is Side.BUY else price >= limit


def _filter_failure(name: str) -> BinanceError:
    return BinanceError(400, -1013, f"Filter failure: {name}")


class ExchangeState:
    """Markets, balances of the one account, orders, trades and candles."""

    def __init__(self, markets: Iterable[Market], balances: Mapping[str, Number]) -> None:
        self._lock = threading.RLock()
        self._markets = {m.symbol: m for m in markets}
        self._prices = {s: m.price for s, m in self._markets.items()}
        self._stats = {s: TickerStats(m.price, m.price, m.price) for s, m in self._markets.items()}
        self._free = {asset: to_decimal(v) for asset, v in balances.items()}
        self._locked: dict[str, Decimal] = {}
        self._orders: dict[int, Order] = {}
        self._trades: list[Trade] = []
        self._candles: dict[tuple[str, str], list[Candle]] = {}
        # Distinct ranges, so that a trade id mistaken for an order id finds nothing.
        self._order_ids = itertools.count(1_000_001)
        self._trade_ids = itertools.count(5_000_001)
        self.update_id = itertools.count(1)

    # -- markets and prices --------------------------------------------------------------------

    @property
    def markets(self) -> list[Market]:
        return list(self._markets.values())

    def market(self, symbol: str) -> Market:
        market = self._markets.get(symbol.replace("/", ""))
        if market is None:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return market

    def price(self, symbol: str) -> Decimal:
        with self._lock:
            return self._prices[self.market(symbol).symbol]

    def stats(self, symbol: str) -> TickerStats:
        with self._lock:
            return replace(self._stats[self.market(symbol).symbol])

    def set_price(self, symbol: str, price: Number) -> list[Trade]:
        with self._lock:
            market = self.market(symbol)
            last = to_decimal(price)
            self._prices[market.symbol] = last
            stats = self._stats[market.symbol]
            stats.high, stats.low = max(stats.high, last), min(stats.low, last)
            return [
                self._execute(order, order.remaining, order.price, is_maker=True)
                for order in list(self._orders.values())
                if order.symbol == market.symbol
                and order.is_open
                and _crosses(order.side, order.price, last)
            ]

    # -- balances ------------------------------------------------------------------------------

    @property
    def assets(self) -> list[str]:
        with self._lock:
            named = [a for m in self._markets.values() for a in (m.base, m.quote)]
            return list(dict.fromkeys([*named, *self._free, *self._locked]))

    def balance(self, asset: str) -> Balance:
        with self._lock:
            return Balance(self._free.get(asset, _ZERO), self._locked.get(asset, _ZERO))

    def balances(self) -> dict[str, Balance]:
        with self._lock:
            return {asset: self.balance(asset) for asset in self.assets}

    def set_balance(self, asset: str, free: Number) -> None:
        with self._lock:
            self._free[asset] = to_decimal(free)

    # -- orders --------------------------------------------------------------------------------

    def place(
        self,
        *,
        symbol: str,
        side: Side,
        type: OrderType,
        time_in_force: TimeInForce,
        quantity: Decimal | None,
        quote_qty: Decimal | None,
        price: Decimal | None,
        client_order_id: str,
    ) -> tuple[Order, list[Trade]]:
        """Checks and books an order as Binance's POST /api/v3/order does."""
        with self._lock:
            market = self.market(symbol)
            last = self._prices[market.symbol]
            if quantity is None:  # a market order by quoteOrderQty
                assert quote_qty is not None
                quantity = (quote_qty / last).quantize(market.step_size, rounding=ROUND_DOWN)
            self._check_filters(market, price, quantity, last)
            if any(
                o.is_open and o.client_order_id == client_order_id for o in self._orders.values()
            ):
                raise BinanceError(400, -2010, "Duplicate order sent.")
            marketable = price is None or _crosses(side, price, last)
            if type is OrderType.LIMIT_MAKER and marketable:
                raise BinanceError(400, -2010, "Order would immediately match and take.")
            asset, needed = (
                (market.quote, (price or last) * quantity)
                if side is Side.BUY
                else (market.base, quantity)
            )
            if self._free.get(asset, _ZERO) < needed:
                raise BinanceError(
                    400, -2010, "Account has insufficient balance for requested action."
                )
            created = now_ms()
            order = Order(
                order_id=next(self._order_ids), client_order_id=client_order_id,
                symbol=market.symbol, side=side, type=type, time_in_force=time_in_force,
                price=price or _ZERO, orig_qty=quantity, orig_quote_qty=quote_qty or _ZERO,
                time=created, update_time=created,
            )  # fmt: skip
            self._orders[order.order_id] = order
            trades = []
            if marketable:
                trades.append(self._execute(order, quantity, last, is_maker=False))
            elif time_in_force is not TimeInForce.GTC:
                order.status = OrderStatus.EXPIRED
            else:
                self._move(asset, needed, to_locked=True)
                order.reserved = needed
            return replace(order), trades

    def _check_filters(
        self, market: Market, price: Decimal | None, quantity: Decimal, last: Decimal
    ) -> None:
        if price is not None and (
            price < market.tick_size or price > market.max_price or price % market.tick_size
        ):
            raise _filter_failure("PRICE_FILTER")
        if (
            quantity < market.min_qty
            or quantity > market.max_qty
            or (quantity - market.min_qty) % market.step_size
        ):
            raise _filter_failure("LOT_SIZE")
        if (price or last) * quantity < market.min_notional:
            raise _filter_failure("NOTIONAL")

    def find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> Order:
        with self._lock:
            market = self.market(symbol)
            order = (
                self._orders.get(order_id)
                if order_id is not None
                else self._by_client_id(client_order_id)
            )
            if order is None or order.symbol != market.symbol:
                raise BinanceError(400, -2013, "Order does not exist.")
            return replace(order)

    def cancel(self, symbol: str, order_id: int | None, client_order_id: str | None) -> Order:
        with self._lock:
            self.market(symbol)  # an unknown symbol is -1121, not an unknown order
            try:
                found = self.find(symbol, order_id, client_order_id)
            except BinanceError:
                raise BinanceError(400, -2011, "Unknown order sent.") from None
            order = self._orders[found.order_id]
            if not order.is_open:  # Binance says the same of a filled or cancelled order
                raise BinanceError(400, -2011, "Unknown order sent.")
            order.status = OrderStatus.CANCELED
            order.update_time = now_ms()
            self._release(order)
            return replace(order)

    def cancel_all(self, symbol: str) -> list[Order]:
        with self._lock:
            market = self.market(symbol)
            open_ids = [
                o.order_id for o in self._orders.values() if o.is_open and o.symbol == market.symbol
            ]
            if not open_ids:
                raise BinanceError(400, -2011, "Unknown order sent.")
            return [self.cancel(market.symbol, order_id, None) for order_id in open_ids]

    def fill(self, ref: int | str, amount: Number | None = None) -> Trade:
        """Fills an open order by hand at its limit price, as maker; all that remains by default."""
        with self._lock:
            order = self._lookup(ref)
            if not order.is_open:
                raise ValueError(f"order {order.order_id} is {order.status}, not open")
            qty = order.remaining if amount is None else to_decimal(amount)
            if not _ZERO < qty <= order.remaining:
                raise ValueError(
                    f"cannot fill {qty}: order {order.order_id} has {order.remaining} left"
                )
            return self._execute(order, qty, order.price, is_maker=True)

    def order(self, ref: int | str) -> Order:
        with self._lock:
            return replace(self._lookup(ref))

    def orders(self, symbol: str | None = None) -> list[Order]:
        with self._lock:
            wanted = None if symbol is None else self.market(symbol).symbol
            return [replace(o) for o in self._orders.values() if wanted in (None, o.symbol)]

    def trades(self, symbol: str | None = None) -> list[Trade]:
        with self._lock:
            wanted = None if symbol is None else self.market(symbol).symbol
            return [t for t in self._trades if wanted in (None, t.symbol)]

    def _lookup(self, ref: int | str) -> Order:
        order = self._orders.get(ref) if isinstance(ref, int) else self._by_client_id(ref)
        if order is None and isinstance(ref, str) and ref.isdigit():
            order = self._orders.get(int(ref))  # an id as CCXT hands it out
        if order is None:
            raise LookupError(f"no order {ref!r}")
        return order

    def _by_client_id(self, client_order_id: str | None) -> Order | None:
        # Binance frees a client id once its order is done: the latest order with it wins.
        matching = [o for o in self._orders.values() if o.client_order_id == client_order_id]
        return matching[-1] if matching else None

    def _execute(self, order: Order, qty: Decimal, price: Decimal, *, is_maker: bool) -> Trade:
        market = self._markets[order.symbol]
        quote_qty = qty * price
        if order.side is Side.BUY:
            self._spend(order, market.quote, quote_qty)
            commission, asset = (qty * FEE_RATE).quantize(_COMMISSION_STEP), market.base
            self._free[asset] = self._free.get(asset, _ZERO) + qty - commission
        else:
            self._spend(order, market.base, qty)
            commission, asset = (quote_qty * FEE_RATE).quantize(_COMMISSION_STEP), market.quote
            self._free[asset] = self._free.get(asset, _ZERO) + quote_qty - commission
        order.executed_qty += qty
        order.cummulative_quote_qty += quote_qty
        order.update_time = now_ms()
        order.status = OrderStatus.FILLED if not order.remaining else OrderStatus.PARTIALLY_FILLED
        if order.status is OrderStatus.FILLED:
            self._release(order)
        stats = self._stats[market.symbol]
        stats.volume += qty
        stats.quote_volume += quote_qty
        stats.count += 1
        trade = Trade(
            trade_id=next(self._trade_ids), order_id=order.order_id, symbol=order.symbol,
            side=order.side, price=price, qty=qty, quote_qty=quote_qty, commission=commission,
            commission_asset=asset, is_maker=is_maker, time=order.update_time,
        )  # fmt: skip
        self._trades.append(trade)
        return trade

    def _spend(self, order: Order, asset: str, amount: Decimal) -> None:
        from_reserve = min(order.reserved, amount)
        order.reserved -= from_reserve
        self._locked[asset] = self._locked.get(asset, _ZERO) - from_reserve
        self._free[asset] = self._free.get(asset, _ZERO) - (amount - from_reserve)

    def _release(self, order: Order) -> None:
        market = self._markets[order.symbol]
        self._move(
            market.quote if order.side is Side.BUY else market.base, order.reserved, to_locked=False
        )
        order.reserved = _ZERO

    def _move(self, asset: str, amount: Decimal, *, to_locked: bool) -> None:
        sign = 1 if to_locked else -1
        self._free[asset] = self._free.get(asset, _ZERO) - sign * amount
        self._locked[asset] = self._locked.get(asset, _ZERO) + sign * amount

    # -- candles -------------------------------------------------------------------------------

    # -- candles -------------------------------------------------------------------------------

    def set_candles(self, symbol: str, candles: Iterable[CandleRow], interval: str = "1m") -> None:
        with self._lock:
            rows = sorted((to_candle(c) for c in candles), key=lambda c: c.open_time)
            self._candles[self.market(symbol).symbol, interval] = rows

    def klines(
        self, symbol: str, interval: str, start: int | None, end: int | None, limit: int
    ) -> tuple[int, list[Candle]]:
        """The candle width in ms and the candles: those set, else flat ones at the last price."""
        with self._lock:
            market = self.market(symbol)
            stored = self._candles.get((market.symbol, interval))
            return select_klines(stored, interval, self._prices[market.symbol], start, end, limit)
