"""The bot engine: runs every active bot of a venue on the strategy contract
(``tradewind.strategies.base``), durably.

Each bot has a runner with a queue of what happened to it: its fills (from the venue, after
they are committed), wake-ups (its ``wake()`` price or time reached on a tick), closed bars
of its timeframe, signals, and the user's start, pause, resume, stop and edits. The engine
works in cycles; in each, every runner that has something queued handles one item:

1. the strategy is called with a ``Context`` of the moment and returns commands; the engine
   turns them into venue operations: placements get the client id ``<bot_id>:<seq>``,
   cancels and amends name the order ids they touch;
2. one transaction writes every touched bot: the strategy's snapshot, the placement counter,
   the fill cursor, the operations still to run (``pending``), status and log lines;
3. the operations of all bots run through the venue as one batch (one lock, one commit);
4. one transaction clears ``pending`` for the bots whose operations ran.

After a crash, a bot resumes from what step 2 wrote: its ``pending`` operations run again
(a placement with a client id the venue already knows places nothing; a cancel of an order
no longer open does nothing), and the fills of its orders after its fill cursor are given to
it again, in order. Nothing acknowledged is lost, no order is placed twice.

A refusal (insufficient funds, an invalid order) or an exception in a strategy marks that
bot ``error`` with the reason, cancels its open orders and touches no other bot. A paused
bot keeps its orders; their fills wait and reach it when it resumes. Stopping cancels the
bot's open orders, then calls ``on_stop`` (closing what it holds with ``stopExit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from tradewind.domain import events as ev
from tradewind.domain.bots import RUNNING, BotStatus
from tradewind.domain.clock import from_ms, to_ms
from tradewind.domain.errors import DomainError
from tradewind.domain.ids import new_id
from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import (
    AccountId,
    Fill,
    FillId,
    Liquidity,
    Order,
    OrderId,
    OrderType,
    PositionId,
    Side,
)
from tradewind.domain.round_trips import quote_fee
from tradewind.engine import ops as opcodec
from tradewind.logs import get_logger
from tradewind.marketdata.resample import resample
from tradewind.marketdata.timeframes import Timeframe
from tradewind.store.db import BULK, StoreRunner, execute_many
from tradewind.store.tables import (
    BotLogRow,
    BotRow,
    FillRow,
    OrderRow,
    SignalDeliveryRow,
    SignalRow,
    TradingAccountRow,
)
from tradewind.strategies.accounting import Inventory, shown
from tradewind.strategies.base import (
    AmendOrder,
    Bar,
    BotFill,
    CancelOrder,
    Command,
    Context,
    Deferred,
    Log,
    OrderKey,
    OrderLeg,
    OrderView,
    PlaceOrder,
    SetLeverage,
    Severity,
    Signal,
    SignalAction,
    StopBot,
    Strategy,
    Wake,
    client_order_id,
    parse_client_order_id,
)
from tradewind.strategies.registry import get_script
from tradewind.venues.base import EngineVenue
from tradewind.venues.ops import (
    AmendOp,
    CancelOp,
    LeverageOp,
    Op,
    OpResult,
    OrderRequest,
    PlaceOp,
)

log = get_logger("tradewind.bots")

HISTORY_BARS = 300
"""Closed bars given to a strategy at start (``ctx.closes``) to seed its indicators."""

# ---- what a runner is told --------------------------------------------------------------


@dataclass(slots=True)
class Control:
    done: asyncio.Future[list[Ran]] | None = field(default=None, kw_only=True)


@dataclass(slots=True)
class FillIn:
    fill: Fill
    client_order_id: str
    order_done: bool


@dataclass(slots=True)
class TimerIn:
    ts_ms: int
    price: Decimal


@dataclass(slots=True)
class BarIn:
    bar: Bar


@dataclass(slots=True)
class SignalIn(Control):
    signal: Signal
    delivery_id: str | None = None
    """The ``signal_deliveries`` row marked handled with the bot's state (exactly once)."""


@dataclass(slots=True)
class StartIn(Control):
    fresh: bool = False
    """The runner was built for this start: its strategy is new already."""


@dataclass(slots=True)
class ResumeIn(Control):
    pass


@dataclass(slots=True)
class PauseIn(Control):
    pass


@dataclass(slots=True)
class SettingsIn(Control):
    settings: Any


@dataclass(slots=True)
class StopIn(Control):
    reason: str
    close_positions: bool


@dataclass(slots=True)
class FinishStopIn(Control):
    reason: str
    close_positions: bool
    status: BotStatus = BotStatus.STOPPED


@dataclass(slots=True)
class ErrorIn:
    reason: str


@dataclass(slots=True)
class NoteIn:
    """A line for the bot's log from its venue (an emulated stop triggered, a difference
    reconciliation found); the strategy is not called."""

    message: str
    severity: Severity = Severity.INFO


@dataclass(frozen=True, slots=True)
class Ran:
    """A venue operation a bot's item led to, and what the venue said."""

    op: Op
    result: OpResult


Item = (
    FillIn | TimerIn | BarIn | SignalIn | StartIn | ResumeIn | PauseIn | SettingsIn | StopIn
    | FinishStopIn | ErrorIn | NoteIn
)  # fmt: skip
ControlItem = SignalIn | StartIn | ResumeIn | PauseIn | SettingsIn | StopIn
CONTROL_WHILE_PAUSED = (ResumeIn, StopIn, FinishStopIn, SettingsIn, ErrorIn, PauseIn, NoteIn)


@dataclass(frozen=True, slots=True)
class BotSpec:
    """What the engine needs of a bot row."""

    id: str
    user_id: str
    account_id: str
    script: str
    symbol: str
    settings: dict[str, Any]
    status: BotStatus
    state: dict[str, Any]
    order_seq: int
    log_seq: int
    fill_cursor: str | None
    pending: list[dict[str, Any]]
    stop_exit: bool
    parsed: Any = None
    """``settings`` already parsed by the caller (a frozen model; many bots may share one)."""

    @classmethod
    def new(
        cls, id: str, user_id: str, account_id: str, script: str, symbol: str,
        settings: dict[str, Any], parsed: Any = None,
    ) -> BotSpec:  # fmt: skip
        """A bot just created: stopped, nothing placed, nothing seen."""
        return cls(
            id=id, user_id=user_id, account_id=account_id, script=script, symbol=symbol,
            settings=settings, status=BotStatus.STOPPED, state={}, order_seq=0, log_seq=0,
            fill_cursor=None, pending=[], stop_exit=False, parsed=parsed,
        )  # fmt: skip

    @classmethod
    def of(cls, row: BotRow) -> BotSpec:
        return cls(
            id=row.id, user_id=row.user_id, account_id=row.account_id, script=row.script,
            symbol=row.symbol, settings=dict(row.settings), status=BotStatus(row.status),
            state=dict(row.state or {}), order_seq=row.order_seq, log_seq=row.log_seq,
            fill_cursor=row.fill_cursor, pending=list(row.pending or []), stop_exit=row.stop_exit,
        )  # fmt: skip


