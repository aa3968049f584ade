"""A pure bot driver for the strategy tests: the real matching engine and paper ledger, prices
from stored candles walked along the market-data OHLC path (``ReplayFeed`` at speed 1, so
replay time is market time), and the engine's side of the strategy contract, done the way
``tradewind.strategies.base`` says an engine does it:

- client ids ``<bot>:<seq>``, seq -> tag remembered, fills and open orders shown with tags;
- the bar's path is walked one segment at a time; at the point where ``wake()``'s price level
  or time is first due the walk stops, ``on_timer`` runs, and the walk goes on from there;
- fills are delivered in the order they happened (FIFO, also fills that commands cause);
- ``StopBot``: every fill that already happened is delivered first (later commands but logs
  are dropped), then the bot's open orders are cancelled and ``on_stop`` runs;
- ``on_bar`` at each bar's close; with ``skip`` only when ``wake()`` asks for it (every bar,
  or its indicator threshold is met, judged on ``rsi_series``), the closes in between going
  to ``catch_up``: what a fast backtester does.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np

from tradewind.domain import events as ev
from tradewind.domain.orders import (
    AccountId,
    Order,
    OrderId,
    OrderType,
    Position,
    PositionMode,
    Side,
)
from tradewind.marketdata import Candles, ReplayFeed, Timeframe
from tradewind.strategies.base import (
    AmendOrder,
    Bar,
    BotFill,
    CancelOrder,
    Command,
    Context,
    Log,
    OrderLeg,
    OrderView,
    PlaceOrder,
    SetLeverage,
    Signal,
    StopBot,
    Strategy,
    client_order_id,
    parse_client_order_id,
)
from tradewind.strategies.indicators import rsi_series
from tradewind.venues.matching import MatchingEngine, Quote
from tradewind.venues.paper.catalog import paper_instruments
from tradewind.venues.paper.ledger import PaperLedger

BOT = "bot_test"
ACCOUNT = AccountId("acc_bot")


class Ids:
    """Deterministic ids: ``ord_000001``, ``fil_000002``, ..."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n:06d}"


