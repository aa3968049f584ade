"""Injected time: services and engines take a Clock, tests and backtests pass their own."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = EPOCH.replace(tzinfo=None)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of ``moment`` (naive: UTC, as the store means it), exactly."""
    since = moment - (_NAIVE_EPOCH if moment.tzinfo is None else EPOCH)
    return since.days * 86_400_000 + since.seconds * 1000 + since.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds ``ms``."""
    return EPOCH + timedelta(milliseconds=ms)


class Clock(Protocol):
    """Source of the current time."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def now_ms(self) -> int:
        """``now()`` in epoch milliseconds."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def now(self) -> datetime:
        return self._now

    def now_ms(self) -> int:
        """Kept with the time it is set to (a backtest asks for it many times a step)."""
        return self._ms

    def advance(self, seconds: float) -> None:
        self.set(self._now + timedelta(seconds=seconds))

    def set(self, now: datetime) -> None:
        """Jump to ``now`` (a backtest moves its clock along the candles)."""
        self._now, self._ms = now, to_ms(now)
