"""The re-arm program compiled, for the backtester: a ladder of flip re-arm limit orders (a
grid) walked along the bars' price paths in a numba loop, between the strategy's decisions.

The design (docs/architecture.md) has strategies declare mechanical reactions as order
programs that the matching engine runs itself; live, the engine runs them in Python
(``programs.rearm_order``); a backtest runs the same rules here, compiled. This module finds
*which* orders fill, *when* and at *what price*; the engine then commits those fills to its
orders and the account (``MatchingEngine.commit_ladder``). The two paths are checked
against each other fill for fill (``tests/backtest/test_compiled.py``).

What it runs, exactly as ``MatchingEngine.on_prices`` would (docs/paper-trading.md):

- The orders are pairs ``(low, high, amount)``, sorted, not overlapping: pairs ``[0, k)`` rest
  a BUY at ``low``, pairs ``[k, n)`` a SELL at ``high``. A buy fills, at its own price as
  maker, when the ask (last + half spread) reaches it; its pair then rests a SELL at ``high``
  (the re-arm, with flip), and the other way round. ``Ladder.of`` builds the pairs from the
  open orders and says None for anything else (a stop, a bracket, an order without a
  re-arm, overlapping pairs), which the Python engine handles.
- Each bar is the path open, low, high, close (high before low for a down bar: the replay's
  OHLC path rule, ``marketdata.feeds``) at 0, 1/3, 2/3 and 1 of the bar; a gap to the next bar's open is a segment at the next open's time. Along a
  falling segment the buys fill highest first, along a rising one the sells lowest first,
  each at the time the segment reaches it (interpolated, truncated to the millisecond).
- The loop stops *before* a bar in which the strategy may have to act (its wake levels or
  time, a signal), or in which a re-armed buy could not be paid for (the engine would
  refuse it): the Python engine walks that bar. Prices are whole ticks (int64); the funds
  check is in floats with a margin, so it only ever stops early, never late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Order, OrderStatus, OrderType, Side

Int64s = np.ndarray[Any, np.dtype[np.int64]]
Floats = np.ndarray[Any, np.dtype[np.float64]]

# why the loop stopped
DONE, WAKE, ROOM, FUNDS, PRICE = 0, 1, 2, 3, 4
# the columns of one fill row
F_TS, F_PAIR, F_SIDE, F_BAR, F_AT = range(5)
F_COLS = 5


@dataclass(slots=True)
class Ladder:
    """Flip re-arm orders as pairs (see the module docstring), and the open order of each."""

    lows: Int64s
    highs: Int64s
    sizes: Floats
    """Each pair's amount, as a float (for the funds check only)."""
    orders: list[Order]
    k: int
    """Pairs below ``k`` rest their buy."""
    half: int
    """The instrument's half spread, in ticks."""

    @classmethod
    def of(cls, orders: Sequence[Order], instrument: Instrument, price_ticks: int) -> Ladder | None:
        """The ladder these open orders form around a price (in ticks), or None when they do
        not form one the loop runs exactly: every order a plain resting limit carrying a flip
        re-arm, on a spot instrument, unfilled, pairs strictly apart, buys below sells, and
        none within reach of the price now."""
        if not orders or instrument.is_derivative or instrument.settle != instrument.quote:
            return None
        tick = instrument.tick_size
        pairs: list[tuple[int, int, Order]] = []
        for o in orders:
            if (
                o.type is not OrderType.LIMIT
                or o.rearm is None
                or not o.rearm.flip
                or o.price is None
                or o.status is not OrderStatus.OPEN
                or o.filled
                or o.reduce_only
                or o.position_id is not None
                or o.bracket is not None
                or o.oco_group is not None
                or o.trailing is not None
                or o.stop_price is not None
                or o.symbol != instrument.symbol
            ):
                return None
            price, back = whole_ticks(o.price, tick), whole_ticks(o.rearm.price, tick)
            if price is None or back is None:
                return None
            low, high = (price, back) if o.side is Side.BUY else (back, price)
            if low >= high:
                return None
            pairs.append((low, high, o))
        pairs.sort(key=lambda p: p[0])
        k = sum(1 for _, _, o in pairs if o.side is Side.BUY)
        if any(o.side is not Side.BUY for _, _, o in pairs[:k]):
            return None  # a sell below a buy: not a ladder the pointer walk models
        if any(pairs[j][1] > pairs[j + 1][0] for j in range(len(pairs) - 1)):
            return None  # overlapping pairs
        half = whole_ticks(instrument.half_spread, tick)
        if half is None:
            return None
        if k > 0 and pairs[k - 1][0] - half >= price_ticks:
            return None  # a buy the ask already reaches: it fills at the next tick
        if k < len(pairs) and pairs[k][1] + half <= price_ticks:
            return None
        return cls(
            lows=np.array([p[0] for p in pairs], np.int64),
            highs=np.array([p[1] for p in pairs], np.int64),
            sizes=np.array([float(p[2].amount) for p in pairs], np.float64),
            orders=[p[2] for p in pairs],
            k=k,
            half=half,
        )