@dataclass(slots=True)
class Runner:
    spec: BotSpec
    instrument: Instrument
    strategy: Strategy[Any, Any]
    status: BotStatus
    seq: int
    log_seq: int
    fill_cursor: str | None
    tags: dict[int, str]
    book: Inventory
    queue: deque[Item] = field(default_factory=deque)
    held: deque[Item] = field(default_factory=deque)
    """Fills and wake-ups that wait while the bot is paused."""
    wake: Wake = field(default_factory=Wake)
    stop_request: StopBot | None = None
    """The strategy's own ``StopBot``, waiting for the fills already queued."""
    stopping: bool = False
    finish: FinishStopIn | None = None
    """The stop under way: its cancels are pending or done, ``on_stop`` is still to run."""
    stop_exit: bool = False
    reason: str | None = None
    ops: list[Op] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    dirty: bool = False
    done: list[asyncio.Future[list[Ran]]] = field(default_factory=list)
    ran: list[Ran] = field(default_factory=list)
    """Operations run (and their outcomes) since a caller last got its answer."""
    delivered: list[str] = field(default_factory=list)
    """Signal deliveries handled in this cycle (written with the bot)."""
    on_signal: bool = False
    """The item of this cycle is a signal (a refused order fails the signal, not the bot)."""
    running: list[Op] = field(default_factory=list)
    """This cycle's operations while the venue runs them (written with the bot's state)."""
    cycle: list[Ran] = field(default_factory=list)
    """This cycle's operations and their outcomes (a delivered signal's outcome)."""
    bar_open: int | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def account_id(self) -> str:
        return self.spec.account_id

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    def ready(self) -> bool:
        return bool(self.queue)

    def finished(self) -> bool:
        return self.status in (BotStatus.STOPPED, BotStatus.ERROR) and not self.queue

    def snapshot(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "strategy": self.strategy.snapshot(),
            "tags": {str(k): v for k, v in self.tags.items()},
            "book": self.book.model_dump(mode="json"),
        }
        if self.finish is not None:  # a crash must not forget a stop under way
            data["stopping"] = {
                "reason": self.finish.reason, "close_positions": self.finish.close_positions,
                "status": self.finish.status.value,
            }  # fmt: skip
        if self.stop_request is not None:
            data["stop_request"] = {
                "reason": self.stop_request.reason,
                "close_positions": self.stop_request.close_positions,
            }
        return data


def bot_signal(row: SignalRow, venue: EngineVenue) -> Signal:
    """The signal as a bot takes it: the amount in the instrument's unit (a quote amount,
    ``investmentType`` quote, is converted at the signal's or the last price)."""
    amount = row.amount
    if amount is not None and (row.investment_type or "").lower() in ("quote", "usdt", "usd"):
        price = row.price or (venue.mark(row.symbol) if row.symbol else None)
        if price and row.symbol:
            amount = amount / (price * venue.instruments[row.symbol].contract_size)
    ts_ms = to_ms(row.signal_ts) if row.signal_ts else 0
    return Signal(
        action=SignalAction(row.action), amount=amount, price=row.price, ts_ms=ts_ms, id=row.id
    )


@dataclass(frozen=True, slots=True)
class LogLine:
    """A line of a bot's log, as the engine writes it (the store's row adds its id; a
    backtest keeps the line as it is: its id and a datetime were made and undone for each)."""

    line: int
    ts_ms: int
    severity: str
    color: str | None
    message: str