class Harness:
    """Drives one strategy over ``candles[start:]``; the bars before ``start`` are history
    (``ctx.closes``)."""

    def __init__(
        self,
        strategy: Strategy[Any, Any],
        candles: Candles,
        *,
        symbol: str,
        interval: str,
        balances: dict[str, Decimal],
        start: int = 0,
        skip: bool = False,
    ) -> None:
        self.strategy = strategy
        self.candles, self.symbol, self.interval = candles, symbol, interval
        self.instruments = paper_instruments()
        self.instrument = self.instruments[symbol]
        self.ids = Ids()
        self.ledger = PaperLedger(self.instruments, new_id=self.ids)
        self.engine = MatchingEngine(self.instruments, self.ledger, new_id=self.ids)
        self.ledger.open_account(
            ACCOUNT, mode=PositionMode.NETTING, leverage=Decimal(1), currency="USDT",
            balances=balances, now_ms=int(candles.ts[start]),
        )  # fmt: skip
        self.feed = ReplayFeed(
            candles, symbol=symbol, speed=1.0, loop=False, start_at_ms=int(candles.ts[0]),
            timeframe=Timeframe(interval), half_spread=float(self.instrument.half_spread),
        )  # fmt: skip
        self.bar_ms = Timeframe(interval).ms
        self.skip = skip
        self.index = start
        self.closes: list[float] = [float(c) for c in candles.close[:start]]
        self.now = int(candles.ts[start])
        self.price = self._decimal(float(candles.open[start]))
        self.status = "new"
        self.stop_reason: str | None = None
        self.seq = 0
        self.tags: dict[int, str] = {}
        self.commands: list[Command] = []
        self.fills: list[BotFill] = []
        self.placed: list[tuple[int, PlaceOrder, Order]] = []
        self.events: list[ev.Event] = []
        self.timers: list[int] = []
        self.bars_seen = 0
        self._queue: deque[ev.OrderFilled] = deque()
        self._draining = False
        self._stop_request: StopBot | None = None
        self._skipped: list[float] = []
        self._rsi: dict[int, np.ndarray[Any, Any]] = {}

    # ---- driving -------------------------------------------------------------------------

    def start(self) -> None:
        self.status = "active"
        self._execute(self.strategy.on_start(self.ctx()))

    def run(self, bars: int | None = None) -> None:
        """Walk the next ``bars`` bars (all that are left without), until the bot stops."""
        end = len(self.candles) if bars is None else min(len(self.candles), self.index + bars)
        while self.index < end and self.status == "active":
            self._bar(self.index)
            self.index += 1

    def edit(self, settings: Any) -> None:
        """Settings edited while running."""
        self._execute(self.strategy.on_settings(settings, self.ctx()))

    def signal(self, signal: Signal) -> None:
        self._execute(self.strategy.on_signal(signal, self.ctx()))

    def ctx(self) -> Context:
        balances = {a: b.free for a, b in self.ledger.balances(ACCOUNT).items()}
        position = next(
            (p for p in self.ledger.positions(ACCOUNT) if p.symbol == self.symbol), None
        )
        views = tuple(OrderView.of(o, self._tag(o)) for o in self._open_orders())
        return Context(
            bot_id=BOT, instrument=self.instrument, now_ms=self.now, price=self.price,
            balances=balances, position=_copy(position), open_orders=views,
            closes=tuple(self.closes),
        )  # fmt: skip

    # ---- one bar -------------------------------------------------------------------------

    def _bar(self, i: int) -> None:
        ts = int(self.candles.ts[i])
        bar_end = ts + self.bar_ms
        walk = self.feed.price_path(ts, bar_end)
        walk = walk[
            : 1 + next(k for k, (t, _) in enumerate(walk) if t == bar_end)
        ]  # not the next open
        path = [(t, self._decimal(p)) for t, p in walk]
        skip_start = False
        for segment in self._segments(path):
            while self.status == "active":
                hit = self.strategy.wake(self.ctx()).first_hit(segment, skip_start=skip_start)
                if hit is None:
                    self._move(segment)
                    skip_start = False
                    break
                point, end = hit[1], segment[-1]
                self._move([segment[0], point] if point != segment[0] else [point])
                self.timers.append(point[0])
                self._execute(self.strategy.on_timer(point[0], self.ctx()))
                skip_start = True
                if point == end:
                    break
                segment = [point, end]
        if self.status != "active":
            return
        self.now = bar_end
        close = float(self.candles.close[i])
        self.closes.append(close)
        if self.strategy.timeframe is None:
            return
        assert self.strategy.timeframe == self.interval
        bar = Bar(
            ts, float(self.candles.open[i]), float(self.candles.high[i]),
            float(self.candles.low[i]), close, float(self.candles.volume[i]), self.interval,
        )  # fmt: skip
        if self.skip and not self._bar_due():
            self._skipped.append(close)
            return
        if self._skipped:
            self.strategy.catch_up(self._skipped)
            self._skipped = []
        self.bars_seen += 1
        self._execute(self.strategy.on_bar(bar, self.ctx()))

    def _segments(self, path: list[tuple[int, Decimal]]) -> Iterator[list[tuple[int, Decimal]]]:
        """The path's legs, each cut where a resting order of the bot would fill or trigger
        (in last-price terms), so fills reach the strategy at the moment they happen; the
        cuts are made as the walk reaches each leg, so orders placed on the way count."""
        if len(path) == 1:
            yield path
        half = self.instrument.half_spread
        for (t0, p0), (t1, p1) in pairwise(path):
            start = (t0, p0)
            while True:
                levels = set()
                for o in self._open_orders():  # buys fill at ask = last + half, sells at the bid
                    price = o.price if o.type is OrderType.LIMIT or o.triggered else o.stop_price
                    if price is not None:
                        levels.add(price - half if o.side is Side.BUY else price + half)
                ahead = [v for v in levels if min(start[1], p1) < v < max(start[1], p1)]
                if not ahead:
                    yield [start, (t1, p1)]
                    break
                level = max(ahead) if p1 < start[1] else min(ahead)
                cut = (t0 + int((t1 - t0) * (level - p0) / (p1 - p0)), level)
                yield [start, cut]
                start = cut

    def _bar_due(self) -> bool:
        wake = self.strategy.wake(self.ctx())
        if wake.every_bar:
            return True
        if wake.indicator is None:
            return False
        period = wake.indicator.period
        if period not in self._rsi:
            self._rsi[period] = rsi_series(self.candles.close, period)
        return wake.indicator.is_due(float(self._rsi[period][len(self.closes) - 1]))

    def _move(self, points: list[tuple[int, Decimal]]) -> None:
        found = self.engine.on_prices(self.symbol, points)
        self.now, self.price = points[-1]
        self._dispatch(found)

    # ---- the engine's side of the contract -----------------------------------------------

    def _execute(self, commands: list[Command]) -> None:
        """Run a list of commands, then deliver the fills they caused."""
        outer, self._draining = not self._draining, True
        try:
            for command in commands:
                self.commands.append(command)
                if self._stop_request is None or isinstance(command, Log):
                    self._run(command)
        finally:
            if outer:
                self._draining = False
        if outer:
            self._dispatch([])

    def _run(self, command: Command) -> None:
        if isinstance(command, PlaceOrder):
            self._place(command)
        elif isinstance(command, CancelOrder):
            for order in self._open_orders():
                if command.client_order_id in (None, order.client_order_id) and (
                    command.tag in (None, self._tag(order))
                ):
                    self._dispatch(self.engine.cancel(order.id, self.now))
        elif isinstance(command, AmendOrder):
            (order,) = [
                o
                for o in self._open_orders()
                if self._tag(o) == command.tag and _leg(o) in (OrderLeg.ORDER, OrderLeg.REARM)
            ]
            amended = self.engine.amend(
                order.id, self.now, price=command.price, stop_price=command.stop_price,
                amount=command.amount,
            )  # fmt: skip
            self._dispatch(amended)
        elif isinstance(command, SetLeverage):
            self._set_leverage(command.leverage)
        elif isinstance(command, StopBot):
            self._stop_request = command  # later commands but logs are dropped

    def _place(self, command: PlaceOrder) -> None:
        instrument = self.instrument
        assert command.symbol == self.symbol
        instrument.check_amount(command.amount)
        for price in (command.price, command.stop_price):
            assert price is None or price == instrument.round_price(price), price
        self.seq += 1
        self.tags[self.seq] = command.tag
        group = None if command.oco_group is None else f"{BOT}:{command.oco_group}"
        order = Order(
            id=OrderId(self.ids("ord")), account_id=ACCOUNT, symbol=self.symbol,
            side=command.side, type=command.type, amount=command.amount, created_ms=self.now,
            updated_ms=self.now, price=command.price, stop_price=command.stop_price,
            client_order_id=client_order_id(BOT, self.seq), reduce_only=command.reduce_only,
            role=command.role, oco_group=group, rearm=command.rearm, bracket=command.bracket,
            trailing=command.trailing,
        )  # fmt: skip
        self.placed.append((self.now, command, order))
        quote = Quote.at(self.symbol, self.price, instrument.half_spread, self.now)
        self._dispatch(self.engine.submit(order, quote, self.now))

    def _dispatch(self, found: list[ev.Event]) -> None:
        """Deliver the bot's fills in order; a stop waits until all are delivered."""
        self.events += found
        self._queue.extend(e for e in found if isinstance(e, ev.OrderFilled) and _ours(e.order))
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                event = self._queue.popleft()
                fill = BotFill.of(event.fill, event.order, self._tag(event.order))
                self.fills.append(fill)
                self._execute(self.strategy.on_fill(fill, self.ctx()))
            if self._stop_request is not None and self.status == "active":
                self._stop(self._stop_request)
        finally:
            self._draining = False

    def _stop(self, request: StopBot) -> None:
        self.status, self.stop_reason = "stopped", request.reason
        for order in self._open_orders():
            self.events += self.engine.cancel(order.id, self.now, "bot stopped")
        self._stop_request = None
        self._draining = False
        self._execute(
            [
                c
                for c in self.strategy.on_stop(self.ctx(), request.close_positions)
                if not isinstance(c, StopBot)
            ]
        )

    def stop(self, close_positions: bool) -> None:
        """The user stops the bot."""
        self._stop(StopBot("stopped by the user", close_positions))

    def _set_leverage(self, leverage: Decimal) -> None:
        self.ledger.restore_account(
            ACCOUNT, mode=PositionMode.NETTING, leverage=leverage, currency="USDT",
            balances=self.ledger.balances(ACCOUNT),
            positions=self.ledger.positions(ACCOUNT, open_only=False),
            entries=self.ledger.entries(ACCOUNT),
        )  # fmt: skip

    # ---- small things --------------------------------------------------------------------

    def _open_orders(self) -> list[Order]:
        return [o for o in self.engine.open_orders(ACCOUNT, self.symbol) if _ours(o)]

    def _tag(self, order: Order) -> str:
        key = parse_client_order_id(order.client_order_id)
        assert key is not None
        return self.tags[key.seq]

    def _decimal(self, price: float) -> Decimal:
        return self.instrument.round_price(Decimal(repr(price)))

    def total(self, asset: str) -> Decimal:
        balance = self.ledger.balances(ACCOUNT).get(asset)
        return Decimal(0) if balance is None else balance.total

    def logs(self) -> list[Log]:
        return [c for c in self.commands if isinstance(c, Log)]

    def orders_placed(self) -> list[PlaceOrder]:
        return [c for c in self.commands if isinstance(c, PlaceOrder)]


def _ours(order: Order) -> bool:
    key = parse_client_order_id(order.client_order_id)
    return key is not None and key.bot_id == BOT


def _leg(order: Order) -> OrderLeg:
    key = parse_client_order_id(order.client_order_id)
    return OrderLeg.ORDER if key is None else key.leg


def _copy(position: Position | None) -> Position | None:
    return None if position is None else dataclasses.replace(position)
