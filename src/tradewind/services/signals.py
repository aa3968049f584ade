"""Trade signals: one model for every source (TradingView alerts through TrynQuant, HaasOnline
signal tokens, the native API, per-bot webhook URLs), stored with their outcome, matched to
bots, executed exactly once.

A signal is validated and normalised (symbol from ``BTCUSDT``, ``BTC/USDT``,
``BINANCE:BTCUSDT``, ``BINANCE_BTC_USDT_``; action lowercase words), refused when older than
its ``maxLag``, and checked against earlier deliveries: the same idempotency key, or else
the same source, owner and body within ``TRADEWIND_SIGNAL_DEDUP_SECONDS``, is a repeat,
answered with the first outcome and executing nothing. Otherwise the signal and one delivery
row per matched bot are committed (the durable acknowledgement), then handed to the bot
engine, which marks each delivery handled in the same transaction as the bot's state: a
crash after the acknowledgement re-delivers it on restart, never twice. The answer waits for
the bots up to ``TRADEWIND_SIGNAL_WAIT_SECONDS`` and reports what they did.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tradewind.domain.bots import BotStatus
from tradewind.domain.clock import Clock, from_ms, to_ms
from tradewind.domain.errors import DomainError, NotFound, ValidationFailed
from tradewind.domain.ids import new_id
from tradewind.domain.instruments import Instrument
from tradewind.engine.bots import BotEngine, Ran, bot_signal, signal_outcome
from tradewind.services import trading
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.db import StoreRunner, execute_many
from tradewind.store.tables import BotRow, SignalDeliveryRow, SignalRow
from tradewind.strategies.base import Signal, SignalAction

T = TypeVar("T")
STALE = "stale:"
PREFIX_SIGNAL = "sig"
PREFIX_DELIVERY = "dlv"
SECRETS = frozenset({"api_key", "secret", "api_secret", "password", "token", "signalToken"})


def bad(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field_name}: {message}", details=[{"field": field_name, "message": message}]
    )


# ---- normalising what people send --------------------------------------------------------


def parse_action(
    value: Any, *, lowercase_only: bool = False, field_name: str = "action"
) -> SignalAction:
    """``buy``, ``sell``, ``close``, ``enter_long``, ``exit_long``, ``enter_short``,
    ``exit_short``; with ``lowercase_only`` (HaasOnline) ``BUY`` is refused."""
    if not isinstance(value, str) or not value.strip():
        raise bad(field_name, "required: one of " + ", ".join(a.value for a in SignalAction))
    text = value.strip()
    if not lowercase_only:
        text = text.lower().replace("-", "_").replace(" ", "_")
    try:
        return SignalAction(text)
    except ValueError:
        raise bad(
            field_name,
            f"{value!r} is not one of "
            + ", ".join(a.value for a in SignalAction)
            + (" (lowercase)" if lowercase_only else ""),
        ) from None


_HAAS_MARKET = re.compile(r"^[A-Z0-9]+_(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)_(?P<contract>.*)$")
_SEPARATORS = re.compile(r"[/\-_ ]")


def normalise_symbol(
    raw: Any, catalogs: Sequence[Mapping[str, Instrument]], field_name: str = "symbol"
) -> str:
    """Our symbol for what a client or TradingView's ``{{ticker}}`` sends: ``BTC/USDT``,
    ``BTCUSDT``, ``BINANCE:BTCUSDT``, ``BTC-USDT``, ``BINANCE_BTC_USDT_`` (HaasOnline);
    perpetuals as ``BTCUSDT.P``, ``BTCUSDTPERP`` or ``BTC/USDT:USDT``. The first of
    ``catalogs`` (instruments by symbol) that has the market answers."""
    if not isinstance(raw, str) or not raw.strip():
        raise bad(field_name, "required: a market such as BTCUSDT or BTC/USDT")
    text = raw.strip()
    if any(text in instruments for instruments in catalogs):
        return text
    upper = text.upper()
    perpetual = False
    found = _HAAS_MARKET.match(upper)
    if found:
        key, perpetual = found["base"] + found["quote"], bool(found["contract"])
    else:
        if ":" in upper and "/" not in upper:  # EXCHANGE:TICKER
            upper = upper.split(":", 1)[1]
        for suffix in (".P", "PERP", ".PERP"):
            if upper.endswith(suffix):
                upper, perpetual = upper[: -len(suffix)], True
        if ":" in upper:
            upper, perpetual = upper.split(":", 1)[0], True
        key = _SEPARATORS.sub("", upper)
    for instruments in catalogs:
        for symbol, instrument in instruments.items():
            if instrument.base + instrument.quote == key and instrument.is_derivative == perpetual:
                return symbol
    raise bad(field_name, f"unknown market {raw!r}")


def parse_decimal(value: Any, field_name: str, *, positive: bool = True) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad(field_name, "must be a number")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise bad(field_name, f"{value!r} is not a number") from None
    if not number.is_finite() or (positive and number <= 0):
        raise bad(field_name, "must be a positive number")
    return number


def parse_timestamp(value: Any, field_name: str = "timestamp") -> int | None:
    """Unix seconds or milliseconds, or an ISO 8601 time; in milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad(field_name, "must be a unix time or an ISO 8601 time")
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        number = float(value)
        return int(number if number > 1e12 else number * 1000)
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise bad(field_name, f"{value!r} is not a unix time or an ISO 8601 time") from None
    return to_ms(when)  # (naive: UTC)


