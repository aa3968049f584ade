"""HaasOnline's backtests under ``/compat/haas``, on the backtest jobs (``runtime.backtests``).

The document shows two paths (``POST /bots/backtest``, ``GET /bots/backtest/{backtestId}/status``)
and names the other operations; the others take the same shape::

    POST /bots/backtest                                start  {userId, type, exchangeId, settings,
                                                               startUnix, endUnix}
    GET  /bots/backtest/{backtestId}/status            state, progress, message
    GET  /bots/backtest/{backtestId}/results           figures and the first 50 log lines
    GET  /bots/backtest/{backtestId}/logs              the whole log, structured
    GET  /bots/backtest/{backtestId}/positions         every closed position with its orders
    POST /bots/backtest/{backtestId}/cancel            stop a queued or running backtest

A backtest belongs to one of the partner's users (``userId``, required: a backtest runs for
someone); another partner's backtest, or user, is "not found" (404).

**Start.** ``type`` and ``settings`` are those of ``/bots/create`` (the same translation:
HaasOnline symbols such as ``PAPER_BTC_USDT_``, numbers as numbers). ``startUnix`` and
``endUnix`` are unix *seconds* (int32: a millisecond value is refused): the run covers the bars
opening from ``startUnix`` up to, not including, ``endUnix`` (the end is an end time, not the
last bar's open, so the job's native ``end`` is ``endUnix`` less 1 ms). ``exchangeId``, when
given, must be the user's exchange (``PAPER``, or the exchange of the keys the user was made
with, whose markets, ``BINANCE_BTC_USDT_`` or ``BINANCE:BTC-USDT``, are read as the same pair
of the stored candles). A Tradewind extension, ``timeframe`` (``1h`` by
default), sets the bar length the run steps through. The answer's ``backtestId`` is the job's
id (``bt_…``), ``serviceId`` names the service running the jobs (``SERVICE_ID``) and ``message``
is the document's text with the real id in the path. A request the jobs refuse is answered at
once (400) naming the document's field: ``type``, ``startUnix``, ``endUnix``, ``settings.…``.

The document's own example sends grid settings in another vocabulary than its scripts
(``market``, ``amount``, ``grid_levels``, ``grid_range``, ``stop_loss``). They are read for
the two grid types, each only where the script's own key is not given:

- ``market`` (``BTC-USDT``, ``PAPER:BTC-USDT``, or a symbol) → ``symbol``: the spot market for
  a spot type, the perpetual for a futures type;
- ``amount`` → ``investmentAmount``, in the quote asset (``investmentAsset: Quote``);
- ``grid_levels`` → ``gridCount``;
- ``grid_range`` (percent) → ``lowerLimit``/``upperLimit`` that far either side of the price
  at the start (the open of the first bar);
- ``stop_loss`` (percent, ``-10``: 10 % below that price) → ``stopCondition: Price``,
  ``stopType: Below value``, ``stopValue`` at that price and ``stopExit: true`` (a stop-loss
  sells what the grid bought).

**States.** ``loading_script``, ``loading_data``, ``executing``, ``completed``, ``failed`` and
``cancelled`` are the jobs' own. A job waiting for a free worker (``queued``) is shown as
``loading_script``, the document's first state: its configuration has been checked, nothing
has run, progress is 0 and ``message`` says it waits for a worker. ``progress`` is a whole
percent.

**Results, logs and positions** come only once the state is ``completed``, as the document
says; before (or after a failure or a cancel) they are refused with 409 naming the state.

- results: ``startUnix``/``endUnix`` as asked (a job started through the native API shows the
  end of its last bar), ``executionStart``/``executionEnd`` when the job started and finished
  (unix seconds), ``market`` in the document's ``EXCHANGE:BASE-QUOTE`` form
  (``PAPER:BTC-USDT``; a contract adds its name: ``PAPER:BTC-USDT-PERPETUAL``), then
  ``summary``, ``performance``, ``orders`` and ``positions`` exactly as the native API's (the
  same numbers; docs/backtest-metrics.md). A ratio that is undefined (``profitFactor`` with
  no losing position; ``sharpeRatio``/``sortinoRatio`` with fewer than two daily returns or
  none below zero) is ``null`` there and here: a 0 would claim a value. ``logs`` is the first
  50 lines as ``"timestamp ||| level ||| message"``: ``timestamp`` in unix seconds and
  ``level`` a number, as in the document's example (``0`` for its "Backtest started" and
  "Position closed", ``1`` for its orders and fills): info 0, trade 1, warning 2, error 3,
  custom 4 (the order the document lists the severities in).
- logs: every line, oldest first, ``{lineNumber, timestamp, severity, color, message}`` as the
  bot log's: ``timestamp`` in unix seconds, ``color`` an ``rgba(…)`` string for custom lines
  and ``null`` otherwise.
- positions: every closed position (a spot sell and the buys it sold, first in first out; a
  derivative position from its opening fill to its closing one), in the order they closed.
  The document's short keys, as read here (it does not spell them out):

  ``pg`` position id (``<backtestId>-<n>``, n from 1); ``g`` the backtest id; ``ac`` the account
  (``""``: a backtest trades a simulated account of its own); ``ma`` the market
  (``PAPER_BTC_USDT_``); ``le`` leverage (1 on spot); ``d`` direction (0 long, 1 short);
  ``pl``/``al`` the profit and amount labels; ``pd``/``ad`` price and amount decimals;
  ``ot``/``ct`` open and close time (unix s); ``ic`` closed (true); ``ap`` average entry price;
  ``t`` the amount; ``av``/``io`` the amount still available / held in open orders (0: it is
  closed); ``cp`` the close (exit) price; ``fe`` fees; ``rp`` realised profit net of fees;
  ``up`` unrealised profit (0); ``roi`` ``rp`` over the margin, in percent; ``hpip``/``lpip``
  the highest and lowest mid price from the entry fill to the exit fill, on the stored
  candles along the same intrabar path the run ticked (docs/market-data.md).

  ``eno``/``exo``: a job stores each position's entry and exit, not its orders, so each holds
  one record: the entry (first entry time, average price, amount) and the exit. In a record:
  ``paid`` the position id; ``id`` ``<pg>-entry`` / ``<pg>-exit``; ``eid`` ``""`` (no exchange);
  ``ot``/``ct`` the fill time (unix s; the placing time is not stored); ``d`` 0 buy, 1 sell;
  ``p``/``ep`` the price; ``a``/``af`` the amount; ``fe`` its share of the position's fees, in
  proportion to each side's value (exact when maker and taker fees are equal, the paper
  default); ``fc`` the quote asset; ``m`` the margin on the entry, 0 on the exit; ``pr``/``r``
  the position's profit and ROI on the exit, 0 on the entry; ``n`` ``entry``/``exit``.
  Not stored, so 0: ``pa``, ``to``, ``t`` (the order type), ``tp`` (a trigger price), ``cr``;
  and the position's ``mt``. The document's examples show ``mt: 1500`` and ``t: 500``, codes
  of a table it does not include.

  A derivative position's margin is stored as 0 (read after its close released it); its margin
  is then its entry value over the leverage (the settings', else the paper account's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Path as PathParam
from pydantic import Field
from sqlalchemy import select

from tradewind.api.deps import RuntimeDep, SessionDep
from tradewind.api.dialects.haas.bot_records import num
from tradewind.api.dialects.haas.bots import ScriptType, native_symbol, settings_in
from tradewind.api.dialects.haas.envelope import ok
from tradewind.api.dialects.haas.routes import PAPER_ID, Body, Partner, exchange_of, haas_symbol
from tradewind.api.registry import public_router
from tradewind.backtest import jobs
from tradewind.backtest.request import VENUE, BacktestRequest, coverage
from tradewind.domain.clock import to_ms
from tradewind.domain.errors import Conflict, NotFound, ValidationFailed
from tradewind.domain.instruments import Instrument, InstrumentKind
from tradewind.marketdata import (
    Candles,
    ReplayFeed,
    SeriesNotFound,
    Timeframe,
    bundled_store,
)
from tradewind.services import accounts, exchange_accounts
from tradewind.store.tables import BacktestRow, UserRow
from tradewind.venues.paper.catalog import DEFAULT_LEVERAGE, paper_instruments

router = public_router(prefix="/compat/haas", tags=["dialect: haas"])

SERVICE_ID = "tradewind-backtests"
"""The document's ``serviceId``: what runs the job (the backtest jobs of this server)."""
INT32_MAX = 2**31 - 1
LOG_PREVIEW = 50
"""Log lines in the results; the logs endpoint has them all."""
LEVELS = {"info": 0, "trade": 1, "warning": 2, "error": 3, "custom": 4}
"""Severity → the number in the results' log lines."""
GRID_TYPES = frozenset({"spot_grid", "futures_grid"})
FUTURES_TYPES = frozenset({"futures_grid", "futures_dollar_cost_averaging"})
SHORTHAND = ("amount", "grid_levels", "grid_range", "stop_loss")
"""The document example's grid keys besides ``market`` (see the module docstring)."""
HUNDRED = Decimal(100)

