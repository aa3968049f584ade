"""One backtest: a bot from the registry on stored candles, run by the live bot engine on the
live paper venue, persistence aside.

Nothing here re-implements trading. The run builds a :class:`PaperVenue` and a
:class:`BotEngine` on a :class:`NullStore` (units of work dropped unrun), a manual clock and
a replay of the candles at market speed, and moves the clock the way the service's ticker
does: a tick at every vertex of each bar's OHLC path (docs/paper-trading.md), the engine
settled after each. The strategy objects, the order router (commands to venue operations,
fills back to the bot) and the matching engine with its order programs are the ones that
trade live, so a bot backtested here and run on the paper venue over the same prices place
the same orders and get the same fills (``tests/backtest/test_parity.py``).

Speed comes from not ticking where nothing can happen. Before each bar the run asks what
could: the levels of the bot's resting orders (and of its positions' liquidation), the
price or time its ``wake()`` waits for, a signal due, a bar close for a strategy that trades
on bars. A vectorised search over the candles' highs and lows finds the next bar that comes
near any of them (within a margin of the spread); the bars before it are jumped in one step
(``PaperVenue.jump``), their equity computed from the holdings, which cannot change there.

Where a spot grid's only reactions are its re-arms, the bars are run compiled instead
(``backtest/compiled.py``): a numba loop of the re-arm program finds the fills along the same
paths, the matching engine commits them (``commit_ladder``) and the bot takes them in one
batch; ``tests/backtest/test_compiled.py`` checks it gives what walking every bar gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np

from tradewind.backtest.compiled import ladder_bars
from tradewind.backtest.metrics import (
    BacktestMetrics,
    ClosedPosition,
    EquityCurve,
    OrderRecord,
    compute_metrics,
)
from tradewind.domain import events as ev
from tradewind.domain.clock import ManualClock, from_ms
from tradewind.domain.errors import DomainError
from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import (
    AccountId,
    Fill,
    Order,
    OrderType,
    Position,
    PositionMode,
    Side,
)
from tradewind.domain.round_trips import RoundTrip, quote_fee, spot_round_trips
from tradewind.engine.bots import BotEngine, BotSpec, LogLine, Runner
from tradewind.engine.bus import EventBus
from tradewind.marketdata import Candles, ReplayFeed, Timeframe
from tradewind.store.db import NullStore
from tradewind.strategies.base import Signal
from tradewind.strategies.commands import parse_client_order_id
from tradewind.strategies.registry import get_script
from tradewind.strategies.wake import IndicatorWake, SmaSignWake
from tradewind.venues.matching import compiled as compiled_program
from tradewind.venues.paper.catalog import DEFAULT_LEVERAGE, paper_instruments
from tradewind.venues.paper.venue import PaperVenue

T = TypeVar("T")
BOT_ID = "bot_backtest"
USER_ID = "usr_backtest"
_FIRST_WINDOW = 64
_LAST_WINDOW = 1 << 16


class Cancelled(Exception):
    """The run was asked to stop."""


@dataclass(frozen=True, slots=True)
class TimedSignal:
    """A signal for a webhook bot, delivered when the replay reaches ``ts_ms``."""

    ts_ms: int
    signal: Signal


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """What to run: ``script`` (a registry id) with ``settings`` on ``symbol`` over
    ``candles[start:]`` (the bars before ``start`` are the history a strategy on bars sees at
    its start), from ``balances``. ``maker_fee``/``taker_fee`` replace the instrument's."""

    script: str
    settings: Mapping[str, Any]
    symbol: str
    timeframe: Timeframe
    candles: Candles
    balances: Mapping[str, Decimal]
    start: int = 0
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    leverage: Decimal = DEFAULT_LEVERAGE
    """The account's leverage for symbols the bot sets none for (a default paper account's)."""
    signals: Sequence[TimedSignal] = ()
    stop_at_end: bool = False
    """Stop the bot at the last bar (its open orders cancelled, as a stop does live)."""


