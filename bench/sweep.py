"""Parameter sweep speed: a spot-grid sweep over a year of generated one-minute candles, run
by the sweep jobs' own code (``tradewind.backtest.sweeps``: ``check_sweep``, ``load_sweep``,
``run_sweep``), on every core.

The candles: 525,600 one-minute BTC/USDT bars (a seeded geometric random walk from 6,400,
Student-t (4) log returns of ``--sigma`` a minute, each open at the previous close, wicks a
half-normal beyond the body, prices on the 0.01 tick), written to a temporary candle store.
The sweep: 1,000 combinations, 10 lower limits (the 5th to 30th percentile of the closes) x 10
upper limits (70th to 95th) x 10 grid counts (5 to 50), 5,000 USDT invested, trade-to-fill on.
All 1,000 are checked (as a job checks them); ``--combinations N`` of them, evenly spread over
the product, are run, and the time for all 1,000 is extrapolated from their rate.

    .venv/bin/python bench/sweep.py [--combinations 16] [--workers <cores>] [--seed 1]

Target (the issue): a 1,000-combination grid sweep over 525,600 one-minute candles in under
60 s.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tradewind.backtest import sweeps
from tradewind.backtest.request import BacktestRequest
from tradewind.marketdata import Candles, CandleStore, Timeframe

SYMBOL = "BTC/USDT"
CANDLES = 525_600
START_MS = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp() * 1000)
TARGET_S = 60.0
FULL = 1000


def generate(n: int, seed: int, start: float = 6_400.0, sigma: float = 0.0008) -> Candles:
    rng = np.random.default_rng(seed)
    returns = rng.standard_t(4, n) * (sigma / math.sqrt(2.0))
    close = np.round(start * np.exp(np.cumsum(returns)), 2)
    opening = np.empty(n)
    opening[0], opening[1:] = round(start, 2), close[:-1]
    top, bottom = np.maximum(opening, close), np.minimum(opening, close)
    high = np.maximum(np.round(top * np.exp(np.abs(rng.normal(0, sigma / 2, n))), 2), top)
    low = np.minimum(np.round(bottom * np.exp(-np.abs(rng.normal(0, sigma / 2, n))), 2), bottom)
    ts = START_MS + Timeframe.M1.ms * np.arange(n, dtype=np.int64)
    volume = np.round(rng.lognormal(0.0, 1.0, n), 4)
    return Candles(ts, opening, high, low, close, volume)


def parameters(candles: Candles) -> dict[str, list[object]]:
    def at(q: float) -> float:
        return round(float(np.quantile(candles.close, q)), 1)

    return {
        "lowerLimit": [at(0.05 + 0.025 * i) for i in range(10)],
        "upperLimit": [at(0.70 + 0.025 * i) for i in range(10)],
        "gridCount": [5 * (i + 1) for i in range(10)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--combinations", type=int, default=16, help="How many of the 1,000 run.")
    parser.add_argument("--workers", type=int, default=sweeps.default_workers())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sigma", type=float, default=0.0008)
    args = parser.parse_args()
    count = max(1, min(FULL, args.combinations))

    began = time.perf_counter()
    candles = generate(CANDLES, args.seed, sigma=args.sigma)
    with tempfile.TemporaryDirectory() as directory:
        store = CandleStore(Path(directory))
        store.write("paper", SYMBOL, Timeframe.M1, candles)
        made = time.perf_counter() - began
        grid = parameters(candles)
        request = sweeps.SweepRequest(
            BacktestRequest(
                script="spot_grid", symbol=SYMBOL, timeframe="1m", start_ms=START_MS,
                end_ms=int(candles.ts[-1]),
                settings={
                    "symbol": SYMBOL, "lowerLimit": grid["lowerLimit"][0],
                    "upperLimit": grid["upperLimit"][0], "gridCount": 5,
                    "investmentAsset": "Quote", "investmentAmount": 5000, "tradeToFillGrid": True,
                },
            ),
            grid,
        )  # fmt: skip
        began = time.perf_counter()
        sweep = sweeps.check_sweep(
            request, store, max_span_days=3660, max_combinations=sweeps.DEFAULT_MAX_COMBINATIONS
        )
        checked = time.perf_counter() - began
        began = time.perf_counter()
        base = sweeps.load_sweep(sweep, store)
        loaded = time.perf_counter() - began

    chosen = [sweep.runnable[i * len(sweep.runnable) // count] for i in range(count)]
    workers = min(args.workers, count)
    print(
        f"{len(candles):,} one-minute candles generated and stored in {made:.1f} s; "
        f"{sweep.total:,} combinations checked in {checked:.2f} s ({len(sweep.skipped)} skipped); "
        f"candles loaded once in {loaded:.2f} s"
    )
    print(f"running {count} of them on {workers} worker processes ...", flush=True)
    began = time.perf_counter()
    outcomes = sweeps.run_sweep(base, chosen, workers=workers)
    ran = time.perf_counter() - began
    table = sweeps.rank(outcomes, "roi")

    rate = count / ran
    failed = [o for o in outcomes if o.status != sweeps.COMPLETED]
    fills = [o.fills or 0 for o in outcomes]
    print(
        f"{count} combinations in {ran:.1f} s on {workers} processes: {rate:.3f} combinations/s, "
        f"{ran * workers / count:.1f} s of a worker per combination, "
        f"{count * len(candles) / ran / 1e6:.2f} M candles/s together"
    )
    print(
        f"fills per combination {min(fills):,} to {max(fills):,} (mean {sum(fills) / count:,.0f}); "
        f"{len(failed)} failed"
    )
    best = table[0]
    print(f"best by roi: {best['parameters']} roi {best['metrics']['roi']:.4f} %")
    whole = FULL / rate
    verdict = "meets" if whole < TARGET_S else "misses"
    print(
        f"extrapolated: {FULL:,} combinations in about {whole:,.0f} s on {workers} processes "
        f"({verdict} the {TARGET_S:.0f} s target; needs {FULL / TARGET_S:.1f} combinations/s)"
    )


if __name__ == "__main__":
    main()
