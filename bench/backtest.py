"""Backtest speed: Tradewind's backtester against vectorbt, backtesting.py and a hand-written
numba loop, on the same strategies and the same data, in one process and one run.

Cases:
  (a) a 10-level arithmetic spot grid on ``--candles`` generated one-minute BTC/USDT candles
      (a seeded geometric random walk from 20,000, fat-tailed returns, wicks beyond the body,
      each open at the previous close); the grid spans the 10th to 90th percentile of the
      closes, 10,000 USDT invested, trade-to-fill on;
  (b) a 200-level arithmetic grid over the real FIL_USDT-1m file, read from ../shared/data
      (never copied), its prices times 10,000 so that BTC/USDT's tick, lot and half-spread
      rules apply (the paper catalog has no FIL); 1st to 99th percentile, 20,000 USDT;
      skipped with a message when the file is absent;
  (c) an SMA(20)/SMA(50) long-only crossover (0.05 BTC a trade, at the signal bar's close) on
      the generated candles: Tradewind's ``sma_cross`` bot on 1m bars;
  (d) a spot DCA bot (``dca_spot``) with 8 safety orders on the generated candles: base and
      safety orders of 100 USDT, deviation 0.8 %, step scale 1.2, volume scale 1.4, take
      profit 1 %, no cooldown.

What runs:
  Tradewind      ``run_backtest(spec, jump=True)``: the live bot engine on the paper venue.
                 After a warm-up run on 10,000 candles (its first run, shown), it runs on all the
                 candles within ``--tradewind-max-seconds``; if that budget stops it, its rate so
                 far is its figure, and it runs again on the candles it reached (a prefix, said
                 so) for the fills the agreement check needs.
  numba loop     a hand-written loop (prices in ticks, amounts in lots, integer arithmetic)
                 that follows Tradewind's fill model to the letter: each bar walked open, low,
                 high, close for an up bar (high before low for a down bar; docs/market-data.md),
                 bid/ask = last -/+ 0.5, a resting limit filled at its own price when the ask
                 (bid) reaches it, a grid's opposite order placed at once, the DCA bot acting at
                 each vertex. It is the speed a compiled loop gets, and the check that Tradewind
                 trades as its rules say (its fills must equal Tradewind's exactly).
  vectorbt       grids and DCA: ``Portfolio.from_order_func`` (flexible, numba callbacks) with
                 the same per-bar step as the numba loop deciding the orders; vectorbt executes
                 them and keeps cash, position, fees and records. Crossover: ``MA.run``,
                 ``ma_crossed_above/below`` and ``Portfolio.from_signals`` at close -/+ 0.5.
  backtesting.py ``FractionalBacktest`` (units of 0.00001 BTC, BTC/USDT's lot), 0.1 % commission,
                 ``trade_on_close=True``: its own fill model (limit orders from the next bar,
                 filled when the bar's range touches the limit, at the limit or the open; no
                 absolute spread).
numba and vectorbt are timed on their first call (with JIT compilation) and warm (the best of
three more calls); Tradewind and backtesting.py take seconds to minutes and run once.

    .venv/bin/python bench/backtest.py [--candles 1000000] [--seed 1] [--tradewind-max-seconds 60]
        [--fil-candles 0] [--sweep 0] [--skip-memory] [--cases abcd]

``--sweep N`` runs N grid settings with Tradewind over 525,600 generated candles on a
``ProcessPoolExecutor`` across the cores (and the same N with the numba loop, for scale).

Targets: every grid and DCA case at 20 M candles/s or more, the crossover at 5 M/s or more; a
1,000-combination grid sweep over 525,600 one-minute candles in under 60 s; a 1,000,000-candle
backtest within 300 MB of memory (peak resident memory of a subprocess running case (a)).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shlex
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar
from rich.console import Console
from rich.table import Table

from tradewind.backtest.runner import BacktestSpec, Cancelled, run_backtest
from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Liquidity, Side
from tradewind.marketdata import Candles, Timeframe
from tradewind.strategies.dca import deviations
from tradewind.strategies.grid_settings import grid_levels, pair_amounts
from tradewind.strategies.registry import get_script
from tradewind.venues.paper.catalog import paper_instruments

console = Console(stderr=True)  # progress
out = Console(width=170, highlight=False)  # figures

SYMBOL = "BTC/USDT"
BAR = Timeframe.M1
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
FIL_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "FIL_USDT-1m.csv"
FIL_SCALE = 10_000
SWEEP_CANDLES = 525_600
GRID_TARGET = 20.0  # M candles/s
SMA_TARGET = 5.0
SWEEP_TARGET_S = 60.0
MEMORY_TARGET_MB = 300.0
MEMORY_CANDLES = 1_000_000  # the target's size, whatever --candles says
DCA = {
    "symbol": SYMBOL, "direction": "Buy", "baseOrderSize": "100", "safetyOrderSize": "100",
    "safetyOrderCount": 8, "priceDeviation": "0.8", "stepScale": "1.2", "volumeScale": "1.4",
    "takeProfit": "1", "stopLoss": "0", "cooldown": 0,
}  # fmt: skip
SMA_FAST, SMA_SLOW, SMA_LOTS = 20, 50, 5_000  # 5,000 lots of 0.00001 BTC = 0.05 BTC


# ---- data ------------------------------------------------------------------------------------


def generate(n: int, seed: int, start: float = 20_000.0, sigma: float = 0.0008) -> Candles:
    """A geometric random walk of one-minute bars: Student-t (4) log returns of ``sigma`` a
    minute (about 58 % a year), each open at the previous close, highs and lows a half-normal
    wick beyond the body, prices on the 0.01 tick, volume log-normal."""
    rng = np.random.default_rng(seed)
    returns = rng.standard_t(4, n) * (sigma / math.sqrt(2.0))
    close = start * np.exp(np.cumsum(returns))
    opening = np.empty(n)
    opening[0], opening[1:] = start, close[:-1]
    close, opening = np.round(close, 2), np.round(opening, 2)
    opening[1:] = close[:-1]
    top, bottom = np.maximum(opening, close), np.minimum(opening, close)
    high = np.maximum(np.round(top * np.exp(np.abs(rng.normal(0, sigma / 2, n))), 2), top)
    low = np.minimum(np.round(bottom * np.exp(-np.abs(rng.normal(0, sigma / 2, n))), 2), bottom)
    ts = START_MS + BAR.ms * np.arange(n, dtype=np.int64)
    volume = np.round(rng.lognormal(0.0, 1.0, n), 4)
    return Candles(ts, opening, high, low, close, volume)


def load_fil() -> Candles | None:
    """FIL/USDT minutes from ../shared/data, prices x FIL_SCALE on the 0.01 tick."""
    if not FIL_FILE.exists():
        return None
    raw = Candles.from_csv(FIL_FILE)
    raw.validate(BAR)
    scaled = [np.round(np.asarray(getattr(raw, f)) * FIL_SCALE, 2) for f in ("open", "high", "low", "close")]  # fmt: skip
    return Candles(raw.ts, *scaled, raw.volume)


@dataclass
class Bars:
    """Candles as the numba loop sees them: int64 ticks and ms."""

    o: np.ndarray
    h: np.ndarray
    lo: np.ndarray
    c: np.ndarray
    ts: np.ndarray

    @classmethod
    def of(cls, candles: Candles, tick: Decimal) -> Bars:
        per = 1 / float(tick)

        def ticks(a: np.ndarray) -> np.ndarray:
            return np.round(np.asarray(a) * per).astype(np.int64)

        return cls(ticks(candles.open), ticks(candles.high), ticks(candles.low),
                   ticks(candles.close), np.asarray(candles.ts, dtype=np.int64))  # fmt: skip

    def __len__(self) -> int:
        return int(self.o.shape[0])


# ---- fills, as every framework reports them --------------------------------------------------


@dataclass
class Fills:
    """One row per fill: the bar it happened in, its time (ms, -1 when the framework has no
    intrabar time), side (+1 buy, -1 sell), price in ticks, amount in lots, taker or not."""

    bar: np.ndarray
    ts: np.ndarray
    side: np.ndarray
    price: np.ndarray
    lots: np.ndarray
    taker: np.ndarray

    def __len__(self) -> int:
        return int(self.bar.shape[0])

    def upto(self, bars: int) -> Fills:
        keep = self.bar < bars
        return Fills(
            *(getattr(self, f)[keep] for f in ("bar", "ts", "side", "price", "lots", "taker"))
        )

    def rows(self, with_ts: bool) -> list[tuple[int, ...]]:
        """Sorted by bar (and time), then side, price, amount: the order inside one instant
        (or one bar, without times) is not part of the comparison."""
        key = self.ts if with_ts else self.bar
        return sorted(zip(key.tolist(), self.side.tolist(), self.price.tolist(),
                          self.lots.tolist(), strict=True))  # fmt: skip

    def cash_flow(self, fee: Decimal, tick: Decimal, step: Decimal) -> tuple[Decimal, Decimal]:
        """(quote change, base change) these fills make, fees at ``fee`` in the quote asset."""
        notional = (self.price.astype(object) * self.lots.astype(object)).tolist()
        unit = tick * step
        bought = sum((q for q, s in zip(notional, self.side.tolist(), strict=True) if s > 0), 0)
        sold = sum((q for q, s in zip(notional, self.side.tolist(), strict=True) if s < 0), 0)
        quote = (Decimal(sold) - Decimal(bought)) * unit - Decimal(bought + sold) * unit * fee
        base = Decimal(int((self.side * self.lots).sum())) * step
        return quote, base


def fills_of(rows: Sequence[tuple[int, int, int, int, int, bool]]) -> Fills:
    a = np.array([r[:5] for r in rows], dtype=np.int64).reshape(-1, 5)
    taker = np.array([r[5] for r in rows], dtype=bool)
    return Fills(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], taker)


def tradewind_fills(result: Any, instrument: Instrument, first_ms: int) -> Fills:
    """Tradewind's fills; a fill at a bar's last instant (its close) belongs to that bar."""
    rows = []
    for f in result.fills:
        bar = max(0, -(-(f.ts_ms - first_ms) // BAR.ms) - 1)
        rows.append((bar, f.ts_ms, 1 if f.side is Side.BUY else -1,
                     int(f.price / instrument.tick_size), int(f.amount / instrument.amount_step),
                     f.liquidity is Liquidity.TAKER))  # fmt: skip
    return fills_of(rows)


# ---- the numba loop ------------------------------------------------------------------------

# the state a loop keeps between calls (vectorbt calls it bar by bar)
G_K, G_M, G_NEXT = 0, 1, 2  # grid: pairs [0, k) rest a buy, [k, n) a sell; fills; next bar
D_M, D_ENTRY, D_NEXT_SO, D_TP, D_INV, D_PQ, D_DEALS, D_TP_LOTS, D_OPEN, D_NEXT = range(10)
# one fill: bar, time (ms), side (+1 buy, -1 sell), price (ticks), amount (lots), taker (0/1)
F_COLS = 6


def build_kernels() -> SimpleNamespace:
    """The numba loop (numba is imported here, not in the memory subprocess). Each loop is
    one function over bars ``[a, b)``: a hand-written loop keeps its state in locals; the
    rare work (a fill) is inline too, which numba compiles better than small functions
    called per segment (those ran 10x slower here, from reference counting at each call)."""
    from numba import njit

    @njit(cache=False)
    def grid_start(o0, t0, lv, amt, half, st, F):  # type: ignore[no-untyped-def]
        """Pairs below the price buy first; the others sell first, their base bought at once
        at the ask (the trade-to-fill market order)."""
        n, k, need = amt.shape[0], 0, 0
        while k < n and lv[k] < o0:
            k += 1
        for j in range(k, n):
            need += amt[j]
        m = st[G_M]
        if need > 0:
            F[m, 0], F[m, 1], F[m, 2], F[m, 3], F[m, 4], F[m, 5] = 0, t0, 1, o0 + half, need, 1
            m += 1
        st[G_K], st[G_M] = k, m

    @njit(cache=False)
    def grid_bars(a, b, Op, H, L, C, T, bar_ms, lv, amt, half, st, F):  # type: ignore[no-untyped-def]
        """Bars [a, b), each walked open, low, high, close (high first for a down bar), then
        the jump to the next open; a buy limit fills (at its price) when the ask reaches it,
        a sell when the bid does, and its pair's opposite order rests at once. Stops early
        when the fill buffer could overflow (st[G_NEXT] says where)."""
        k, m = st[G_K], st[G_M]
        pairs, n = amt.shape[0], Op.shape[0]
        room = F.shape[0] - 4 * pairs - 2
        th1, th2 = bar_ms // 3, 2 * bar_ms // 3
        i = a
        while i < b and m <= room:
            t, o, c = T[i], Op[i], C[i]
            if c >= o:
                v1, v2 = L[i], H[i]
            else:
                v1, v2 = H[i], L[i]
            for s in range(4):
                if s == 0:
                    p0, t0, p1, t1 = o, t, v1, t + th1
                elif s == 1:
                    p0, t0, p1, t1 = v1, t + th1, v2, t + th2
                elif s == 2:
                    p0, t0, p1, t1 = v2, t + th2, c, t + bar_ms
                elif i + 1 < n:
                    p0, t0, p1, t1 = c, T[i + 1], Op[i + 1], T[i + 1]
                else:
                    break
                if p1 < p0:  # falling: buy limits, highest first
                    while k > 0 and lv[k - 1] - half >= p1:
                        level = min(lv[k - 1] - half, p0)
                        F[m, 0], F[m, 1], F[m, 2] = i, t0 + (t1 - t0) * (p0 - level) // (p0 - p1), 1
                        F[m, 3], F[m, 4], F[m, 5] = lv[k - 1], amt[k - 1], 0
                        m += 1
                        k -= 1
                elif p1 > p0:  # rising: sell limits, lowest first
                    while k < pairs and lv[k + 1] + half <= p1:
                        level = max(lv[k + 1] + half, p0)
                        F[m, 0], F[m, 1], F[m, 2] = (
                            i,
                            t0 + (t1 - t0) * (level - p0) // (p1 - p0),
                            -1,
                        )
                        F[m, 3], F[m, 4], F[m, 5] = lv[k + 1], amt[k], 0
                        m += 1
                        k += 1
            i += 1
        st[G_K], st[G_M], st[G_NEXT] = k, m, i

    @njit(cache=False)
    def dca_bars(a, b, Op, H, L, C, T, bar_ms, half, base_s, so_s, so_f, tp_bp, so_p, so_l, st, F):  # type: ignore[no-untyped-def]
        """Bars [a, b) of one DCA deal after another. The venue fills along each path
        segment (safety orders when the ask reaches them, the take profit when the bid
        does); the bot acts at the end of each tick, at a vertex: after a safety order it
        amends the take profit to the new average for everything held; after the take
        profit it closes the deal and opens the next one with a market buy at the ask."""
        m, entry, nxt, tp, inv, pq = (
            st[D_M],
            st[D_ENTRY],
            st[D_NEXT_SO],
            st[D_TP],
            st[D_INV],
            st[D_PQ],
        )
        deals, tp_lots, need_open = st[D_DEALS], st[D_TP_LOTS], st[D_OPEN]
        count, n = so_p.shape[0], Op.shape[0]
        room = F.shape[0] - 4 * (count + 2)
        th1, th2 = bar_ms // 3, 2 * bar_ms // 3
        i = a
        while i < b and m <= room:
            t, o, c = T[i], Op[i], C[i]
            if c >= o:
                v1, v2 = L[i], H[i]
            else:
                v1, v2 = H[i], L[i]
            for s in range(-1, 4):
                if s == -1:  # the start: the first deal opens at the first open
                    if need_open == 0:
                        continue
                    p0, t0, p1, t1 = o, t, o, t
                elif s == 0:
                    p0, t0, p1, t1 = o, t, v1, t + th1
                elif s == 1:
                    p0, t0, p1, t1 = v1, t + th1, v2, t + th2
                elif s == 2:
                    p0, t0, p1, t1 = v2, t + th2, c, t + bar_ms
                elif i + 1 < n:  # the close, then the jump to the next open: one tick
                    p0, t0, p1, t1 = c, T[i + 1], Op[i + 1], T[i + 1]
                else:
                    p0, t0, p1, t1 = c, t + bar_ms, c, t + bar_ms
                so_hit = tp_hit = False
                if p1 < p0:
                    while nxt < count and so_p[nxt] - half >= p1:
                        level = min(so_p[nxt] - half, p0)
                        F[m, 0], F[m, 1], F[m, 2] = i, t0 + (t1 - t0) * (p0 - level) // (p0 - p1), 1
                        F[m, 3], F[m, 4], F[m, 5] = so_p[nxt], so_l[nxt], 0
                        m += 1
                        inv += so_l[nxt]
                        pq += so_p[nxt] * so_l[nxt]
                        nxt += 1
                        so_hit = True
                elif p1 > p0 and tp_lots > 0 and tp + half <= p1:
                    level = max(tp + half, p0)
                    F[m, 0], F[m, 1], F[m, 2] = i, t0 + (t1 - t0) * (level - p0) // (p1 - p0), -1
                    F[m, 3], F[m, 4], F[m, 5] = tp, tp_lots, 0
                    m += 1
                    inv -= tp_lots
                    tp_lots = 0
                    tp_hit = True
                if s == 2:
                    continue  # the tick at the close goes on to the next open
                if (tp_hit and inv == 0) or (s == -1 and need_open == 1):
                    # a new deal: market buy at the ask, worth base_s at the last price
                    lots = base_s // (10 * p1)
                    entry = p1 + half
                    F[m, 0], F[m, 1], F[m, 2], F[m, 3], F[m, 4], F[m, 5] = i, t1, 1, entry, lots, 1
                    m += 1
                    inv, pq, nxt, need_open = lots, entry * lots, 0, 0
                    for j in range(count):  # entry x (1 - deviation), half-even to the tick
                        num = entry * so_f[j]
                        q, r = num // 10_000_000_000, num % 10_000_000_000
                        if 2 * r > 10_000_000_000 or (2 * r == 10_000_000_000 and q % 2 == 1):
                            q += 1
                        so_p[j], so_l[j] = q, so_s[j] // (10 * q)
                    tp = -(-(pq * (10_000 + tp_bp)) // (inv * 10_000))  # up to the tick
                    tp_lots = inv
                    deals += 1
                elif so_hit:  # the take profit follows the average, for everything held
                    tp = -(-(pq * (10_000 + tp_bp)) // (inv * 10_000))
                    tp_lots = inv
            i += 1
        st[D_M], st[D_ENTRY], st[D_NEXT_SO], st[D_TP], st[D_INV], st[D_PQ] = (
            m,
            entry,
            nxt,
            tp,
            inv,
            pq,
        )
        st[D_DEALS], st[D_TP_LOTS], st[D_OPEN], st[D_NEXT] = deals, tp_lots, need_open, i

    @njit(cache=False)
    def sma_run(C, fast, slow, half, F):  # type: ignore[no-untyped-def]
        """Exact means (integer sums compared cross-multiplied), vectorbt's crossing rule
        (a tie of the two means interrupts a run without resetting which side it came from),
        long only: buy at the close + 0.5, sell at the close - 0.5."""
        sum_f = sum_s = 0
        below = above = holding = False
        ago_up = ago_down = -1
        m = 0
        for i in range(C.shape[0]):
            sum_f += C[i]
            sum_s += C[i]
            if i >= fast:
                sum_f -= C[i - fast]
            if i >= slow:
                sum_s -= C[i - slow]
            if i < slow - 1:
                continue
            d = sum_f * slow - sum_s * fast
            entry = exit_ = False
            if d > 0:
                ago_down = -1
                above = True
                if below:
                    ago_up += 1
                    entry = ago_up == 0
            elif d < 0:
                ago_up = -1
                below = True
                if above:
                    ago_down += 1
                    exit_ = ago_down == 0
            else:
                ago_up = ago_down = -1
            if entry and not holding:
                F[m, 0], F[m, 2], F[m, 3] = i, 1, C[i] + half
                m += 1
                holding = True
            elif exit_ and holding:
                F[m, 0], F[m, 2], F[m, 3] = i, -1, C[i] - half
                m += 1
                holding = False
        return m

    return SimpleNamespace(
        grid_start=grid_start, grid_bars=grid_bars, dca_bars=dca_bars, sma_run=sma_run
    )


def _fills(F: np.ndarray, m: int) -> Fills:
    f = F[:m]
    return Fills(f[:, 0].copy(), f[:, 1].copy(), f[:, 2].copy(), f[:, 3].copy(), f[:, 4].copy(),
                 f[:, 5].astype(bool))  # fmt: skip


def _grow(F: np.ndarray) -> np.ndarray:
    bigger = np.zeros((2 * F.shape[0], F_COLS), np.int64)
    bigger[: F.shape[0]] = F
    return bigger


@dataclass(frozen=True)
class GridPlan:
    """A spot grid as Tradewind lays it out: levels (ticks) and each pair's amount (lots)."""

    levels: np.ndarray
    amounts: np.ndarray
    half: int

    @classmethod
    def of(cls, settings: dict[str, Any], instrument: Instrument) -> GridPlan:
        parsed = get_script("spot_grid").parse(settings, instrument)
        levels = grid_levels(parsed, instrument)
        amounts = pair_amounts(parsed, instrument, levels)
        return cls(
            np.array([int(p / instrument.tick_size) for p in levels], np.int64),
            np.array([int(a / instrument.amount_step) for a in amounts], np.int64),
            int(instrument.half_spread / instrument.tick_size),
        )