def parse_max_lag(value: Any, field_name: str = "maxLag") -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise bad(field_name, "must be a whole number of seconds")
    try:
        seconds = int(str(value))
    except ValueError:
        raise bad(field_name, f"{value!r} is not a whole number of seconds") from None
    if seconds <= 0:
        raise bad(field_name, "must be positive")
    return seconds


# ---- the model -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Incoming:
    """A signal as received, already parsed. ``owner_id``: whose bots it may reach (for a
    partner's token, the partner; ``users`` then lists the users it acts for)."""

    source: str
    owner_id: str
    action: SignalAction
    symbol: str | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    investment_type: str | None = None
    ts_ms: int | None = None
    max_lag: int | None = None
    bot_id: str | None = None
    token: str | None = None
    idempotency_key: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)
    users: Sequence[str] | None = None
    """Whose bots a ``token`` may reach (default: the owner's)."""


@dataclass(frozen=True, slots=True)
class Delivered:
    bot_id: str
    status: str
    """pending (not acted on yet), handled, executed, rejected"""
    message: str | None
    order_ids: list[str]


@dataclass(frozen=True, slots=True)
class Outcome:
    signal_id: str
    status: str
    """accepted (handed to its bots, still executing), executed, rejected"""
    message: str
    deliveries: list[Delivered]
    duplicate: bool = False
    created_at: datetime | None = None

    @property
    def executed(self) -> bool:
        return self.status == "executed"

    @property
    def reason(self) -> str | None:
        """Why it was refused before reaching any bot: ``stale`` (past its maxLag) or
        ``unmatched`` (no bot matches); None otherwise."""
        if self.status != "rejected" or self.deliveries:
            return None
        return "stale" if STALE in self.message else "unmatched"

    @property
    def order_ids(self) -> list[str]:
        return [o for d in self.deliveries for o in d.order_ids]


_owner_locks: dict[str, asyncio.Lock] = {}


def _lock(owner_id: str) -> asyncio.Lock:
    lock = _owner_locks.get(owner_id)
    if lock is None:
        lock = _owner_locks[owner_id] = asyncio.Lock()
    return lock


def _dedup_key(incoming: Incoming) -> str:
    if incoming.idempotency_key:
        return "key:" + incoming.idempotency_key[:120]
    clean = {k: v for k, v in incoming.body.items() if k not in SECRETS}
    text = json.dumps([incoming.source, incoming.owner_id, incoming.token, clean], sort_keys=True,
                      default=str)  # fmt: skip
    return "body:" + hashlib.sha256(text.encode()).hexdigest()


async def submit(
    session: AsyncSession | None, venues: trading.Venues, clock: Clock, incoming: Incoming,
    *, dedup_seconds: float, wait_seconds: float,
) -> Outcome:  # fmt: skip
    """Store, match, acknowledge, execute (see the module docstring)."""
    now = clock.now()
    key = _dedup_key(incoming)
    stale = _stale(incoming, now)
    async with _lock(incoming.owner_id):
        # one unit of work on the store's writer: the repeat check, the match, the rows
        acknowledged = await _batcher(venues.store).run(
            lambda s: _acknowledge(s, incoming, key, now, dedup_seconds, stale, venues.is_running)
        )
    if isinstance(acknowledged, str):
        if session is None:  # (a caller with no session of its own: the webhook URL)
            async with venues.store.sessions() as own:
                return await _repeat(own, acknowledged)
        return await _repeat(session, acknowledged)
    row, deliveries = acknowledged
    pending = [d for d in deliveries if d.status == "pending"]
    if pending:
        await _execute(venues, row, pending, wait_seconds)
    return Outcome(
        signal_id=row.id, status=row.status, message=row.message, created_at=row.created_at,
        deliveries=[Delivered(d.bot_id, d.status, d.message, list(d.order_ids)) for d in deliveries],
    )  # fmt: skip