@dataclass(slots=True, repr=False)
class BacktestResult:
    spec: BacktestSpec
    instrument: Instrument
    metrics: BacktestMetrics
    curve: EquityCurve
    orders: list[Order]
    fills: list[Fill]
    round_trips: list[RoundTrip]
    logs: list[LogLine]
    balances: dict[str, Decimal]
    bot_status: str
    bars: int
    event_bars: int
    """Bars walked tick by tick; the others were jumped or run compiled."""
    start_balance: Decimal = field(default=Decimal(0))
    compiled_bars: int = 0
    """Bars run by the compiled re-arm program (``backtest/compiled.py``)."""

    def __repr__(self) -> str:
        # short: asyncio formats the finished task of ``asyncio.run`` (and so its result) when
        # it puts the SIGINT handler back, and a whole result's repr took a second on 20,000 fills
        return (
            f"BacktestResult({self.spec.script} on {self.spec.symbol}, {self.bars} bars, "
            f"{len(self.fills)} fills, {len(self.orders)} orders)"
        )


Progress = Callable[[int, int], None]
"""Told (bars done, bars in all) now and then."""


async def run_backtest(
    spec: BacktestSpec,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    jump: bool = True,
) -> BacktestResult:
    """Run the bot over the candles; raises ``DomainError`` for settings or a run the venue
    refuses, ``Cancelled`` when ``cancelled()`` turns true (checked between steps). Without
    ``jump`` every bar is walked, none jumped or run compiled (the tests check that jumping
    and compiled bars change nothing)."""
    run = _Run(spec, progress, cancelled)
    run.jumps = jump
    with _older_objects_frozen():
        return await run.run()


_frozen_runs = 0


