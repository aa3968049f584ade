"""Candle timeframes and their length; bars are aligned to UTC epoch multiples of it."""

from __future__ import annotations

from enum import StrEnum

MINUTE_MS = 60_000


class Timeframe(StrEnum):
    """A bar length the store keeps and resamples to."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def ms(self) -> int:
        """Length in milliseconds."""
        return _MS[self]

    def floor(self, ts_ms: int) -> int:
        """Open time of the bar that contains ``ts_ms``."""
        return ts_ms - ts_ms % self.ms

    def ceil(self, ts_ms: int) -> int:
        """The first bar boundary at or after ``ts_ms``."""
        return -(-ts_ms // self.ms) * self.ms

    def divides(self, other: Timeframe) -> bool:
        """True when ``other`` is a whole multiple of this timeframe (itself included)."""
        return other.ms % self.ms == 0


_MS = {
    Timeframe.M1: MINUTE_MS,
    Timeframe.M5: 5 * MINUTE_MS,
    Timeframe.M15: 15 * MINUTE_MS,
    Timeframe.H1: 60 * MINUTE_MS,
    Timeframe.H4: 240 * MINUTE_MS,
    Timeframe.D1: 1440 * MINUTE_MS,
}