class _Batcher:
    """Group commit: acknowledgements that arrive while one is being written are written
    together, in one unit of work (one thread hop, one commit). Each waits for its own
    result; if the unit fails, every one of them fails (none was acknowledged)."""

    def __init__(self, store: StoreRunner) -> None:
        self._store = store
        self._queue: list[tuple[Callable[[Session], Any], asyncio.Future[Any]]] = []
        self._draining = False
        self._task: asyncio.Future[None] | None = None

    async def run(self, work: Callable[[Session], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if not self._draining:
            self._draining = True
            self._task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await self._store.run(partial(_all, [work for work, _ in batch]))
                except Exception as e:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._draining = False


def _all(works: list[Callable[[Session], Any]], session: Session) -> list[Any]:
    return [work(session) for work in works]


_batchers: dict[int, _Batcher] = {}


def _batcher(store: StoreRunner) -> _Batcher:
    found = _batchers.get(id(store))
    if found is None or found._store is not store:
        found = _batchers[id(store)] = _Batcher(store)
    return found


_SIGNALS = cast(Table, SignalRow.__table__)
_DELIVERIES = cast(Table, SignalDeliveryRow.__table__)


@dataclass(slots=True)
class _Delivery:
    """A delivery as written (a plain object: a partner's signal may make 10,000)."""

    id: str
    bot_id: str
    status: str
    message: str | None
    order_ids: list[str]


_BOT_TABLE = cast(Table, BotRow.__table__)
_REPEAT_OF_KEY = (
    select(_SIGNALS.c.id)
    .where(_SIGNALS.c.owner_id == bindparam("owner"), _SIGNALS.c.dedup_key == bindparam("key"))
    .order_by(_SIGNALS.c.id)
    .limit(1)
)
_REPEAT_IN_WINDOW = (
    select(_SIGNALS.c.id)
    .where(
        _SIGNALS.c.owner_id == bindparam("owner"), _SIGNALS.c.dedup_key == bindparam("key"),
        _SIGNALS.c.created_at >= bindparam("since"),
    )
    .order_by(_SIGNALS.c.id)
    .limit(1)
)  # fmt: skip
_MATCH_COLUMNS = (_BOT_TABLE.c.id, _BOT_TABLE.c.status, _BOT_TABLE.c.settings)
_ONE_BOT = select(*_MATCH_COLUMNS).where(
    _BOT_TABLE.c.id == bindparam("bot"), _BOT_TABLE.c.user_id.in_(bindparam("users", expanding=True)),
    _BOT_TABLE.c.deleted_at.is_(None),
)  # fmt: skip
_INSERT_SIGNAL = insert(_SIGNALS)
_INSERT_DELIVERIES = insert(_DELIVERIES)


def _acknowledge(
    s: Session, incoming: Incoming, key: str, now: datetime, window: float, stale: str | None,
    is_running: Callable[[str], bool],
) -> str | tuple[SignalRow, list[_Delivery]]:  # fmt: skip
    """The id of the earlier signal this repeats, or the new signal and its deliveries,
    committed (the acknowledgement). Core statements built once: this runs for every signal
    on the store's one writer."""
    conn = s.connection()  # Core statements on the bare connection: no ORM per call
    if incoming.idempotency_key:
        earlier = conn.execute(_REPEAT_OF_KEY, {"owner": incoming.owner_id, "key": key}).scalar()
    else:
        since = now - timedelta(seconds=window)
        earlier = conn.execute(
            _REPEAT_IN_WINDOW, {"owner": incoming.owner_id, "key": key, "since": since}
        ).scalar()
    if earlier is not None:
        return str(earlier)
    values: dict[str, Any] = {
        "id": new_id(PREFIX_SIGNAL), "owner_id": incoming.owner_id, "source": incoming.source,
        "dedup_key": key, "symbol": incoming.symbol, "action": incoming.action.value,
        "amount": incoming.amount, "price": incoming.price,
        "investment_type": incoming.investment_type,
        "signal_ts": None if incoming.ts_ms is None else from_ms(incoming.ts_ms),
        "max_lag": incoming.max_lag, "bot_id": incoming.bot_id, "token": incoming.token,
        "status": "accepted", "message": "accepted", "created_at": now,
        "body": {k: v for k, v in incoming.body.items() if k not in SECRETS},
    }  # fmt: skip
    deliveries: list[dict[str, Any]] = []
    if stale:
        values["status"], values["message"] = "rejected", stale
    else:
        bots = conn.execute(*_match(incoming)).all()
        if incoming.token and not incoming.bot_id:
            bots = [b for b in bots if (b.settings or {}).get("signalToken") == incoming.token]
        for bot_id, bot_status, _ in bots:
            running = bot_status == BotStatus.ACTIVE.value and is_running(bot_id)
            deliveries.append({
                "id": new_id(PREFIX_DELIVERY), "signal_id": values["id"], "bot_id": bot_id,
                "status": "pending" if running else "rejected",
                "message": None if running else f"the bot is {bot_status}, not active",
                "order_ids": [], "created_at": now, "handled_at": None,
            })  # fmt: skip
        if not bots:
            values["status"], values["message"] = "rejected", _nothing_matched(incoming)
        elif not any(d["status"] == "pending" for d in deliveries):
            values["status"], values["message"] = "rejected", "no matching bot is active"
    conn.execute(_INSERT_SIGNAL, values)
    execute_many(conn, _INSERT_DELIVERIES, deliveries)
    return SignalRow(**values), [
        _Delivery(d["id"], d["bot_id"], d["status"], d["message"], d["order_ids"])
        for d in deliveries
    ]


def _stale(incoming: Incoming, now: datetime) -> str | None:
    if incoming.max_lag is None or incoming.ts_ms is None:
        return None
    age = now.timestamp() - incoming.ts_ms / 1000
    if age > incoming.max_lag:
        return (
            f"{STALE} the signal is {age:.0f} s old, more than its maxLag of {incoming.max_lag} s"
        )
    return None


def _nothing_matched(incoming: Incoming) -> str:
    if incoming.bot_id:
        return f"no bot {incoming.bot_id}"
    if incoming.token:
        return "no bot listens on this signal token"
    return f"no active bot for {incoming.symbol}"


def _match(incoming: Incoming) -> tuple[Select[Any], dict[str, Any]]:
    """The bots a signal may reach: its bot, the webhook bots (a token's, filtered by the
    caller), or the active bots on its symbol; (id, status, settings) rows, by id."""
    users = list(incoming.users) if incoming.users is not None else [incoming.owner_id]
    if incoming.bot_id:
        return _ONE_BOT, {"bot": incoming.bot_id, "users": users}
    b = _BOT_TABLE.c
    stmt = select(*_MATCH_COLUMNS).where(b.user_id.in_(users), b.deleted_at.is_(None))
    if incoming.token:
        stmt = stmt.where(b.script == "webhook")
    elif incoming.symbol:
        stmt = stmt.where(b.symbol == incoming.symbol, b.status == BotStatus.ACTIVE.value)
    else:
        stmt = stmt.where(b.id.is_(None))
    return stmt.order_by(b.id), {}


async def _execute(
    venues: trading.Venues, row: SignalRow, pending: list[_Delivery],
    wait_seconds: float,
) -> None:  # fmt: skip
    """Hand the signal to its bots; record what they did (what is still running is
    recorded by the engine as handled, and its orders are in the bot's records)."""
    paper = venues.engine(venues.paper.name)
    by_venue: dict[str, Signal] = {}  # once per venue for every bot it reaches
    engines: dict[str, BotEngine] = {}
    # one future per bot (not a task each: a partner's signal may reach 10,000 bots)
    results: dict[str, tuple[str, str, list[str]]] = {}
    futures: dict[asyncio.Future[list[Ran]], str] = {}
    for d in pending:
        try:
            engine = engines[d.id] = venues.running(d.bot_id) or paper  # (paper: refuses)
            name = engine.venue.name
            if name not in by_venue:
                by_venue[name] = bot_signal(row, engine.venue)
            futures[engine.signal_nowait(d.bot_id, by_venue[name], d.id)] = d.id
        except DomainError as e:
            results[d.id] = ("rejected", e.message, [])
    refused = set(results)  # never reached its bot: recorded here
    if wait_seconds <= 0:  # answer at once: the engine has the deliveries, durably
        row.message = "accepted; its bots are executing it"
        if not results:
            return
    elif futures:
        await asyncio.wait(futures, timeout=wait_seconds)
    for future, delivery_id in futures.items():
        if future.done():
            error = future.exception()
            if isinstance(error, DomainError):
                results[delivery_id] = ("rejected", error.message, [])
            elif error is None:
                results[delivery_id] = signal_outcome(future.result())
    updates = []
    for delivery in pending:
        if delivery.id in results:
            delivery.status, delivery.message, delivery.order_ids = results[delivery.id]
            wrote = delivery.id in engines and engines[delivery.id].joins_writes
            if delivery.id in refused or not wrote:  # else the engine wrote it
                updates.append({"d_id": delivery.id, "status": delivery.status,
                                "message": delivery.message, "order_ids": delivery.order_ids})  # fmt: skip
    statuses = [r[0] for r in results.values()]
    if "executed" in statuses:
        row.status = "executed"
        row.message = f"executed by {statuses.count('executed')} of {len(pending)} bots"
    elif len(results) == len(pending):
        row.status = "rejected"
        row.message = next((m for s, m, _ in results.values() if m), "no bot acted on it")
    elif wait_seconds > 0:
        row.message = "accepted; its bots are still executing it"
    await venues.store.run(lambda s: _record(s, row, updates))


_OUTCOME = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("d_id"))
    .values(
        status=bindparam("status"), message=bindparam("message"), order_ids=bindparam("order_ids")
    )
)


