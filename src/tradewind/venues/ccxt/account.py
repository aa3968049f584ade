"""One exchange account: its CCXT client, the orders the venue keeps open on it, and the
requests it makes, each with the retry policy its kind allows (``calls``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.async_support as ccxt

from tradewind.domain.errors import NotFound
from tradewind.domain.orders import Order, OrderId, OrderType
from tradewind.venues.ccxt.calls import (
    RATE_LIMITS,
    RETRYABLE,
    RetryPolicy,
    call,
    pause,
    translate,
)
from tradewind.venues.ccxt.fills import dec
from tradewind.venues.ccxt.store import Sent
from tradewind.venues.paper.ledger import Balance

T = TypeVar("T")
ExchangeOrder = dict[str, Any]
"""An order as CCXT parses it (``id``, ``clientOrderId``, ``status``, ``filled``, ``cost``...)."""


@dataclass(eq=False)
class ExchangeAccount:
    """A trading account on the exchange, as the venue keeps it."""

    id: str
    client: Any
    """A ``ccxt.async_support`` exchange with this account's credentials."""
    exchange: str
    policy: RetryPolicy
    orders: dict[OrderId, Order] = field(default_factory=dict)
    """Open orders, in arrival order: on the exchange, or kept here (emulated stops)."""
    sent: dict[OrderId, Sent] = field(default_factory=dict)
    """What the exchange knows of each order that is (or is being) sent."""
    balances: dict[str, Balance] = field(default_factory=dict)
    """As last fetched (``refresh_balances``): the assets with a free or locked amount."""
    balances_fetched: bool = False
    """Whether ``balances`` has been fetched once (before, it is empty, not the exchange's)."""

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        """A read or an idempotent change, with retries (``calls.call``)."""
        return await call(self.client, request, policy=self.policy, exchange=self.exchange)

    async def create(self, order: Order, sent: Sent, amount: Decimal) -> ExchangeOrder:
        """Place ``order`` (``amount`` of it) under ``sent.client_id``, at most once: after an
        error that may hide an acceptance (a timeout, a dropped connection, a 5xx) the order is
        looked up by its client id and sent again only if the exchange does not have it."""
        market = order.type is OrderType.MARKET or (order.type is OrderType.STOP)
        price = None if market else order.price
        params = {"clientOrderId": sent.client_id}
        waits = self.policy.waits()
        while True:
            try:
                placed: ExchangeOrder = await self.client.create_order(
                    order.symbol, "market" if market else "limit", order.side.value,
                    float(amount), None if price is None else float(price), params,
                )  # fmt: skip
                return placed
            except RATE_LIMITS as e:  # refused before it was processed: send again
                wait = next(waits, None)
                if wait is None:
                    raise translate(e, exchange=self.exchange, client=self.client) from e
                await pause(self.client, e, wait, self.policy, self.exchange)
            except RETRYABLE as e:
                wait = next(waits, None)
                if wait is None:
                    raise translate(e, exchange=self.exchange) from e
                await pause(self.client, e, wait, self.policy, self.exchange)
                found = await self.find(sent)
                if found is not None:
                    return found
            except ccxt.InvalidOrder as e:
                # a refusal may mean this placement arrived before: a try we thought lost, or
                # one a stopped process sent and a resumed bot sends again (Binance calls an
                # open order's client id a duplicate). The id is derived from this account and
                # the placement's own name, so an order found under it is this one.
                found = await self.find(sent)
                if found is None:
                    raise translate(e, exchange=self.exchange) from e
                return found
            except ccxt.BaseError as e:
                raise translate(e, exchange=self.exchange) from e

    async def find(self, sent: Sent) -> ExchangeOrder | None:
        """The exchange's record of the order sent under ``sent.client_id``; None when it has
        none (the placement never arrived)."""
        symbol = sent.symbol
        try:
            found: ExchangeOrder = await self.call(
                lambda: self.client.fetch_order(
                    sent.order_id or "", symbol, {"clientOrderId": sent.client_id}
                )
            )
        except NotFound:
            return None
        return found

    async def cancel(self, sent: Sent) -> ExchangeOrder | None:
        """Cancel on the exchange; None when the exchange has no open order by that client id
        (it filled, was cancelled already, or never arrived: ``find`` tells which)."""
        symbol = sent.symbol
        try:
            found: ExchangeOrder = await self.call(
                lambda: self.client.cancel_order(
                    sent.order_id or "", symbol, {"clientOrderId": sent.client_id}
                )
            )
        except NotFound:
            return None
        return found

    async def open_on_exchange(self, symbol: str) -> list[ExchangeOrder]:
        found: list[ExchangeOrder] = await self.call(lambda: self.client.fetch_open_orders(symbol))
        return found

    async def trades_of(self, sent: Sent) -> list[dict[str, Any]]:
        """The trades of the order (for their fees); [] when the exchange cannot say."""
        if sent.order_id is None or not self.client.has.get("fetchOrderTrades"):
            return []
        order_id, symbol = sent.order_id, sent.symbol
        found: list[dict[str, Any]] = await self.call(
            lambda: self.client.fetch_order_trades(order_id, symbol)
        )
        return found

    async def last_price(self, symbol: str) -> Decimal | None:
        ticker: dict[str, Any] = await self.call(lambda: self.client.fetch_ticker(symbol))
        last = ticker.get("last")
        return None if last is None else Decimal(str(last))

    async def minute_candles(self, symbol: str, limit: int) -> list[list[Any]]:
        """The exchange's last ``limit`` one-minute OHLCV rows of ``symbol`` (none when it
        offers no candles)."""
        if not self.client.has.get("fetchOHLCV"):
            return []
        rows: list[list[Any]] = await self.call(
            lambda: self.client.fetch_ohlcv(symbol, "1m", limit=limit)
        )
        return rows

    async def refresh_balances(self) -> list[Balance]:
        """Fetch the balances; returns, by asset, those whose free or locked amount is not what
        it was (an asset no longer held is a zero balance), the first fetch's included."""
        raw: dict[str, Any] = await self.call(lambda: self.client.fetch_balance())
        free, used = raw.get("free") or {}, raw.get("used") or {}
        before = {asset: (b.free, b.locked) for asset, b in self.balances.items()}
        self.balances = {
            asset: Balance(asset, dec(free.get(asset)), dec(used.get(asset)))
            for asset in {*free, *used}
            if dec(free.get(asset)) or dec(used.get(asset))
        }
        self.balances_fetched = True
        zero = (Decimal(0), Decimal(0))
        changed = []
        for asset in sorted({*before, *self.balances}):
            new = self.balances.get(asset) or Balance(asset, *zero)
            if before.get(asset, zero) != (new.free, new.locked):
                changed.append(new)
        return changed

    async def close(self) -> None:
        await self.client.close()