BacktestId = Annotated[
    str, PathParam(alias="backtestId", description="The id POST /bots/backtest answered.")
]


class BacktestStart(Body):
    user_id: str | None = Field(default=None, alias="userId", description="Who owns it.")
    type: ScriptType
    exchange_id: str | None = Field(
        default=None,
        alias="exchangeId",
        description="The user's exchange (PAPER, or its keys' exchange), if given.",
    )
    settings: Any = Field(default=None, description="The script's settings, as for bots/create.")
    start_unix: int = Field(
        alias="startUnix", strict=True, ge=0, le=INT32_MAX, description="Unix seconds."
    )
    end_unix: int = Field(
        alias="endUnix", strict=True, ge=0, le=INT32_MAX,
        description="Unix seconds: the bars opening before it are run.",
    )  # fmt: skip
    timeframe: str = Field(
        default="1h", description="Tradewind: the bar length the run steps through."
    )


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


# ---- the start -------------------------------------------------------------------------------


def _as_paper(symbol: str, exchange: str) -> str:
    """A HaasOnline symbol of the user's exchange as the same pair of Tradewind's stored
    candles (``BINANCE_BTC_USDT_`` → ``PAPER_BTC_USDT_``); any other as it is."""
    prefix = f"{exchange}_"
    return PAPER_ID + symbol[len(exchange) :] if symbol.startswith(prefix) else symbol


