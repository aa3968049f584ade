"""Parameter sweeps: one bot over every combination of some of its settings, ranked.

A sweep is a backtest request plus ``parameters``, a settings key and the values to try for
it; each combination of values (their cartesian product, in the order given), applied over
the request's settings, is one backtest. ``check_sweep`` checks them all before anything runs
(the jobs, the CLI and the bench go through it, as backtests go through ``request.check``):

- a key that is not a setting of the bot, an empty list, a value its setting refuses on its
  own (type, bounds, choices) or a value listed twice is refused at once, naming
  ``parameters.<key>`` and the value; so are more combinations than the maximum;
- every combination is then checked with ``request.check``. A combination refused only for
  its settings together (a lower limit above the upper one, a grid too fine for the
  investment or the tick) is *skipped*: it is reported, with the reason, at the end of the
  table, and the others run. Sweeping two overlapping ranges is the natural way to ask, and
  refusing it would make the caller work out the valid pairs. When no combination is left
  the sweep is refused with the first one's reason; a problem outside the settings (the
  period, the timeframe, the fees, ...) is the same for every combination and is refused.

``load_sweep`` reads the candles once (with the longest history any combination needs);
``run_sweep`` hands them to each of its worker processes once, at the worker's start, and
runs the combinations on them, each exactly as ``run_backtest(prepare(...))`` would run it
alone. A combination that raises is recorded as failed with its reason; the others go on.
``rank`` orders the outcomes into the table.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import json
import math
import multiprocessing
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from tradewind.backtest.request import BacktestRequest, Checked, check, load
from tradewind.backtest.runner import BacktestResult, BacktestSpec, run_backtest
from tradewind.domain.errors import DomainError, ValidationFailed
from tradewind.marketdata.store import CandleStore
from tradewind.strategies.registry import get_script
from tradewind.strategies.schema import SettingsModel

DEFAULT_MAX_COMBINATIONS = 10_000
"""A sweep runs at most this many combinations, by default."""
_METRICS = {
    "realizedProfit": "summary", "roi": "summary", "profitFactor": "performance",
    "sharpeRatio": "performance", "sortinoRatio": "performance",
    "maxDrawdownPercent": "performance", "winPercentage": "performance",
}  # fmt: skip
RANK_BY = tuple(_METRICS)
"""The HaasOnline metrics a sweep can be ranked by; for each, higher is better (a drawdown is
negative: -2 % is better than -10 %)."""
DEFAULT_RANK_BY = "roi"
COMPLETED, FAILED, SKIPPED = "completed", "failed", "skipped"


@dataclass(frozen=True, slots=True)
class SweepRequest:
    """``parameters``: a settings key (camelCase or snake_case) and the values to try, applied
    over ``backtest.settings``. ``rank_by``: one of ``RANK_BY``."""

    backtest: BacktestRequest
    parameters: Mapping[str, Sequence[Any]]
    rank_by: str = DEFAULT_RANK_BY


@dataclass(frozen=True, slots=True)
class Combination:
    """One backtest of the sweep. ``index``: its place in the cartesian product; ``values``:
    the swept settings' values (camelCase keys); ``first_ms``: its first bar of history."""

    index: int
    values: Mapping[str, Any]
    settings: Mapping[str, Any]
    first_ms: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """A combination's row of the table: its metrics, or why it failed or was skipped."""

    combination: Combination
    status: str
    reason: str | None = None
    metrics: Mapping[str, float | None] | None = None
    closed_positions: int | None = None
    fills: int | None = None
    bot_status: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedSweep:
    """A sweep that passed ``check_sweep``: what ``load_sweep`` and ``run_sweep`` need."""

    request: SweepRequest
    checked: Checked
    """The first runnable combination's (the instrument, period and money are the same for all)."""
    runnable: tuple[Combination, ...]
    skipped: tuple[Outcome, ...]
    total: int


