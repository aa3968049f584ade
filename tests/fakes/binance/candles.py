"""Klines: the candles a test set, or flat ones at the last price when it set none."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from tests.fakes.binance.model import BinanceError, Candle, Number, now_ms, to_decimal

CandleRow = Candle | tuple[int, Number, Number, Number, Number, Number]
INTERVALS_MS = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
    "30m": 1_800_000, "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000,
    "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
    "3d": 259_200_000, "1w": 604_800_000,
}  # fmt: skip


def to_candle(row: CandleRow) -> Candle:
    if isinstance(row, Candle):
        return row
    open_time, *values = row
    return Candle(open_time, *(to_decimal(v) for v in values))


def select_klines(
    stored: list[Candle] | None,
    interval: str,
    price: Decimal,
    start: int | None,
    end: int | None,
    limit: int,
) -> tuple[int, list[Candle]]:
    """As Binance picks them: from ``start`` forwards if given, else the latest ``limit``."""
    width = INTERVALS_MS.get(interval)
    if width is None:
        raise BinanceError(400, -1120, "Invalid interval.")
    candles = _flat(width, price, start, end, limit) if stored is None else stored
    chosen = [
        c
        for c in candles
        if (start is None or c.open_time >= start) and (end is None or c.open_time <= end)
    ]
    return width, chosen[:limit] if start is not None else chosen[-limit:]


def _flat(
    width: int, price: Decimal, start: int | None, end: int | None, limit: int
) -> list[Candle]:
    latest = now_ms() // width * width
    last_open = latest if end is None else min(latest, end // width * width)
    if start is None:
        first_open = last_open - (limit - 1) * width
    else:
        first_open = int((Decimal(start) / width).to_integral_value(ROUND_CEILING)) * width
    zero = Decimal(0)
    return [
        Candle(t, price, price, price, price, zero) for t in range(first_open, last_open + 1, width)
    ][:limit]