def _instrument_of(market: str, script: str, venue: Any, exchange: str) -> str:
    """``BTC-USDT`` / ``PAPER:BTC-USDT`` (or the user's exchange, ``BINANCE:BTC-USDT``) → the
    spot symbol for a spot type, the perpetual (or another contract) for a futures type; a
    HaasOnline or native symbol passes as it is."""
    try:
        return native_symbol(_as_paper(market, exchange), venue)
    except ValidationFailed:
        pass
    named, _, pair = market.rpartition(":")
    if named and named not in (PAPER_ID, exchange):
        raise _bad("settings.market", f"{named} is not the user's exchange ({exchange})")
    base, _, rest = pair.replace("/", "-").partition("-")
    quote, _, contract = rest.partition("-")
    futures = script in FUTURES_TYPES
    candidates = [
        i
        for i in venue.instruments.values()
        if (i.base, i.quote) == (base, quote)
        and i.is_derivative == futures
        and contract in ("", haas_symbol(i).split("_", 3)[3])
    ]
    candidates.sort(key=lambda i: i.kind is not InstrumentKind.PERPETUAL)  # perpetual first
    if candidates:
        return str(candidates[0].symbol)
    raise _bad("settings.market", f"unknown market {market}; see GET /compat/haas/markets")


def _number(settings: dict[str, Any], key: str) -> Decimal | None:
    value = settings.pop(key, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"settings.{key}", "a number")
    return Decimal(str(value))