@contextlib.contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Keep the objects that were there before the run out of the garbage collector's full
    passes while it runs (``gc.freeze``): a run makes an order, a fill and log lines for each
    event, and each full pass went through everything the process held besides (a quarter of
    a 200-level grid's run). Nothing is kept from being freed at the end (runs may nest)."""
    global _frozen_runs
    if _frozen_runs == 0:
        gc.freeze()
    _frozen_runs += 1
    try:
        yield
    finally:
        _frozen_runs -= 1
        if _frozen_runs == 0:
            gc.unfreeze()


@dataclass(slots=True)
class _Watch:
    """See ``_Run._watch``."""

    under: float | None
    over: float | None
    below: float | None = None
    above: float | None = None
    at_ms: int | None = None

    def may_act(self, low: float, high: float, margin: float, now_ms: int) -> bool:
        """Whether a price that ranged over ``[low, high]`` (until ``now_ms``) may have met
        any of it (with a margin for the spread)."""
        low, high = low - margin, high + margin
        return (
            (self.under is not None and low <= self.under)
            or (self.over is not None and high >= self.over)
            or (self.below is not None and low <= self.below)
            or (self.above is not None and high >= self.above)
            or (self.at_ms is not None and now_ms >= self.at_ms)
        )


def _crossed(order: Order, low: Decimal, high: Decimal) -> bool:
    """Whether ``order`` may fill or trigger at a price within ``[low, high]`` already: a grid's
    re-arm placed on a fill in the middle of a fast segment, or a jump over a gap, can leave
    it on the wrong side of the price, and it fills at the next tick even if the price stays
    put."""
    buy = order.side is Side.BUY
    if order.stop_price is not None and not order.triggered:
        return order.stop_price <= high if buy else order.stop_price >= low
    if order.price is None:
        return False
    return order.price >= low if buy else order.price <= high


class _Run:
    def __init__(
        self, spec: BacktestSpec, progress: Progress | None, cancelled: Callable[[], bool] | None
    ) -> None:
        self.spec = spec
        self.progress = progress
        self.cancelled = cancelled or (lambda: False)
        candles = spec.candles
        if not 0 <= spec.start < len(candles):
            raise DomainError("the run has no bars (start is past the last candle)")
        self.script = get_script(spec.script)
        self.settings = self.script.parse(dict(spec.settings))
        catalog = paper_instruments()
        if spec.symbol not in catalog:
            raise DomainError(f"unknown symbol {spec.symbol}")
        instrument = catalog[spec.symbol]
        if spec.maker_fee is not None:
            instrument = dataclasses.replace(instrument, maker_fee=spec.maker_fee)
        if spec.taker_fee is not None:
            instrument = dataclasses.replace(instrument, taker_fee=spec.taker_fee)
        self.instrument = instrument
        self.bar_ms = spec.timeframe.ms
        self.ts = candles.ts
        self.high, self.low, self.close = candles.high, candles.low, candles.close
        self.clock = ManualClock(from_ms(int(candles.ts[spec.start])))
        self.feed = ReplayFeed(
            candles, symbol=spec.symbol, speed=1.0, loop=False, start_at_ms=int(candles.ts[0]),
            timeframe=spec.timeframe, half_spread=float(instrument.half_spread),
        )  # fmt: skip
        store = NullStore()
        self.venue = PaperVenue(
            instruments={spec.symbol: instrument}, feeds={spec.symbol: self.feed},
            sessions=None, clock=self.clock, bus=EventBus(), writer=store,
        )  # fmt: skip
        self.logs: list[LogLine] = []
        self.engine = BotEngine(venue=self.venue, writer=store, log_sink=self._keep_logs)
        self.orders: dict[str, Order] = {}
        self.closed_ms: dict[str, int] = {}
        self.fills: list[Fill] = []
        self.venue.listeners.append(self._on_events)
        self.signals = sorted(spec.signals, key=lambda s: s.ts_ms)
        self.signal_times = np.array([s.ts_ms for s in self.signals], dtype=np.int64)
        self.next_signal = 0
        self.equity = np.empty(len(candles) - spec.start, dtype=np.float64)
        self.event_bars = 0
        self.margin_exact = 2 * instrument.half_spread + instrument.tick_size
        self.margin = float(self.margin_exact)
        self.jumps = True
        self.bot_id = BOT_ID
        self.ladders_off = False
        """Set when the compiled re-arm program met prices off the tick grid (``compiled``)."""
        self.tick_scale = compiled_program.tick_scale(instrument.tick_size)
        self.compiled_bars = 0
        self.walk_next: int | None = None
        """A bar the compiled walk stopped before for the engine to walk (``compiled``)."""
        self._tick_sums: dict[Decimal, np.ndarray[Any, Any]] = {}
        """Cumulative sums of the closes in ticks (with a leading 0), per tick size."""

    # ---- what the venue and the engine report ------------------------------------------

    def _keep_logs(self, lines: list[LogLine]) -> None:
        self.logs += lines

    def _on_events(self, events: Sequence[ev.Event]) -> None:
        for event in events:
            if isinstance(event, ev.OrderFilled):
                self.fills.append(event.fill)
            order = getattr(event, "order", None)
            if isinstance(order, Order):
                self.orders[order.id] = order  # (events carry snapshots: keep the latest)
                if order.status.is_final and order.id not in self.closed_ms:
                    self.closed_ms[order.id] = self.venue.now_ms()

    # ---- the run -------------------------------------------------------------------------

    async def run(self) -> BacktestResult:
        spec = self.spec
        account = await self.venue.open_account(
            user_id=USER_ID, name="backtest", mode=PositionMode.NETTING, leverage=spec.leverage,
            currency=self.instrument.quote, balances=dict(spec.balances),
        )  # fmt: skip
        self.account = AccountId(account.account_id)
        start_value = self._equity_at(Decimal(repr(float(self.spec.candles.open[spec.start]))))
        await self.venue.tick()  # the price now, as one point
        bot = BotSpec.new(
            BOT_ID, USER_ID, self.account, self.script.id, spec.symbol, dict(spec.settings),
            parsed=self.settings,
        )  # fmt: skip
        await self._settled(self.engine.start(bot))
        total = len(self.ts) - spec.start
        i = spec.start
        report_every = max(1, total // 200)
        next_report = i
        while i < len(self.ts):
            if self.cancelled():
                raise Cancelled()
            if self.progress is not None and i >= next_report:
                self.progress(i - spec.start, total)
                next_report = i + report_every
            if self.jumps and self.walk_next != i:
                ran = await ladder_bars(self, i)
                if ran is not None and ran > i:
                    i = ran
                    continue
            j = self._next_event_bar(i)
            if j > i:  # nothing can happen in bars i..j-1: jump them
                self._mark(i, j, *self._equity_model())
                if j >= len(self.ts):
                    break
                self.engine.skip_bars(spec.symbol, int(self.ts[j]))
                self.clock.set(from_ms(int(self.ts[j])))
                self.venue.jump(int(self.ts[j]))
                i = j
            await self._walk_bar(i)
            const, exposure = self._equity_model()
            self.equity[i - spec.start] = const + exposure * float(self.close[i])
            i += 1
        if spec.stop_at_end and self._active():
            await self._settled(
                self.engine.stop(BOT_ID, close_positions=False, reason="the backtest ended")
            )
        if self.progress is not None:
            self.progress(total, total)
        return self._result(start_value)

    async def _walk_bar(self, i: int) -> None:
        """Tick at every vertex of bar ``i``'s path (and at each signal due in it), except,
        when jumping, the vertices up to which the price met nothing that could act
        (``_Watch``): the next tick walks the path through them, so fills land where they
        would have (a tick costs about 0.1 ms; most vertices of a bar that has one fill
        have nothing)."""
        self.event_bars += 1
        start = int(self.ts[i])
        end = start + self.bar_ms
        path = self.feed.price_path(start, end)
        times = sorted({t for t, _ in path if start < t <= end} | {start})
        prices = dict(path)
        runner = self.engine.runner(BOT_ID)
        # the bar's last vertex is always ticked on the run's last bar, and on every bar for a
        # strategy on bars (its bar closes there)
        final = i == len(self.ts) - 1 or (runner is not None and runner.strategy.timeframe)
        watch, low, high = self._skippable()
        for k, t in enumerate(times):
            while (
                self.next_signal < len(self.signals) and self.signals[self.next_signal].ts_ms <= t
            ):
                due = self.signals[self.next_signal]
                self.next_signal += 1
                await self._tick(max(due.ts_ms, self.venue.now_ms()))
                if self.engine.is_running(BOT_ID):
                    await self._settled(self.engine.signal(BOT_ID, due.signal))
                watch, low, high = self._skippable()
            price = prices.get(t)
            if watch is not None and price is not None and not (final and k == len(times) - 1):
                low, high = min(low, price), max(high, price)
                if not watch.may_act(low, high, self.margin, t):
                    continue
            await self._tick(t)
            watch, low, high = self._skippable()

    def _skippable(self) -> tuple[_Watch | None, float, float]:
        """What the next vertices are checked against, and the price range so far (the price
        at the last tick)."""
        if not self.jumps:
            return None, 0.0, 0.0
        runner = self.engine.runner(BOT_ID)
        mark = self.venue.mark(self.spec.symbol)
        if mark is None or (runner is not None and runner.queue):
            return None, 0.0, 0.0
        price = float(mark)
        return self._watch(runner), price, price

    async def _tick(self, t: int) -> None:
        if t > self.venue.now_ms():
            self.clock.set(from_ms(t))
        await self.venue.tick()
        await self.engine.settle()

    async def _settled(self, call: Awaitable[T]) -> T:
        """A call to the engine that waits for its cycle: run the cycles, then take its answer."""
        task = asyncio.ensure_future(call)
        await asyncio.sleep(0)
        await self.engine.settle()
        return await task

    def _active(self) -> bool:
        runner = self.engine.runner(BOT_ID)
        return runner is not None and runner.status.value == "active"

    # ---- where something can happen -----------------------------------------------------

    def _next_event_bar(self, i: int) -> int:
        """The first bar at or after ``i`` in which something could happen to the bot."""
        if not self.jumps:
            return i
        runner = self.engine.runner(BOT_ID)
        if runner is not None and runner.queue:
            return i
        bar_due = len(self.ts)
        if runner is not None and runner.strategy.timeframe is not None and self._active():
            # A strategy on bars sees every bar close (as it does live), unless its wake says
            # which bar it waits for in a form searched here; the bars before it reach it
            # through catch_up (BotEngine.skip_bars).
            indicator = runner.wake.indicator
            if (
                runner.wake.every_bar
                or not isinstance(indicator, SmaSignWake)
                or Timeframe(indicator.interval) != self.spec.timeframe
            ):
                return i
            bar_due = self._sma_sign_change(i, indicator)
            if bar_due <= i:
                return i
        watch = self._watch(runner)
        if watch is None:
            return i
        levels = [x for x in (watch.under, watch.over) if x is not None]
        below, above, at_ms = watch.below, watch.above, watch.at_ms
        if self.next_signal < len(self.signals):
            due = self.signals[self.next_signal].ts_ms
            at_ms = due if at_ms is None else min(at_ms, due)
        xs = np.array(sorted(levels), dtype=np.float64)
        n = bar_due
        start, width = i, _FIRST_WINDOW
        while start < n:
            stop = min(n, start + width)
            hit = self._first_due(start, stop, xs, below, above, at_ms)
            if hit is not None:
                return hit
            start, width = stop, min(width * 2, _LAST_WINDOW)
        return n

    def _watch(self, runner: Runner | None) -> _Watch | None:
        """What could make something happen from the price now on: the nearest level of a
        resting order or a position's exits below and above the price (it moves
        continuously, so it meets one of those two first), the levels and time the bot waits
        for. None when only walking every point will do: a market or trailing order rests
        (its price follows the market), or the bot waits on an indicator or every bar."""
        price = self.venue.mark(self.spec.symbol)
        low = high = None
        if price is not None:
            low, high = price - self.margin_exact, price + self.margin_exact
        under: Decimal | None = None
        over: Decimal | None = None

        def see(level: Decimal | None) -> None:
            nonlocal under, over
            if level is None:
                return
            if price is None or level <= price:
                under = level if under is None or level > under else under
            if price is None or level >= price:
                over = level if over is None or level < over else over

        # The run's account is the only one on the venue: when every open order of it rests
        # in the symbol's book, the book answers in O(log n); else look at each order.
        engine = self.venue.engine
        symbol = self.spec.symbol
        if price is not None and engine.resting_count(symbol) == engine.open_count(self.account):
            bounds = engine.resting_bounds(symbol, price, self.margin_exact)
            if bounds is None:
                return None  # one acts at the next tick, wherever the price goes; or trails
            see(bounds[0])
            see(bounds[1])
        else:  # one pass, in decimals
            for order in engine.open_orders(self.account):
                if order.trailing is not None or order.type is OrderType.MARKET:
                    return None
                if low is not None and high is not None and _crossed(order, low, high):
                    return None  # it acts at the next tick, wherever the price goes
                see(order.price)
                see(order.stop_price)
        for position in self.venue.ledger.positions(self.account):
            see(position.liquidation_price)
            see(position.stop_loss)
            see(position.take_profit)
        watch = _Watch(
            under=None if under is None else float(under),
            over=None if over is None else float(over),
        )
        if runner is not None and self._active():
            wake = runner.wake
            if wake.every_bar or isinstance(wake.indicator, IndicatorWake):
                return None
            watch.below = None if wake.below is None else float(wake.below)
            watch.above = None if wake.above is None else float(wake.above)
            watch.at_ms = wake.at_ms
        return watch

    def _sma_sign_change(self, i: int, w: SmaSignWake) -> int:
        """The first bar at or after ``i`` whose close leaves the sign of fast SMA - slow SMA
        (closes in ticks, compared as the strategy does: ``sum_fast * slow - sum_slow *
        fast``) other than ``w.sign``; ``i`` when the averages are not defined there yet."""
        if i + 1 < w.slow:
            return i
        sums = self._tick_sums.get(w.tick)
        if sums is None:
            ticks = np.rint(self.close / float(w.tick)).astype(np.int64)
            sums = self._tick_sums[w.tick] = np.concatenate(([0], np.cumsum(ticks)))
        n = len(self.ts)
        start, width = i, _FIRST_WINDOW
        while start < n:
            stop = min(n, start + width)
            top = sums[start + 1 : stop + 1]
            fast = top - sums[start + 1 - w.fast : stop + 1 - w.fast]
            slow = top - sums[start + 1 - w.slow : stop + 1 - w.slow]
            diff = np.sign(fast * w.slow - slow * w.fast)
            changed = diff != w.sign
            if changed.any():
                return start + int(np.argmax(changed))
            start, width = stop, min(width * 2, _LAST_WINDOW)
        return n

    def _first_due(
        self, a: int, b: int, xs: np.ndarray[Any, Any], below: float | None,
        above: float | None, at_ms: int | None,
    ) -> int | None:  # fmt: skip
        """The first bar in ``[a, b)`` whose range (with the gap from the previous close and a
        margin of the spread) reaches a level, or in which ``at_ms`` falls."""
        m = self.margin
        low, high = self.low[a:b].copy(), self.high[a:b].copy()
        if a > 0:
            before = self.close[a - 1 : b - 1]
            np.minimum(low, before, out=low)
            np.maximum(high, before, out=high)
        low -= m
        high += m
        due = np.zeros(b - a, dtype=bool)
        if xs.size:
            k = np.searchsorted(xs, low)
            due |= (k < xs.size) & (xs[np.minimum(k, xs.size - 1)] <= high)
        if below is not None:
            due |= low <= below
        if above is not None:
            due |= high >= above
        if at_ms is not None:
            due |= self.ts[a:b] + self.bar_ms >= at_ms
        if not due.any():
            return None
        return a + int(np.argmax(due))

    # ---- what the account is worth ------------------------------------------------------

    def _holdings(self) -> tuple[Decimal, Decimal]:
        """The account's base and quote asset, in all (free and held)."""
        balances = self.venue.ledger.balances(self.account)
        base, quote = balances.get(self.instrument.base), balances.get(self.instrument.quote)
        return (
            Decimal(0) if base is None else base.total,
            Decimal(0) if quote is None else quote.total,
        )

    def _equity_model(self) -> tuple[float, float]:
        """Equity as ``const + exposure * price`` for the holdings now (they do not change
        until the next event)."""
        base, quote = self._holdings()
        const, exposure = float(quote), float(base)
        for p in self.venue.ledger.positions(self.account):
            size = float(p.amount * self.instrument.contract_size)
            sign = 1.0 if p.side is Side.BUY else -1.0
            exposure += sign * size
            const -= sign * size * float(p.entry_price)
        return const, exposure

    def _mark(self, a: int, b: int, const: float, exposure: float) -> None:
        """Bars ``[a, b)``'s equity, ``const + exposure * close``, written in place (no
        temporaries: a jump may cover a million bars)."""
        out = self.equity[a - self.spec.start : b - self.spec.start]
        np.multiply(self.close[a:b], exposure, out=out)
        out += const

    def _equity_at(self, price: Decimal) -> Decimal:
        const, exposure = self._equity_model()
        return Decimal(repr(const + exposure * float(price)))

    # ---- results ---------------------------------------------------------------------------

    def _placements(self) -> dict[str, int | None]:
        """Order id -> the bot's placement it came from (its re-arms and legs share it)."""
        found: dict[str, int | None] = {}
        for order in self.orders.values():
            key = parse_client_order_id(order.client_order_id)
            found[order.id] = None if key is None else key.seq
        return found

    def _result(self, start_value: Decimal) -> BacktestResult:
        spec = self.spec
        ended = len(self.ts)
        bars = ended - spec.start
        curve = EquityCurve(self.ts[spec.start : spec.start + bars], self.equity[:bars])
        trips = (
            spot_round_trips(self.fills, self.instrument.base, self._placements())
            if not self.instrument.is_derivative
            else _position_round_trips(
                self.venue, self.account, self.fills, self.instrument.contract_size
            )
        )
        fees = sum((quote_fee(f, self.instrument.base) for f in self.fills), Decimal(0))
        orders = sorted(self.orders.values(), key=lambda o: (o.created_ms, o.id))
        records = [
            OrderRecord(o.status, o.created_ms, self.closed_ms.get(o.id), o.filled) for o in orders
        ]
        first = Decimal(repr(float(spec.candles.open[spec.start])))
        last = Decimal(repr(float(self.close[ended - 1])))
        metrics = compute_metrics(
            curve=curve, start_balance=start_value if start_value > 0 else Decimal(1),
            positions=[_closed(t) for t in trips], orders=records, first_price=first,
            last_price=last, profit_currency=self.instrument.quote, fees=fees,
        )  # fmt: skip
        status, _ = self.engine.statuses.get(BOT_ID, ("active", None))
        return BacktestResult(
            spec=spec, instrument=self.instrument, metrics=metrics, curve=curve, orders=orders,
            fills=list(self.fills), round_trips=trips, logs=list(self.logs),
            balances={a: b.total for a, b in self.venue.ledger.balances(self.account).items()},
            bot_status=status, bars=bars,
            event_bars=self.event_bars, start_balance=start_value,
            compiled_bars=self.compiled_bars,
        )  # fmt: skip


def _closed(t: RoundTrip) -> ClosedPosition:
    return ClosedPosition(t.entry_ms, t.exit_ms, t.profit, t.fees, t.margin)


def _opening_margin(p: Position, contract_size: Decimal) -> Decimal:
    """What the position tied up while open (a closed position's margin is released to 0)."""
    return p.amount * contract_size * p.entry_price / (p.leverage or Decimal(1))


def _position_round_trips(
    venue: PaperVenue, account: AccountId, fills: Sequence[Fill], contract_size: Decimal
) -> list[RoundTrip]:
    """The account's closed derivative positions (their fees from the fills of each)."""
    fees: dict[str, Decimal] = {}
    for fill in fills:
        if fill.position_id is not None:
            fees[fill.position_id] = fees.get(fill.position_id, Decimal(0)) + fill.fee
    trips = []
    for p in venue.ledger.positions(account, open_only=False):
        if p.closed_ms is None or p.close_price is None:
            continue
        paid = fees.get(p.id, Decimal(0))
        trips.append(RoundTrip(
            side=p.side, amount=p.amount, entry_ms=p.opened_ms, entry_price=p.entry_price,
            exit_ms=p.closed_ms, exit_price=p.close_price, profit=p.realized_pnl - paid,
            fees=paid, margin=_opening_margin(p, contract_size),
        ))  # fmt: skip
    return trips


def bars_of(candles: Candles, start_ms: int, end_ms: int) -> tuple[int, int]:
    """The index range of the bars opening in ``[start_ms, end_ms]``."""
    a = int(np.searchsorted(candles.ts, start_ms, "left"))
    b = int(np.searchsorted(candles.ts, end_ms, "right"))
    return a, b


__all__ = [
    "BacktestResult",
    "BacktestSpec",
    "Cancelled",
    "LogLine",
    "RoundTrip",
    "TimedSignal",
    "bars_of",
    "run_backtest",
]
