"""Indicators the scripts use, computed incrementally (O(1) per bar) with serialisable state.

Wilder's RSI of period n over closes c_0, c_1, ...: with d_i = c_i - c_(i-1), gain g_i =
max(d_i, 0) and loss l_i = max(-d_i, 0), the first averages are the plain means of g_1..g_n and
l_1..l_n, then ``avg_i = (avg_(i-1) * (n - 1) + x_i) / n``. RSI_i = 100 - 100 / (1 + AG / AL),
100 when AL is 0 (50 when AG is 0 too). The first value is at c_n: n + 1 closes are needed.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel


class WilderRSI(BaseModel):
    """Wilder's RSI, fed one close at a time. ``value`` is the latest RSI (None until
    ``period + 1`` closes), ``previous`` the one before it."""

    period: int
    seen: int = 0
    last_close: float | None = None
    avg_gain: float = 0.0
    avg_loss: float = 0.0
    value: float | None = None
    previous: float | None = None

    def update(self, close: float) -> float | None:
        """Take the next close; returns the RSI after it (None while warming up)."""
        self.previous = self.value
        last, self.last_close = self.last_close, close
        self.seen += 1
        if last is None:
            return None
        change = close - last
        gain, loss = (change, 0.0) if change > 0 else (0.0, -change)
        n = self.period
        deltas = self.seen - 1
        if deltas < n:  # accumulating the first sums
            self.avg_gain += gain
            self.avg_loss += loss
            return None
        if deltas == n:
            self.avg_gain = (self.avg_gain + gain) / n
            self.avg_loss = (self.avg_loss + loss) / n
        else:
            self.avg_gain = (self.avg_gain * (n - 1) + gain) / n
            self.avg_loss = (self.avg_loss * (n - 1) + loss) / n
        self.value = _rsi(self.avg_gain, self.avg_loss)
        return self.value

    def feed(self, closes: Iterable[float]) -> None:
        for close in closes:
            self.update(float(close))


def _rsi(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0:
        return 100.0 if avg_gain > 0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def rsi_series(closes: Iterable[float], period: int) -> NDArray[np.float64]:
    """The RSI after each close (NaN while warming up), by the same arithmetic as
    ``WilderRSI``, so a backtester scanning for a threshold sees the values the strategy
    will compute."""
    rsi = WilderRSI(period=period)
    values = [rsi.update(float(close)) for close in closes]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