@dataclass(frozen=True)
class DcaPlan:
    """The DCA settings in integers: sizes in 1e-8 of the quote asset, each safety order's
    price factor (1 - deviation) in 1e-10, the take profit in basis points."""

    base: int
    sizes: np.ndarray
    factors: np.ndarray
    tp_bp: int
    half: int

    @classmethod
    def of(cls, settings: dict[str, Any], instrument: Instrument) -> DcaPlan:
        s = get_script("dca_spot").parse(settings, instrument)

        def exact(value: Decimal, scale: int) -> int:
            scaled = value * scale
            if scaled != scaled.to_integral_value():
                raise ValueError(f"{value} is not a multiple of 1/{scale}")
            return int(scaled)

        devs = deviations(s.price_deviation, s.step_scale, s.safety_order_count)
        sizes, size = [], s.safety_order_size
        for _ in devs:
            sizes.append(exact(size, 10**8))
            size *= s.volume_scale
        return cls(
            exact(s.base_order_size, 10**8), np.array(sizes, np.int64),
            np.array([exact(1 - d / 100, 10**10) for d in devs], np.int64),
            exact(s.take_profit, 100), int(instrument.half_spread / instrument.tick_size),
        )  # fmt: skip

    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(safety order prices, their lots, the loop's state) for a fresh run."""
        st = np.zeros(10, np.int64)
        st[D_OPEN] = 1
        count = len(self.sizes)
        return np.zeros(count, np.int64), np.zeros(count, np.int64), st


def numba_grid(k: SimpleNamespace, bars: Bars, plan: GridPlan) -> Fills:
    st = np.zeros(3, np.int64)
    F = np.zeros((max(4096, 16 * len(plan.amounts)), F_COLS), np.int64)
    k.grid_start(bars.o[0], bars.ts[0], plan.levels, plan.amounts, plan.half, st, F)
    while True:
        k.grid_bars(st[G_NEXT], len(bars), bars.o, bars.h, bars.lo, bars.c, bars.ts, BAR.ms,
                    plan.levels, plan.amounts, plan.half, st, F)  # fmt: skip
        if st[G_NEXT] >= len(bars):
            return _fills(F, int(st[G_M]))
        F = _grow(F)


def numba_dca(k: SimpleNamespace, bars: Bars, plan: DcaPlan) -> tuple[Fills, int]:
    so_p, so_l, st = plan.state()
    F = np.zeros((max(4096, len(bars) // 8), F_COLS), np.int64)
    while True:
        k.dca_bars(st[D_NEXT], len(bars), bars.o, bars.h, bars.lo, bars.c, bars.ts, BAR.ms,
                   plan.half, plan.base, plan.sizes, plan.factors, plan.tp_bp, so_p, so_l, st, F)  # fmt: skip
        if st[D_NEXT] >= len(bars):
            return _fills(F, int(st[D_M])), int(st[D_DEALS])
        F = _grow(F)


def numba_sma(k: SimpleNamespace, bars: Bars, half: int) -> Fills:
    F = np.zeros((len(bars) // 2 + 2, F_COLS), np.int64)
    m = k.sma_run(bars.c, SMA_FAST, SMA_SLOW, half, F)
    f = _fills(F, m)
    f.ts[:], f.lots[:], f.taker[:] = -1, SMA_LOTS, True
    return f


# ---- vectorbt --------------------------------------------------------------------------------


def build_vbt(k: SimpleNamespace) -> SimpleNamespace:
    """vectorbt's flexible order functions: at a bar's first call the numba loop, run over
    that one bar, decides its fills; each call then hands vectorbt one order to execute."""
    from numba import njit
    from vectorbt.portfolio import nb as pnb
    from vectorbt.portfolio.enums import NoOrder

    order_nb = pnb.order_nb
    grid_start, grid_bars, dca_bars = k.grid_start, k.grid_bars, k.dca_bars
    no_order = NoOrder

    @njit(cache=False)
    def grid_flex(c, Op, H, L, C, T, bar_ms, lv, amt, half, fee, st, F):  # type: ignore[no-untyped-def]
        if c.call_idx == 0:
            st[G_M] = 0
            if c.i == 0:
                grid_start(Op[0], T[0], lv, amt, half, st, F)
            grid_bars(c.i, c.i + 1, Op, H, L, C, T, bar_ms, lv, amt, half, st, F)
        j = c.call_idx
        if j < st[G_M]:
            return c.from_col, order_nb(
                size=F[j, 2] * F[j, 4] * 1e-5, price=F[j, 3] / 100, fees=fee
            )
        return -1, no_order

    @njit(cache=False)
    def dca_flex(
        c, Op, H, L, C, T, bar_ms, half, base_s, so_s, so_f, tp_bp, fee, so_p, so_l, st, F
    ):  # type: ignore[no-untyped-def]
        if c.call_idx == 0:
            st[D_M] = 0
            dca_bars(
                c.i,
                c.i + 1,
                Op,
                H,
                L,
                C,
                T,
                bar_ms,
                half,
                base_s,
                so_s,
                so_f,
                tp_bp,
                so_p,
                so_l,
                st,
                F,
            )
        j = c.call_idx
        if j < st[D_M]:
            return c.from_col, order_nb(
                size=F[j, 2] * F[j, 4] * 1e-5, price=F[j, 3] / 100, fees=fee
            )
        return -1, no_order

    return SimpleNamespace(grid_flex=grid_flex, dca_flex=dca_flex)


@dataclass
class VbtOutcome:
    fills: Fills
    cash: float
    assets: float


def _vbt_outcome(pf: Any) -> VbtOutcome:
    r = pf.orders.values
    side = np.where(r["side"] == 0, 1, -1).astype(np.int64)
    fills = Fills(r["idx"].astype(np.int64), np.full(len(r), -1, np.int64), side,
                  np.round(r["price"] * 100).astype(np.int64),
                  np.round(r["size"] * 1e5).astype(np.int64), np.zeros(len(r), bool))  # fmt: skip
    return VbtOutcome(fills, float(pf.cash().iloc[-1]), float(pf.assets().iloc[-1]))


def vbt_grid(v: SimpleNamespace, bars: Bars, plan: GridPlan, cash: float, fee: float,
             max_orders: int) -> Any:  # fmt: skip
    """``max_orders`` sizes vectorbt's order records (its default, one a bar, is too few for
    a dense grid): the benchmark passes twice the numba loop's count."""
    import vectorbt as vbt

    st = np.zeros(3, np.int64)
    F = np.zeros((4 * len(plan.amounts) + 4, F_COLS), np.int64)
    return vbt.Portfolio.from_order_func(
        bars.c / 100, v.grid_flex, bars.o, bars.h, bars.lo, bars.c, bars.ts, BAR.ms,
        plan.levels, plan.amounts, plan.half, fee, st, F,
        flexible=True, init_cash=cash, max_orders=max_orders,
    )  # fmt: skip


def vbt_dca(v: SimpleNamespace, bars: Bars, plan: DcaPlan, cash: float, fee: float,
            max_orders: int) -> Any:  # fmt: skip
    import vectorbt as vbt

    so_p, so_l, st = plan.state()
    F = np.zeros((4 * (len(plan.sizes) + 2), F_COLS), np.int64)
    return vbt.Portfolio.from_order_func(
        bars.c / 100, v.dca_flex, bars.o, bars.h, bars.lo, bars.c, bars.ts, BAR.ms, plan.half,
        plan.base, plan.sizes, plan.factors, plan.tp_bp, fee, so_p, so_l, st, F,
        flexible=True, init_cash=cash, max_orders=max_orders,
    )  # fmt: skip


def vbt_sma(close: np.ndarray, half: float, cash: float, fee: float) -> Any:
    import vectorbt as vbt

    fast = vbt.MA.run(close, SMA_FAST)
    slow = vbt.MA.run(close, SMA_SLOW)
    entries = fast.ma_crossed_above(slow).to_numpy()
    exits = fast.ma_crossed_below(slow).to_numpy()
    price = np.where(entries, close + half, np.where(exits, close - half, close))
    return vbt.Portfolio.from_signals(
        close, entries, exits, price=price, size=SMA_LOTS * 1e-5, size_type="amount",
        direction="longonly", fees=fee, init_cash=cash,
    )  # fmt: skip


# ---- backtesting.py ----------------------------------------------------------------------------

BT_UNIT = 1e-5  # one lot of BTC/USDT: backtesting.py trades whole units


def bt_frame(candles: Candles) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {"Open": candles.open, "High": candles.high, "Low": candles.low,
         "Close": candles.close, "Volume": candles.volume},
        index=pd.to_datetime(np.asarray(candles.ts), unit="ms"),
    )  # fmt: skip


def bt_run(frame: Any, strategy: type, cash: float, fee: float) -> Any:
    from backtesting.lib import FractionalBacktest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(frame, strategy, cash=cash, commission=fee, trade_on_close=True,
                                fractional_unit=BT_UNIT)  # fmt: skip
        return bt.run()


def _scaled(ticks: int) -> float:
    return ticks / 100 * BT_UNIT


def bt_grid_strategy(bars: Bars, plan: GridPlan) -> type:
    from backtesting import Strategy

    levels, amounts = plan.levels.tolist(), plan.amounts.tolist()
    opens, closes = bars.o.tolist(), bars.c.tolist()
    n = len(amounts)

    class Grid(Strategy):  # type: ignore[misc]
        fills: list[tuple[int, int, int, int, int, bool]]
        pairs: list[int]

        def init(self) -> None:
            self.fills, self.pairs = [], []
            self.started = False
            self.orders_by_pair: list[Any] = [None] * n
            self.buying = [True] * n

        def _place(self, j: int) -> None:
            if self.buying[j]:
                self.orders_by_pair[j] = self.buy(size=amounts[j], limit=_scaled(levels[j]))
            else:
                self.orders_by_pair[j] = self.sell(size=amounts[j], limit=_scaled(levels[j + 1]))

        def next(self) -> None:
            i = len(self.data) - 1
            if not self.started:  # its first bar (backtesting.py starts at the second)
                # as Tradewind lays the grid out, at the price now: a market buy (filled at
                # this close) of the base the sell pairs need, then every pair's first order
                self.started = True
                price = closes[i]
                self.buying = [levels[j] < price for j in range(n)]
                need = sum(a for a, b in zip(amounts, self.buying, strict=True) if not b)
                if need:
                    self.buy(size=need)
                    self.fills.append((i, -1, 1, price, need, True))
                    self.pairs.append(-1)
                for j in range(n):
                    self._place(j)
                return
            orders = self._broker.orders
            if len(orders) == n:  # nothing filled in this bar
                return
            alive = {id(o) for o in orders}
            for j in range(n):
                if id(self.orders_by_pair[j]) in alive:
                    continue
                if self.buying[j]:  # a buy limit fills at the limit, or at a lower open
                    self.fills.append((i, -1, 1, min(opens[i], levels[j]), amounts[j], False))
                else:
                    self.fills.append((i, -1, -1, max(opens[i], levels[j + 1]), amounts[j], False))
                self.pairs.append(j)
                self.buying[j] = not self.buying[j]
                self._place(j)

    return Grid


def bt_dca_strategy(bars: Bars, plan: DcaPlan) -> type:
    from backtesting import Strategy

    opens, closes = bars.o.tolist(), bars.c.tolist()
    sizes, factors = plan.sizes.tolist(), plan.factors.tolist()
    base, tp_bp = plan.base, plan.tp_bp

    def half_even(num: int, den: int) -> int:
        q, r = divmod(num, den)
        return q + 1 if 2 * r > den or (2 * r == den and q % 2) else q

    class Dca(Strategy):  # type: ignore[misc]
        fills: list[tuple[int, int, int, int, int, bool]]

        def init(self) -> None:
            self.fills = []
            self.started = False
            self.base_order: Any = None
            self.ladder: list[tuple[Any, int, int]] = []
            self.tp: Any = None
            self.tp_price = self.tp_lots = self.inv = self.pq = 0

        def _open(self, i: int) -> None:
            lots = base // (10 * closes[i])  # from the last price, as Tradewind's bot does
            self.base_order = self.buy(size=lots)
            self.base_lots = lots

        def _take_profit(self) -> None:
            if self.tp is not None and self.tp in self._broker.orders:
                self.tp.cancel()
            self.tp_price = -(-self.pq * (10_000 + tp_bp) // (self.inv * 10_000))
            self.tp_lots = self.inv
            self.tp = self.sell(size=self.inv, limit=_scaled(self.tp_price))

        def next(self) -> None:
            i = len(self.data) - 1
            if not self.started:  # its first bar (backtesting.py starts at the second)
                self.started = True
                self._open(i)
                return
            alive = {id(o) for o in self._broker.orders}
            if self.base_order is not None and id(self.base_order) not in alive:
                price = closes[i - 1]  # trade_on_close: filled at the close it was placed at
                self.fills.append((i - 1, -1, 1, price, self.base_lots, True))
                self.base_order = None
                self.inv, self.pq = self.base_lots, price * self.base_lots
                self.ladder = []
                for f, s in zip(factors, sizes, strict=True):
                    p = half_even(price * f, 10**10)
                    lots = s // (10 * p)
                    self.ladder.append((self.buy(size=lots, limit=_scaled(p)), p, lots))
                self._take_profit()
                return
            filled_so = False
            for order, p, lots in self.ladder:
                if order is not None and id(order) not in alive and order.size > 0:
                    self.fills.append((i, -1, 1, min(opens[i], p), lots, False))
                    self.inv += lots
                    self.pq += p * lots
                    filled_so = True
            self.ladder = [x for x in self.ladder if id(x[0]) in alive]
            if self.tp is not None and id(self.tp) not in alive:
                self.fills.append((i, -1, -1, max(opens[i], self.tp_price), self.tp_lots, False))
                self.pq = self.pq * (self.inv - self.tp_lots) // self.inv
                self.inv -= self.tp_lots
                self.tp = None
                if self.inv == 0:  # deal closed: cancel the ladder, open the next at market
                    for order, _, _ in self.ladder:
                        order.cancel()
                    self.ladder = []
                    self._open(i)
                    return
            if filled_so or (self.tp is None and self.inv > 0):
                self._take_profit()

    return Dca


def bt_sma_strategy() -> type:
    import pandas as pd
    from backtesting import Strategy
    from backtesting.lib import crossover

    def sma(values: Any, n: int) -> Any:
        return pd.Series(values).rolling(n).mean()

    class SmaCross(Strategy):  # type: ignore[misc]
        fills: list[tuple[int, int, int, int, int, bool]]

        def init(self) -> None:
            self.fills = []
            self.fast = self.I(sma, self.data.Close, SMA_FAST)
            self.slow = self.I(sma, self.data.Close, SMA_SLOW)

        def next(self) -> None:
            i = len(self.data) - 1
            close = round(self.data.Close[-1] / BT_UNIT * 100)
            if crossover(self.fast, self.slow) and not self.position:
                self.buy(size=SMA_LOTS)
                self.fills.append((i, -1, 1, close, SMA_LOTS, True))
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()
                self.fills.append((i, -1, -1, close, SMA_LOTS, True))

    return SmaCross


# ---- Tradewind ---------------------------------------------------------------------------------


@dataclass
class TwRun:
    """Tradewind on one case: a warm-up run (its first), then the whole series within the
    budget. When the budget stops it, its rate so far is the figure, and the run is repeated
    on the candles it reached (``result``), for the fills to check."""

    warm_candles: int
    warm_seconds: float
    candles: int
    seconds: float
    complete: bool
    result: Any | None
    result_candles: int
    result_seconds: float


def tradewind_once(
    script: str, settings: dict[str, Any], candles: Candles, balances: dict[str, Decimal],
    deadline: float | None = None,
) -> tuple[float, Any | None, tuple[int, float]]:  # fmt: skip
    """(seconds, result, (bars done, seconds) at the last progress report); the result is
    None when the deadline cancelled the run."""
    spec = BacktestSpec(script=script, settings=settings, symbol=SYMBOL, timeframe=BAR,
                        candles=candles, balances=balances)  # fmt: skip
    began = time.perf_counter()
    mark = [(0, 0.0)]

    def progress(bars: int, total: int) -> None:
        mark[0] = (bars, time.perf_counter() - began)

    def cancelled() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    try:
        result = asyncio.run(run_backtest(spec, progress=progress, cancelled=cancelled))
    except Cancelled:
        return time.perf_counter() - began, None, mark[0]
    seconds = time.perf_counter() - began
    return seconds, result, (len(candles), seconds)


def tradewind_budgeted(
    script: str, settings: dict[str, Any], candles: Candles, balances: dict[str, Decimal],
    budget: float,
) -> TwRun:  # fmt: skip
    n = len(candles)
    warm = min(n, 10_000)
    warm_s, _, _ = tradewind_once(script, settings, candles[:warm], balances)
    console.print(f"  Tradewind: warm-up on {warm:,} candles {warm_s:.2f} s; now all {n:,} "
                  f"(budget {budget:g} s) ...")  # fmt: skip
    seconds, result, (done, at) = tradewind_once(script, settings, candles, balances,
                                                 time.perf_counter() + budget)  # fmt: skip
    if result is not None:
        return TwRun(warm, warm_s, n, seconds, True, result, n, seconds)
    if done <= 0:  # not one progress report: judge on the warm-up
        done, at = warm, warm_s
    console.print(f"  Tradewind: stopped at the budget after {done:,} candles; again on those, "
                  "for the fills ...")  # fmt: skip
    p_s, p_result, _ = tradewind_once(script, settings, candles[:done], balances,
                                      time.perf_counter() + 2 * budget + 30)  # fmt: skip
    return TwRun(warm, warm_s, done, at, False, p_result, done, p_s)


def tradewind_rows(report: CaseReport, tw: TwRun, n: int, budget: float, fills: int | None,
                   agreement: str) -> None:  # fmt: skip
    """Tradewind's rows of a case's table, and the line that says what was measured."""
    report.tradewind_rate = tw.candles / tw.seconds / 1e6
    report.rows.append(Row("Tradewind, first run (warm-up)", tw.warm_candles, tw.warm_seconds,
                           None, "", ratio_base=False))  # fmt: skip
    if tw.complete:
        report.rows.append(Row("Tradewind", tw.candles, tw.seconds, fills, agreement))
        return
    report.rows.append(Row("Tradewind, all candles, stopped at the budget", tw.candles,
                           tw.seconds, None, "the rate judged against the target"))  # fmt: skip
    report.rows.append(Row(f"Tradewind, first {tw.result_candles:,} candles only",
                           tw.result_candles, tw.result_seconds, fills, agreement))  # fmt: skip
    report.lines.insert(0, (
        f"Tradewind on all {n:,} candles was stopped at --tradewind-max-seconds {budget:g} "
        f"after {tw.candles:,} of them ({tw.seconds:.1f} s at its last progress report): that "
        f"rate is its figure. It was run again on those {tw.result_candles:,} candles alone for "
        f"the fills to check ({tw.result_seconds:.1f} s: faster a candle, as its cost per event "
        "grows with the length of the series: ReplayFeed._global_index searches the int64 vertex "
        "times with a float, which converts the whole array on every call)"
    ))  # fmt: skip


# ---- comparing -------------------------------------------------------------------------------


def exact_agreement(a: Fills, b: Fills, with_ts: bool) -> tuple[int, int, str]:
    """(rows equal in order, rows of the longer, first difference)."""
    ra, rb = a.rows(with_ts), b.rows(with_ts)
    same = 0
    for x, y in zip(ra, rb, strict=False):
        if x != y:
            break
        same += 1
    first = ""
    if same < max(len(ra), len(rb)):
        x = ra[same] if same < len(ra) else None
        y = rb[same] if same < len(rb) else None
        first = f"first difference at fill {same + 1}: {x} vs {y} (time or bar, side, price ticks, lots)"
    return same, max(len(ra), len(rb)), first


def grid_pair_stats(
    f: Fills, plan: GridPlan, pairs: Sequence[int] | None = None
) -> tuple[dict[int, int], set[int]]:
    """Round trips per pair (a buy at its lower level then a sell at its upper one) and the
    levels traded (indices)."""
    if pairs is None:
        at = {int(p): j for j, p in enumerate(plan.levels.tolist())}
        pairs = []
        for side, price, taker in zip(
            f.side.tolist(), f.price.tolist(), f.taker.tolist(), strict=True
        ):
            if taker:
                pairs.append(-1)
            else:
                level = at.get(price, -10)
                pairs.append(level if side > 0 else level - 1)
    holding: dict[int, bool] = {}
    trips: Counter[int] = Counter()
    levels: set[int] = set()
    for j, side in zip(pairs, f.side.tolist(), strict=True):
        if j < 0:
            continue
        levels.add(j if side > 0 else j + 1)
        if side > 0:
            holding[j] = True
        elif holding.get(j):
            trips[j] += 1
            holding[j] = False
    return dict(trips), levels


@dataclass
class Deal:
    entry_bar: int
    entry: int
    safety: int
    exit_bar: int | None
    exit: int | None


def deals_of(f: Fills) -> list[Deal]:
    deals: list[Deal] = []
    for bar, side, price, taker in zip(
        f.bar.tolist(), f.side.tolist(), f.price.tolist(), f.taker.tolist(), strict=True
    ):
        if side > 0 and taker:
            deals.append(Deal(bar, price, 0, None, None))
        elif side > 0 and deals:
            deals[-1].safety += 1
        elif side < 0 and deals:
            deals[-1].exit_bar, deals[-1].exit = bar, price
    return deals


def compare_deals(a: list[Deal], b: list[Deal]) -> tuple[int, str]:
    """How many deals agree from the first (entry and exit within a bar, same number of safety
    orders filled), and the first that does not."""
    same = 0
    for x, y in zip(a, b, strict=False):
        close = (abs(x.entry_bar - y.entry_bar) <= 1 and x.safety == y.safety
                 and (x.exit_bar is None) == (y.exit_bar is None)
                 and (x.exit_bar is None or abs(x.exit_bar - (y.exit_bar or 0)) <= 1))  # fmt: skip
        if not close:
            return same, (f"deal {same + 1}: Tradewind entry bar {x.entry_bar} at {x.entry / 100:.2f}, "
                          f"{x.safety} safety, exit bar {x.exit_bar}; backtesting.py entry bar "
                          f"{y.entry_bar} at {y.entry / 100:.2f}, {y.safety} safety, exit bar {y.exit_bar}")  # fmt: skip
        same += 1
    return same, ""


# ---- output ------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    candles: int | None
    seconds: float | None
    fills: int | None
    agreement: str
    ratio_base: bool = True  # compared with Tradewind in the ratio column

    @property
    def rate(self) -> float | None:
        if not self.candles or not self.seconds:
            return None
        return self.candles / self.seconds / 1e6


@dataclass
class CaseReport:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    tradewind_rate: float | None = None
    target: float = GRID_TARGET


def fmt_rate(rate: float | None) -> str:
    if rate is None:
        return "-"
    return f"{rate:.4f}" if rate < 0.01 else f"{rate:.3f}" if rate < 10 else f"{rate:.1f}"


def fmt_ratio(tw: float | None, rate: float | None) -> str:
    if tw is None or rate is None:
        return "-"
    r = tw / rate
    return f"{r:.4f}x" if r < 0.01 else f"{r:.3f}x" if r < 10 else f"{r:.1f}x"


def print_case(report: CaseReport) -> None:
    table = Table(title=f"({report.key}) {report.title}", title_justify="left", show_lines=False)
    for name, justify in (("framework", "left"), ("candles", "right"), ("seconds", "right"),
                          ("M candles/s", "right"), ("Tradewind / it", "right"),
                          ("fills", "right"), ("agreement", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in report.rows:
        table.add_row(
            row.name, "-" if row.candles is None else f"{row.candles:,}",
            "-" if row.seconds is None else f"{row.seconds:.3f}", fmt_rate(row.rate),
            fmt_ratio(report.tradewind_rate, row.rate) if row.ratio_base else "-",
            "-" if row.fills is None else f"{row.fills:,}", row.agreement,
        )  # fmt: skip
    out.print(table)
    for line in report.lines:
        out.print(f"  {line}")
    out.print()


def best_of(call: Callable[[], Any], times: int = 3) -> tuple[float, Any]:
    """The fastest of ``times`` calls (warm runs of a few ms feel this machine's neighbours)."""
    runs = [timed(call) for _ in range(times)]
    return min(s for s, _ in runs), runs[-1][1]


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = call()
    return time.perf_counter() - began, value


# ---- the cases ---------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    instrument: Instrument
    kernels: SimpleNamespace
    vbt: SimpleNamespace
    fee: float
    compiled: dict[str, str] = field(default_factory=dict)

    def first_call(self, what: str, kernel: str, case: str) -> str:
        """The first-call row's name: with JIT, or compiled in an earlier case."""
        earlier = self.compiled.setdefault(f"{what}/{kernel}", case)
        return f"{what}, first call" + (
            " (JIT)" if earlier == case else f" (compiled in ({earlier}))"
        )


def quantile_price(candles: Candles, q: float) -> str:
    return f"{float(np.quantile(candles.close, q)):.2f}"


def grid_settings(
    candles: Candles, levels: int, q: tuple[float, float], investment: int
) -> dict[str, Any]:
    return {
        "symbol": SYMBOL, "lowerLimit": quantile_price(candles, q[0]),
        "upperLimit": quantile_price(candles, q[1]), "gridCount": levels, "gridMode": "Arithmetic",
        "investmentAsset": "Quote", "investmentAmount": str(investment), "tradeToFillGrid": True,
    }  # fmt: skip


def check_tradewind(report: CaseReport, inst: Instrument, tw: TwRun, first_ms: int,
                    ref_tw: Fills, balance: int) -> tuple[Fills | None, str]:  # fmt: skip
    """Tradewind's fills and balances against the numba loop's over the same candles."""
    if tw.result is None:
        report.lines.append(
            "Tradewind's run for the fills was cancelled too: its trades are not checked"
        )
        return None, "not checked"
    fills = tradewind_fills(tw.result, inst, first_ms)
    same, total, first = exact_agreement(fills, ref_tw, with_ts=True)
    quote, base = ref_tw.cash_flow(inst.maker_fee, inst.tick_size, inst.amount_step)
    want_usdt = Decimal(balance) + quote
    got = tw.result.balances
    bal_ok = got.get("USDT", Decimal(0)) == want_usdt and got.get("BTC", Decimal(0)) == base
    report.lines.append(
        f"trades agree, Tradewind and the numba loop (Tradewind's fill model) over the "
        f"{tw.result_candles:,} candles Tradewind ran: {same:,} of {total:,} fills (time to the "
        f"ms, side, price, amount)" + (f"; {first}" if first else "")
    )  # fmt: skip
    report.lines.append(
        f"balances: Tradewind USDT {got.get('USDT', 0)} BTC {got.get('BTC', 0)}; numba loop "
        f"USDT {want_usdt} BTC {base}: {'equal' if bal_ok else 'DIFFERENT'}"
    )
    return fills, f"= numba loop: {same:,} of {total:,}" + ("" if bal_ok else ", balances differ")


def check_vbt(report: CaseReport, inst: Instrument, vo: VbtOutcome, tw_fills: Fills | None,
              tw_candles: int, ref: Fills, balance: int, n: int) -> str:  # fmt: skip
    """vectorbt's orders against Tradewind's fills (over the candles Tradewind ran), and its
    orders, cash and position against the numba loop's (over all of them)."""
    agree = "-"
    if tw_fills is not None:
        same, total, first = exact_agreement(tw_fills, vo.fills.upto(tw_candles), with_ts=False)
        agree = f"= Tradewind: {same:,} of {total:,}"
        report.lines.append(
            f"trades agree, vectorbt and Tradewind over the first {tw_candles:,} candles: {same:,} "
            f"of {total:,} fills (bar, side, price, amount)" + (f"; {first}" if first else "")
        )
    same, total, _ = exact_agreement(ref, vo.fills, with_ts=False)
    quote, base = ref.cash_flow(inst.maker_fee, inst.tick_size, inst.amount_step)
    want = float(Decimal(balance) + quote)
    cash_ok = abs(vo.cash - want) < 1e-6 * balance and abs(vo.assets - float(base)) < 1e-9
    report.lines.append(
        f"vectorbt over all {n:,} candles: {same:,} of {total:,} orders as the numba loop's fills; "
        f"its cash {vo.cash:,.6f} USDT and {vo.assets:.5f} BTC (its own accounting, fees "
        f"included) {'match' if cash_ok else 'DO NOT match'} the loop's {want:,.6f} USDT and "
        f"{float(base):.5f} BTC"
    )  # fmt: skip
    return agree


def grid_case(ctx: Context, key: str, title: str, candles: Candles, levels: int,
              q: tuple[float, float], investment: int, balance: int) -> CaseReport:  # fmt: skip
    inst, k = ctx.instrument, ctx.kernels
    settings = grid_settings(candles, levels, q, investment)
    plan = GridPlan.of(settings, inst)
    bars = Bars.of(candles, inst.tick_size)
    n = len(bars)
    report = CaseReport(key, title)
    report.lines.append(
        f"grid {settings['lowerLimit']}..{settings['upperLimit']} ({q[0]:.0%} to {q[1]:.0%} of the "
        f"closes), {levels} grids, {plan.amounts.min() / 1e5:.5f}..{plan.amounts.max() / 1e5:.5f} "
        f"BTC a grid, {investment:,} USDT of {balance:,}; prices {candles.low.min():,.2f}.."
        f"{candles.high.max():,.2f}"
    )  # fmt: skip

    console.print(f"({key}) Tradewind ...")
    budget = ctx.args.tradewind_max_seconds
    tw = tradewind_budgeted("spot_grid", settings, candles, {"USDT": Decimal(balance)}, budget)
    console.print(f"({key}) numba loop ...")
    first_s, _ = timed(lambda: numba_grid(k, bars, plan))
    warm_s, ref = best_of(lambda: numba_grid(k, bars, plan))
    ref_tw = numba_grid(k, Bars.of(candles[: tw.result_candles], inst.tick_size), plan)
    console.print(f"({key}) vectorbt ...")
    records = max(n, 2 * len(ref))
    v_first_s, _ = timed(lambda: vbt_grid(ctx.vbt, bars, plan, float(balance), ctx.fee, records))
    v_warm_s, pf = best_of(lambda: vbt_grid(ctx.vbt, bars, plan, float(balance), ctx.fee, records))
    vo = _vbt_outcome(pf)
    console.print(f"({key}) backtesting.py ...")
    frame, strategy = bt_frame(candles), bt_grid_strategy(bars, plan)
    bt_s, stats = timed(lambda: bt_run(frame, strategy, float(balance), ctx.fee))
    bt_strategy = stats["_strategy"]
    bt_fills = fills_of(bt_strategy.fills)

    tw_fills, tw_agree = check_tradewind(report, inst, tw, int(candles.ts[0]), ref_tw, balance)
    v_agree = check_vbt(report, inst, vo, tw_fills, tw.result_candles, ref, balance, n)
    # backtesting.py: levels traded and round trips per pair
    ref_trips, ref_levels = grid_pair_stats(ref, plan)
    bt_trips, bt_levels = grid_pair_stats(bt_fills, plan, bt_strategy.pairs)
    pairs = len(plan.amounts)
    pairs_equal = sum(1 for j in range(pairs) if ref_trips.get(j, 0) == bt_trips.get(j, 0))
    beyond = sum(
        1 for p, j, s in zip(bt_fills.price.tolist(), bt_strategy.pairs, bt_fills.side.tolist(), strict=True)
        if j >= 0 and p != plan.levels[j if s > 0 else j + 1]
    )  # fmt: skip
    same_levels = ref_levels == bt_levels
    bt_agree = f"levels {'same' if same_levels else 'differ'}, trips/pair {pairs_equal}/{pairs}"
    report.lines.append(
        f"backtesting.py against Tradewind's model (the numba loop, all {n:,} candles): levels "
        f"traded {'the same' if same_levels else 'differ'} ({len(bt_levels)} vs {len(ref_levels)}); "
        f"round trips per pair equal for {pairs_equal} of {pairs} pairs; round trips "
        f"{sum(bt_trips.values()):,} vs {sum(ref_trips.values()):,}; fills {len(bt_fills):,} vs "
        f"{len(ref):,}; {beyond:,} of its fills at an open beyond the level (the order became "
        "active after the price had passed it)"
    )  # fmt: skip
    if not (same_levels and ref_trips == bt_trips and len(bt_fills) == len(ref)):
        report.lines.append(
            "  why they differ: backtesting.py sees bars, not paths: an order placed in a bar (each "
            "grid's re-armed order) can fill from the next bar only, so a buy and its sell never "
            "fill in one bar as they do along Tradewind's path; its limits fill when the range "
            "touches them (Tradewind needs the ask or bid there: 0.5 beyond); the grid is laid out "
            "at its first call, on the second bar, and its market buy fills at that close "
            "(Tradewind: at the first open + 0.5)"
        )

    tradewind_rows(report, tw, n, budget, None if tw_fills is None else len(tw_fills), tw_agree)
    report.rows += [
        Row(ctx.first_call("numba loop", "grid", key), n, first_s, len(ref), ""),
        Row("numba loop, warm (best of 3)", n, warm_s, len(ref), "reference (Tradewind's model)"),
        Row(ctx.first_call("vectorbt", "grid", key), n, v_first_s, len(vo.fills), ""),
        Row("vectorbt, warm (best of 3)", n, v_warm_s, len(vo.fills), v_agree),
        Row("backtesting.py", n, bt_s, len(bt_fills), bt_agree),
    ]  # fmt: skip
    return report


def deal_summary(deals: list[Deal]) -> str:
    closed = [d for d in deals if d.exit_bar is not None]
    if not closed:
        return f"{len(deals):,} deals, none closed"
    bars = sum(d.exit_bar - d.entry_bar for d in closed if d.exit_bar is not None) / len(closed)
    safety = sum(d.safety for d in deals) / len(deals)
    return (f"{len(deals):,} deals ({len(closed):,} closed, {bars:,.0f} bars each on average, "
            f"{safety:.2f} safety orders filled a deal)")  # fmt: skip


def dca_case(ctx: Context, candles: Candles) -> CaseReport:
    inst, k = ctx.instrument, ctx.kernels
    plan = DcaPlan.of(DCA, inst)
    bars = Bars.of(candles, inst.tick_size)
    n = len(bars)
    balance = 10_000
    report = CaseReport("d", f"DCA bot, 8 safety orders, {n:,} generated one-minute candles")
    report.lines.append(
        "settings: "
        + ", ".join(f"{k} {v}" for k, v in DCA.items() if k not in ("symbol", "direction"))
        + f"; {balance:,} USDT"
    )

    console.print("(d) Tradewind ...")
    budget = ctx.args.tradewind_max_seconds
    tw = tradewind_budgeted("dca_spot", DCA, candles, {"USDT": Decimal(balance)}, budget)
    console.print("(d) numba loop ...")
    first_s, _ = timed(lambda: numba_dca(k, bars, plan))
    warm_s, (ref, _) = best_of(lambda: numba_dca(k, bars, plan))
    ref_tw, _ = numba_dca(k, Bars.of(candles[: tw.result_candles], inst.tick_size), plan)
    console.print("(d) vectorbt ...")
    records = max(n, 2 * len(ref))
    v_first_s, _ = timed(lambda: vbt_dca(ctx.vbt, bars, plan, float(balance), ctx.fee, records))
    v_warm_s, pf = best_of(lambda: vbt_dca(ctx.vbt, bars, plan, float(balance), ctx.fee, records))
    vo = _vbt_outcome(pf)
    console.print("(d) backtesting.py ...")
    frame, strategy = bt_frame(candles), bt_dca_strategy(bars, plan)
    bt_s, stats = timed(lambda: bt_run(frame, strategy, float(balance), ctx.fee))
    bt_fills = fills_of(stats["_strategy"].fills)

    tw_fills, tw_agree = check_tradewind(report, inst, tw, int(candles.ts[0]), ref_tw, balance)
    if tw_fills is not None:
        report.lines.append(f"Tradewind: {deal_summary(deals_of(tw_fills))}")
    v_agree = check_vbt(report, inst, vo, tw_fills, tw.result_candles, ref, balance, n)
    ref_d, bt_d = deals_of(ref), deals_of(bt_fills)
    d_same, d_first = compare_deals(ref_d, bt_d)
    bt_agree = f"deals {d_same:,} of {len(ref_d):,} alike"
    report.lines.append(
        f"backtesting.py against Tradewind's model (the numba loop, all {n:,} candles): deals alike "
        f"from the first one (entry and exit within a bar, same safety orders filled): {d_same:,}"
        + (f"; they part at {d_first}" if d_first else "")
    )  # fmt: skip
    report.lines.append(f"  numba loop: {deal_summary(ref_d)}")
    report.lines.append(f"  backtesting.py: {deal_summary(bt_d)}")
    if d_first or len(ref_d) != len(bt_d):
        report.lines.append(
            "  why they differ: backtesting.py acts once a bar, at its close (first on the second "
            "bar): a deal's market buy fills at that bar's close (Tradewind: at the path vertex "
            "right after the take profit, + 0.5); the ladder and the take profit are placed the bar "
            "after the base fill and work from the bar after that; its take profit fills when the "
            "high touches it (Tradewind: when the bid does, 0.5 higher). One entry price apart, "
            "every later deal differs"
        )

    tradewind_rows(report, tw, n, budget, None if tw_fills is None else len(tw_fills), tw_agree)
    report.rows += [
        Row(ctx.first_call("numba loop", "dca", "d"), n, first_s, len(ref), ""),
        Row("numba loop, warm (best of 3)", n, warm_s, len(ref), "reference (Tradewind's model)"),
        Row(ctx.first_call("vectorbt", "dca", "d"), n, v_first_s, len(vo.fills), ""),
        Row("vectorbt, warm (best of 3)", n, v_warm_s, len(vo.fills), v_agree),
        Row("backtesting.py", n, bt_s, len(bt_fills), bt_agree),
    ]  # fmt: skip
    return report


def sma_case(ctx: Context, candles: Candles) -> CaseReport:
    inst = ctx.instrument
    bars = Bars.of(candles, inst.tick_size)
    n = len(bars)
    half = int(inst.half_spread / inst.tick_size)
    report = CaseReport("c", f"SMA({SMA_FAST})/SMA({SMA_SLOW}) long-only crossover, {n:,} generated one-minute candles",
                        target=SMA_TARGET)  # fmt: skip
    console.print("(c) Tradewind ...")
    settings = {"symbol": SYMBOL, "fastPeriod": SMA_FAST, "slowPeriod": SMA_SLOW, "timeframe": "1m",
                "orderSize": str(SMA_LOTS * inst.amount_step), "sizeAsset": "Base"}  # fmt: skip
    balance = 100_000
    tw = tradewind_budgeted("sma_cross", settings, candles, {"USDT": Decimal(balance)},
                            ctx.args.tradewind_max_seconds)  # fmt: skip
    console.print("(c) numba loop ...")
    k = ctx.kernels
    first_s, _ = timed(lambda: numba_sma(k, bars, half))
    warm_s, ref = best_of(lambda: numba_sma(k, bars, half))
    console.print("(c) vectorbt ...")
    close = np.asarray(candles.close, dtype=np.float64)
    v_first_s, _ = timed(lambda: vbt_sma(close, float(inst.half_spread), 100_000.0, ctx.fee))
    v_warm_s, pf = best_of(lambda: vbt_sma(close, float(inst.half_spread), 100_000.0, ctx.fee))
    vo = _vbt_outcome(pf)
    console.print("(c) backtesting.py ...")
    frame = bt_frame(candles)
    bt_s, stats = timed(lambda: bt_run(frame, bt_sma_strategy(), 100_000.0, ctx.fee))
    bt_fills = fills_of(stats["_strategy"].fills)

    v_same, v_total, v_first = exact_agreement(ref, vo.fills, with_ts=False)
    ref_bars = list(zip(ref.bar.tolist(), ref.side.tolist(), strict=True))
    bt_bars = list(zip(bt_fills.bar.tolist(), bt_fills.side.tolist(), strict=True))
    ref_set = set(ref_bars)
    b_same = sum(1 for x in bt_bars if x in ref_set)
    only_ref = len(set(ref_bars) - set(bt_bars))
    only_bt = len(set(bt_bars) - set(ref_bars))
    matched = {
        (b, s): p
        for b, s, p in zip(ref.bar.tolist(), ref.side.tolist(), ref.price.tolist(), strict=True)
    }
    offsets = Counter(
        p - matched[(b, s)] for b, s, p in zip(bt_fills.bar.tolist(), bt_fills.side.tolist(), bt_fills.price.tolist(), strict=True)
        if (b, s) in matched
    )  # fmt: skip
    report.lines.append(
        f"Tradewind: the sma_cross bot, SMA({SMA_FAST})/SMA({SMA_SLOW}) on 1m bars, "
        f"{SMA_LOTS * inst.amount_step} BTC a buy, at market when the bar closes (filled at that "
        "close -/+ the half spread, as the loop)"
    )
    tw_fills: Fills | None = None
    tw_agreement = "not checked"
    if tw.result is not None:
        tw_fills = tradewind_fills(tw.result, inst, int(candles.ts[0]))
        ref_tw = numba_sma(k, Bars.of(candles[: tw.result_candles], inst.tick_size), half)
        t_same, t_total, t_first = exact_agreement(tw_fills, ref_tw, with_ts=False)
        tw_agreement = f"= numba loop: {t_same:,} of {t_total:,}"
        report.lines.append(
            f"trades agree, Tradewind and the numba loop over the {tw.result_candles:,} candles "
            f"Tradewind ran: {t_same:,} of {t_total:,} fills (bar, side, price, amount)"
            + (f"; {t_first}" if t_first else "")
        )  # fmt: skip
    report.lines.append(
        f"trades agree, vectorbt and the numba loop (exact integer means): {v_same:,} of {v_total:,} "
        f"fills (bar, side, price at close -/+ 0.5, amount)" + (f"; {v_first}" if v_first else "")
    )
    report.lines.append(
        f"backtesting.py and the numba loop: {b_same:,} of {len(bt_bars):,} of its fills on the same "
        f"bar and side ({only_ref} only in the loop, {only_bt} only in backtesting.py); price "
        f"offsets (ticks, backtesting.py - loop): {dict(offsets)}: it fills at the close itself "
        "(its spread is a rate charged on entries only, not an absolute half-spread), and its "
        "crossover() needs strictly below then strictly above, so a cross through an exact tie of "
        "the two means is missed (the loop and vectorbt take it)"
    )  # fmt: skip
    tradewind_rows(report, tw, n, ctx.args.tradewind_max_seconds,
                   None if tw_fills is None else len(tw_fills), tw_agreement)  # fmt: skip
    report.rows += [
        Row("numba loop, first call (JIT)", n, first_s, len(ref), "", ratio_base=False),
        Row("numba loop, warm (best of 3)", n, warm_s, len(ref), "reference (exact means)"),
        Row("vectorbt, first call (JIT)", n, v_first_s, len(vo.fills), "", ratio_base=False),
        Row("vectorbt, warm (best of 3)", n, v_warm_s, len(vo.fills), f"= numba: {v_same:,} of {v_total:,}"),
        Row("backtesting.py", n, bt_s, len(bt_fills), f"{b_same:,} of {len(bt_bars):,} same bar"),
    ]  # fmt: skip
    return report


# ---- sweep and memory ------------------------------------------------------------------------

_SWEEP: dict[str, Any] = {}


def sweep_settings(i: int, candles: Candles) -> dict[str, Any]:
    """Combination ``i``: grid count, range (percentiles) and mode vary."""
    counts = (5, 8, 10, 12, 15, 20, 25, 30, 40, 50)
    ranges = ((0.05, 0.95), (0.1, 0.9), (0.2, 0.8), (0.25, 0.75), (0.3, 0.7))
    lo, hi = ranges[(i // len(counts)) % len(ranges)]
    mode = "Arithmetic" if (i // (len(counts) * len(ranges))) % 2 == 0 else "Geometric"
    return {
        "symbol": SYMBOL, "lowerLimit": quantile_price(candles, lo), "upperLimit": quantile_price(candles, hi),
        "gridCount": counts[i % len(counts)], "gridMode": mode, "investmentAsset": "Quote",
        "investmentAmount": str(10_000 + 10 * (i // 100)), "tradeToFillGrid": True,
    }  # fmt: skip


def _sweep_init(seed: int) -> None:
    _SWEEP["candles"] = generate(SWEEP_CANDLES, seed)


def _sweep_one(i: int) -> tuple[float, int]:
    candles = _SWEEP["candles"]
    seconds, result, _ = tradewind_once("spot_grid", sweep_settings(i, candles), candles,
                                        {"USDT": Decimal(30_000)})  # fmt: skip
    return seconds, len(result.fills)


def run_sweep(ctx: Context) -> tuple[float | None, list[str]]:
    count, seed = ctx.args.sweep, ctx.args.seed
    lines = []
    if count <= 0:
        lines.append(
            f"sweep: skipped (--sweep 0). The target is 1,000 grid combinations over {SWEEP_CANDLES:,} "
            f"candles in under {SWEEP_TARGET_S:.0f} s: .venv/bin/python bench/backtest.py --sweep 1000"
        )
        return None, lines
    workers = os.cpu_count() or 1
    console.print(
        f"sweep: {count} grid settings with Tradewind over {SWEEP_CANDLES:,} candles, {workers} processes ..."
    )
    began = time.perf_counter()
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_sweep_init, initargs=(seed,)
    ) as pool:
        results = list(pool.map(_sweep_one, range(count)))
    total = time.perf_counter() - began
    per = [s for s, _ in results]
    fills = sum(f for _, f in results)
    lines.append(
        f"sweep: {count:,} grid combinations with Tradewind over {SWEEP_CANDLES:,} candles on {workers} "
        f"processes: {total:.1f} s in all ({count * SWEEP_CANDLES / total / 1e6:.3f} M candles/s "
        f"together; one run {min(per):.2f}..{max(per):.2f} s, mean {sum(per) / len(per):.2f} s; "
        f"{fills:,} fills)"
    )  # fmt: skip
    candles = generate(SWEEP_CANDLES, seed)
    bars = Bars.of(candles, ctx.instrument.tick_size)
    plans = [GridPlan.of(sweep_settings(i, candles), ctx.instrument) for i in range(count)]
    numba_grid(ctx.kernels, bars, plans[0])
    began = time.perf_counter()
    for plan in plans:
        numba_grid(ctx.kernels, bars, plan)
    loop_s = time.perf_counter() - began
    lines.append(
        f"sweep, the same {count:,} combinations with the numba loop (one process): {loop_s:.2f} s"
    )
    if count != 1000:
        lines.append(
            f"  scaled to 1,000 combinations: Tradewind about {total * 1000 / count:,.0f} s"
        )
    return total * 1000 / count, lines


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` figure in MB (VmRSS: resident now; VmHWM: the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(args: argparse.Namespace) -> None:
    """Case (a) with Tradewind alone, in this fresh process (vectorbt, backtesting.py and the
    benchmark's own numba loops not imported; numba's runtime is, by Tradewind's compiled
    re-arm program, about 100 MB of it): its peak resident memory. Read from /proc (VmHWM), not
    ``ru_maxrss``, which after fork and exec keeps the parent's size."""
    candles = generate(args.candles, args.seed)
    settings = grid_settings(candles, 10, (0.1, 0.9), 10_000)
    setup_peak, before = _status_mb("VmHWM"), _status_mb("VmRSS")
    try:  # reset the peak to what is resident now, so VmHWM is the run's own peak
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    seconds, result, _ = tradewind_once("spot_grid", settings, candles, {"USDT": Decimal(30_000)})
    print(json.dumps({
        "candles": len(candles), "seconds": seconds, "rss_before_mb": before,
        "setup_peak_mb": setup_peak, "peak_mb": _status_mb("VmHWM"), "reset": reset,
        "fills": len(result.fills),
    }))  # fmt: skip


def run_memory(args: argparse.Namespace) -> tuple[float | None, list[str]]:
    if args.skip_memory:
        return None, ["memory: skipped (--skip-memory)"]
    console.print(
        f"memory: case (a) with Tradewind on {MEMORY_CANDLES:,} candles in a subprocess ..."
    )
    cmd = [sys.executable, __file__, "--memory-child", "--candles", str(MEMORY_CANDLES),
           "--seed", str(args.seed)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, [f"memory: the subprocess failed: {done.stderr.strip()[-500:]}"]
    m = json.loads(done.stdout.strip().splitlines()[-1])
    peak = max(m["peak_mb"], m["setup_peak_mb"]) if not m["reset"] else m["peak_mb"]
    return peak, [
        f"memory: case (a) with Tradewind on {m['candles']:,} candles in a fresh process "
        f"({m['seconds']:.1f} s, {m['fills']:,} fills): peak resident memory during the run "
        f"{peak:.0f} MB (VmHWM; target {MEMORY_TARGET_MB:.0f} MB). {m['rss_before_mb']:.0f} MB "
        f"were resident before it (Python, Tradewind's imports, the {m['candles']:,} candles), so "
        f"the run itself added up to {peak - m['rss_before_mb']:.0f} MB"
    ]  # fmt: skip


# ---- main --------------------------------------------------------------------------------------


def _load() -> str:
    """This machine's load average: others' work on its cores slows every figure."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "[green]met[/green]" if ok else "[red]not met[/red]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--candles", type=int, default=1_000_000, help="generated one-minute candles"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tradewind-max-seconds", type=float, default=60.0,
                        help="Tradewind's time budget per case: beyond it, a prefix")  # fmt: skip
    parser.add_argument("--fil-candles", type=int, default=0,
                        help="case (b) on the first N candles of the FIL file (0: all)")  # fmt: skip
    parser.add_argument("--sweep", type=int, default=0, help="grid combinations to sweep (0: skip)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--cases", default="abcd",
                        help="the cases to run, by letter (default abcd): 'd' alone, from two "
                             "checkouts, compares two versions of the code on one case")  # fmt: skip
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if set(args.cases) - set("abcd"):
        parser.error(f"--cases: letters among abcd, not {args.cases!r}")
    if args.memory_child:
        memory_child(args)
        return

    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    out.print(f"command: {command}")
    inst = paper_instruments()[SYMBOL]
    out.print(
        f"{SYMBOL} on the paper venue: tick {inst.tick_size}, lot {inst.amount_step}, minimum "
        f"{inst.min_amount} BTC and {inst.min_notional} USDT, fees maker {inst.maker_fee} taker "
        f"{inst.taker_fee}, half spread {inst.half_spread} (buys at last + 0.5, sells at last - 0.5); "
        f"{os.cpu_count()} cores"
    )
    out.print(
        "the same 0.1 % fee everywhere. Spread: the numba loop and vectorbt fill as Tradewind does "
        "(limits at their own price once the ask/bid reaches them, market orders at last -/+ 0.5); "
        "backtesting.py has no absolute spread (its `spread` is a rate applied to every fill, "
        "limits included), so it runs without one and its limits fill when the bar's range touches "
        "them"
    )
    out.print()
    began = time.perf_counter()
    console.print(f"generating {args.candles:,} candles (seed {args.seed}) ...")
    candles = generate(args.candles, args.seed)
    fil = load_fil()
    if fil is not None and args.fil_candles:
        fil = fil[: args.fil_candles]
    console.print("importing numba, vectorbt and backtesting.py ...")
    import backtesting
    import vectorbt

    kernels = build_kernels()
    ctx = Context(args, inst, kernels, build_vbt(kernels), float(inst.maker_fee))
    out.print(
        f"versions: vectorbt {vectorbt.__version__}, backtesting.py {backtesting.__version__}, "
        f"numba {__import__('numba').__version__}, numpy {np.__version__}; Python {sys.version.split()[0]}"
    )
    out.print(f"load average at the start (1, 5, 15 min): {_load()}")
    out.print(
        f"generated candles: {len(candles):,} one-minute bars from 2024-01-01, seed {args.seed}, "
        f"{candles.low.min():,.2f}..{candles.high.max():,.2f}"
    )
    out.print()

    reports = []
    if "a" in args.cases:
        reports.append(grid_case(ctx, "a", f"10-level arithmetic spot grid, {len(candles):,} generated one-minute candles",
                                 candles, 10, (0.1, 0.9), 10_000, 30_000))  # fmt: skip
        print_case(reports[-1])
    if "b" in args.cases and fil is None:
        out.print(f"(b) 200-level grid on FIL_USDT-1m: skipped: {FIL_FILE} is absent\n")
    elif "b" in args.cases and fil is not None:
        reports.append(grid_case(
            ctx, "b", f"200-level arithmetic spot grid, FIL_USDT-1m ({len(fil):,} candles, 2023-08..11, "
            f"prices x{FIL_SCALE:,} on BTC/USDT's rules)", fil, 200, (0.01, 0.99), 20_000, 50_000,
        ))  # fmt: skip
        print_case(reports[-1])
    if "c" in args.cases:
        reports.append(sma_case(ctx, candles))
        print_case(reports[-1])
    if "d" in args.cases:
        reports.append(dca_case(ctx, candles))
        print_case(reports[-1])

    sweep_1000, sweep_lines = run_sweep(ctx)
    memory_mb, memory_lines = run_memory(args)
    for line in sweep_lines + memory_lines:
        out.print(line)
    out.print()

    summary = Table(title="targets", title_justify="left")
    for name in (
        "target",
        "Tradewind",
        "met?",
        "vectorbt (warm)",
        "backtesting.py",
        "numba loop (warm)",
    ):
        summary.add_column(name)
    for r in reports:
        rates = {row.name: row.rate for row in r.rows}
        tw = r.tradewind_rate
        summary.add_row(
            f"({r.key}) >= {r.target:g} M candles/s",
            "not available" if tw is None else f"{fmt_rate(tw)} M/s",
            verdict(None if tw is None else tw >= r.target),
            f"{fmt_rate(rates.get('vectorbt, warm (best of 3)'))} M/s",
            f"{fmt_rate(rates.get('backtesting.py'))} M/s",
            f"{fmt_rate(rates.get('numba loop, warm (best of 3)'))} M/s",
        )
    summary.add_row(
        f"1,000-grid sweep over {SWEEP_CANDLES:,} candles < {SWEEP_TARGET_S:g} s",
        "skipped" if sweep_1000 is None else f"{sweep_1000:,.0f} s" + ("" if args.sweep == 1000 else " (scaled)"),
        verdict(None if sweep_1000 is None else sweep_1000 < SWEEP_TARGET_S), "", "", "",
    )  # fmt: skip
    summary.add_row(
        f"{MEMORY_CANDLES:,}-candle backtest <= {MEMORY_TARGET_MB:g} MB",
        "skipped" if memory_mb is None else f"{memory_mb:.0f} MB peak resident",
        verdict(None if memory_mb is None else memory_mb <= MEMORY_TARGET_MB), "", "", "",
    )  # fmt: skip
    out.print(summary)
    out.print(f"whole run: {time.perf_counter() - began:.0f} s; load average at the end: {_load()}")


if __name__ == "__main__":
    main()
