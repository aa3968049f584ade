"""Make the bundled candle files from the permissively licensed CSVs in ../shared/data.

Run once from the repository root and commit the output::

    .venv/bin/python scripts/bundle_data.py [SOURCE_DIR]

Only the files named in ``tradewind.marketdata.bundled.BUNDLED`` are read, and each must have
the SHA-256 recorded below (the one in the data's README): the other files beside them are
GPL, LGPL or unlicensed and must never be bundled. Each file is validated, written as
zstd-compressed Parquet (the store's own format) and read back to check it is bit-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from tradewind.marketdata.bundled import BUNDLED, BUNDLED_DIR
from tradewind.marketdata.candles import COLUMNS, Candles
from tradewind.marketdata.store import write_parquet

SHA256 = {
    "BTC_USD-1h": "818af22694445bbff5718f682e4028d24f5d4e7f7b834f83ece563d52ebe1f7f",
    "BTC_USD-1m": "6655b9556de16082306dc59e5c9655ee3a82737d0b488e25fa5f4f91266b055f",
    "ETH_USD-1m": "02c47e881d6961a71875a85f006175e616eb0b224e7a22f8e133a92370f9785e",
    "LTC_USD-1m": "93b09b4df00dc79c118ebad5e2d45a3f1babc2bcec7b81c92be7b1cfd95cd2ab",
    "EUR_USD-1h": "458c65217087ca4db47077c3eeff87817dc56d4615be9252b0d4fd6093b5a3f8",
    "EUR_USD-1h-2017": "104898a72f335e3b8203f0663fc5b1e078989fa44f44ea561ce7eb89990ae5a1",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("source", nargs="?", type=Path, default=default)
    args = parser.parse_args()

    files = {series.file: series.timeframe for series in BUNDLED}
    BUNDLED_DIR.mkdir(parents=True, exist_ok=True)
    for stem, timeframe in sorted(files.items()):
        source = args.source / f"{stem}.csv"
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest != SHA256[stem]:
            print(f"{source}: sha256 {digest} is not the recorded one", file=sys.stderr)
            return 1
        candles = Candles.from_csv(source)
        candles.validate(timeframe)
        target = BUNDLED_DIR / f"{stem}.parquet"
        write_parquet(target, candles, {b"tradewind.source": f"{stem}.csv".encode()}, level=19)
        back = Candles.from_arrow(pq.read_table(target))
        if not all(np.array_equal(getattr(back, c), getattr(candles, c)) for c in COLUMNS):
            print(f"{target}: read back differs from {source}", file=sys.stderr)
            return 1
        print(f"{target.name}: {len(candles):,} rows, {target.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
