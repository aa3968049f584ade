"""Bars a backtest runs through the compiled re-arm program (``venues/matching/compiled.py``)
instead of the venue's ticks: while a bot's open orders are a grid of flip re-arms and the
bot only records their fills (``Strategy.records_program_fills``), the loop walks the bars'
price paths and finds each fill; the matching engine commits them (``commit_ladder``), the
bot takes them in one batch (``BotEngine.take_program_fills``), and the equity of each bar is
computed from the balances after its fills. The loop stops before a bar where the bot may
act (its wake levels or time, a signal) or a re-armed buy could not be paid for; the engine
walks that bar tick by tick, as everywhere else.

What comes out is what walking every bar gives (``run_backtest(..., jump=False)``), fill for
fill, order for order, log line for log line (``tests/backtest/test_compiled.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from tradewind.domain.clock import from_ms
from tradewind.domain.orders import Fill
from tradewind.venues.matching import compiled
from tradewind.venues.matching.engine import snapshot
from tradewind.venues.paper.ledger.core import spot_flows

if TYPE_CHECKING:
    from tradewind.backtest.runner import _Run

CHUNK = 1 << 20
"""Bars per call of the loop at most (the run checks for cancel and reports progress between:
some 20 ms of the loop; ``ROWS`` bounds the Python work a call brings)."""
ROWS = 1 << 12
"""Fills per call at most (committing one and giving it to the bot takes about 70 µs)."""
NEVER = 1 << 62


async def ladder_bars(run: _Run, i: int) -> int | None:
    """Run bars from ``i`` compiled when the bot and its orders allow it (module docstring);
    returns the first bar not run (the engine walks it next), None when it does not apply."""
    if run.ladders_off or run.tick_scale is None:
        return None
    spec, venue, engine, symbol = run.spec, run.venue, run.engine, run.spec.symbol
    if not _eligible(run):
        return None
    if i > spec.start:  # start from the end of the bar before (a tick walking every bar makes)
        end = int(run.ts[i - 1]) + run.bar_ms
        reached = venue.walked_to(symbol)
        if reached is None or reached < end:
            await run._tick(end)
            if not _eligible(run):
                return None
    matching = venue.engine
    quote = matching.last_quote(symbol)
    if quote is None or quote.ts_ms != venue.walked_to(symbol):
        return None
    instrument = run.instrument
    tick = instrument.tick_size
    price = compiled.whole_ticks(quote.last, tick)
    if price is None:
        return None
    ladder = compiled.Ladder.of(matching.open_orders(run.account), instrument, price)
    if ladder is None:
        return None
    runner = engine.runner(run.bot_id)
    assert runner is not None
    wake = runner.wake
    due = NEVER if wake.at_ms is None else wake.at_ms
    if run.next_signal < len(run.signals):
        due = min(due, run.signals[run.next_signal].ts_ms)
    candles = spec.candles
    free_quote = venue.ledger.balances(run.account).get(instrument.quote)
    walked = compiled.walk(
        (run.ts, candles.open, candles.high, candles.low, candles.close), run.tick_scale,
        i, min(len(run.ts), i + CHUNK), run.bar_ms, price, ladder,
        below=-np.inf if wake.below is None else float(wake.below / tick),
        above=np.inf if wake.above is None else float(wake.above / tick),
        due_ms=due, margin=float(run.margin_exact / tick),
        free_quote=0.0 if free_quote is None else float(free_quote.free),
        cost_unit=float(tick), maker=float(instrument.maker_fee),
        taker=float(instrument.taker_fee), capacity=ROWS,
    )  # fmt: skip
    if walked.reason == compiled.PRICE:
        run.ladders_off = True  # prices off the tick grid: the engine reads them otherwise
    end = walked.end
    if walked.reason in (compiled.WAKE, compiled.FUNDS):
        run.walk_next = end  # the bot may act there, or the engine refuse: its turn
    if end == i:
        return i
    const, exposure = run._equity_model()
    holdings = run._holdings()
    rows = walked.rows
    done = matching.commit_ladder(
        ladder.orders,
        list(zip(rows[:, compiled.F_TS].tolist(), rows[:, compiled.F_PAIR].tolist(), strict=True)),
    )
    # where the walk left the price: the next bar's open after a contiguous bar, else the close
    if end < len(run.ts) and int(run.ts[end]) == int(run.ts[end - 1]) + run.bar_ms:
        at, last = int(run.ts[end]), Decimal(repr(float(candles.open[end])))
    else:
        at, last = int(run.ts[end - 1]) + run.bar_ms, Decimal(repr(float(run.close[end - 1])))
    assert last == walked.price * tick
    run.clock.set(from_ms(at))
    venue.moved_to(symbol, at, last)
    handled = rows[:, compiled.F_AT].tolist()
    for (order, fill), at_ms in zip(done, handled, strict=True):
        run.orders[order.id] = order
        run.closed_ms[order.id] = at_ms
        run.fills.append(fill)
    for order in matching.open_orders(run.account):
        if order.id not in run.orders:
            run.orders[order.id] = snapshot(order)
    await engine.take_program_fills(
        run.bot_id,
        [
            (fill, order.client_order_id or "", at_ms)
            for (order, fill), at_ms in zip(done, handled, strict=True)
        ],
    )
    _equity(run, i, end, rows[:, compiled.F_BAR], [f for _, f in done], (const, exposure),
            holdings)  # fmt: skip
    run.compiled_bars += end - i
    return int(end)


def _eligible(run: _Run) -> bool:
    runner = run.engine.runner(run.bot_id)
    if runner is None or runner.queue or not run._active():
        return False
    strategy = runner.strategy
    if not strategy.records_program_fills or strategy.timeframe is not None:
        return False
    wake = runner.wake
    if wake.every_bar or wake.indicator is not None:
        return False
    matching = run.venue.engine
    count = matching.open_count(run.account)
    if count == 0 or matching.resting_count(run.spec.symbol) != count:
        return False
    return not run.venue.ledger.positions(run.account)


def _equity(
    run: _Run, a: int, b: int, bars: compiled.Int64s, fills: list[Fill],
    model: tuple[float, float], holdings: tuple[Decimal, Decimal],
) -> None:  # fmt: skip
    """Bars ``[a, b)``'s equity with the holdings after the fills of each bar: ``model``
    (``_Run._equity_model``) before the first fill, then what the ledger holds after each
    (``holdings``, the base and quote before, moved as ``spot_flows`` says the ledger moves
    them), read as ``_Run._equity_model`` reads them."""
    base, quote = holdings
    models = [model]  # [k]: after the first k fills
    for fill, (got, paid) in zip(fills, spot_flows(run.instrument, fills), strict=True):
        base, quote = base + got, quote - paid - fill.fee
        models.append((float(quote), float(base)))
    # piece by piece: the holdings change only at the bars with fills
    start, held = a, 0  # bars from ``start`` on hold what the first ``held`` fills left
    for k, bar in enumerate(bars.tolist(), 1):
        if bar > start:
            run._mark(start, bar, *models[held])
            start = bar
        held = k
    run._mark(start, b, *models[held])