def _record(s: Session, row: SignalRow, updates: list[dict[str, Any]]) -> None:
    """What the bots did, in one unit of work."""
    execute_many(s.connection(), _OUTCOME, updates)
    s.execute(
        update(SignalRow)
        .where(SignalRow.id == row.id)
        .values(status=row.status, message=row.message)
    )


async def _repeat(session: AsyncSession, signal_id: str) -> Outcome:
    earlier = await session.get(SignalRow, signal_id)
    assert earlier is not None
    return await _outcome(session, earlier, duplicate=True)


async def _outcome(session: AsyncSession, row: SignalRow, *, duplicate: bool = False) -> Outcome:
    deliveries = (
        await session.scalars(
            select(SignalDeliveryRow)
            .where(SignalDeliveryRow.signal_id == row.id)
            .order_by(SignalDeliveryRow.id)
        )
    ).all()
    message = row.message
    if duplicate:
        message = f"repeat delivery of signal {row.id}, not executed again: {row.message}"
    return Outcome(
        signal_id=row.id, status=row.status, message=message, duplicate=duplicate,
        deliveries=[Delivered(d.bot_id, d.status, d.message, list(d.order_ids)) for d in deliveries],
        created_at=row.created_at,
    )  # fmt: skip


# ---- reading -------------------------------------------------------------------------------