class BotEngine:
    """Runs every bot of one venue (see the module docstring): the paper venue, or a live one
    (``EngineVenue``: the engine asks what it needs and never which venue it is)."""

    def __init__(
        self, *, venue: EngineVenue, writer: StoreRunner, join_writes: bool = True,
        log_sink: Callable[[list[LogLine]], None] | None = None,
    ) -> None:  # fmt: skip
        self.venue = venue
        self._writer = writer
        self._log_sink = log_sink
        """Given every bot's new log lines as they are written (a backtest keeps them so)."""
        self._answered = False
        self.joins_writes = join_writes and getattr(venue, "joins_writes", False)
        """The bots' state is written in the venue's own transaction with the operations it
        led to (one commit per cycle, nothing ever pending), and each signal delivery's
        outcome with it. Otherwise (a venue that cannot) the operations are written as
        pending first, run, then cleared; deliveries are marked handled."""
        self._runners: dict[str, Runner] = {}
        self._watching: dict[str, dict[str, None]] = {}
        """symbol -> bots to visit on its ticks (see ``_set_wake``)"""
        self._ready: dict[str, None] = {}
        """Bots with something queued, in the order they got it."""
        self._cycle = asyncio.Lock()
        self._work = asyncio.Event()
        self._bar_starts: dict[tuple[str, str], int] = {}
        self.statuses: dict[str, tuple[str, str | None]] = {}
        """Each bot's status and reason as last written (after a failure the bot is gone from
        the engine; a backtest reads how it ended here)."""
        self.cycles = 0
        venue.listeners.append(self._on_events)
        venue.price_listeners.append(self._on_prices)

    # ---- what the services call ------------------------------------------------------------

    def is_running(self, bot_id: str) -> bool:
        return bot_id in self._runners

    @property
    def store(self) -> StoreRunner:
        """The store writer the engine uses (one thread on SQLite): callers whose unit of work
        must be quick use it too."""
        return self._writer

    def runner(self, bot_id: str) -> Runner | None:
        return self._runners.get(bot_id)

    async def start(self, spec: BotSpec) -> None:
        """Start a stopped (or failed) bot: a fresh strategy, ``on_start``."""
        runner = self._runners.get(spec.id)
        fresh = runner is None
        if runner is None:
            runner = self._build(spec, restore=False)
        await self._tell(runner, StartIn(fresh=fresh))

    async def pause(self, bot_id: str) -> None:
        await self._tell(self._get(bot_id), PauseIn())

    async def resume(self, bot_id: str) -> None:
        await self._tell(self._get(bot_id), ResumeIn())

    async def stop(self, bot_id: str, *, close_positions: bool, reason: str) -> None:
        await self._tell(self._get(bot_id), StopIn(reason, close_positions))

    async def edited(self, bot_id: str, settings: Any) -> None:
        """Settings edited while the bot runs."""
        runner = self._runners.get(bot_id)
        if runner is not None:
            await self._tell(runner, SettingsIn(settings))

    async def signal(
        self, bot_id: str, signal: Signal, delivery_id: str | None = None
    ) -> list[Ran]:
        """Give the bot a signal; returns the operations it led to, with their outcomes."""
        return await self._tell(self._get(bot_id), SignalIn(signal, delivery_id))

    def signal_nowait(
        self, bot_id: str, signal: Signal, delivery_id: str | None = None
    ) -> asyncio.Future[list[Ran]]:
        """``signal`` without waiting: the future of what it led to (``DomainError`` at once
        if the bot is not running). For a signal fanned out to many bots."""
        runner = self._get(bot_id)
        item = SignalIn(signal, delivery_id)
        item.done = asyncio.get_running_loop().create_future()
        runner.queue.append(item)
        self._queued(runner)
        return item.done

    def _get(self, bot_id: str) -> Runner:
        runner = self._runners.get(bot_id)
        if runner is None:
            raise DomainError(f"bot {bot_id} is not running")
        return runner

    async def _tell(self, runner: Runner, item: ControlItem) -> list[Ran]:
        item.done = asyncio.get_running_loop().create_future()
        runner.queue.append(item)
        self._queued(runner)
        return await item.done

    # ---- start-up ------------------------------------------------------------------------

    async def load(self) -> int:
        """Resume every active or paused bot: restore its strategy, run its pending operations
        again, give it the fills it has not seen. Returns how many bots resumed."""

        def read(
            session: Session,
        ) -> tuple[
            list[BotRow],
            dict[str, list[tuple[FillRow, OrderRow]]],
            list[tuple[SignalDeliveryRow, SignalRow]],
        ]:
            accounts = select(TradingAccountRow.id).where(
                TradingAccountRow.venue == self.venue.name
            )
            rows = list(session.scalars(select(BotRow).where(
                BotRow.status.in_(RUNNING),
                BotRow.deleted_at.is_(None), BotRow.account_id.in_(accounts),
            )))  # fmt: skip
            missed: dict[str, list[tuple[FillRow, OrderRow]]] = {}
            for row in rows:
                stmt = (
                    select(FillRow, OrderRow)
                    .join(OrderRow, FillRow.order_id == OrderRow.id)
                    .where(
                        OrderRow.account_id == row.account_id,
                        OrderRow.client_order_id.startswith(f"{row.id}:", autoescape=True),
                    )
                    .order_by(FillRow.id)
                )
                if row.fill_cursor:
                    stmt = stmt.where(FillRow.id > row.fill_cursor)
                missed[row.id] = [(f, o) for f, o in session.execute(stmt).all()]
            undelivered = list(
                session.execute(
                    select(SignalDeliveryRow, SignalRow)
                    .join(SignalRow, SignalDeliveryRow.signal_id == SignalRow.id)
                    .where(
                        SignalDeliveryRow.status == "pending",
                        SignalDeliveryRow.bot_id.in_([r.id for r in rows]),
                    )
                    .order_by(SignalDeliveryRow.id)
                ).all()
            )
            session.expunge_all()
            return rows, missed, [(d, s) for d, s in undelivered]

        rows, missed, undelivered = await self._writer.run(read, bulk=True)
        pending: list[tuple[Runner, list[Op]]] = []
        for row in rows:
            spec = BotSpec.of(row)
            try:
                runner = self._build(spec, restore=bool(spec.state))
            except Exception as e:  # a script or settings that no longer load
                log.exception("bot could not be resumed", bot_id=row.id)
                await self._mark_failed(row.id, f"could not resume: {e}")
                continue
            if not spec.state and spec.status is BotStatus.ACTIVE:
                runner.queue.append(StartIn())  # died before its first cycle was written
            for fill_row, order_row in missed[row.id]:
                fill = Fill(
                    id=FillId(fill_row.id), order_id=OrderId(fill_row.order_id),
                    account_id=AccountId(fill_row.account_id), symbol=fill_row.symbol,
                    side=Side(fill_row.side), amount=fill_row.amount, price=fill_row.price,
                    fee=fill_row.fee, fee_asset=fill_row.fee_asset,
                    liquidity=Liquidity(fill_row.liquidity), ts_ms=to_ms(fill_row.ts),
                    position_id=PositionId(fill_row.position_id) if fill_row.position_id else None,
                    realized_pnl=fill_row.realized_pnl,
                )  # fmt: skip
                done = order_row.filled >= order_row.amount
                (runner.held if runner.status is BotStatus.PAUSED else runner.queue).append(
                    FillIn(fill, order_row.client_order_id or "", done)
                )
            ops = [opcodec.load(p) for p in spec.pending]
            if ops:
                pending.append((runner, ops))
            stopping, request = spec.state.get("stopping"), spec.state.get("stop_request")
            if stopping:  # its cancels run with the pending operations; then on_stop
                runner.status = BotStatus.ACTIVE
                runner.queue.extend(runner.held)
                runner.held.clear()
                runner.stopping = True
                runner.finish = FinishStopIn(
                    stopping["reason"],
                    bool(stopping["close_positions"]),
                    BotStatus(stopping["status"]),
                )
                runner.queue.append(runner.finish)
            elif request:
                runner.stop_request = StopBot(request["reason"], bool(request["close_positions"]))
                if not any(isinstance(i, FillIn) for i in runner.queue):
                    self._begin_stop(runner, runner.stop_request)
                    pending.append((runner, runner.ops))
                    runner.ops = []
            self._log(runner, f"Resumed after a restart ({len(ops)} pending operations, "
                      f"{len(missed[row.id])} fills to catch up)")  # fmt: skip
        for delivery, signal_row in undelivered:  # acknowledged, not yet acted on
            waiting = self._runners.get(delivery.bot_id)
            if waiting is not None:
                waiting.queue.append(SignalIn(bot_signal(signal_row, self.venue), delivery.id))
        if pending:
            results = await self.venue.execute([op for _, ops in pending for op in ops])
            it = iter(results)
            for runner, ops in pending:
                for op in ops:
                    self._check_result(runner, op, next(it))
        touched = list(self._runners.values())
        for runner in touched:
            runner.dirty = True
        await self._persist(touched)
        for runner in touched:
            if runner.queue:
                self._queued(runner)
        return len(rows)

    def _build(self, spec: BotSpec, *, restore: bool) -> Runner:
        script = get_script(spec.script)
        instrument = self.venue.instrument(spec.symbol)
        parsed = spec.parsed if spec.parsed is not None else script.parse(spec.settings)
        strategy = script.build(parsed)
        state = spec.state if restore else {}
        if restore and "strategy" in state:
            strategy.restore(state["strategy"])
        runner = Runner(
            spec=spec, instrument=instrument, strategy=strategy, status=spec.status,
            seq=spec.order_seq, log_seq=spec.log_seq, fill_cursor=spec.fill_cursor,
            tags={int(k): v for k, v in spec.state.get("tags", {}).items()},
            book=Inventory.model_validate(spec.state.get("book", {})), stop_exit=spec.stop_exit,
        )  # fmt: skip
        self._runners[spec.id] = runner
        if restore and runner.status is BotStatus.ACTIVE:
            with contextlib.suppress(Exception):
                self._set_wake(runner, strategy.wake(self._context(runner)))
        return runner

    # ---- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Work whenever something is queued (the service's background task)."""
        while True:
            await self._work.wait()
            self._work.clear()
            try:
                while await self.step():
                    if self._answered:
                        # the callers this cycle answered go first (a signal's outcome is
                        # recorded before the fills of its orders are taken in)
                        self._answered = False
                        for _ in range(4):
                            await asyncio.sleep(0)
            except Exception:
                log.exception("bot engine cycle failed")
                await asyncio.sleep(0.1)
                self._work.set()

    async def settle(self, max_cycles: int = 10_000) -> int:
        """Run cycles until no bot has anything queued (tests, benchmarks)."""
        cycles = 0
        while cycles < max_cycles and await self.step():
            cycles += 1
        return cycles

    async def step(self) -> bool:
        """One cycle; False when there was nothing to do."""
        async with self._cycle:
            ids = list(self._ready)
            self._ready.clear()
            ready = [r for i in ids if (r := self._runners.get(i)) is not None and r.ready()]
            if not ready:
                return False
            self.cycles += 1
            now = self.venue.now_ms()
            for runner in ready:
                item = runner.queue.popleft()
                runner.on_signal = isinstance(item, SignalIn)
                if isinstance(item, Control) and item.done is not None:
                    runner.done.append(item.done)
                try:
                    self._handle(runner, item, now)
                except Exception as e:
                    log.exception("bot failed", bot_id=runner.id)
                    self._fail(runner, f"{type(e).__name__}: {e}")
                runner.dirty = True
            with_ops = [r for r in ready if r.ops]
            if with_ops and self.joins_writes:
                await self._run_joined(ready, with_ops)
            else:  # with nothing to run, a signal's outcome is known now (when joined)
                await self._persist(ready, outcomes=self.joins_writes and not with_ops)
                if with_ops:
                    await self._run_pending(with_ops)
            self._answer(ready)
            for runner in ready:
                if runner.finished():
                    self._drop(runner)
                elif runner.queue:
                    self._ready[runner.id] = None
            return True

    async def _run_joined(self, ready: list[Runner], with_ops: list[Runner]) -> None:
        """The cycle's operations and every touched bot in one transaction of the venue."""
        batch = [(r, op) for r in with_ops for op in r.ops]
        for r in with_ops:
            r.running, r.ops = r.ops, []

        def also(results: list[OpResult]) -> Callable[[Session], None]:
            for (r, op), result in zip(batch, results, strict=True):
                self._check_result(r, op, result)
                r.cycle.append(Ran(op, result))
                if r.done:
                    r.ran.append(Ran(op, result))
            return self._rows(ready, outcomes=True)

        try:
            await self.venue.execute([op for _, op in batch], also=also)
        except Exception as e:  # nothing was written: write the bots with what is pending
            log.warning("bot operations not run", error=str(e))
            for r in with_ops:
                r.ops, r.running, r.cycle = r.running, [], []
                r.dirty = True
            await self._persist(ready)
            for r in with_ops:
                message = e.message if isinstance(e, DomainError) else type(e).__name__
                r.queue.appendleft(ErrorIn(f"venue unavailable: {message}"))
                self._queued(r)
            return
        self._sent(ready)

    async def _run_pending(self, with_ops: list[Runner]) -> None:
        """Run operations written as pending; clear them once run."""
        batch = [(r, op) for r in with_ops for op in r.ops]
        for r in with_ops:
            r.ops = []
        try:
            results = await self.venue.execute([op for _, op in batch])
        except DomainError as e:  # the venue is down: pending stays, retried later
            log.warning("bot operations not run", error=str(e))
            for r in with_ops:
                r.queue.appendleft(ErrorIn(f"venue unavailable: {e.message}"))
                self._queued(r)
            return
        for (r, op), result in zip(batch, results, strict=True):
            self._check_result(r, op, result)
            if r.done:
                r.ran.append(Ran(op, result))
        logged = [r for r in with_ops if r.dirty]
        if logged:  # a signal's refused order is logged on the bot
            await self._persist(logged)
        # what ran is committed by the venue: callers hear it now, not after the bookkeeping
        self._answer(with_ops)
        await self._clear_pending([r for r in with_ops if r not in logged])

    def _answer(self, ready: Sequence[Runner]) -> None:
        """A caller waits until what it asked for has settled: a stop (or a failure) under
        way answers when the bot has stopped."""
        for runner in ready:
            if runner.done and not any(
                isinstance(i, (FinishStopIn, ErrorIn)) for i in runner.queue
            ):
                for future in runner.done:
                    if not future.done():
                        future.set_result(list(runner.ran))
                        self._answered = True
                runner.done, runner.ran = [], []

    def _drop(self, runner: Runner) -> None:
        self._runners.pop(runner.id, None)
        self._watching.get(runner.symbol, {}).pop(runner.id, None)

    def _set_wake(self, r: Runner, wake: Wake) -> None:
        """Remember what would wake the bot; ticks visit only bots that wait for a price, a
        time or a bar (a grid that only waits for its fills costs a tick nothing)."""
        r.wake = wake
        watching = self._watching.setdefault(r.symbol, {})
        if (
            wake.below is not None
            or wake.above is not None
            or wake.at_ms is not None
            or r.strategy.timeframe is not None
        ):
            watching[r.id] = None
        else:
            watching.pop(r.id, None)

    def _queued(self, r: Runner) -> None:
        self._ready[r.id] = None
        self._work.set()

    # ---- one item ------------------------------------------------------------------------

    def _handle(self, r: Runner, item: Item, now: int) -> None:
        strategy = r.strategy
        if r.status is BotStatus.PAUSED and not isinstance(item, CONTROL_WHILE_PAUSED):
            r.held.append(item)
            return
        commands: list[Command] = []
        allow = r.status is BotStatus.ACTIVE and r.stop_request is None and not r.stopping
        if isinstance(item, FillIn):
            fill = item.fill
            if r.fill_cursor is not None and fill.id <= r.fill_cursor:
                return  # already given (a restart's catch-up met the live one)
            r.fill_cursor = fill.id
            bot_fill, key = self._booked(r, fill, item.client_order_id, item.order_done)
            if item.order_done and key is not None:
                self._forget_tag(r, key.seq)
            ctx = self._context(r, now)
            commands = strategy.on_fill(bot_fill, ctx)
        elif isinstance(item, TimerIn):
            if not allow:
                return
            ctx = self._context(r, item.ts_ms, item.price)
            commands = strategy.on_timer(item.ts_ms, ctx)
        elif isinstance(item, BarIn):
            if not allow:
                return
            ctx = self._context(r, now)
            commands = strategy.on_bar(item.bar, ctx)
        elif isinstance(item, SignalIn):
            if item.delivery_id is not None:
                r.delivered.append(item.delivery_id)
            if not allow:
                self._log(r, "Signal ignored: the bot is not active", Severity.WARNING)
                return
            ctx = self._context(r, now)
            commands = strategy.on_signal(item.signal, ctx)
        elif isinstance(item, StartIn):
            if not item.fresh:  # a restart: settings parsed and the strategy built anew
                script = get_script(r.spec.script)
                r.strategy = strategy = script.build(script.parse(r.spec.settings))
            r.status, r.reason, r.stop_request, r.stopping = BotStatus.ACTIVE, None, None, False
            r.held.clear()
            r.bar_open = None
            self._log(r, "Bot started")
            allow = True
            ctx = self._context(r, now, closes=self._history(r, now))
            commands = strategy.on_start(ctx)
        elif isinstance(item, PauseIn):
            if r.status is BotStatus.ACTIVE:
                r.status = BotStatus.PAUSED
                self._log(r, "Bot paused: open orders stay, nothing new is placed")
            return
        elif isinstance(item, ResumeIn):
            if r.status is BotStatus.PAUSED:
                r.status = BotStatus.ACTIVE
                r.queue.extendleft(reversed(r.held))
                r.held.clear()
                self._log(r, "Bot resumed")
                self._set_wake(r, strategy.wake(self._context(r, now)))
            return
        elif isinstance(item, SettingsIn):
            ctx = self._context(r, now, closes=self._history(r, now))
            commands = strategy.on_settings(item.settings, ctx)
            r.bar_open = None
            self._log(r, "Settings changed")
        elif isinstance(item, StopIn):
            if r.status is BotStatus.PAUSED:  # the fills it held still reach its books
                r.status = BotStatus.ACTIVE
                r.queue.extendleft(reversed(r.held))
                r.held.clear()
            self._begin_stop(r, StopBot(item.reason, item.close_positions))
            return
        elif isinstance(item, FinishStopIn):
            r.stopping, r.finish = False, None
            close = item.close_positions
            # orders the first cancels could not name: a re-arm the venue made between the
            # stop's decision and its cancels, or (after a crash) an order the venue had
            # filled in memory but not yet written, so it is open again after the restart
            for order in self._open_orders(r):
                r.ops.append(CancelOp(r.account_id, order.id, "bot stopped"))
            found = strategy.on_stop(self._context(r, now), close)
            r.status, r.reason = item.status, item.reason
            self._log(r, f"Bot stopped: {item.reason}" if item.status is BotStatus.STOPPED
                      else f"Bot failed: {item.reason}",
                      Severity.INFO if item.status is BotStatus.STOPPED else Severity.ERROR)  # fmt: skip
            if item.status is BotStatus.STOPPED:
                self._plan(r, [c for c in found if not isinstance(c, StopBot)], now, allow=True)
            self._set_wake(r, Wake())
            return
        elif isinstance(item, ErrorIn):
            self._fail(r, item.reason)
            return
        elif isinstance(item, NoteIn):
            self._log(r, item.message, item.severity)
            return
        self._plan(r, commands, now, allow=allow)
        if (
            r.stop_request is not None
            and not r.stopping
            and not any(isinstance(i, FillIn) for i in r.queue)
        ):
            self._begin_stop(r, r.stop_request)
        if r.status is BotStatus.ACTIVE and not r.stopping:
            self._set_wake(r, strategy.wake(ctx))

    def _begin_stop(
        self, r: Runner, request: StopBot, status: BotStatus = BotStatus.STOPPED
    ) -> None:
        """Cancel the bot's open orders now; ``on_stop`` runs in the next cycle, once the
        cancels are done (its context then shows what they freed)."""
        r.stop_request, r.stopping, r.stop_exit = None, True, request.close_positions
        self._set_wake(r, Wake())
        for order in self._open_orders(r):
            r.ops.append(CancelOp(r.account_id, order.id, "bot stopped"))
        r.finish = FinishStopIn(request.reason, request.close_positions, status)
        r.queue.append(r.finish)

    def _fail(self, r: Runner, reason: str) -> None:
        self._log(r, f"Error: {reason}", Severity.ERROR)
        r.queue.clear()
        r.held.clear()
        r.finish = None
        r.ops = [op for op in r.ops if not isinstance(op, PlaceOp)]
        r.stop_request = None
        self._begin_stop(r, StopBot(reason, False), BotStatus.ERROR)

    def _plan(self, r: Runner, commands: Iterable[Command], now: int, *, allow: bool) -> None:
        """Turn commands into venue operations (``r.ops``) and log lines."""
        for command in commands:
            if isinstance(command, Log):
                self._log(r, command.message, command.severity, command.color)
                continue
            if not allow or r.stop_request is not None:
                continue
            if isinstance(command, PlaceOrder):
                emulated = self._emulated(command)
                if emulated:
                    self._log(r, f"{emulated} emulated: {self.venue.name} has no native one; "
                              "Tradewind triggers it from the price it polls", Severity.INFO)  # fmt: skip
                r.seq += 1
                r.tags[r.seq] = command.tag
                group = None if command.oco_group is None else f"{r.id}:{command.oco_group}"
                r.ops.append(PlaceOp(r.account_id, OrderRequest(
                    symbol=command.symbol, side=command.side, type=command.type,
                    amount=command.amount, price=command.price, stop_price=command.stop_price,
                    client_order_id=client_order_id(r.id, r.seq), reduce_only=command.reduce_only,
                    role=command.role, rearm=command.rearm, bracket=command.bracket,
                    trailing=command.trailing, oco_group=group,
                )))  # fmt: skip
            elif isinstance(command, CancelOrder):
                for order in self._open_orders(r):
                    if command.client_order_id in (None, order.client_order_id) and (
                        command.tag in (None, self._tag(r, order))
                    ):
                        r.ops.append(CancelOp(r.account_id, order.id, "cancelled by the bot"))
            elif isinstance(command, AmendOrder):
                for order in self._open_orders(r):
                    key = parse_client_order_id(order.client_order_id)
                    leg = key.leg if key else OrderLeg.ORDER
                    if self._tag(r, order) == command.tag and leg in (
                        OrderLeg.ORDER,
                        OrderLeg.REARM,
                    ):
                        r.ops.append(AmendOp(
                            r.account_id, order.id, price=command.price,
                            stop_price=command.stop_price, amount=command.amount,
                        ))  # fmt: skip
            elif isinstance(command, SetLeverage):
                r.ops.append(LeverageOp(r.account_id, r.symbol, command.leverage))
            elif isinstance(command, StopBot):
                r.stop_request = command

    def _emulated(self, command: PlaceOrder) -> str | None:
        """What of the order the venue runs itself rather than the exchange (its
        ``capabilities`` say which; the paper venue runs everything natively)."""
        caps = self.venue.capabilities
        if command.trailing is not None and not caps.trailing_stops:
            return "Trailing stop"
        if command.type is OrderType.STOP and not caps.stop_orders:
            return "Stop order"
        if command.type is OrderType.STOP_LIMIT and not caps.stop_limit_orders:
            return "Stop-limit order"
        bracket = command.bracket
        if bracket is not None and bracket.stop_loss is not None and not caps.stop_orders:
            return "Stop-loss" + (" (and its take-profit, one cancels the other)"
                                  if bracket.take_profit is not None and not caps.oco else "")  # fmt: skip
        if bracket is not None and bracket.take_profit is not None and not caps.oco:
            return "Take-profit bracket"
        return None

    def _check_result(self, r: Runner, op: Op, result: Any) -> None:
        if result.error is None:
            return
        if isinstance(op, CancelOp):
            return
        what = "order" if isinstance(op, PlaceOp) else "change"
        if r.on_signal:  # one signal it could not follow is that signal's failure, not the bot's
            self._log(r, f"Signal not followed: {what} refused: {result.error.message}",
                      Severity.ERROR)  # fmt: skip
            r.dirty = True
            return
        r.queue.appendleft(ErrorIn(f"{what} refused: {result.error.message}"))
        self._queued(r)

    # ---- what the strategy sees ---------------------------------------------------------------

    def _open_orders(self, r: Runner) -> list[Order]:
        prefix = f"{r.id}:"
        return [
            o
            for o in self.venue.working_orders(r.account_id, r.symbol)
            if o.client_order_id is not None and o.client_order_id.startswith(prefix)
        ]

    def _forget_tag(self, r: Runner, seq: int) -> None:
        """A placement's tag is kept while an order of it is open (its re-armed successor, its
        bracket legs share the seq); then dropped, so a bot's state does not grow with every
        order it ever placed (it is written on every cycle). A fill's path: the scan stops at
        the first open order of the placement (a grid's re-arm, usually)."""
        if seq not in r.tags:
            return
        for order in self._open_orders(r):
            key = parse_client_order_id(order.client_order_id)
            if key is not None and key.seq == seq:
                return
        r.tags.pop(seq, None)

    def _forget_tags(self, r: Runner, seqs: Iterable[int]) -> None:
        """``_forget_tag`` for many placements, the open orders read once."""
        seqs = [seq for seq in seqs if seq in r.tags]
        if not seqs:
            return
        open_seqs = {
            key.seq
            for order in self._open_orders(r)
            if (key := parse_client_order_id(order.client_order_id)) is not None
        }
        for seq in seqs:
            if seq not in open_seqs:
                r.tags.pop(seq, None)

    def _tag(self, r: Runner, order: Order) -> str:
        key = parse_client_order_id(order.client_order_id)
        return r.tags.get(key.seq, "") if key else ""

    def _context(
        self, r: Runner, now: int | None = None, price: Decimal | None = None,
        closes: tuple[float, ...] = (),
    ) -> Context:  # fmt: skip
        if price is None:
            price = self.venue.mark(r.symbol)
            if price is None:
                raise DomainError(f"no price for {r.symbol} yet")
        position = next(
            (p for p in self.venue.open_positions(r.account_id) if p.symbol == r.symbol), None
        )
        return Context(
            bot_id=r.id, instrument=r.instrument,
            now_ms=self.venue.now_ms() if now is None else now, price=price,
            balances=self.venue.free_balances(r.account_id),
            position=None if position is None else dataclasses.replace(position),
            open_orders=Deferred(
                lambda: tuple(OrderView.of(o, self._tag(r, o)) for o in self._open_orders(r))
            ),
            closes=closes,
        )  # fmt: skip

    def _history(self, r: Runner, now: int) -> tuple[float, ...]:
        timeframe = r.strategy.timeframe
        feed = self.venue.feeds.get(r.symbol)
        if timeframe is None or feed is None:
            return ()
        tf = Timeframe(timeframe)
        end = tf.floor(now)
        try:
            bars = resample(feed.candles_between(end - tf.ms * HISTORY_BARS, end), tf)
        except Exception:
            return ()
        return tuple(float(c) for c, t in zip(bars.close, bars.ts, strict=True) if t + tf.ms <= end)

    # ---- market data in ------------------------------------------------------------------

    def _on_events(self, events: Sequence[ev.Event]) -> None:
        """The venue committed these: queue the bots' fills (and refusals of their programs)."""
        for event in events:
            if isinstance(event, ev.OrderFilled):
                order = event.order
                runner = self._runner_of(order)
                if runner is not None:
                    runner.queue.append(
                        FillIn(event.fill, order.client_order_id or "", order.remaining <= 0)
                    )
                    self._queued(runner)
            elif isinstance(event, ev.OrderRejected):
                runner = self._runner_of(event.order)
                if runner is not None:
                    runner.queue.append(ErrorIn(f"order refused: {event.reason}"))
                    self._queued(runner)
            elif isinstance(event, ev.OrderReconciled):
                runner = self._runner_of(event.order)
                if runner is not None:
                    runner.queue.append(NoteIn(event.note, Severity.WARNING))
                    self._queued(runner)
            elif isinstance(event, ev.OrderTriggered) and not self.venue.capabilities.stop_orders:
                runner = self._runner_of(event.order)
                if runner is not None:
                    at = (
                        ""
                        if event.order.stop_price is None
                        else f" at {shown(event.order.stop_price)}"
                    )
                    runner.queue.append(NoteIn(f"Emulated stop triggered{at}: its order is sent to "
                                               "the exchange"))  # fmt: skip
                    self._queued(runner)

    def _runner_of(self, order: Order) -> Runner | None:
        key = parse_client_order_id(order.client_order_id)
        if key is None:
            return None
        runner = self._runners.get(key.bot_id)
        if runner is None or runner.account_id != order.account_id:
            return None
        return runner

    def _on_prices(self, symbol: str, path: Sequence[tuple[int, Decimal]]) -> None:
        """A tick: wake the bots whose ``wake()`` is due along the path; close bars."""
        ids = self._watching.get(symbol)
        if not ids or not path:
            return
        instrument = self.venue.instruments[symbol]
        points = [(t, instrument.round_price(p)) for t, p in path]
        now = points[-1][0]
        timeframes: dict[str, list[Runner]] = {}
        for bot_id in list(ids):
            r = self._runners[bot_id]
            if r.status is not BotStatus.ACTIVE or r.stopping:
                continue
            timeframe = r.strategy.timeframe
            if timeframe is not None:
                timeframes.setdefault(timeframe, []).append(r)
            wake = r.wake
            if wake.below is None and wake.above is None and wake.at_ms is None:
                continue
            if any(isinstance(i, TimerIn) for i in r.queue):
                continue
            hit = wake.first_hit(points)
            if hit is not None:
                r.queue.append(TimerIn(hit[1][0], hit[1][1]))
                self._queued(r)
        for timeframe, runners in timeframes.items():
            self._close_bars(symbol, timeframe, now, runners)

    def _booked(
        self, r: Runner, fill: Fill, client_order_id: str, order_done: bool,
        ts_ms: int | None = None,
    ) -> tuple[BotFill, OrderKey | None]:  # fmt: skip
        """A fill of the bot's as its strategy sees it, counted in the bot's own books and
        logged (at ``ts_ms``, else now)."""
        key = parse_client_order_id(client_order_id)
        tag = r.tags.get(key.seq, "") if key else ""
        bot_fill = BotFill(
            tag=tag, leg=key.leg if key else OrderLeg.ORDER, client_order_id=client_order_id,
            side=fill.side, amount=fill.amount, price=fill.price, fee=fill.fee,
            fee_asset=fill.fee_asset, ts_ms=fill.ts_ms, order_done=order_done,
            realized_pnl=fill.realized_pnl, position_id=fill.position_id,
            generation=key.generation if key else 0,
        )  # fmt: skip
        instrument = r.instrument
        fee = quote_fee(fill, instrument.base)
        r.book.apply(fill.side, fill.amount, fill.price, fee, instrument.contract_size)
        verb = "Bought" if fill.side is Side.BUY else "Sold"
        self._log(r, f"{verb} {shown(fill.amount)} {instrument.base} at {shown(fill.price)} "
                  f"({tag or 'order'})", Severity.TRADE, ts_ms=ts_ms)  # fmt: skip
        return bot_fill, key

    async def take_program_fills(self, bot_id: str, fills: Sequence[tuple[Fill, str, int]]) -> None:
        """For a backtester that ran a bot's re-arm programs compiled: give the bot these
        fills ``(fill, its order's client id, the time the venue's tick reported it)``, each
        as a ``FillIn`` would (its books, its log line, ``on_fill``), in one go. Only for a
        strategy with ``records_program_fills``: it gets one context, the venue's balances and
        price as after the batch, and may only log; the log lines carry the tick's time. Every fill completes its
        order (the re-arm took its place)."""
        r = self._runners[bot_id]
        strategy = r.strategy
        if not strategy.records_program_fills or r.status is not BotStatus.ACTIVE or r.queue:
            raise RuntimeError(f"bot {bot_id} cannot take program fills in a batch now")
        ctx = self._context(r, self.venue.now_ms())
        seqs: dict[int, None] = {}
        for fill, client_id, at_ms in fills:
            if r.fill_cursor is not None and fill.id <= r.fill_cursor:
                raise RuntimeError(f"fill {fill.id} given twice to bot {bot_id}")
            r.fill_cursor = fill.id
            bot_fill, key = self._booked(r, fill, client_id, True, ts_ms=at_ms)
            if key is not None:
                seqs[key.seq] = None
            for command in strategy.on_fill(bot_fill, ctx):
                if not isinstance(command, Log):
                    raise RuntimeError(
                        f"{strategy.script_id} answered a program fill with {command!r}: "
                        "records_program_fills promises log lines only"
                    )
                self._log(r, command.message, command.severity, command.color, ts_ms=at_ms)
        self._forget_tags(r, seqs)
        self._set_wake(r, strategy.wake(ctx))
        r.dirty = True
        await self._persist([r])

    def skip_bars(self, symbol: str, until_ms: int) -> None:
        """For a backtester jumping to ``until_ms`` over bars in which it has made sure no bot
        on ``symbol`` acts (``Wake``): each bot on bars takes those bars' closes with
        ``catch_up`` instead of an ``on_bar`` each, so its indicators stay exact."""
        timeframes: dict[str, list[Runner]] = {}
        for bot_id in self._watching.get(symbol, ()):
            r = self._runners[bot_id]
            if r.strategy.timeframe is not None:
                timeframes.setdefault(r.strategy.timeframe, []).append(r)
        feed = self.venue.feeds.get(symbol)
        for timeframe, runners in timeframes.items():
            tf = Timeframe(timeframe)
            current = tf.floor(until_ms)
            key = (symbol, timeframe)
            opened = self._bar_starts.get(key)
            if opened is None:  # no tick since the bots started: their history ends here
                opened = tf.floor(self.venue.now_ms())
            if feed is None or current <= opened:
                continue
            self._bar_starts[key] = current
            bars = resample(feed.candles_between(opened, current), tf)
            whole = bars.ts + tf.ms <= current
            closes = bars.close[whole].tolist()
            for r in runners:
                r.strategy.catch_up(closes)
                r.dirty = True

    def _close_bars(self, symbol: str, timeframe: str, now: int, runners: list[Runner]) -> None:
        tf = Timeframe(timeframe)
        current = tf.floor(now)
        key = (symbol, timeframe)
        opened = self._bar_starts.get(key)
        self._bar_starts[key] = current
        if opened is None or current <= opened:
            return
        feed = self.venue.feeds.get(symbol)
        if feed is None:  # a venue with no candles of the symbol: no bars
            return
        bars = resample(feed.candles_between(opened, current), tf)
        for i in range(len(bars)):
            start = int(bars.ts[i])
            if start + tf.ms > current:
                continue
            bar = Bar(start, float(bars.open[i]), float(bars.high[i]), float(bars.low[i]),
                      float(bars.close[i]), float(bars.volume[i]), timeframe)  # fmt: skip
            for r in runners:
                r.queue.append(BarIn(bar))
                self._queued(r)

    # ---- persistence ---------------------------------------------------------------------

    def _log(
        self, r: Runner, message: str, severity: Severity = Severity.INFO, color: str | None = None,
        ts_ms: int | None = None,
    ) -> None:  # fmt: skip
        r.log_seq += 1
        at = self.venue.now_ms() if ts_ms is None else ts_ms
        r.logs.append(LogLine(r.log_seq, at, severity.value, color, message))

    async def _persist(self, runners: Sequence[Runner], *, outcomes: bool = False) -> None:
        if not any(r.dirty for r in runners):
            return
        await self._writer.run(self._rows(runners, outcomes=outcomes), bulk=len(runners) > BULK)
        self._sent(runners)

    def _rows(self, runners: Sequence[Runner], *, outcomes: bool) -> Callable[[Session], None]:
        """The writes for the touched bots: state, sequence numbers, fill cursor, what is
        pending, status, new log lines, and the signal deliveries they handled: with their
        outcome when the operations of this cycle have run (``outcomes``), else as handled."""
        touched = [r for r in runners if r.dirty]
        for r in touched:
            self.statuses[r.id] = (r.status.value, r.reason)
        if self._log_sink is not None:
            self._log_sink([line for r in touched for line in r.logs])
        if not self._writer.persists:  # a backtest: nothing to build rows for
            return _nothing
        now = from_ms(self.venue.now_ms())
        updates = [
            {
                "b_id": r.id, "state": r.snapshot(), "order_seq": r.seq, "log_seq": r.log_seq,
                "fill_cursor": r.fill_cursor, "pending": [opcodec.dump(op) for op in r.ops],
                "status": r.status.value, "status_reason": r.reason, "stop_exit": r.stop_exit,
                "realized_pnl": r.book.realized - r.book.fees, "updated_at": now,
            }
            for r in touched
        ]  # fmt: skip
        logs = [
            {"id": new_id("log"), "bot_id": r.id, "line": x.line, "ts": from_ms(x.ts_ms),
             "severity": x.severity, "color": x.color, "message": x.message}
            for r in touched for x in r.logs
        ]  # fmt: skip
        handled, judged = [], []
        for r in touched:
            if not outcomes:
                handled += [{"d_id": d, "handled_at": now} for d in r.delivered]
                continue
            status, message, order_ids = signal_outcome(r.cycle)
            judged += [
                {"d_id": d, "handled_at": now, "status": status, "message": message,
                 "order_ids": order_ids}
                for d in r.delivered
            ]  # fmt: skip
        return partial(_write, updates=updates, logs=logs, handled=handled, judged=judged)

    @staticmethod
    def _sent(runners: Sequence[Runner]) -> None:
        """What ``_rows`` wrote is committed."""
        for r in runners:
            if r.dirty:
                r.logs, r.dirty, r.delivered = [], False, []
            r.running, r.cycle = [], []

    async def _clear_pending(self, runners: Sequence[Runner]) -> None:
        if not runners:
            return
        ids = [{"b_id": r.id, "pending": [opcodec.dump(op) for op in r.ops]} for r in runners]
        await self._writer.run(lambda session: _clear(session, ids))

    async def _mark_failed(self, bot_id: str, reason: str) -> None:
        def work(session: Session) -> None:
            session.execute(
                update(BotRow)
                .where(BotRow.id == bot_id)
                .values(status=BotStatus.ERROR.value, status_reason=reason[:500])
            )

        await self._writer.run(work)


