"""A backtest as asked for (bot, settings, instrument, timeframe, period, money) and its
checks, made before anything runs: the CLI, the jobs and every API go through ``prepare``,
so a bad request gets the same clear error everywhere, naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradewind.backtest.runner import BacktestSpec, TimedSignal
from tradewind.domain.clock import from_ms
from tradewind.domain.errors import ValidationFailed
from tradewind.engine.bots import HISTORY_BARS
from tradewind.marketdata import Timeframe
from tradewind.marketdata.store import CandleStore, SeriesNotFound
from tradewind.strategies.registry import get_script
from tradewind.strategies.schema import InvalidSettings
from tradewind.venues.paper.catalog import paper_instruments

VENUE = "paper"
DEFAULT_MAX_SPAN_DAYS = 3660
"""At most ten years in one run, by default (``TRADEWIND_BACKTEST_MAX_SPAN_DAYS``)."""
DEFAULT_BALANCE = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """``start_ms``/``end_ms``: the first and last bar's open time (UTC epoch ms). Without
    ``balances`` the account starts with 10,000 of the instrument's quote currency."""

    script: str
    settings: Mapping[str, Any]
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    balances: Mapping[str, Decimal] | None = None
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    signals: Sequence[TimedSignal] = field(default_factory=tuple)


def _bad(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": name, "message": message}])


def _day(ms: int) -> str:
    return from_ms(ms).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class Checked:
    """A request that passed ``check``: what ``load`` needs to build the run."""

    request: BacktestRequest
    script: str
    symbol: str
    timeframe: Timeframe
    balances: dict[str, Decimal]
    history: int
    """Bars before the first one a strategy on bars is shown at its start."""


def check(
    request: BacktestRequest, store: CandleStore, *, max_span_days: int = DEFAULT_MAX_SPAN_DAYS
) -> Checked:
    """Every rule a request must meet, without loading its candles (a job is refused at once,
    not after it queued): ``ValidationFailed`` naming the field."""
    try:
        script = get_script(request.script)
    except Exception as e:
        raise _bad("script", str(e)) from None
    try:
        parsed = script.parse(dict(request.settings))
        symbol = getattr(parsed, "symbol", None) or request.symbol
        if request.symbol and symbol != request.symbol:
            raise _bad("symbol", f"the settings trade {symbol}, not {request.symbol}")
        instrument = paper_instruments().get(symbol)
        if instrument is None:
            raise _bad("symbol", f"unknown symbol {symbol}")
        parsed.validate_for(instrument)  # its rules too (market kind, minimum), as for a bot
    except InvalidSettings as e:
        raise ValidationFailed(
            f"invalid settings: {e.message}",
            details=[
                {"field": f"settings.{d['field']}", "message": d["message"]} for d in e.details
            ],
        ) from None
    try:
        timeframe = Timeframe(request.timeframe)
    except ValueError:
        known = ", ".join(str(t) for t in Timeframe)
        raise _bad(
            "timeframe", f"unknown timeframe {request.timeframe!r}; known: {known}"
        ) from None
    if request.end_ms <= request.start_ms:
        raise _bad("end", "the end must be after the start")
    if request.end_ms - request.start_ms > max_span_days * 86_400_000:
        raise _bad("end", f"a backtest spans at most {max_span_days} days")
    for name, fee in (("makerFee", request.maker_fee), ("takerFee", request.taker_fee)):
        if fee is not None and not Decimal(0) <= fee < Decimal("0.1"):
            raise _bad(name, "a fee is a fraction from 0 to 0.1 (0.001 is 0.1 %)")
    balances = dict(request.balances or {instrument.quote: DEFAULT_BALANCE})
    if any(v < 0 for v in balances.values()):
        raise _bad("balances", "starting balances must not be negative")
    if sum(balances.values(), Decimal(0)) <= 0:
        raise _bad("balances", "the account needs a starting balance")
    found = stored_range(store, symbol, timeframe)
    if found is None:
        raise _bad("timeframe", coverage(store, symbol, timeframe))
    lo, hi = found
    if request.start_ms < lo or request.end_ms > hi + timeframe.ms:
        raise _bad("start" if request.start_ms < lo else "end", coverage(store, symbol, timeframe))
    history = HISTORY_BARS if script.build(parsed).timeframe is not None else 0
    return Checked(request, script.id, symbol, timeframe, balances, history)


def stored_range(store: CandleStore, symbol: str, timeframe: Timeframe) -> tuple[int, int] | None:
    """The first and last bar stored for the timeframe, or for one it is resampled from."""
    stored = store.timeframes(VENUE, symbol)
    sources = [tf for tf in stored if tf == timeframe] or [
        tf for tf in stored if tf.ms < timeframe.ms and timeframe.ms % tf.ms == 0
    ]
    infos = [i for tf in sources if (i := store.info(VENUE, symbol, tf)) is not None]
    if not infos:
        return None
    return min(i.first_ts for i in infos), max(i.last_ts for i in infos)


def coverage(store: CandleStore, symbol: str, timeframe: Timeframe) -> str:
    """What is stored for the symbol and timeframe, for a refusal's message."""
    found = stored_range(store, symbol, timeframe)
    if found is None:
        where = ", ".join(str(t) for t in store.timeframes(VENUE, symbol)) or "none"
        return f"no {timeframe} candles for {symbol} (stored: {where})"
    return f"candles for {symbol} {timeframe} cover {_day(found[0])} to {_day(found[1])} UTC"


def load(checked: Checked, store: CandleStore) -> BacktestSpec:
    """The run for a checked request: its candles, with the history before the first bar."""
    request, timeframe = checked.request, checked.timeframe
    first = request.start_ms - checked.history * timeframe.ms
    try:
        candles = store.read(VENUE, checked.symbol, timeframe, first, request.end_ms + 1)
    except SeriesNotFound as e:
        raise _bad("timeframe", e.message) from None
    start = int((candles.ts < request.start_ms).sum())
    if start >= len(candles):
        raise _bad("start", "no bar opens in the period")
    return BacktestSpec(
        script=checked.script, settings=dict(request.settings), symbol=checked.symbol,
        timeframe=timeframe, candles=candles, balances=checked.balances, start=start,
        maker_fee=request.maker_fee, taker_fee=request.taker_fee, signals=tuple(request.signals),
    )  # fmt: skip


def prepare(
    request: BacktestRequest, store: CandleStore, *, max_span_days: int = DEFAULT_MAX_SPAN_DAYS
) -> BacktestSpec:
    """``check`` then ``load``."""
    return load(check(request, store, max_span_days=max_span_days), store)
