"""The paper venue: the matching engine and the paper ledger in memory, every change persisted
before anyone is told about it, prices from a market-data feed.

One process owns a paper venue's state (the embedded default is one process). All mutations
run under one lock, in this order: change the in-memory state, write every row it touched in
one transaction and commit, then publish the events. If the commit fails, the in-memory state
is rebuilt from the store, so memory never runs ahead of what is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from tradewind.domain import events as ev
from tradewind.domain.clock import Clock, from_ms
from tradewind.domain.errors import DomainError, NotFound, VenueUnavailable
from tradewind.domain.ids import new_id as default_new_id
from tradewind.domain.instruments import Instrument, InvalidOrder
from tradewind.domain.numbers import decimal_text
from tradewind.domain.orders import (
    PREFIX_ACCOUNT,
    PREFIX_ORDER,
    AccountId,
    Bracket,
    Order,
    OrderId,
    OrderRole,
    OrderType,
    Position,
    PositionId,
    PositionMode,
    Side,
)
from tradewind.engine.bus import EventBus
from tradewind.logs import get_logger
from tradewind.marketdata.feeds import NoPrice, PriceFeed
from tradewind.store.db import BULK, StoreRunner
from tradewind.store.tables import TradingAccountRow
from tradewind.venues.base import Capabilities
from tradewind.venues.matching import MatchingEngine, Quote
from tradewind.venues.ops import AmendOp as AmendOp
from tradewind.venues.ops import CancelOp as CancelOp
from tradewind.venues.ops import LeverageOp as LeverageOp
from tradewind.venues.ops import Listener as Listener
from tradewind.venues.ops import Op as Op
from tradewind.venues.ops import OpResult as OpResult
from tradewind.venues.ops import OrderRequest as OrderRequest
from tradewind.venues.ops import Placed as Placed
from tradewind.venues.ops import PlaceOp as PlaceOp
from tradewind.venues.ops import PriceListener as PriceListener
from tradewind.venues.paper import persistence
from tradewind.venues.paper.ledger import AccountSummary, Balance, PaperLedger
from tradewind.venues.requests import (
    TradeCheck,
    amended_terms,
    build_order,
    check_stops,
    judge_trade,
)

log = get_logger("tradewind.paper")
Write = Callable[[Session], None]
"""Writes for a unit of work on the store (a function of its session)."""


class PaperVenue:
    name = "paper"
    capabilities = Capabilities(
        stop_orders=True, stop_limit_orders=True, trailing_stops=True, oco=True, hedging=True,
        reduce_only=True, derivatives=True,
    )  # fmt: skip

    def __init__(
        self,
        *,
        instruments: Mapping[str, Instrument],
        feeds: Mapping[str, PriceFeed],
        sessions: async_sessionmaker[AsyncSession] | None,
        clock: Clock,
        bus: EventBus,
        new_id: Callable[[str], str] = default_new_id,
        writer: StoreRunner | None = None,
    ) -> None:
        self.instruments = dict(instruments)
        self.feeds = dict(feeds)
        self._sessions = sessions
        if writer is None:
            if sessions is None:
                raise ValueError("a paper venue needs a store: sessions or a writer")
            writer = StoreRunner(sessions.kw["bind"])
        self._writer = writer
        self._clock = clock
        self._bus = bus
        self._new_id = new_id
        self._lock = asyncio.Lock()
        self.connected = True
        self._last_ms: dict[str, int] = {}
        self._marks: dict[str, Decimal] = {}
        self._batch_quotes: dict[str, Quote] | None = None
        """While ``execute`` runs a batch: the quote of each symbol it has used."""
        self.listeners: list[Listener] = []
        self.price_listeners: list[PriceListener] = []
        self._build()

    # ---- state ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.ledger = PaperLedger(self.instruments, new_id=self._new_id)
        self.engine = MatchingEngine(self.instruments, self.ledger, new_id=self._new_id)
        self.rows = persistence.RowTracker()
        self._accounts: dict[str, persistence.AccountInfo] = {}
        # symbol -> accounts with an open position in it: margin checks visit only these
        self._holders: dict[str, set[str]] = {}
        self._defaults: dict[str, str] = {}  # user -> their default account here

    async def load(self) -> None:
        """Rebuild memory from the store (at start, and after a failed write)."""
        async with self._lock:
            await self._load_locked()

    async def _load_locked(self) -> None:
        self._build()
        async with self._store_sessions()() as session:
            state = await persistence.load_state(session, self.name)
        for info in state.accounts:
            self._accounts[info.account_id] = info
            if info.is_default:
                self._defaults[info.user_id] = info.account_id
            self.ledger.restore_account(
                info.account_id,
                mode=info.mode,
                leverage=info.leverage,
                currency=info.currency,
                balances=state.balances.get(info.account_id, {}),
                positions=state.positions.get(info.account_id, []),
                orders=[o for o in state.open_orders if o.account_id == info.account_id],
                symbol_leverage=info.leverages,
            )
        self.engine.restore(state.open_orders)
        for account_id, positions in state.positions.items():
            for position in positions:
                self._holders.setdefault(position.symbol, set()).add(account_id)
        self.rows.restore(state)

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def _require_connected(self) -> None:
        if not self.connected:
            raise VenueUnavailable("Not connected to trading server")

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise NotFound(f"unknown symbol {symbol}") from None

    def quote(self, symbol: str) -> Quote:
        """Bid, ask and last now, from the feed and the instrument's spread model."""
        self._require_connected()
        if self._batch_quotes is not None and symbol in self._batch_quotes:
            return self._batch_quotes[symbol]
        instrument = self.instrument(symbol)
        feed = self.feeds.get(symbol)
        if feed is None:
            raise VenueUnavailable(f"no price feed for {symbol}")
        now = self.now_ms()
        raw = feed.quote_at(now)
        last = instrument.round_price(Decimal(repr(raw.last)))
        self._marks[symbol] = last
        quote = Quote(
            symbol=symbol, bid=last - instrument.half_spread, ask=last + instrument.half_spread,
            last=last, ts_ms=now,
        )  # fmt: skip
        if self._batch_quotes is not None:
            self._batch_quotes[symbol] = quote
        return quote

    async def prime_price(self, symbol: str) -> None:
        """Check ``symbol`` is traded here (its price comes from its feed: nothing to poll)."""
        self.instrument(symbol)

    def mark(self, symbol: str) -> Decimal | None:
        """The last price seen for ``symbol`` (fetched from the feed when none is cached)."""
        if symbol not in self._marks:
            with contextlib.suppress(VenueUnavailable, NotFound):
                self.quote(symbol)
        return self._marks.get(symbol)

    def find_account(self, account_id: str) -> persistence.AccountInfo | None:
        return self._accounts.get(account_id)

    def default_account_of(self, user_id: str) -> str | None:
        return self._defaults.get(user_id)

    def account(self, account_id: str) -> persistence.AccountInfo:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise NotFound("account not found") from None

    # ---- accounts ------------------------------------------------------------------------

    async def open_account(
        self, *, user_id: str, name: str, mode: PositionMode, leverage: Decimal, currency: str,
        balances: Mapping[str, Decimal], is_default: bool = False,
    ) -> persistence.AccountInfo:  # fmt: skip
        """Open a paper account with its starting balances: the account row, its balances and
        their deposit entries are written in one transaction."""
        for asset, amount in balances.items():
            if amount < 0:
                raise InvalidOrder(f"balance of {asset} must not be negative", f"balances.{asset}")
        info = persistence.AccountInfo(
            account_id=AccountId(self._new_id(PREFIX_ACCOUNT)), user_id=user_id, name=name, mode=mode,
            leverage=leverage, currency=currency, is_default=is_default, initial_balances=dict(balances),
        )  # fmt: skip
        row = TradingAccountRow(
            id=info.account_id, user_id=user_id, venue=self.name, name=name, mode=mode.value,
            leverage=leverage, currency=currency, is_default=is_default,
            initial_balances={k: str(v) for k, v in balances.items()}, leverages={},
            created_at=self._clock.now(),
        )  # fmt: skip
        async with self._lock:
            self.ledger.open_account(
                info.account_id, mode=mode, leverage=leverage, currency=currency, balances=balances,
                now_ms=self.now_ms(),
            )  # fmt: skip
            self._accounts[info.account_id] = info
            if is_default:
                self._defaults[user_id] = info.account_id
            await self._commit([], accounts=[info.account_id], new_rows=[row])
        return info

    def balances(self, account_id: str) -> dict[str, Balance]:
        self.account(account_id)
        return self.ledger.balances(AccountId(account_id))

    def summary(self, account_id: str) -> AccountSummary:
        self.account(account_id)
        marks = self._marks_for(account_id)
        return self.ledger.summary(AccountId(account_id), marks)

    def _marks_for(self, account_id: str) -> dict[str, Decimal]:
        marks = {}
        for position in self.ledger.positions(AccountId(account_id)):
            if position.symbol not in self._marks:
                with contextlib.suppress(VenueUnavailable, NotFound):
                    self.quote(position.symbol)
            if position.symbol in self._marks:
                marks[position.symbol] = self._marks[position.symbol]
        return marks

    # ---- orders --------------------------------------------------------------------------

    def check(self, request: OrderRequest) -> tuple[Instrument, Order, Quote]:
        """Validate a request against the instrument and build the order (nothing changes)."""
        self._require_connected()
        instrument = self.instrument(request.symbol)
        quotes: list[Quote] = []

        def reference(own: Decimal | None) -> Decimal:
            quotes.append(self.quote(request.symbol))
            return own or (quotes[0].ask if request.side is Side.BUY else quotes[0].bid)

        order = build_order(
            request, instrument, new_id=self._new_id, account_id=AccountId(""),
            now_ms=self.now_ms(), reference=reference,
        )  # fmt: skip
        return instrument, order, quotes[0]

    async def place_order(self, account_id: str, request: OrderRequest) -> Placed:
        """Place an order. A repeated ``client_order_id`` returns the first order, placing nothing."""
        self.account(account_id)
        _, order, quote = self.check(request)
        order.account_id = AccountId(account_id)
        async with self._lock:
            if request.client_order_id:
                existing = self.rows.order_by_client_id(account_id, request.client_order_id)
                if existing is not None:
                    found = self.engine.get(OrderId(existing)) or await self._load_order(existing)
                    return Placed(order=found, duplicate=True)
            if self.now_ms() != quote.ts_ms:  # waited for the lock: price again
                quote = self.quote(request.symbol)
            events = self.engine.submit(order, quote, self.now_ms())
            await self._commit(events, accounts=[account_id])
        return Placed(
            order=order,
            fills=[
                e.fill for e in events if isinstance(e, ev.OrderFilled) and e.order.id == order.id
            ],
        )

    async def cancel_order(self, account_id: str, order_id: str) -> Order:
        self._require_connected()
        async with self._lock:
            order = self._own_open_order(account_id, order_id)
            events = self.engine.cancel(order.id, self.now_ms())
            await self._commit(events, accounts=[account_id])
        return order

    async def amend_order(
        self, account_id: str, order_id: str, *, price: Decimal | None = None,
        stop_price: Decimal | None = None, amount: Decimal | None = None,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> Order:  # fmt: skip
        """Change an open order; ``stop_loss``/``take_profit`` replace its bracket."""
        self._require_connected()
        async with self._lock:
            order = self._own_open_order(account_id, order_id)
            instrument = self.instrument(order.symbol)
            events: list[ev.Event] = []
            if price is not None or stop_price is not None or amount is not None:
                price, stop_price, amount = amended_terms(
                    order, instrument, price, stop_price, amount
                )
                events += self.engine.amend(
                    order.id, self.now_ms(), price=price, stop_price=stop_price, amount=amount
                )
            if stop_loss is not None or take_profit is not None:
                old = order.bracket or Bracket()
                order.bracket = Bracket(
                    stop_loss=instrument.round_price(stop_loss)
                    if stop_loss is not None
                    else old.stop_loss,
                    take_profit=instrument.round_price(take_profit)
                    if take_profit is not None
                    else old.take_profit,
                )
                order.updated_ms = self.now_ms()
                events.append(ev.OrderAmended(order=order))
            await self._commit(events, accounts=[account_id])
        return order

    def _own_open_order(self, account_id: str, order_id: str) -> Order:
        order = self.engine.get(OrderId(order_id))
        if order is None or order.account_id != account_id:
            raise NotFound("order not found or not open")
        return order

    async def _load_order(self, order_id: str) -> Order:
        async with self._store_sessions()() as session:
            return await persistence.load_order(session, order_id)

    def _store_sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:  # a backtest's venue: everything it has is in memory
            raise NotFound("order not found")
        return self._sessions

    def open_orders(self, account_id: str, symbol: str | None = None) -> list[Order]:
        self.account(account_id)
        return self.engine.open_orders(AccountId(account_id), symbol)

    # ---- what the bot engine reads (``EngineVenue``): no account check, the hot path ----------

    def working_orders(self, account_id: str, symbol: str) -> list[Order]:
        return self.engine.open_orders(AccountId(account_id), symbol)

    def free_balances(self, account_id: str) -> dict[str, Decimal]:
        return {a: b.free for a, b in self.ledger.balances(AccountId(account_id)).items()}

    def open_positions(self, account_id: str) -> list[Position]:
        return self.ledger.positions(AccountId(account_id))

    joins_writes = True
    """``execute`` takes the caller's own writes into its transaction (``also``)."""

    async def execute(
        self, ops: Sequence[Op], *, also: Callable[[list[OpResult]], Write] | None = None
    ) -> list[OpResult]:
        """Run many operations under one lock with one commit: each succeeds or is refused on
        its own (a refusal changes nothing of its own and nothing of the others). Placements
        are idempotent on their client order id, cancelling an order no longer open is done.

        ``also``, given the results, returns the caller's writes for the same transaction
        (the bot engine's bots, written with the orders they placed): both are committed or
        neither (then ``VenueUnavailable``, and the venue is as the store says)."""
        self._require_connected()
        results: list[OpResult] = []
        events: list[ev.Event] = []
        accounts: set[str] = set()
        leverage_rows: list[str] = []
        placed: dict[tuple[str, str], Order] = {}
        async with self._lock:
            self._batch_quotes = {}  # a batch is one instant: one quote per symbol
            try:
                for op in ops:
                    results.append(self._run_locked(op, events, accounts, leverage_rows, placed))
            finally:
                self._batch_quotes = None
            for account_id in leverage_rows:
                chosen = self._accounts[account_id].leverages
                chosen.clear()
                chosen.update(self.ledger.symbol_leverage(AccountId(account_id)))
            await self._commit(
                events, accounts=sorted(accounts), leverages=leverage_rows,
                also=None if also is None else also(results),
            )  # fmt: skip
        return results

    def _run_locked(
        self, op: Op, events: list[ev.Event], accounts: set[str], leverage_rows: list[str],
        placed: dict[tuple[str, str], Order],
    ) -> OpResult:  # fmt: skip
        result = OpResult()
        try:
            self.account(op.account_id)
        except DomainError as e:  # refused alone: nothing of that account's is written
            result.error = e
            return result
        try:
            if isinstance(op, PlaceOp):
                events += self._place_locked(op.account_id, op.request, result, placed)
            elif isinstance(op, CancelOp):
                order = self.engine.get(OrderId(op.order_id))
                if order is not None and order.account_id == op.account_id:
                    events += self.engine.cancel(order.id, self.now_ms(), op.reason)
                    result.order = order
            elif isinstance(op, AmendOp):
                order = self._own_open_order(op.account_id, op.order_id)
                price, stop_price, amount = amended_terms(
                    order, self.instrument(order.symbol), op.price, op.stop_price, op.amount
                )
                events += self.engine.amend(
                    order.id, self.now_ms(), price=price, stop_price=stop_price, amount=amount
                )
                result.order = order
            else:
                self.ledger.set_leverage(AccountId(op.account_id), op.symbol, op.leverage)
                leverage_rows.append(op.account_id)
        except DomainError as e:
            result.error = e
        accounts.add(op.account_id)
        return result

    def _place_locked(
        self, account_id: str, request: OrderRequest, result: OpResult,
        placed: dict[tuple[str, str], Order],
    ) -> list[ev.Event]:  # fmt: skip
        """Place ``request``; a client order id already used (committed, or earlier in this
        batch: ``placed``) answers that order as a duplicate."""
        key = (account_id, request.client_order_id or "")
        if request.client_order_id:
            if key in placed:
                result.order, result.duplicate = placed[key], True
                return []
            existing = self.rows.order_by_client_id(account_id, request.client_order_id)
            if existing is not None:
                result.order, result.duplicate = self.engine.get(OrderId(existing)), True
                return []
        _, order, quote = self.check(request)
        order.account_id = AccountId(account_id)
        result.order = order
        try:
            events = self.engine.submit(order, quote, self.now_ms())
        except InvalidOrder as e:
            result.error = e
            return []
        if request.client_order_id:
            placed[key] = order
        return events

    async def set_leverage(self, account_id: str, symbol: str, leverage: Decimal) -> None:
        """Trade ``symbol`` at ``leverage`` on this account from now on."""
        (result,) = await self.execute([LeverageOp(account_id, symbol, leverage)])
        if result.error is not None:
            raise result.error

    def leverage_for(self, account_id: str, symbol: str) -> Decimal:
        info = self.account(account_id)
        return info.leverages.get(symbol, info.leverage)

    # ---- positions -----------------------------------------------------------------------

    def positions(self, account_id: str) -> list[Position]:
        self.account(account_id)
        return self.ledger.positions(AccountId(account_id))

    def position(self, account_id: str, position_id: str) -> Position:
        self.account(account_id)
        for p in self.ledger.positions(AccountId(account_id)):
            if p.id == position_id:
                return p
        raise NotFound("position not found or not open")

    async def close_position(
        self, account_id: str, position_id: str, amount: Decimal | None = None
    ) -> Placed:
        """Close a position in full or in part, at market."""
        position = self.position(account_id, position_id)
        size = position.amount if amount is None else amount
        if size > position.amount:
            raise InvalidOrder(
                f"volume {size} is more than the position's {position.amount}", "volume"
            )
        request = OrderRequest(
            symbol=position.symbol, side=position.side.opposite, type=OrderType.MARKET, amount=size,
            reduce_only=True, position_id=PositionId(position.id), role=OrderRole.CLOSE,
        )  # fmt: skip
        return await self.place_order(account_id, request)

    async def set_protection(
        self,
        account_id: str,
        position_id: str,
        *,
        stop_loss: Decimal | None,
        take_profit: Decimal | None,
    ) -> Position:
        """Set (or with None, remove) a position's stop-loss and take-profit: reduce-only
        orders in one OCO group, replacing any the position had."""
        self._require_connected()
        async with self._lock:
            position = self.position(account_id, position_id)
            instrument = self.instrument(position.symbol)
            now = self.now_ms()
            events: list[ev.Event] = []
            for order in self.engine.open_orders(AccountId(account_id), position.symbol):
                if order.position_id == position.id and order.role in (
                    OrderRole.STOP_LOSS,
                    OrderRole.TAKE_PROFIT,
                ):
                    events += self.engine.cancel(order.id, now, reason="replaced")
            group = self._new_id("oco")
            quote = self.quote(position.symbol)
            for role, level in (
                (OrderRole.STOP_LOSS, stop_loss),
                (OrderRole.TAKE_PROFIT, take_profit),
            ):
                if level is None:
                    continue
                price = instrument.round_price(level)
                order = Order(
                    id=OrderId(self._new_id(PREFIX_ORDER)), account_id=AccountId(account_id),
                    symbol=position.symbol, side=position.side.opposite,
                    type=OrderType.STOP if role is OrderRole.STOP_LOSS else OrderType.LIMIT,
                    amount=position.amount, created_ms=now, updated_ms=now,
                    price=price if role is OrderRole.TAKE_PROFIT else None,
                    stop_price=price if role is OrderRole.STOP_LOSS else None,
                    reduce_only=True, position_id=PositionId(position.id), role=role, oco_group=group,
                )  # fmt: skip
                events += self.engine.submit(order, quote, now)
            position.stop_loss = (
                instrument.round_price(stop_loss) if stop_loss is not None else None
            )
            position.take_profit = (
                instrument.round_price(take_profit) if take_profit is not None else None
            )
            await self._commit(events, accounts=[account_id], touched_positions=[position])
        return position

    async def trade(
        self, account_id: str, symbol: str, side: Side, amount: Decimal, *,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> Placed:  # fmt: skip
        """A market order; SL/TP protect the resulting position (derivatives) or the bought
        amount (spot, as a bracket). Bad stops refuse the whole trade before anything is placed."""
        instrument = self.instrument(symbol)
        check_stops(side, self.quote(symbol), stop_loss, take_profit)
        protect = instrument.is_derivative and (stop_loss is not None or take_profit is not None)
        placed = await self.place_order(account_id, OrderRequest(
            symbol=symbol, side=side, type=OrderType.MARKET, amount=amount,
            stop_loss=None if protect else stop_loss, take_profit=None if protect else take_profit,
        ))  # fmt: skip
        position_id = next((f.position_id for f in placed.fills if f.position_id), None)
        if protect and position_id is not None:
            await self.set_protection(
                account_id, position_id, stop_loss=stop_loss, take_profit=take_profit
            )
        return placed

    async def check_trade(
        self, account_id: str, symbol: str, side: Side, amount: Decimal, *,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> TradeCheck:  # fmt: skip
        """What ``trade`` would hold and whether it would be accepted; changes nothing. The
        amount held comes from the ledger's own rule, so the check never disagrees with the trade
        (async as the ``Venue`` protocol's: an exchange's check may poll a price)."""
        self.account(account_id)
        try:
            _, order, quote = self.check(
                OrderRequest(symbol=symbol, side=side, type=OrderType.MARKET, amount=amount)
            )
        except InvalidOrder as e:
            quote = self.quote(symbol)
            price = quote.ask if side is Side.BUY else quote.bid
            return TradeCheck(False, Decimal(0), Decimal(0), price, e.message)
        order.account_id = AccountId(account_id)
        price = quote.ask if side is Side.BUY else quote.bid
        asset, required, short = self.ledger.requirement(order, price)
        balance = self.ledger.balances(AccountId(account_id)).get(asset)
        free = balance.free if balance else Decimal(0)
        return judge_trade(side, quote, required, free, short, stop_loss, take_profit)

    async def reset_account(self, account_id: str) -> None:
        """Cancel every open order, close every position at market, then set the balances
        back to the starting ones (with "reset" ledger entries, so the ledger still adds up)."""
        info = self.account(account_id)
        self._require_connected()
        await self.close_all(account_id)
        async with self._lock:
            now = self.now_ms()
            events: list[ev.Event] = []
            for order in self.engine.open_orders(AccountId(account_id)):
                events += self.engine.cancel(order.id, now, reason="account reset")
            self.ledger.reset(AccountId(account_id), info.initial_balances, now)
            await self._commit(events, accounts=[account_id])

    def _track_holder(self, account_id: str, symbol: str) -> None:
        holding = any(p.symbol == symbol for p in self.ledger.positions(AccountId(account_id)))
        accounts = self._holders.setdefault(symbol, set())
        if holding:
            accounts.add(account_id)
        else:
            accounts.discard(account_id)

    async def forget_account(self, account_id: str) -> None:
        """Drop an account whose rows the store is deleting (its user is being deleted): its
        resting orders leave the book, and it is no longer priced or margin-checked."""
        async with self._lock:
            now = self.now_ms()
            for order in self.engine.open_orders(AccountId(account_id)):
                self.engine.cancel(order.id, now, reason="account deleted")
            info = self._accounts.pop(account_id, None)
            if info is not None and self._defaults.get(info.user_id) == account_id:
                del self._defaults[info.user_id]
            for accounts in self._holders.values():
                accounts.discard(account_id)

    async def close_all(self, account_id: str, symbol: str | None = None) -> list[Placed]:
        """Close every open position of the account (of one symbol, when given), at market."""
        closed = []
        for position in list(self.positions(account_id)):
            if symbol is None or position.symbol == symbol:
                closed.append(await self.close_position(account_id, position.id))
        return closed

    # ---- prices --------------------------------------------------------------------------

    async def tick(self) -> list[ev.Event]:
        """Advance every symbol's price to now: fills, triggers, programs, margin checks."""
        if not self.connected:
            return []
        now = self.now_ms()
        all_events: list[ev.Event] = []
        async with self._lock:
            for symbol, feed in self.feeds.items():
                if symbol not in self.instruments:
                    continue
                since = self._last_ms.get(symbol)
                self._last_ms[symbol] = now
                if since is None:  # first tick since start: the price now, as one point
                    try:
                        path = [(now, Decimal(repr(feed.quote_at(now).last)))]
                    except NoPrice:  # a manual feed nobody has priced yet
                        del self._last_ms[symbol]
                        continue
                elif now > since:
                    path = [(ts, Decimal(repr(p))) for ts, p in feed.price_path(since, now)]
                else:
                    path = []
                if not path:
                    continue
                instrument = self.instruments[symbol]
                self._marks[symbol] = instrument.round_price(path[-1][1])
                events = self.engine.on_prices(symbol, path)
                events += self._margin_checks(symbol, now)
                if events:
                    accounts = sorted({a for e in events if (a := _account_of(e))})
                    await self._commit(events, accounts=accounts)
                    all_events += events
                for listen in self.price_listeners:
                    listen(symbol, path)
                if self._bus.has_subscribers(f"tick:{symbol}"):
                    last = self._marks[symbol]
                    self._bus.publish(f"tick:{symbol}", {
                        "type": "tick", "symbol": symbol, "bid": decimal_text(last - instrument.half_spread),
                        "ask": decimal_text(last + instrument.half_spread), "last": decimal_text(last), "ts": now,
                    })  # fmt: skip
        return all_events

    def jump(self, to_ms: int) -> None:
        """Move every symbol's price to ``to_ms`` without walking the path in between (the
        clock must show ``to_ms``): for a backtest that has made sure nothing rests, triggers
        or is due on the way. The next tick walks on from there."""
        for symbol, feed in self.feeds.items():
            if symbol in self.instruments and symbol in self._last_ms:
                self._last_ms[symbol] = to_ms
                last = Decimal(repr(feed.quote_at(to_ms).last))
                self._marks[symbol] = self.instruments[symbol].round_price(last)

    def walked_to(self, symbol: str) -> int | None:
        """The time up to which ``symbol``'s price has been walked (its last tick or jump)."""
        return self._last_ms.get(symbol)

    def moved_to(self, symbol: str, ts_ms: int, last: Decimal) -> None:
        """The price of ``symbol`` has walked to ``last`` at ``ts_ms`` outside ``tick`` (the
        backtester's compiled re-arm program, which committed its fills through
        ``MatchingEngine.commit_ladder``): the next tick walks on from there."""
        instrument = self.instruments[symbol]
        self._last_ms[symbol] = ts_ms
        self._marks[symbol] = instrument.round_price(last)
        self.engine.seen(Quote.at(symbol, last, instrument.half_spread, ts_ms))

    def _margin_checks(self, symbol: str, now: int) -> list[ev.Event]:
        events: list[ev.Event] = []
        holders = self._holders.get(symbol, set())
        for account_id in sorted(holders):
            found, to_close = self.ledger.check_margin(
                AccountId(account_id), self._marks_for(account_id), now
            )
            events += found
            for position, reason in to_close:
                order = Order(
                    id=OrderId(self._new_id(PREFIX_ORDER)), account_id=AccountId(account_id), symbol=position.symbol,
                    side=position.side.opposite, type=OrderType.MARKET, amount=position.amount,
                    created_ms=now, updated_ms=now, reduce_only=True, position_id=position.id,
                    role=OrderRole.LIQUIDATION, reason=reason,
                )  # fmt: skip
                events += self.engine.submit(order, self.quote(position.symbol), now)
                if reason == "liquidation":
                    events.append(ev.Liquidated(position=position))
        return events

    async def run(self, interval: float) -> None:
        """Tick for ever (the service's background task)."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("paper venue tick failed")
            await asyncio.sleep(interval)

    # ---- persistence and publication --------------------------------------------------------

    async def _commit(
        self,
        events: Sequence[ev.Event],
        *,
        accounts: Iterable[str],
        new_rows: Sequence[Any] = (),
        touched_positions: Sequence[Position] = (),
        leverages: Sequence[str] = (),
        also: Write | None = None,
    ) -> None:
        when = from_ms(self.now_ms())
        accounts = list(accounts)
        leverage_values = {
            a: {k: str(v) for k, v in self._accounts[a].leverages.items()} for a in leverages
        }

        def work(session: Session) -> None:
            if also is not None:
                also(session)
            if new_rows:  # (an empty flush still walks the session: 20 µs a bot in a batch)
                session.add_all(new_rows)
                session.flush()
            for account_id, values in leverage_values.items():
                session.execute(
                    update(TradingAccountRow)
                    .where(TradingAccountRow.id == account_id)
                    .values(leverages=values)
                )
            persistence.write(
                session, self.rows, self.ledger, events, accounts=accounts,
                touched_positions=touched_positions, now=when,
            )  # fmt: skip

        try:
            await self._writer.run(work, bulk=len(events) + len(new_rows) > BULK)
        except Exception as e:
            log.exception("paper venue write failed; reloading from the store")
            await self._load_locked()
            raise VenueUnavailable(
                "the paper venue could not record the change; nothing was done"
            ) from e
        for event in events:
            if isinstance(
                event, (ev.PositionOpened, ev.PositionChanged, ev.PositionClosed, ev.Liquidated)
            ):
                self._track_holder(event.position.account_id, event.position.symbol)
        if events:
            for listen in self.listeners:
                listen(events)
        for event in events:
            account_id = _account_of(event)
            topic = f"account:{account_id}"
            if account_id and self._bus.has_subscribers(topic):  # (nobody listens to most)
                self._bus.publish(topic, persistence.event_message(event, self.rows))


def _account_of(event: ev.Event) -> str | None:
    if isinstance(event, (ev.OrderAccepted, ev.OrderTriggered, ev.OrderFilled, ev.OrderCancelled,
                          ev.OrderRejected, ev.OrderAmended)):  # fmt: skip
        return event.order.account_id
    if isinstance(event, (ev.PositionOpened, ev.PositionChanged, ev.PositionClosed, ev.Liquidated)):
        return event.position.account_id
    if isinstance(event, (ev.BalanceChanged, ev.MarginCall, ev.StopOut)):
        return event.account_id
    return None