_BOTS = cast(Table, BotRow.__table__)
_UPDATE = (
    update(_BOTS)
    .where(_BOTS.c.id == bindparam("b_id"))
    .values(
        state=bindparam("state"), order_seq=bindparam("order_seq"), log_seq=bindparam("log_seq"),
        fill_cursor=bindparam("fill_cursor"), pending=bindparam("pending"),
        status=bindparam("status"), status_reason=bindparam("status_reason"),
        stop_exit=bindparam("stop_exit"), realized_pnl=bindparam("realized_pnl"),
        updated_at=bindparam("updated_at"),
    )
)  # fmt: skip
_INSERT_LOGS = insert(cast(Table, BotLogRow.__table__))
_CLEAR = update(_BOTS).where(_BOTS.c.id == bindparam("b_id")).values(pending=bindparam("pending"))


_DELIVERIES = cast(Table, SignalDeliveryRow.__table__)
_HANDLED = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("d_id"), _DELIVERIES.c.status == "pending")
    .values(status="handled", handled_at=bindparam("handled_at"))
)


_JUDGED = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("d_id"), _DELIVERIES.c.status == "pending")
    .values(
        status=bindparam("status"), message=bindparam("message"),
        order_ids=bindparam("order_ids"), handled_at=bindparam("handled_at"),
    )
)  # fmt: skip