def _bad(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": name, "message": message}])


def check_sweep(
    request: SweepRequest, store: CandleStore, *, max_span_days: int, max_combinations: int
) -> CheckedSweep:
    """Every rule of the module docstring: ``ValidationFailed`` naming the field."""
    if request.rank_by not in _METRICS:
        raise _bad("rank_by", f"rank by one of {', '.join(RANK_BY)}")
    base = request.backtest
    try:
        settings_model = get_script(base.script).settings_model
    except DomainError:
        check(base, store, max_span_days=max_span_days)  # refuses the script, naming it
        raise
    parameters, swept = _checked_parameters(
        request.parameters, _settings_of(settings_model), max_combinations
    )
    settings = {k: v for k, v in base.settings.items() if k not in swept}
    runnable: list[Combination] = []
    skipped: list[Outcome] = []
    first: Checked | None = None
    refused: ValidationFailed | None = None
    keys = list(parameters)
    for index, values in enumerate(itertools.product(*parameters.values())):
        chosen = dict(zip(keys, values, strict=True))
        combination = Combination(index, chosen, settings | chosen)
        try:
            checked = check(
                dataclasses.replace(base, settings=combination.settings), store,
                max_span_days=max_span_days,
            )  # fmt: skip
        except ValidationFailed as e:
            if not _about_settings(e):
                raise  # not the settings': the same for every combination
            skipped.append(Outcome(combination, SKIPPED, reason=_reason(e)))
            refused = refused or e
            continue
        first = first or checked
        first_ms = base.start_ms - checked.history * checked.timeframe.ms
        runnable.append(dataclasses.replace(combination, first_ms=first_ms))
    if first is None:
        assert refused is not None
        message = f"none of the {len(skipped)} combinations is valid; the first: {refused.message}"
        raise ValidationFailed(
            message, details=[{"field": "parameters", "message": message}, *refused.details]
        )
    total = len(runnable) + len(skipped)
    return CheckedSweep(request, first, tuple(runnable), tuple(skipped), total)


@dataclass(frozen=True, slots=True)
class _Setting:
    wire: str
    """Its camelCase key."""
    names: frozenset[str]
    """Every key it may be given as (camelCase and snake_case)."""
    own: TypeAdapter[Any]
    """Its own rules: its type and bounds, not those relating it to other settings."""


@functools.cache
def _settings_of(model: type[SettingsModel]) -> dict[str, _Setting]:
    found: dict[str, _Setting] = {}
    for name, info in model.model_fields.items():
        wire = info.alias or name
        hint: Any = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        own: TypeAdapter[Any] = TypeAdapter(hint)
        found[wire] = found[name] = _Setting(wire, frozenset({wire, name}), own)
    return found


def _checked_parameters(
    parameters: Mapping[str, Sequence[Any]], settings: Mapping[str, _Setting],
    max_combinations: int,
) -> tuple[dict[str, list[Any]], set[str]]:  # fmt: skip
    """The parameters under their camelCase keys, each value checked on its own; and every
    key the swept settings go by (their values in the base settings are replaced)."""
    if not parameters:
        raise _bad("parameters", "name at least one setting and the values to try")
    swept: dict[str, _Setting] = {}
    for key, values in parameters.items():
        name = f"parameters.{key}"
        setting = settings.get(key)
        if setting is None:
            raise _bad(name, f"{key} is not a setting of this bot")
        if setting.wire == "symbol":
            raise _bad(name, "a sweep runs on one market: set the symbol in settings")
        if any(s.wire == setting.wire for s in swept.values()):
            raise _bad(name, f"{setting.wire} is named twice")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise _bad(name, "a list of at least one value to try")
        swept[key] = setting
    total = math.prod(len(values) for values in parameters.values())
    if total > max_combinations:
        raise _bad(
            "parameters", f"{total:,} combinations; a sweep runs at most {max_combinations:,}"
        )
    for key, values in parameters.items():
        seen: set[Any] = set()
        for value in values:
            shown = json.dumps(value, default=str)
            own = swept[key].own
            try:
                parsed = own.validate_python(value)
            except ValidationError as e:
                problem = e.errors(include_url=False)[0]["msg"]
                raise _bad(f"parameters.{key}", f"{key} = {shown}: {problem}") from None
            same = parsed if isinstance(parsed, Hashable) else own.dump_json(parsed)
            if same in seen:
                raise _bad(f"parameters.{key}", f"{key} = {shown} is listed twice")
            seen.add(same)
    names = {n for s in swept.values() for n in s.names}
    return {swept[k].wire: list(v) for k, v in parameters.items()}, names


def _about_settings(error: ValidationFailed) -> bool:
    details = error.details or []
    return bool(details) and all(str(d.get("field", "")).startswith("settings.") for d in details)


def _reason(error: ValidationFailed) -> str:
    return "; ".join(f"{d['field']}: {d['message']}" for d in error.details or ())


def load_sweep(sweep: CheckedSweep, store: CandleStore) -> BacktestSpec:
    """The first combination's run, its candles read once with the longest history any
    combination needs; ``spec_for`` makes each combination's run from it."""
    request = sweep.request.backtest
    first = min(c.first_ms for c in sweep.runnable)
    history = (request.start_ms - first) // sweep.checked.timeframe.ms
    return load(dataclasses.replace(sweep.checked, history=history), store)


def spec_for(base: BacktestSpec, combination: Combination) -> BacktestSpec:
    """The combination's run: its settings, on the candles ``load`` would read for it alone."""
    candles = base.candles.between(combination.first_ms)
    return dataclasses.replace(
        base, settings=dict(combination.settings), candles=candles,
        start=base.start - (len(base.candles) - len(candles)),
    )  # fmt: skip


def default_workers() -> int:
    """The cores this process may run on."""
    sched_getaffinity = getattr(os, "sched_getaffinity", None)
    cores = len(sched_getaffinity(0)) if sched_getaffinity is not None else os.cpu_count()
    return max(1, cores or 1)


_START = "fork" if sys.platform == "linux" else "spawn"
Progress = Callable[[int, int, int], None]
"""Told (combinations done, combinations in all, of the done those that failed)."""


def run_sweep(
    base: BacktestSpec, combinations: Sequence[Combination], *, workers: int,
    progress: Progress | None = None, started: Callable[[list[int]], None] | None = None,
) -> list[Outcome]:  # fmt: skip
    """Run the combinations on ``workers`` processes, each given ``base`` (the candles) once;
    their outcomes in the combinations' order. On Linux the workers are forked from this
    process, sharing its candles and imports; elsewhere (where forking a process that has
    loaded system frameworks is unsafe) they start afresh (``spawn``) and are sent them.
    ``started`` is told the workers' process ids once they all run. A worker that dies breaks
    the sweep (``BrokenProcessPool``)."""
    total = len(combinations)
    outcomes: dict[int, Outcome] = {}
    failed = 0
    if progress is not None:
        progress(0, total, 0)
    with ProcessPoolExecutor(
        max_workers=max(1, min(workers, total)), mp_context=multiprocessing.get_context(_START),
        initializer=_start_worker, initargs=(base,),
    ) as pool:  # fmt: skip
        pending: set[Future[Outcome]] = {pool.submit(_run_one, c) for c in combinations}
        if started is not None:
            # (the executor starts every worker as the work is submitted; it has no public
            # way to name them)
            started(sorted(getattr(pool, "_processes", None) or {}))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                outcomes[outcome.combination.index] = outcome
                failed += outcome.status == FAILED
            if progress is not None:
                progress(len(outcomes), total, failed)
    return [outcomes[c.index] for c in combinations]


# Each worker's copy of the candles and its event loop, set once by its initializer (a worker
# process runs one sweep, so its module state is that sweep's).
_worker: dict[str, Any] = {}


def _start_worker(base: BacktestSpec) -> None:
    _worker["base"] = base
    _worker["loop"] = asyncio.new_event_loop()


def _run_one(combination: Combination) -> Outcome:
    try:
        spec = spec_for(_worker["base"], combination)
        result = _worker["loop"].run_until_complete(run_backtest(spec))
    except DomainError as e:
        return Outcome(combination, FAILED, reason=e.message)
    except Exception as e:  # the reason goes to the table; the others go on
        return Outcome(combination, FAILED, reason=f"{type(e).__name__}: {e}")
    return outcome_of(combination, result)


def outcome_of(combination: Combination, result: BacktestResult) -> Outcome:
    """A completed run's row: the ``RANK_BY`` metrics (a value that is not finite as null),
    closed positions, fills and the bot's status at the end."""
    haas = result.metrics.to_haas()
    metrics = {}
    for key, group in _METRICS.items():
        value = haas[group][key]
        number = None if value is None else float(value)
        metrics[key] = number if number is not None and math.isfinite(number) else None
    return Outcome(
        combination, COMPLETED, metrics=metrics,
        closed_positions=int(haas["positions"]["closedPositions"] or 0),
        fills=len(result.fills), bot_status=result.bot_status,
    )  # fmt: skip


def rank(outcomes: Iterable[Outcome], rank_by: str) -> list[dict[str, Any]]:
    """The table, best first: the completed combinations by ``rank_by``, higher first, a null
    (a ratio that is undefined: a profit factor without a losing position, a Sharpe ratio of
    fewer than two days) after every number, ties in the combinations' order; then the failed
    and then the skipped combinations, in their order. Each row as stored and served."""
    done: list[Outcome] = []
    failed: list[Outcome] = []
    skipped: list[Outcome] = []
    for outcome in outcomes:
        {COMPLETED: done, FAILED: failed, SKIPPED: skipped}[outcome.status].append(outcome)

    def key(outcome: Outcome) -> tuple[bool, float, int]:
        value = (outcome.metrics or {}).get(rank_by)
        return (value is None, -(value or 0.0), outcome.combination.index)

    done.sort(key=key)
    failed.sort(key=lambda o: o.combination.index)
    skipped.sort(key=lambda o: o.combination.index)
    return [
        {
            "rank": place if outcome.status == COMPLETED else None,
            "combination": outcome.combination.index, "parameters": dict(outcome.combination.values),
            "status": outcome.status, "reason": outcome.reason,
            "metrics": None if outcome.metrics is None else dict(outcome.metrics),
            "closedPositions": outcome.closed_positions, "fills": outcome.fills,
            "botStatus": outcome.bot_status,
        }
        for place, outcome in enumerate(itertools.chain(done, failed, skipped), start=1)
    ]  # fmt: skip