async def list_signals(
    session: AsyncSession, owner_id: str, *, limit: int, cursor: str | None
) -> Page[SignalRow]:
    stmt = select(SignalRow).where(SignalRow.owner_id == owner_id)
    rows = (await session.scalars(paginate(stmt, SignalRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def get_signal(session: AsyncSession, owner_id: str, signal_id: str) -> Outcome:
    row = await session.get(SignalRow, signal_id)
    if row is None or row.owner_id != owner_id:
        raise NotFound("signal not found")
    return await _outcome(session, row)


async def last_for_token(session: AsyncSession, owner_id: str, token: str) -> SignalRow | None:
    stmt = select(SignalRow).where(SignalRow.owner_id == owner_id, SignalRow.token == token)
    found: SignalRow | None = await session.scalar(stmt.order_by(SignalRow.id.desc()).limit(1))
    return found


# ---- per-bot webhook tokens ----------------------------------------------------------------


def hook_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_hooks: dict[str, tuple[str, str]] = {}
"""Webhook token hash -> (bot, owner), as found in the store (a new token forgets the old)."""


def forget_hook(digest: str | None) -> None:
    if digest is not None:
        _hooks.pop(digest, None)


async def bot_for_hook(store: StoreRunner, token: str) -> tuple[str, str]:
    """The bot (and its owner) a webhook token belongs to; ``NotFound`` otherwise. A deleted
    bot's token may still be found here; the signal then matches no bot."""
    digest = hook_hash(token)
    if digest in _hooks:
        return _hooks[digest]

    def find(s: Session) -> tuple[str, str] | None:
        found = s.execute(
            select(BotRow.id, BotRow.user_id).where(
                BotRow.hook_token_hash == digest, BotRow.deleted_at.is_(None)
            )
        ).first()
        return None if found is None else (str(found[0]), str(found[1]))

    bot = await store.run(find)
    if bot is None:
        raise NotFound("unknown webhook")
    _hooks[digest] = bot
    return bot
