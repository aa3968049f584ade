"""What would next make a strategy act: ``Wake`` (see the contract in ``base``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal, TypeVar


@dataclass(frozen=True, slots=True)
class IndicatorWake:
    """Wake on the first closed bar whose indicator is <= ``at_or_below`` or >=
    ``at_or_above`` (Wilder's RSI of ``period`` bars of ``interval``)."""

    period: int
    interval: str
    at_or_below: float | None = None
    at_or_above: float | None = None
    indicator: Literal["rsi"] = "rsi"

    def is_due(self, value: float) -> bool:
        """NaN (not defined yet) is never due."""
        return (self.at_or_below is not None and value <= self.at_or_below) or (
            self.at_or_above is not None and value >= self.at_or_above
        )


@dataclass(frozen=True, slots=True)
class SmaSignWake:
    """Wake on the first closed bar of ``interval`` after which the sign of fast SMA - slow SMA
    (of ``fast`` and ``slow`` closes counted in ticks of ``tick``) differs from ``sign``:
    until then each bar only moves the averages (``catch_up``), which is what lets a
    backtester find that bar in one vectorised search."""

    fast: int
    slow: int
    interval: str
    tick: Decimal
    sign: int


Point = tuple[int, Decimal]


@dataclass(frozen=True, slots=True)
class Wake:
    """What would next make the strategy act, besides fills and signals (module docstring).
    ``Wake()`` is "nothing": only a fill or a signal can."""

    below: Decimal | None = None
    above: Decimal | None = None
    at_ms: int | None = None
    indicator: IndicatorWake | SmaSignWake | None = None
    every_bar: bool = False

    def is_due(self, price: Decimal, now_ms: int) -> bool:
        """Whether ``on_timer`` is due at this price and time."""
        return (
            (self.below is not None and price <= self.below)
            or (self.above is not None and price >= self.above)
            or (self.at_ms is not None and now_ms >= self.at_ms)
        )

    def first_hit(
        self, path: Sequence[Point], *, skip_start: bool = False
    ) -> tuple[int, Point] | None:
        """Where ``on_timer`` is first due along a linear price path: ``(i, point)`` with the
        point on segment ``path[i] -> path[i + 1]`` (or ``(0, path[0])`` at the start). Times
        inside a segment are rounded down to the millisecond. ``skip_start`` ignores the first
        point (the caller has just woken there); a condition that still holds is then due at
        the next vertex, never again at the same point."""
        if not path:
            return None
        if not skip_start and self.is_due(path[0][1], path[0][0]):
            return 0, path[0]
        for i, (a, b) in enumerate(pairwise(path)):
            hits = [self._crossing(a, b, level, below) for level, below in self._levels()]
            if self.at_ms is not None and a[0] < self.at_ms <= b[0]:
                hits.append(_at_time(a, b, self.at_ms))
            found = [h for h in hits if h is not None]
            if found:
                return i, min(found, key=lambda point: point[0])
            if self.is_due(b[1], b[0]):  # a level held since the start: due at the vertex
                return i, b
        return None

    def _levels(self) -> list[tuple[Decimal, bool]]:
        levels = [] if self.below is None else [(self.below, True)]
        return levels + ([] if self.above is None else [(self.above, False)])

    @staticmethod
    def _crossing(a: Point, b: Point, level: Decimal, below: bool) -> Point | None:
        (t0, p0), (t1, p1) = a, b
        outside = p0 > level if below else p0 < level
        reached = p1 <= level if below else p1 >= level
        if not (outside and reached):
            return None
        return t0 + int((t1 - t0) * (level - p0) / (p1 - p0)), level

    def merge(self, other: Wake) -> Wake:
        """Due when either is: the nearer levels, the earlier time; two different indicator
        thresholds fall back to every bar."""
        indicator, every_bar = self.indicator or other.indicator, self.every_bar or other.every_bar
        if self.indicator and other.indicator and self.indicator != other.indicator:
            indicator, every_bar = None, True
        return Wake(
            below=_pick(max, self.below, other.below),
            above=_pick(min, self.above, other.above),
            at_ms=_pick(min, self.at_ms, other.at_ms),
            indicator=indicator,
            every_bar=every_bar,
        )


def _at_time(a: Point, b: Point, t: int) -> Point:
    (t0, p0), (t1, p1) = a, b
    return t, p0 + (p1 - p0) * (t - t0) / (t1 - t0)


T = TypeVar("T", int, Decimal)


def _pick(choose: Any, x: T | None, y: T | None) -> T | None:
    if x is None or y is None:
        return x if y is None else y
    chosen: T = choose(x, y)
    return chosen
