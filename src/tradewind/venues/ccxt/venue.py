"""A live exchange through CCXT, behind the interfaces the paper venue offers (``Venue`` for the
terminal, ``EngineVenue`` for the bot engine), so bots, signals and the API do not know which
one they trade on.

State. The venue keeps each account's open orders in memory and in the store's ``orders`` and
``fills`` tables (``store``). The exchange is the truth: the venue polls it (``sync``: open
orders, then any order no longer listed, by its client id) and applies what changed as fills
and cancellations (``fills``: each exactly once), publishing the same events the paper venue
publishes, to its listeners (the bot engine) and on the bus as the paper venue does
(``account:<id>``, each order with its ticket, which the venue keeps for its open orders);
after an operation or a poll that changed an order, the account's balances are fetched again and
each asset whose free or locked amount changed is a ``BalanceChanged``, published with the
order events (``reconcile``'s first fetch, at start-up, publishes none: nobody changed them);
each polled price is a tick on the venue's own topic (``tick_topic``, never the paper
market's). ``reconcile`` (on start and after a reconnect) does the same and also says what
differed (``OrderReconciled``), which the bot engine writes in the bot's log.

Placing. Every order is written before it is sent, with the client id it is sent under
(``client_ids``: derived from its account and its name): a placement whose answer was lost is
looked up by that id before it is sent again, so it is never placed twice, whether the retry
comes a second later (``account.create``) or after a restart (a pending bot operation run
again; an order written and never confirmed). An order is always looked up by the id stored
with it, never by one derived again (earlier versions derived it from the name alone).

What the exchange does not do, the venue does (``capabilities``): stop and stop-limit orders,
trailing stops and the stop-loss of a bracket stay here and are triggered from the polled price
(the order is then sent as a market or limit order); a grid's re-arm and a bracket's legs are
placed when their order has filled; OCO siblings are cancelled when one fills. They run only
while the venue runs: a stop is not watched while the process is down (reconciliation does
not replay prices).

Watching. The venue polls the symbols with open orders, those whose price was asked for (a
bot's, a quote's: for good, as a bot may need its price at any time) and those watched
(``watch``, by the streams: counted, each ``unwatch`` releases one). A symbol none of these
needs any more is no longer polled; its feed and last price go with it, so the next to ask gets
fresh ones.

Bars. Each watched symbol (a bot's, or one whose price was asked for) has a ``LiveFeed`` in
``feeds``, for bots on bars: seeded once, when the symbol is first polled, with the exchange's
last ``SEED_BARS`` (1000) one-minute candles (one request, Binance's most: 200 five-minute or
16 hourly bars; a starting bot takes up to the engine's ``HISTORY_BARS`` of them, and one that
needs more warms up on live bars), then fed every polled price, stamped with the venue's clock. Bars after the seed are built from
those polls: a high or low between two polls is not seen, and a minute without a poll (the
exchange unreachable) is a flat bar at the last price polled.

Spot markets only for now (no positions, leverage or reduce-only on the exchange).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import delete
from sqlalchemy.orm import Session

from tradewind.domain import events as ev
from tradewind.domain.clock import Clock
from tradewind.domain.errors import DomainError, InsufficientFunds, NotFound, VenueUnavailable
from tradewind.domain.ids import new_id as default_new_id
from tradewind.domain.instruments import Instrument, InvalidOrder
from tradewind.domain.numbers import decimal_text
from tradewind.domain.orders import (
    PREFIX_FILL,
    PREFIX_ORDER,
    AccountId,
    Bracket,
    Fill,
    FillId,
    Order,
    OrderId,
    OrderStatus,
    OrderType,
    Position,
    Side,
    check_transition,
)
from tradewind.engine.bus import EventBus
from tradewind.logs import get_logger
from tradewind.marketdata.live import LiveFeed
from tradewind.store.db import StoreRunner
from tradewind.store.tables import OrderRow
from tradewind.venues.base import Capabilities
from tradewind.venues.ccxt import fills as fl
from tradewind.venues.ccxt import store, trades
from tradewind.venues.ccxt.account import ExchangeAccount, ExchangeOrder
from tradewind.venues.ccxt.calls import RetryPolicy, VenueRefused
from tradewind.venues.ccxt.client_ids import exchange_client_id, is_ours, legacy_client_id
from tradewind.venues.ccxt.instruments import instrument_of
from tradewind.venues.ccxt.prices import SEED_BARS, ohlcv_candles
from tradewind.venues.matching import Quote, programs
from tradewind.venues.matching.engine import snapshot
from tradewind.venues.matching.rules import is_reached, record_fill
from tradewind.venues.ops import (
    AmendOp,
    CancelOp,
    Listener,
    Op,
    OpResult,
    OrderRequest,
    Placed,
    PlaceOp,
    PriceListener,
)
from tradewind.venues.paper.ledger import AccountSummary, Balance
from tradewind.venues.paper.persistence import RowTracker, event_message, load_order
from tradewind.venues.requests import TradeCheck, amended_terms, build_order

log = get_logger("tradewind.ccxt")
CANCELLED = ("canceled", "cancelled", "expired", "rejected")
"""CCXT statuses of an order that ended without filling all of it."""
REFUSED = (InsufficientFunds, InvalidOrder, VenueRefused)
ORDER_EVENTS = (ev.OrderAccepted, ev.OrderTriggered, ev.OrderFilled, ev.OrderCancelled,
                ev.OrderRejected, ev.OrderAmended)  # fmt: skip
STREAMED = (*ORDER_EVENTS, ev.BalanceChanged)
"""The events published on the bus (an ``OrderReconciled`` is for the bots' logs only)."""


@dataclass
class _Batch:
    """What one operation of the venue changed: written together, then published."""

    new: dict[OrderId, tuple[ExchangeAccount, Order]] = field(default_factory=dict)
    changed: dict[OrderId, tuple[ExchangeAccount, Order]] = field(default_factory=dict)
    dropped: list[OrderId] = field(default_factory=list)
    """Orders written before sending that the exchange refused: they never existed."""
    fills: list[Fill] = field(default_factory=list)
    events: list[ev.Event] = field(default_factory=list)
    to_send: list[tuple[ExchangeAccount, Order]] = field(default_factory=list)
    """Orders the venue's programs made (a re-arm, a bracket leg, a triggered stop)."""
    balances: set[str] = field(default_factory=set)
    """Accounts whose balances may have changed (fetched again before publishing)."""

    def touch(self, account: ExchangeAccount, order: Order) -> None:
        if order.id not in self.new:
            self.changed[order.id] = (account, order)
        self.balances.add(account.id)


class CcxtVenue:
    """One exchange (``name`` is CCXT's id, ``binance``), any number of accounts on it."""

    capabilities = Capabilities(
        stop_orders=False, stop_limit_orders=False, trailing_stops=False, oco=False,
        hedging=False, reduce_only=False, derivatives=False,
    )  # fmt: skip
    joins_writes = False
    """Exchange calls cannot be part of a store transaction: the engine writes its operations
    as pending first."""

    def __init__(
        self, *, name: str, writer: StoreRunner, clock: Clock, bus: EventBus,
        policy: RetryPolicy | None = None, new_id: Callable[[str], str] = default_new_id,
    ) -> None:  # fmt: skip
        self.name = name
        self.instruments: dict[str, Instrument] = {}
        self.feeds: dict[str, LiveFeed] = {}
        """Per watched symbol, from its first poll: candles for bots on bars (module docstring)."""
        self.listeners: list[Listener] = []
        self.price_listeners: list[PriceListener] = []
        self.connected = False
        self._writer = writer
        self._clock = clock
        self._bus = bus
        self._policy = policy or RetryPolicy()
        self._new_id = new_id
        self._lock = asyncio.Lock()
        self._accounts: dict[str, ExchangeAccount] = {}
        self._client_ids: dict[tuple[str, str], OrderId] = {}
        self._marks: dict[str, Decimal] = {}
        self._watchers: Counter[str] = Counter()
        """Per symbol, the watches not released yet (``watch``, ``unwatch``)."""
        self._pinned: dict[str, None] = {}
        """Symbols whose price was asked for: polled for good (module docstring)."""
        self._rows = RowTracker()
        """The tickets of the open orders (and of those closed, until published): the order
        events on the bus carry them."""

    # ---- accounts and start-up -------------------------------------------------------------

    async def add_account(self, account_id: str, client: Any) -> None:
        """Trade ``account_id`` (a ``trading_accounts`` row of this venue) through ``client``,
        a ``ccxt.async_support`` exchange with its credentials; CCXT's rate limiter is on."""
        client.enableRateLimit = True
        account = ExchangeAccount(account_id, client, self.name, self._policy)
        self._accounts[account_id] = account
        if not self.instruments:
            markets = await account.call(lambda: client.load_markets())
            for market in markets.values():
                found = instrument_of(self.name, market, client.precisionMode)
                if found is not None:
                    self.instruments[found.symbol] = found

    @property
    def account_ids(self) -> list[str]:
        return list(self._accounts)

    def has_account(self, account_id: str) -> bool:
        return account_id in self._accounts

    async def remove_account(self, account_id: str) -> None:
        """Stop trading ``account_id`` (its keys were deleted): its client is closed; what it
        has on the exchange stays there, and its records in the store."""
        async with self._lock:
            account = self._accounts.pop(account_id, None)
        if account is not None:
            for order_id in account.orders:
                self._rows.order_tickets.pop(order_id, None)
            await account.close()

    async def load(self) -> None:
        """The accounts' open orders from the store (the exchange is not asked: ``reconcile``)."""
        async with self._lock, self._writer.sessions() as session:
            stored = await store.load(session, list(self._accounts))
        self._client_ids = dict(stored.client_ids)
        self._rows.order_tickets = dict(stored.tickets)
        for account in self._accounts.values():
            account.orders.clear()
            account.sent.clear()
        for order in stored.open_orders:
            account = self._accounts[order.account_id]
            account.orders[order.id] = order
            sent = stored.sent.get(order.id)
            if sent is None and _on_exchange(order):
                # stored without the id it was sent under: by a version that derived it from
                # the name alone (``client_ids``)
                sent = store.Sent(legacy_client_id(_name(order)), order.symbol)
            if sent is not None:
                account.sent[order.id] = sent

    async def reconcile(self) -> None:
        """Bring every account in line with the exchange (on start, after a reconnect): fills
        that happened meanwhile are applied once, orders cancelled there are closed here, orders
        written here that never arrived are sent; each difference is published as
        ``OrderReconciled`` (the engine logs it on the bot)."""
        async with self._lock:
            for account in list(self._accounts.values()):
                batch = _Batch()
                try:
                    await self._sync(account, batch, reconciling=True)
                    # the first fetch (at start-up) is where the venue starts from: no change
                    await self._refresh_balances(account, batch, quiet=not account.balances_fetched)
                except VenueRefused as e:  # one account's keys: the others still trade
                    _refused(account, e)
                finally:
                    await self._finish(batch)
            self.connected = True

    async def sync(self) -> None:
        """Poll every account's orders once: apply fills, cancellations, lost placements."""
        async with self._lock:
            for account in list(self._accounts.values()):
                batch = _Batch()
                try:
                    await self._sync(account, batch, reconciling=False)
                except VenueRefused as e:
                    _refused(account, e)
                finally:
                    await self._finish(batch)

    async def run(self, interval: float) -> None:
        """Poll prices and orders for ever (the service's background task); after a failure
        the next round reconciles first."""
        while True:
            try:
                if not self.connected:
                    await self.reconcile()
                    log.info("exchange reconciled", exchange=self.name)
                await self.refresh_prices()
                await self.sync()
            except DomainError as e:
                self.connected = False
                log.warning("exchange poll failed", exchange=self.name, error=e.message)
            except Exception:
                self.connected = False
                log.exception("exchange poll failed", exchange=self.name)
            await asyncio.sleep(interval)

    async def close(self) -> None:
        for account in self._accounts.values():
            await account.close()

    # ---- reading ---------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise NotFound(f"unknown symbol {symbol}") from None

    def watch(self, symbol: str) -> None:
        """Poll ``symbol``'s price until a matching ``unwatch`` (watches are counted: the symbol
        is polled while one is left, or while something else needs it)."""
        self.instrument(symbol)
        self._watchers[symbol] += 1

    def unwatch(self, symbol: str) -> None:
        """Release one ``watch`` of ``symbol``."""
        self._watchers[symbol] -= 1
        if self._watchers[symbol] <= 0:
            del self._watchers[symbol]

    def tick_topic(self, symbol: str) -> str:
        """The bus topic of ``symbol``'s ticks here: the venue's own, never the paper market's
        (``tick:<symbol>``)."""
        return f"tick:{self.name}:{symbol}"

    async def poll_price(self, symbol: str) -> Decimal | None:
        """Poll ``symbol``'s price now, and from now on (a bot about to start needs one)."""
        self.instrument(symbol)
        self._pinned[symbol] = None
        await self.refresh_prices()
        return self._marks.get(symbol)

    async def prime_price(self, symbol: str) -> None:
        """Check ``symbol`` is traded here, and poll its price once when there is none yet (the
        venue polls only the symbols it watches)."""
        self.instrument(symbol)
        if self.mark(symbol) is None:
            await self.poll_price(symbol)

    def mark(self, symbol: str) -> Decimal | None:
        """The last price polled; None before the first. Asked for, the symbol is polled for
        good (a bot's: a stream's watch on it ending must not stop its prices)."""
        if symbol not in self._pinned and symbol in self.instruments:
            self._pinned[symbol] = None
        return self._marks.get(symbol)

    def quote(self, symbol: str) -> Quote:
        last = self.mark(symbol)
        if last is None:
            raise VenueUnavailable(f"no price for {symbol} from {self.name} yet")
        return Quote.at(symbol, last, Decimal(0), self.now_ms())

    def _account(self, account_id: str) -> ExchangeAccount:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise NotFound("account not found") from None

    def balances(self, account_id: str) -> dict[str, Balance]:
        return dict(self._account(account_id).balances)

    def free_balances(self, account_id: str) -> dict[str, Decimal]:
        return {a: b.free for a, b in self._account(account_id).balances.items()}

    def summary(self, account_id: str) -> AccountSummary:
        """Spot: the holdings valued in USDT at the polled prices (no margin)."""
        total = Decimal(0)
        for asset, balance in self._account(account_id).balances.items():
            price = Decimal(1) if asset == "USDT" else self._marks.get(f"{asset}/USDT")
            total += balance.total * (price or 0)
        return AccountSummary(balance=total, equity=total, margin=Decimal(0), free_margin=total,
                              margin_level=None, profit=Decimal(0), currency="USDT",
                              leverage=Decimal(1))  # fmt: skip

    def open_orders(self, account_id: str, symbol: str | None = None) -> list[Order]:
        orders = self._account(account_id).orders.values()
        return [o for o in orders if symbol is None or o.symbol == symbol]

    def working_orders(self, account_id: str, symbol: str) -> list[Order]:
        return self.open_orders(account_id, symbol)

    def positions(self, account_id: str) -> list[Position]:
        self._account(account_id)
        return []

    def open_positions(self, account_id: str) -> list[Position]:
        return []

    def exchange_ids(self, order: Order) -> tuple[str, str | None]:
        """The client id the exchange knows ``order`` by, and the exchange's own id (for an
        order not on the exchange, a stop kept here: the client id it will be sent under)."""
        sent = self._account(order.account_id).sent.get(order.id)
        if sent is None:
            return _client_id(order), None
        return sent.client_id, sent.order_id

    # ---- the terminal's calls ----------------------------------------------------------------

    async def place_order(self, account_id: str, request: OrderRequest) -> Placed:
        """Place an order; a repeated ``client_order_id`` returns the first order. It goes
        through the bots' path (written, then sent at most once under its exchange client id);
        refused by the exchange, it never existed. Reduce-only is refused: spot has no
        position to reduce (a bot's reduce-only sell is a plain sell here)."""
        if request.reduce_only and not self.capabilities.reduce_only:
            raise InvalidOrder(
                f"{self.name} is traded on spot markets only: no positions, so no reduce-only",
                "reduce_only",
            )
        (result,), events = await self._execute([PlaceOp(account_id, request)])
        if result.error is not None:
            raise result.error
        assert result.order is not None
        order = result.order
        fills = [e.fill for e in events if isinstance(e, ev.OrderFilled) and e.order.id == order.id]
        return Placed(order=order, fills=fills, duplicate=result.duplicate)

    async def trade(
        self, account_id: str, symbol: str, side: Side, amount: Decimal, *,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> Placed:  # fmt: skip
        """A market order with optional SL/TP protecting what it bought or sold (``trades``)."""
        return await trades.trade(
            self, account_id, symbol, side, amount, stop_loss=stop_loss, take_profit=take_profit
        )

    async def check_trade(
        self, account_id: str, symbol: str, side: Side, amount: Decimal, *,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> TradeCheck:  # fmt: skip
        """What ``trade`` would need and whether it would be accepted; changes nothing (``trades``)."""
        return await trades.check_trade(
            self, account_id, symbol, side, amount, stop_loss=stop_loss, take_profit=take_profit
        )

    async def cancel_order(self, account_id: str, order_id: str) -> Order:
        order = self._account(account_id).orders.get(OrderId(order_id))
        if order is None:
            raise NotFound("order not found or not open")
        (result,) = await self.execute([CancelOp(account_id, order_id)])
        if result.error is not None:
            raise result.error
        return order

    async def amend_order(
        self, account_id: str, order_id: str, *, price: Decimal | None = None,
        stop_price: Decimal | None = None, amount: Decimal | None = None,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> Order:  # fmt: skip
        account = self._account(account_id)
        order = account.orders.get(OrderId(order_id))
        if order is None:
            raise NotFound("order not found or not open")
        if stop_loss is not None or take_profit is not None:  # kept here: placed on its fill
            old = order.bracket or Bracket()
            instrument = self.instrument(order.symbol)
            order.bracket = Bracket(
                instrument.round_price(stop_loss) if stop_loss is not None else old.stop_loss,
                instrument.round_price(take_profit) if take_profit is not None else old.take_profit,
            )
            batch = _Batch()
            batch.touch(account, order)
            batch.events.append(ev.OrderAmended(snapshot(order)))
            async with self._lock:
                await self._finish(batch)
        if price is not None or stop_price is not None or amount is not None:
            op = AmendOp(account_id, order_id, price=price, stop_price=stop_price, amount=amount)
            (result,) = await self.execute([op])
            if result.error is not None:
                raise result.error
        return order

    async def close_position(
        self, account_id: str, position_id: str, amount: Decimal | None = None
    ) -> Placed:
        raise self._no_positions()

    async def set_protection(
        self, account_id: str, position_id: str, *, stop_loss: Decimal | None,
        take_profit: Decimal | None,
    ) -> Position:  # fmt: skip
        raise self._no_positions()

    def _no_positions(self) -> InvalidOrder:
        return InvalidOrder(
            f"{self.name} is traded on spot markets only: an account on it has no positions "
            "(sell what you hold with an order)",
            "position_id",
        )

    # ---- the bot engine's batches ------------------------------------------------------------

    async def execute(
        self, ops: Sequence[Op], *, also: Callable[[list[OpResult]], Any] | None = None
    ) -> list[OpResult]:
        """Run the operations in order, each succeeding or refused on its own. Placements are
        idempotent on their client order id (also across restarts), cancelling an order no
        longer open is done. ``also`` is refused: exchange calls cannot join a transaction."""
        if also is not None:
            raise ValueError(f"{self.name} cannot take the caller's writes (joins_writes)")
        results, _ = await self._execute(ops)
        return results

    async def _execute(self, ops: Sequence[Op]) -> tuple[list[OpResult], list[ev.Event]]:
        results = [OpResult() for _ in ops]
        async with self._lock:
            batch = _Batch()
            try:
                placing: list[Order | None] = []
                for op, result in zip(ops, results, strict=True):
                    placing.append(
                        self._admit(op, result, batch) if isinstance(op, PlaceOp) else None
                    )
                await self._commit(batch)  # written before anything is sent
                for op, result, order in zip(ops, results, placing, strict=True):
                    try:
                        await self._run(op, result, order, batch)
                    except DomainError as e:
                        result.error = e
            finally:
                events = await self._finish(batch)
        return results, events

    def _admit(self, op: PlaceOp, result: OpResult, batch: _Batch) -> Order | None:
        """Check a placement and register it (its row goes to the store before it is sent);
        None when it is refused or its client id was placed before."""
        try:
            account = self._account(op.account_id)
            cid = op.request.client_order_id
            known = None if cid is None else self._client_ids.get((account.id, cid))
            if known is not None:
                result.duplicate = True
                result.order = account.orders.get(known)
                return None
            order = self._check(account.id, op.request)
        except DomainError as e:
            result.error = e
            return None
        self._register(account, order, batch)
        result.order = order
        return order

    async def _run(self, op: Op, result: OpResult, order: Order | None, batch: _Batch) -> None:
        if result.error is not None:
            return
        if isinstance(op, PlaceOp):
            account = self._account(op.account_id)
            if order is not None:
                if order.id in account.sent:  # else a stop kept here until triggered
                    await self._send(account, order, batch, refused="forget")
            elif result.order is None:  # placed before and since done
                result.order = await self._stored_order(op)
            elif result.order.id in account.sent and account.sent[result.order.id].order_id is None:
                await self._send(account, result.order, batch)  # written before, unconfirmed
            return
        account = self._account(op.account_id)
        if isinstance(op, CancelOp):
            found = account.orders.get(OrderId(op.order_id))
            if found is not None:
                result.order = found
                await self._cancel(account, found, op.reason, batch)
        elif isinstance(op, AmendOp):
            result.order = await self._amend(account, op, batch)
        else:
            raise InvalidOrder(f"{self.name} spot markets take no leverage", "leverage")

    def _check(self, account_id: str, request: OrderRequest) -> Order:
        """The order a request makes, checked against the instrument (as the paper venue does)."""
        return build_order(
            request, self.instrument(request.symbol), new_id=self._new_id,
            account_id=AccountId(account_id), now_ms=self.now_ms(),
            reference=lambda own: own or self.mark(request.symbol),
        )  # fmt: skip

    def _register(self, account: ExchangeAccount, order: Order, batch: _Batch) -> None:
        """A new open order (written with the batch, before it is sent)."""
        account.orders[order.id] = order
        if order.client_order_id:
            self._client_ids[(account.id, order.client_order_id)] = order.id
        if _on_exchange(order):
            account.sent[order.id] = store.Sent(_client_id(order), order.symbol)
        batch.new[order.id] = (account, order)
        batch.events.append(ev.OrderAccepted(snapshot(order)))

    async def _stored_order(self, op: PlaceOp) -> Order:
        order_id = self._client_ids[(op.account_id, op.request.client_order_id or "")]
        async with self._writer.sessions() as session:
            return await load_order(session, order_id)

    # ---- sending, cancelling, amending -------------------------------------------------------

    async def _send(
        self, account: ExchangeAccount, order: Order, batch: _Batch,
        *, refused: Literal["forget", "reject", "cancel"] = "reject",
    ) -> None:  # fmt: skip
        """Send an order written before (placed at most once: ``account.create``). Refused,
        the error is raised and the order: ``forget``, a client's placement, never existed
        (its row goes, as on paper); ``reject``, an order a program made is rejected
        (``OrderRejected``, as on paper); ``cancel``, an amended order's replacement, ends.
        Unreachable: it stays, unconfirmed, and the next poll sends it."""
        await self._commit(batch)  # written before it is sent
        sent = account.sent[order.id]
        remaining = order.amount - sent.prior_filled
        try:
            answer = await account.create(order, sent, remaining)
        except REFUSED as e:
            if refused == "forget":
                self._forget(account, order, batch)
            elif refused == "reject":
                self._close(account, order, OrderStatus.REJECTED, e.message, batch)
            else:
                self._close(
                    account, order, OrderStatus.CANCELLED, f"amend refused: {e.message}", batch
                )
            raise
        await self._apply(account, order, answer, batch, answer=True)

    async def _cancel(
        self, account: ExchangeAccount, order: Order, reason: str, batch: _Batch
    ) -> None:
        """Cancel an open order: here (a stop not yet triggered) or on the exchange; what the
        exchange filled before the cancel is applied first."""
        if not order.is_open:
            return
        sent = account.sent.get(order.id)
        if sent is None:
            self._close(account, order, OrderStatus.CANCELLED, reason, batch)
            return
        answer = await account.cancel(sent)
        if answer is None:  # not open there: filled, cancelled before, or never arrived
            answer = await account.find(sent)
        if answer is not None:
            await self._apply(account, order, answer, batch, ending=False)
        if order.is_open:
            self._close(account, order, OrderStatus.CANCELLED, reason, batch)

    async def _amend(self, account: ExchangeAccount, op: AmendOp, batch: _Batch) -> Order:
        """Change an open order: here, or on the exchange by cancelling it and placing the rest
        again under the next client id (what filled meanwhile is applied first; an order that
        filled in full cannot be amended)."""
        order = account.orders.get(OrderId(op.order_id))
        if order is None:
            raise NotFound("order not found or not open")
        instrument = self.instrument(order.symbol)
        price, stop, amount = amended_terms(order, instrument, op.price, op.stop_price, op.amount)
        if amount is not None and amount <= order.filled:
            raise InvalidOrder(
                f"amount {amount} is not more than the {order.filled} filled", "amount"
            )
        sent = account.sent.get(order.id)
        if sent is not None:
            _affordable(account, order, instrument, price, amount)
            answer = await account.cancel(sent) or await account.find(sent)
            if answer is not None:
                await self._apply(account, order, answer, batch, ending=False)
            if not order.is_open:
                raise NotFound("order not found or not open")
            account.sent[order.id] = sent = store.Sent(
                _client_id(order, sent.generation + 1), order.symbol,
                generation=sent.generation + 1, prior_filled=sent.prior_filled + sent.filled,
                prior_cost=sent.prior_cost + sent.cost, prior_fee=sent.prior_fee + sent.fee,
            )  # fmt: skip
        order.price = order.price if price is None else price
        order.stop_price = order.stop_price if stop is None else stop
        order.amount = order.amount if amount is None else amount
        order.updated_ms = self.now_ms()
        batch.touch(account, order)
        batch.events.append(ev.OrderAmended(snapshot(order)))
        if sent is not None:
            await self._send(account, order, batch, refused="cancel")
        return order

    def _close(
        self, account: ExchangeAccount, order: Order, status: OrderStatus, reason: str,
        batch: _Batch,
    ) -> None:  # fmt: skip
        check_transition(order.status, status)
        order.status, order.reason, order.updated_ms = status, reason, self.now_ms()
        account.orders.pop(order.id, None)
        batch.touch(account, order)
        kind = ev.OrderRejected if status is OrderStatus.REJECTED else ev.OrderCancelled
        batch.events.append(kind(snapshot(order), reason))

    def _forget(self, account: ExchangeAccount, order: Order, batch: _Batch) -> None:
        """A client's placement the exchange refused: as if never made (as on paper, where a
        refused order is not written and its client id may be used again)."""
        account.orders.pop(order.id, None)
        account.sent.pop(order.id, None)
        self._rows.order_tickets.pop(order.id, None)
        if order.client_order_id:
            self._client_ids.pop((account.id, order.client_order_id), None)
        order.status = OrderStatus.REJECTED
        batch.changed.pop(order.id, None)
        if batch.new.pop(order.id, None) is None:
            batch.dropped.append(order.id)
        batch.events = [
            e
            for e in batch.events
            if not (isinstance(e, ev.OrderAccepted) and e.order.id == order.id)
        ]

    # ---- what the exchange reports ------------------------------------------------------------

    async def _apply(
        self, account: ExchangeAccount, order: Order, report: ExchangeOrder, batch: _Batch,
        *, answer: bool = False, reconciling: bool = False, ending: bool = True,
    ) -> None:  # fmt: skip
        """Take the exchange's report of one of our orders: its id, the fills not applied yet,
        and, with ``ending``, an end the venue did not ask for (its own cancels close the
        order themselves). ``answer``: the report is the placement's own answer."""
        sent = account.sent[order.id]
        if report.get("id") is not None and sent.order_id != str(report["id"]):
            if reconciling and sent.order_id is None:
                self._note(order, f"Order {order.client_order_id or order.id} found on "
                           f"{self.name}: the answer to its placement had been lost", batch)  # fmt: skip
            sent.order_id = str(report["id"])
            batch.touch(account, order)
        instrument = self.instrument(order.symbol)
        new = fl.new_fill(report, sent, order, instrument)
        if new is not None:
            await self._fill(account, order, sent, report, new, batch, answer=answer,
                             reconciling=reconciling)  # fmt: skip
        status = report.get("status")
        if ending and order.is_open and status in CANCELLED:
            if not answer:
                self._note(order, f"Order {order.client_order_id or order.id} was {status} on "
                           f"{self.name}, not by Tradewind", batch)  # fmt: skip
            self._close(account, order, OrderStatus.CANCELLED, f"{status} on {self.name}", batch)

    async def _fill(
        self, account: ExchangeAccount, order: Order, sent: store.Sent, report: ExchangeOrder,
        new: fl.NewFill, batch: _Batch, *, answer: bool, reconciling: bool,
    ) -> None:  # fmt: skip
        instrument = self.instrument(order.symbol)
        how = fl.liquidity(report, order, answer=answer)
        fee, fee_asset = await self._fee(account, sent, report, new, instrument, how)
        fill = Fill(
            id=FillId(self._new_id(PREFIX_FILL)), order_id=order.id, account_id=order.account_id,
            symbol=order.symbol, side=order.side, amount=new.amount, price=new.price, fee=fee,
            fee_asset=fee_asset, liquidity=how, ts_ms=new.ts_ms or self.now_ms(),
        )  # fmt: skip
        sent.filled += new.amount
        sent.cost = new.cost
        sent.fee += fee
        status = record_fill(order, fill, instrument.tick_size, self.now_ms())
        if reconciling:
            self._note(order, f"Filled on {self.name} while Tradewind was not watching: "
                       f"{'bought' if order.side is Side.BUY else 'sold'} {decimal_text(fill.amount)} "
                       f"{instrument.base} at {decimal_text(fill.price)} (order {_name(order)})",
                       batch)  # fmt: skip
        batch.fills.append(fill)
        batch.touch(account, order)
        batch.events.append(ev.OrderFilled(snapshot(order), fill))
        if status is OrderStatus.FILLED:
            account.orders.pop(order.id, None)
            await self._after_fill(account, order, fill, batch)

    async def _fee(
        self, account: ExchangeAccount, sent: store.Sent, report: ExchangeOrder, new: fl.NewFill,
        instrument: Instrument, how: Any,
    ) -> tuple[Decimal, str]:  # fmt: skip
        """This fill's fee: the exchange's fees for the placement so far, less those applied."""
        filled = sent.filled + new.amount
        total = fl.fee_total(fl.report_fees(report)) if report.get("trades") else None
        if total is None:
            try:
                traded, paid, asset = fl.trades_fees(await account.trades_of(sent))
            except DomainError:
                traded, paid, asset = Decimal(0), Decimal(0), None
            if asset is not None and traded >= filled:
                total = (paid, asset)
        if total is None:
            return fl.estimated_fee(new.amount, new.price, instrument, how), instrument.settle
        return total[0] - sent.fee, total[1]

    async def _cancel_siblings(self, account: ExchangeAccount, order: Order, batch: _Batch) -> None:
        """Cancel the other open orders of ``order``'s OCO group."""
        if order.oco_group is None:
            return
        for sibling in list(account.orders.values()):
            if sibling.oco_group == order.oco_group and sibling.id != order.id:
                await self._cancel(account, sibling, "oco", batch)

    async def _after_fill(
        self, account: ExchangeAccount, order: Order, fill: Fill, batch: _Batch
    ) -> None:
        """The order programs the paper venue's matching engine runs, here: OCO siblings are
        cancelled, then the re-arm and the bracket legs are placed (for the whole amount once
        the order has filled: a partly filled order re-arms once)."""
        await self._cancel_siblings(account, order, batch)
        whole = Fill(
            id=fill.id, order_id=order.id, account_id=order.account_id, symbol=order.symbol,
            side=order.side, amount=order.filled, price=order.average_price or fill.price,
            fee=order.fee, fee_asset=fill.fee_asset, liquidity=fill.liquidity, ts_ms=fill.ts_ms,
        )  # fmt: skip
        children: list[Order] = []
        if order.rearm is not None:
            child = programs.rearm_order(order, whole, OrderId(self._new_id(PREFIX_ORDER)))
            if child is not None:
                children.append(child)
        children += programs.bracket_orders(order, whole, self._new_id)
        for child in children:
            child.created_ms = child.updated_ms = self.now_ms()
            known = child.client_order_id and self._client_ids.get(
                (account.id, child.client_order_id)
            )
            if known:  # made before (a report read twice cannot get here; a restart might)
                continue
            self._register(account, child, batch)
            if _on_exchange(child):
                batch.to_send.append((account, child))

    # ---- polling -------------------------------------------------------------------------------

    async def _sync(self, account: ExchangeAccount, batch: _Batch, *, reconciling: bool) -> None:
        bound: dict[str, list[Order]] = {}
        for order in account.orders.values():
            if order.id in account.sent:
                bound.setdefault(order.symbol, []).append(order)
        for symbol, orders in bound.items():
            listed = {o.get("clientOrderId"): o for o in await account.open_on_exchange(symbol)}
            for order in orders:
                if not order.is_open:  # closed meanwhile (an OCO sibling filled)
                    continue
                sent = account.sent[order.id]
                report = listed.pop(sent.client_id, None) or await account.find(sent)
                if report is not None:
                    await self._apply(account, order, report, batch, reconciling=reconciling)
                elif sent.order_id is None:  # written, never arrived: send it now
                    if reconciling:
                        self._note(order, f"Order {order.client_order_id or order.id} had not "
                                   f"reached {self.name}: placed now", batch)  # fmt: skip
                    with contextlib.suppress(*REFUSED, VenueUnavailable):
                        await self._send(account, order, batch)  # refused: rejected, published
                else:
                    self._note(order, f"Order {order.client_order_id or order.id} is no longer "
                               f"on {self.name}", batch)  # fmt: skip
                    self._close(account, order, OrderStatus.CANCELLED,
                                f"not found on {self.name}", batch)  # fmt: skip
            if reconciling:
                known = self._sent_ids()
                for client_id, report in listed.items():
                    if is_ours(client_id) and client_id not in known:
                        log.warning("an open exchange order placed by Tradewind is not known here",
                                    exchange=self.name, account_id=account.id,
                                    client_id=client_id, order_id=report.get("id"))  # fmt: skip

    def _sent_ids(self) -> set[str]:
        """The client ids of every account's open placements: an account's keys may be another
        account's too (both list each other's orders)."""
        return {s.client_id for a in self._accounts.values() for s in a.sent.values()}

    async def refresh_prices(self) -> None:
        """Poll the last price of every watched symbol and of every symbol with open orders:
        emulated stops trigger, then the price listeners (bots waiting on a price) are told and
        the ticks published. A symbol no longer polled loses its feed and its last price."""
        async with self._lock:
            watched = {**self._pinned, **dict.fromkeys(self._watchers)}
            symbols = dict(watched)
            for account in self._accounts.values():
                symbols.update(dict.fromkeys(o.symbol for o in account.orders.values()))
            for symbol in [s for s in self.feeds if s not in symbols]:
                del self.feeds[symbol]
                self._marks.pop(symbol, None)
            if not symbols or not self._accounts:
                return
            reader = next(iter(self._accounts.values()))
            now = self.now_ms()
            moved: list[tuple[str, Decimal]] = []
            for symbol in symbols:
                if symbol in watched and symbol not in self.feeds:
                    await self._new_feed(reader, symbol, now)
                found = await reader.last_price(symbol)
                if found is None:
                    continue
                last = self.instrument(symbol).round_price(found)
                self._marks[symbol] = last
                moved.append((symbol, last))
                feed = self.feeds.get(symbol)
                if feed is not None:  # before the listeners: the engine closes bars from it
                    feed.push(now, float(last))
            batch = _Batch()
            try:
                for symbol, last in moved:
                    for account in self._accounts.values():
                        await self._emulate(account, symbol, last, now, batch)
            finally:
                await self._finish(batch)
            for symbol, last in moved:
                for listen in self.price_listeners:
                    listen(symbol, [(now, last)])
                topic = self.tick_topic(symbol)
                if self._bus.has_subscribers(topic):
                    price = decimal_text(last)
                    self._bus.publish(topic, {
                        "type": "tick", "symbol": symbol, "bid": price, "ask": price, "last": price, "ts": now,
                    })  # fmt: skip

    async def _new_feed(self, reader: ExchangeAccount, symbol: str, now: int) -> None:
        """``symbol``'s feed, seeded with the exchange's last one-minute candles: one try (with
        the account's retries); after a failure its bars start from the polled prices."""
        feed = LiveFeed(
            symbol, exchange=self.name, half_spread=float(self.instrument(symbol).half_spread)
        )
        feed.list_as(symbol)
        try:
            rows = await reader.minute_candles(symbol, SEED_BARS)
        except DomainError as e:
            log.warning(
                "candles could not be seeded; bots on bars start without history",
                exchange=self.name, symbol=symbol, error=e.message,
            )  # fmt: skip
        else:
            feed.seed(ohlcv_candles(rows), received_ms=now)
        self.feeds[symbol] = feed

    async def _emulate(
        self, account: ExchangeAccount, symbol: str, last: Decimal, now: int, batch: _Batch
    ) -> None:
        """Stops kept here: trail them, and send the ones the price reached."""
        quote = Quote.at(symbol, last, Decimal(0), now)
        tick = self.instrument(symbol).tick_size
        for order in list(account.orders.values()):
            if order.symbol != symbol or order.id in account.sent or not order.is_open:
                continue
            if order.trailing is not None and programs.trail(order, last, last, tick):
                order.updated_ms = now
                batch.touch(account, order)
                batch.events.append(ev.OrderAmended(snapshot(order)))
            if not is_reached(order, quote):
                continue
            order.triggered, order.updated_ms = True, now
            account.sent[order.id] = store.Sent(_client_id(order), symbol)
            batch.touch(account, order)
            batch.events.append(ev.OrderTriggered(snapshot(order)))
            # the other leg goes first (it holds the funds)
            await self._cancel_siblings(account, order, batch)
            with contextlib.suppress(*REFUSED, VenueUnavailable):
                await self._send(account, order, batch)  # refused: rejected, published

    # ---- persistence and publication -----------------------------------------------------------

    async def _finish(self, batch: _Batch) -> list[ev.Event]:
        """Send what programs made, refresh balances, write, then publish (in that order: to
        the listeners, then on the bus); returns the events published."""
        try:
            while batch.to_send:
                account, order = batch.to_send.pop(0)
                if order.is_open and account.sent[order.id].order_id is None:
                    # refused: rejected and published; unreachable: the next poll sends it
                    with contextlib.suppress(*REFUSED, VenueUnavailable):
                        await self._send(account, order, batch)
            for account_id in sorted(batch.balances):
                with contextlib.suppress(DomainError):  # the next poll asks again
                    await self._refresh_balances(self._accounts[account_id], batch)
        finally:
            await self._commit(batch)
            events, batch.events = batch.events, []
            if events:
                for listen in self.listeners:
                    listen(events)
                self._publish(events)
        return events

    async def _refresh_balances(
        self, account: ExchangeAccount, batch: _Batch, *, quiet: bool = False
    ) -> None:
        """Fetch ``account``'s balances: each asset whose free or locked amount changed since
        the last fetch is a ``BalanceChanged`` (as on paper, after the events that changed it);
        ``quiet``, none. A first fetch outside ``reconcile`` (an account added while the venue
        runs) reports every asset held: until then the venue showed none."""
        changed = await account.refresh_balances()
        if not quiet:
            batch.events += [
                ev.BalanceChanged(AccountId(account.id), b.asset, b.free, b.locked) for b in changed
            ]

    def _publish(self, events: Sequence[ev.Event]) -> None:
        """The events on the bus (``account:<id>``), as the paper venue publishes them; then
        the tickets of the orders they closed are no longer kept."""
        for event in events:
            if isinstance(event, STREAMED):
                account_id = (
                    event.account_id
                    if isinstance(event, ev.BalanceChanged)
                    else event.order.account_id
                )
                topic = f"account:{account_id}"
                if self._bus.has_subscribers(topic):  # (nobody listens to most)
                    self._bus.publish(topic, event_message(event, self._rows))
        open_ids = {i for a in self._accounts.values() for i in a.orders}
        for event in events:
            if isinstance(event, ORDER_EVENTS) and event.order.id not in open_ids:
                self._rows.order_tickets.pop(event.order.id, None)

    async def _commit(self, batch: _Batch) -> None:
        """Write what the batch changed so far (called before each send, and at the end)."""
        if not (batch.new or batch.changed or batch.fills or batch.dropped):
            return
        touched = [
            *batch.new.values(),
            *(c for i, c in batch.changed.items() if i not in batch.new),
        ]
        sent = {o.id: a.sent[o.id] for a, o in touched if o.id in a.sent}
        work = store.rows(
            new=[o for _, o in batch.new.values()],
            changed=[o for i, (_, o) in batch.changed.items() if i not in batch.new],
            fills=batch.fills, sent=sent,
        )  # fmt: skip
        dropped = list(batch.dropped)

        def unit(session: Session) -> dict[str, int]:
            if dropped:
                session.execute(delete(OrderRow).where(OrderRow.id.in_(dropped)))
            return work(session)

        self._rows.order_tickets.update(await self._writer.run(unit))
        batch.new, batch.changed, batch.fills, batch.dropped = {}, {}, [], []
        for account, order in touched:  # what is done needs no exchange state any more
            if not order.is_open:
                account.sent.pop(order.id, None)

    def _note(self, order: Order, message: str, batch: _Batch) -> None:
        batch.events.append(ev.OrderReconciled(snapshot(order), message))


def _refused(account: ExchangeAccount, error: VenueRefused) -> None:
    """An account the exchange refuses (revoked keys, no permission) is passed over, not the
    whole venue: every other account keeps trading; this one is tried again next round."""
    log.warning("exchange refused an account's request", exchange=account.exchange,
                account_id=account.id, error=error.message)  # fmt: skip


def _on_exchange(order: Order) -> bool:
    """A market or limit order, or a stop that has triggered (the rest wait here)."""
    return order.type in (OrderType.MARKET, OrderType.LIMIT) or order.triggered


def _name(order: Order) -> str:
    return order.client_order_id or order.id


def _client_id(order: Order, generation: int = 0) -> str:
    """The client id a new placement of ``order`` is sent under: unique to its account (two
    accounts on the same exchange keys may name orders alike). Only for a placement about to be
    written: one sent before is known by the id stored with it (``store.Sent``)."""
    return exchange_client_id(_name(order), generation, account_id=order.account_id)


def _affordable(
    account: ExchangeAccount, order: Order, instrument: Instrument, price: Decimal | None,
    amount: Decimal | None,
) -> None:  # fmt: skip
    """Refuse an amend of a sent limit order whose new terms need more than the balance free
    now plus what the order itself holds on the exchange (a buy its remaining cost, a sell its
    remaining amount): the amend cancels the order there first, and an exchange refusing the
    replacement would leave it cancelled. (Balances as last polled: a change since can still
    make the exchange refuse it.)"""
    if order.price is None or instrument.is_derivative:
        return
    new_price = order.price if price is None else price
    remaining = (order.amount if amount is None else amount) - order.filled
    if order.side is Side.BUY:
        asset = instrument.quote
        held = instrument.notional(order.remaining, order.price)
        needed = instrument.notional(remaining, new_price)
    else:
        asset, held, needed = instrument.base, order.remaining, remaining
    balance = account.balances.get(asset)
    if needed > (balance.free if balance is not None else Decimal(0)) + held:
        raise InsufficientFunds("Insufficient funds")