def _start_price(body: BacktestStart, symbol: str, data_dir: Path) -> Decimal:
    """The open of the first bar of the run (what the grid shorthand is measured from)."""
    try:
        timeframe = Timeframe(body.timeframe)
    except ValueError:
        known = ", ".join(str(t) for t in Timeframe)
        raise _bad("timeframe", f"unknown timeframe {body.timeframe!r}; known: {known}") from None
    store = bundled_store(data_dir)
    start_ms, end_ms = body.start_unix * 1000, body.end_unix * 1000
    try:
        first = store.read(VENUE, symbol, timeframe, start_ms, end_ms, limit=1)
    except SeriesNotFound as e:
        raise _bad("timeframe", e.message) from None
    if not len(first):
        raise _bad("startUnix", coverage(store, symbol, timeframe))
    return Decimal(repr(float(first.open[0])))


def _grid_shorthand(
    settings: dict[str, Any], body: BacktestStart, venue: Any, data_dir: Path
) -> None:
    amount = _number(settings, "amount")
    levels = settings.pop("grid_levels", None)
    spread = _number(settings, "grid_range")
    stop = _number(settings, "stop_loss")
    if amount is not None:
        settings.setdefault("investmentAmount", num(amount))
        if body.type == "spot_grid":
            settings.setdefault("investmentAsset", "Quote")
    if levels is not None:
        settings.setdefault("gridCount", levels)
    if spread is None and not stop:
        return
    if spread is not None and not Decimal(0) < spread < HUNDRED:
        raise _bad("settings.grid_range", "a percent above 0 and below 100")
    if stop and not -HUNDRED < stop < HUNDRED:
        raise _bad("settings.stop_loss", "a percent between -100 and 100")
    symbol = settings.get("symbol")
    if not isinstance(symbol, str) or symbol not in venue.instruments:
        return  # the script names the missing or unknown symbol
    instrument: Instrument = venue.instruments[symbol]
    price = _start_price(body, symbol, data_dir)
    if spread is not None:
        settings.setdefault("lowerLimit", num(instrument.round_price(price * (1 - spread / 100))))
        settings.setdefault("upperLimit", num(instrument.round_price(price * (1 + spread / 100))))
    if stop:
        settings.setdefault("stopCondition", "Price")
        settings.setdefault("stopType", "Below value")
        settings.setdefault(
            "stopValue", num(instrument.round_price(price * (1 - abs(stop) / HUNDRED)))
        )
        settings.setdefault("stopExit", True)


def _settings(body: BacktestStart, venue: Any, data_dir: Path, exchange: str) -> dict[str, Any]:
    """The client's settings for the jobs: the market translated (the user's ``exchange``'s
    read as the same pair of the stored candles), the example's grid keys read (see the module
    docstring), the rest as sent (the script names any bad field)."""
    if body.settings is None:
        raw: dict[str, Any] = {}
    elif isinstance(body.settings, dict):
        raw = dict(body.settings)
    else:
        raise _bad("settings", "an object of the script's settings")
    market = raw.pop("market", None)
    if isinstance(raw.get("symbol"), str):
        raw["symbol"] = _as_paper(raw["symbol"], exchange)
    out = settings_in(raw, venue)
    if market is not None:
        if not isinstance(market, str) or not market:
            raise _bad("settings.market", "a market such as BTC-USDT or PAPER_BTC_USDT_")
        symbol = _instrument_of(market, body.type, venue, exchange)
        if out.setdefault("symbol", symbol) != symbol:
            raise _bad("settings.market", f"names {symbol}, settings.symbol {out['symbol']}")
    if body.type in GRID_TYPES and any(key in out for key in SHORTHAND):
        _grid_shorthand(out, body, venue, data_dir)
    return out


_FIELDS = {"script": "type", "start": "startUnix", "end": "endUnix"}


def _in_document_terms(error: ValidationFailed, market: bool) -> ValidationFailed:
    """The jobs name their own fields (``start``, ``script``…): the document's instead."""
    renamed = dict(_FIELDS)
    if market:
        renamed |= {"symbol": "settings.market", "settings.symbol": "settings.market"}
    else:
        renamed["symbol"] = "settings.symbol"
    details = [
        {**d, "field": renamed.get(str(d.get("field")), d.get("field"))}
        for d in (error.details or [])
        if isinstance(d, dict)
    ]
    return ValidationFailed(error.message, details=details or error.details)