def whole_ticks(value: Decimal, tick: Decimal) -> int | None:
    """``value`` in whole ticks, None when it is not a whole number of them."""
    q = value / tick
    return int(q) if q == q.to_integral_value() else None


def tick_scale(tick: Decimal) -> tuple[int, int] | None:
    """``(units, scale)`` with ``tick = units / scale`` in integers, for the loop to read a
    candle price as whole ticks exactly as the venue reads it (``Decimal(repr(price))``): the
    price of ``t`` ticks is the double nearest to ``t * units / scale``, which that division
    gives (correctly rounded, both integers below 2**53). None for a tick it cannot do so."""
    exponent = tick.as_tuple().exponent
    if not isinstance(exponent, int):
        return None
    scale = 10 ** max(0, -exponent)
    units = tick * scale
    if units != units.to_integral_value() or scale > 2**40 or units > 2**40:
        return None
    return int(units), scale


@dataclass(slots=True)
class Walked:
    """What ``walk`` did: fills as rows (``F_*`` columns), where it stopped and why."""

    rows: Int64s
    end: int
    """The first bar not walked."""
    k: int
    price: int
    """The last price, in ticks (the next bar's open after a contiguous bar, else its close)."""
    reason: int


@cache
def _kernel() -> Any:
    """The loop, compiled on first use (numba is imported only by a backtest)."""
    from numba import njit

    @njit(cache=True, nogil=True)
    def walk(  # type: ignore[no-untyped-def]
        ts, op, hi, lo, cl, units, scale, a, b, bar_ms, p_prev, lows, highs, sizes, k, half,
        below, above, due_ms, margin, free, cost_unit, maker, taker, out,
    ):  # fmt: skip
        n, pairs = ts.shape[0], lows.shape[0]
        per = scale / units
        th1, th2 = bar_ms // 3, 2 * bar_ms // 3
        room = out.shape[0] - 5 * pairs - 8
        m = 0
        i = a
        reason = 0
        while i < b:
            end_ts = ts[i] + bar_ms
            contiguous = i + 1 < n and ts[i + 1] == end_ts
            o = np.int64(np.rint(op[i] * per))
            h = np.int64(np.rint(hi[i] * per))
            lw = np.int64(np.rint(lo[i] * per))
            c = np.int64(np.rint(cl[i] * per))
            nxt = o
            if contiguous:
                nxt = np.int64(np.rint(op[i + 1] * per))
            if (
                (o * units) / scale != op[i]
                or (h * units) / scale != hi[i]
                or (lw * units) / scale != lo[i]
                or (c * units) / scale != cl[i]
                or (contiguous and (nxt * units) / scale != op[i + 1])
            ):
                reason = 4  # a price off the tick grid: the engine reads it otherwise
                break
            bottom, top = min(lw, p_prev), max(h, p_prev)
            if contiguous:
                bottom, top = min(bottom, nxt), max(top, nxt)
            if bottom - margin <= below or top + margin >= above or end_ts >= due_ms:
                reason = 1
                break
            if m > room:
                reason = 2
                break
            k0, m0, p0_bar, free0 = k, m, p_prev, free
            t = ts[i]
            if c >= o:
                v1, v2 = lw, h
            else:
                v1, v2 = h, lw
            short = False
            for s in range(5):
                if s == 0:
                    p0, t0, p1, t1, at = p_prev, t, o, t, t
                elif s == 1:
                    p0, t0, p1, t1, at = o, t, v1, t + th1, t + th1
                elif s == 2:
                    p0, t0, p1, t1, at = v1, t + th1, v2, t + th2, t + th2
                elif s == 3:
                    p0, t0, p1, t1, at = v2, t + th2, c, end_ts, end_ts
                elif contiguous:
                    p0, t0, p1, t1, at = c, end_ts, nxt, end_ts, end_ts
                else:
                    break
                if p1 < p0:  # falling: buys, highest first
                    while k > 0 and lows[k - 1] - half >= p1:
                        j = k - 1
                        level = min(lows[j] - half, p0)
                        out[m, 0] = t0 + (t1 - t0) * (p0 - level) // (p0 - p1)
                        out[m, 1], out[m, 2], out[m, 3], out[m, 4] = j, 1, i, at
                        m += 1
                        k -= 1
                        # the buy's hold (at the taker rate) is released, maker fee paid
                        free += lows[j] * sizes[j] * cost_unit * (taker - maker)
                        if free < 0.0:
                            short = True
                elif p1 > p0:  # rising: sells, lowest first
                    while k < pairs and highs[k] + half <= p1:
                        j = k
                        level = max(highs[j] + half, p0)
                        out[m, 0] = t0 + (t1 - t0) * (level - p0) // (p1 - p0)
                        out[m, 1], out[m, 2], out[m, 3], out[m, 4] = j, -1, i, at
                        m += 1
                        k += 1
                        free += highs[j] * sizes[j] * cost_unit * (1.0 - maker)
                        need = lows[j] * sizes[j] * cost_unit * (1.0 + taker)
                        if free < need * (1.0 + 1e-9) + 1e-9:
                            short = True  # the re-armed buy could not be held
                        free -= need
            if short:  # leave the whole bar to the engine
                k, m, p_prev, free = k0, m0, p0_bar, free0
                reason = 3
                break
            p_prev = nxt if contiguous else c
            i += 1
        return i, k, m, p_prev, reason

    return walk