def _write(
    session: Session, *, updates: list[dict[str, Any]], logs: list[dict[str, Any]],
    handled: list[dict[str, Any]], judged: list[dict[str, Any]],
) -> None:  # fmt: skip
    conn = session.connection()  # Core statements on the bare connection: no ORM per call
    execute_many(conn, _UPDATE, updates)
    execute_many(conn, _HANDLED, handled)
    execute_many(conn, _JUDGED, judged)
    execute_many(conn, _INSERT_LOGS, logs)


def _nothing(session: Session) -> None:
    pass


def signal_outcome(ran: Sequence[Ran]) -> tuple[str, str, list[str]]:
    """What a bot did with a signal, from the operations it led to: ``executed`` with the
    orders it placed, or ``rejected`` and why; (status, message, order ids)."""
    placed = [r for r in ran if isinstance(r.op, PlaceOp)]
    refused = [r for r in placed if not r.result.ok]
    ids = [str(r.result.order.id) for r in placed if r.result.ok and r.result.order is not None]
    if refused:
        error = refused[0].result.error
        return "rejected", f"order refused: {error.message if error else 'unknown'}", ids
    if ids:
        return "executed", f"{len(ids)} order(s) placed", ids
    return "rejected", "the bot placed no order for it (see its log)", []


def _clear(session: Session, ids: list[dict[str, Any]]) -> None:
    execute_many(session.connection(), _CLEAR, ids)