@router.post("/bots/backtest", summary="Start a backtest (checked at once, then run as a job)")
async def start_backtest(
    body: BacktestStart, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    if not body.user_id:
        raise _bad("userId", "required: the user the backtest runs for")
    if body.end_unix <= body.start_unix:
        raise _bad("endUnix", "must be after startUnix")
    await accounts.get_managed_user(session, principal.user_id, body.user_id)
    found = await exchange_accounts.user_exchange(session, body.user_id)
    exchange = exchange_of(found) if found else PAPER_ID
    if body.exchange_id and body.exchange_id.upper() != exchange:
        raise _bad("exchangeId", f"must be the user's exchange, {exchange}")
    venue = runtime.venues.paper
    settings = await asyncio.to_thread(_settings, body, venue, runtime.settings.data_dir, exchange)
    request = BacktestRequest(
        script=body.type, settings=settings, symbol="", timeframe=body.timeframe,
        start_ms=body.start_unix * 1000, end_ms=body.end_unix * 1000 - 1,
    )  # fmt: skip
    try:
        row = await runtime.backtests.create(body.user_id, request)
    except ValidationFailed as e:
        market = isinstance(body.settings, dict) and "market" in body.settings
        raise _in_document_terms(e, market) from None
    return ok({
        "backtestId": row.id,
        "serviceId": SERVICE_ID,
        "message": "Backtest started successfully. "
        f"Use GET /bots/backtest/{row.id}/status to track progress.",
    })  # fmt: skip


# ---- reading a job -------------------------------------------------------------------------


async def _job(
    session: SessionDep, runtime: RuntimeDep, partner_id: str, backtest_id: str
) -> BacktestRow:
    """A backtest of one of the partner's users, else NotFound."""
    owner = await session.scalar(
        select(BacktestRow.user_id)
        .join(UserRow, UserRow.id == BacktestRow.user_id)
        .where(BacktestRow.id == backtest_id, UserRow.partner_id == partner_id)
    )
    if owner is None:
        raise NotFound("backtest not found")
    row: BacktestRow = await runtime.backtests.get(session, owner, backtest_id)
    return row


def state_of(status: str) -> str:
    """The document's state: a job waiting for a worker is ``loading_script``."""
    return jobs.LOADING_SCRIPT if status == jobs.QUEUED else status


async def _completed(
    session: SessionDep, runtime: RuntimeDep, partner_id: str, backtest_id: str
) -> BacktestRow:
    row = await _job(session, runtime, partner_id, backtest_id)
    if row.status != jobs.COMPLETED or row.summary is None:
        raise Conflict(
            f"the backtest is {state_of(row.status)}: this is available once it has completed"
        )
    return row


def end_unix(row: BacktestRow) -> int:
    """The ``endUnix`` asked here (the job's end is it less 1 ms), or for a job asked natively
    (its end is the last bar's open) the end of its last bar."""
    end_ms = to_ms(row.end_at)
    if (end_ms + 1) % 1000 == 0:
        return (end_ms + 1) // 1000
    bar = Timeframe(row.timeframe).ms
    return (end_ms // bar + 1) * bar // 1000


def _seconds(value: datetime | None) -> int:
    return to_ms(value) // 1000 if value is not None else 0  # (naive: UTC)


def market_name(instrument: Instrument) -> str:
    """The results' ``market``: ``PAPER:BTC-USDT``, ``PAPER:BTC-USDT-PERPETUAL``."""
    contract = haas_symbol(instrument).split("_", 3)[3]
    return f"{PAPER_ID}:{instrument.base}-{instrument.quote}" + (f"-{contract}" if contract else "")


def log_line(line: dict[str, Any]) -> str:
    return f"{line['ts_ms'] // 1000} ||| {LEVELS.get(line['severity'], 0)} ||| {line['message']}"


@router.get("/bots/backtest/{backtestId}/status", summary="A backtest's state and progress")
async def backtest_status(
    backtest_id: BacktestId, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await _job(session, runtime, principal.user_id, backtest_id)
    return ok({
        "backtestId": row.id, "state": state_of(row.status), "progress": int(row.progress),
        "message": row.message, "serviceId": SERVICE_ID,
    })  # fmt: skip


@router.get("/bots/backtest/{backtestId}/results", summary="A completed backtest's results")
async def backtest_results(
    backtest_id: BacktestId, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await _completed(session, runtime, principal.user_id, backtest_id)
    stored = row.summary or {}
    return ok({
        "backtestId": row.id,
        "startUnix": to_ms(row.start_at) // 1000,
        "endUnix": end_unix(row),
        "executionStart": _seconds(row.started_at),
        "executionEnd": _seconds(row.finished_at),
        "market": market_name(paper_instruments()[row.symbol]),
        "summary": stored["summary"],
        "performance": stored["performance"],
        "orders": stored["orders"],
        "positions": stored["positions"],
        "logs": [log_line(x) for x in (row.logs or [])[:LOG_PREVIEW]],
    })  # fmt: skip


@router.get("/bots/backtest/{backtestId}/logs", summary="A completed backtest's whole log")
async def backtest_logs(
    backtest_id: BacktestId, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await _completed(session, runtime, principal.user_id, backtest_id)
    return ok([
        {"lineNumber": x["line"], "timestamp": x["ts_ms"] // 1000, "severity": x["severity"],
         "color": x["color"], "message": x["message"]}
        for x in row.logs or []
    ])  # fmt: skip


@router.post("/bots/backtest/{backtestId}/cancel", summary="Stop a queued or running backtest")
async def cancel_backtest(
    backtest_id: BacktestId, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """``data`` is true once the backtest is cancelled (again true for one cancelled before),
    false when it had already completed or failed: nothing was left to cancel."""
    row = await _job(session, runtime, principal.user_id, backtest_id)
    row = await runtime.backtests.cancel(session, row.user_id, row.id)
    answer = ok(row.status == jobs.CANCELLED)
    if row.status != jobs.CANCELLED:
        answer["message"] = f"the backtest had already {row.status}: nothing to cancel"
    return answer


# ---- positions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prices:
    """The run's candles and the intrabar path it ticked along (mid prices)."""

    candles: Candles
    feed: ReplayFeed
    bar_ms: int
    top: np.ndarray[Any, Any]
    bottom: np.ndarray[Any, Any]

    @classmethod
    def of(cls, row: BacktestRow, data_dir: Path) -> _Prices | None:
        timeframe = Timeframe(row.timeframe)
        try:
            candles = bundled_store(data_dir).read(
                VENUE, row.symbol, timeframe, to_ms(row.start_at), to_ms(row.end_at) + 1
            )
        except SeriesNotFound:
            return None
        if not len(candles):
            return None
        feed = ReplayFeed(
            candles, symbol=row.symbol, speed=1.0, loop=False, start_at_ms=int(candles.ts[0]),
            timeframe=timeframe,
        )  # fmt: skip
        ohlc = (candles.open, candles.high, candles.low, candles.close)
        return cls(candles, feed, timeframe.ms, np.maximum.reduce(ohlc), np.minimum.reduce(ohlc))

    def extremes(self, entry_ms: int, exit_ms: int) -> tuple[float, float]:
        """The highest and lowest price of the path from ``entry_ms`` to ``exit_ms``: the
        whole bars in between by their extremes, the cut ones along their path."""
        ts = self.candles.ts
        a = int(np.searchsorted(ts, entry_ms, "left"))
        b = int(np.searchsorted(ts, exit_ms - self.bar_ms, "right"))
        if a < b:
            ends = self.feed.price_path(entry_ms, int(ts[a])) + self.feed.price_path(
                int(ts[b - 1]) + self.bar_ms, exit_ms
            )
            prices = [p for _, p in ends]
            return (
                max(float(self.top[a:b].max()), *prices),
                min(float(self.bottom[a:b].min()), *prices),
            )
        prices = [p for _, p in self.feed.price_path(entry_ms, exit_ms)]
        return max(prices), min(prices)


def _leverage(row: BacktestRow, instrument: Instrument) -> Decimal:
    if not instrument.is_derivative:
        return Decimal(1)
    given = (row.request.get("settings") or {}).get("leverage")
    return Decimal(str(given)) if given is not None else DEFAULT_LEVERAGE


def _record(
    position_id: str, leg: str, *, side: int, ms: int, price: Decimal, amount: Decimal,
    fee: Decimal, currency: str, margin: Decimal, profit: Decimal, roi: Decimal,
) -> dict[str, Any]:  # fmt: skip
    return {
        "paid": position_id, "pa": 0, "id": f"{position_id}-{leg}", "eid": "", "ot": ms // 1000,
        "ct": ms // 1000, "to": 0, "d": side, "t": 0, "p": num(price), "tp": 0, "ep": num(price),
        "a": num(amount), "af": num(amount), "fe": num(fee), "fc": currency, "m": num(margin),
        "pr": num(profit), "r": num(roi), "cr": 0, "n": leg,
    }  # fmt: skip


def position_view(
    row: BacktestRow, n: int, p: dict[str, Any], instrument: Instrument, prices: _Prices | None
) -> dict[str, Any]:
    """One stored closed position in the document's short keys (the module docstring)."""
    position_id = f"{row.id}-{n}"
    long = p["side"] == "buy"
    amount, entry, exit_price = (
        Decimal(p["amount"]),
        Decimal(p["entryPrice"]),
        Decimal(p["exitPrice"]),
    )
    profit, fees, margin = Decimal(p["profit"]), Decimal(p["fees"]), Decimal(p["margin"])
    entry_value = entry * amount * instrument.contract_size
    exit_value = exit_price * amount * instrument.contract_size
    if margin > 0:
        leverage = entry_value / margin if instrument.is_derivative else Decimal(1)
    else:
        leverage = _leverage(row, instrument)
        margin = entry_value / leverage
    both = entry_value + exit_value
    entry_fee = fees * entry_value / both if both else Decimal(0)
    roi = profit / margin * HUNDRED if margin else Decimal(0)
    high, low = prices.extremes(p["entryMs"], p["exitMs"]) if prices is not None else (0.0, 0.0)
    places = instrument.price_decimals
    quote = str(instrument.quote)
    enter, leave = (0, 1) if long else (1, 0)
    return {
        "pg": position_id, "g": row.id, "ac": "", "ma": haas_symbol(instrument),
        "le": num(round(leverage, 4)), "d": 0 if long else 1, "mt": 0, "pl": quote,
        "al": instrument.base if not instrument.is_derivative else "contracts",
        "pd": instrument.price_decimals, "ad": instrument.amount_decimals,
        "ot": p["entryMs"] // 1000, "ct": p["exitMs"] // 1000, "ic": True, "ap": num(entry),
        "t": num(amount), "av": 0, "io": 0,
        "eno": [_record(
            position_id, "entry", side=enter, ms=p["entryMs"], price=entry, amount=amount,
            fee=entry_fee, currency=quote, margin=margin, profit=Decimal(0), roi=Decimal(0),
        )],
        "exo": [_record(
            position_id, "exit", side=leave, ms=p["exitMs"], price=exit_price, amount=amount,
            fee=fees - entry_fee, currency=quote, margin=Decimal(0), profit=profit, roi=roi,
        )],
        "cp": num(exit_price), "fe": num(fees), "rp": num(profit), "up": 0,
        "roi": num(roi), "hpip": round(high, places), "lpip": round(low, places),
    }  # fmt: skip


def position_views(row: BacktestRow, data_dir: Path) -> list[dict[str, Any]]:
    stored: Sequence[dict[str, Any]] = row.positions or []
    instrument = paper_instruments()[row.symbol]
    prices = _Prices.of(row, data_dir) if stored else None
    return [position_view(row, n, p, instrument, prices) for n, p in enumerate(stored, 1)]


@router.get(
    "/bots/backtest/{backtestId}/positions",
    summary="A completed backtest's closed positions, with their entry and exit",
)
async def backtest_positions(
    backtest_id: BacktestId, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await _completed(session, runtime, principal.user_id, backtest_id)
    return ok(await asyncio.to_thread(position_views, row, runtime.settings.data_dir))