def walk(
    bars: tuple[Int64s, Floats, Floats, Floats, Floats],
    tick: tuple[int, int],
    a: int,
    b: int,
    bar_ms: int,
    price: int,
    ladder: Ladder,
    *,
    below: float,
    above: float,
    due_ms: int,
    margin: float,
    free_quote: float,
    cost_unit: float,
    maker: float,
    taker: float,
    capacity: int,
) -> Walked:
    """Walk bars ``[a, b)`` from ``price`` (ticks; see the module docstring); ``tick`` is
    ``tick_scale(tick size)``. ``below`` and ``above`` (ticks, +-inf for none) and ``due_ms``
    stop it before a bar whose range, widened by ``margin`` ticks, reaches them;
    ``free_quote`` is the account's free quote asset, a fill's cost ``price (ticks) * amount
    * cost_unit`` (the tick size)."""
    ts, op, hi, lo, cl = bars
    out = np.empty((max(capacity, 5 * len(ladder.lows) + 64), F_COLS), np.int64)
    end, k, m, last, reason = _kernel()(
        ts, op, hi, lo, cl, float(tick[0]), float(tick[1]), a, b, bar_ms, price, ladder.lows,
        ladder.highs, ladder.sizes, ladder.k, ladder.half, below, above, due_ms, margin,
        free_quote, cost_unit, maker, taker, out,
    )  # fmt: skip
    return Walked(out[:m], int(end), int(k), int(last), int(reason))


__all__ = [
    "DONE", "FUNDS", "F_AT", "F_BAR", "F_COLS", "F_PAIR", "F_SIDE", "F_TS", "PRICE", "ROOM",
    "WAKE", "Ladder", "Walked", "tick_scale", "walk", "whole_ticks",
]  # fmt: skip
