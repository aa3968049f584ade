"""Resting orders of one symbol, kept sorted by the price that fills or triggers them.

Four sorted lists of ``(price, seq, order_id)``: buy limits, sell limits, buy stops, sell stops.
``seq`` is the engine's arrival counter, so equal prices keep their arrival order. Finding the
next order a falling or rising price reaches is a look at one end of two lists, O(1); adding or
removing an order is a bisect, O(log n), plus the list shift (a memmove).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from decimal import Decimal

from tradewind.domain.orders import OrderId, Side

Level = tuple[Decimal, int, OrderId]


class SymbolBook:
    def __init__(self) -> None:
        self.buy_limits: list[Level] = []
        self.sell_limits: list[Level] = []
        self.buy_stops: list[Level] = []
        self.sell_stops: list[Level] = []
        self._where: dict[OrderId, tuple[list[Level], Level]] = {}

    def __contains__(self, order_id: OrderId) -> bool:
        return order_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    # The lists a falling price takes from the end (buy limits, sell stops) hold ``-seq``, so
    # that among equal prices the earliest arrival is at that end too.

    def add_limit(self, order_id: OrderId, side: Side, price: Decimal, seq: int) -> None:
        if side is Side.BUY:
            self._add(self.buy_limits, (price, -seq, order_id))
        else:
            self._add(self.sell_limits, (price, seq, order_id))

    def add_stop(self, order_id: OrderId, side: Side, stop_price: Decimal, seq: int) -> None:
        if side is Side.BUY:
            self._add(self.buy_stops, (stop_price, seq, order_id))
        else:
            self._add(self.sell_stops, (stop_price, -seq, order_id))

    def _add(self, levels: list[Level], level: Level) -> None:
        self.remove(level[2])
        insort(levels, level)
        self._where[level[2]] = (levels, level)

    def remove(self, order_id: OrderId) -> None:
        found = self._where.pop(order_id, None)
        if found is not None:
            levels, level = found
            del levels[bisect_left(levels, level)]

    def next_crossed(self, end: Decimal, spread: Decimal, falling: bool) -> Level | None:
        """The first order a segment of last prices moving to ``end`` reaches, as a level in
        last-price space (a buy limit fills at last = limit - spread, a sell stop triggers at
        last = stop + spread, ...); ties go to the earlier arrival."""
        found: list[Level] = []
        if falling:
            _keep(found, self.buy_limits[-1] if self.buy_limits else None, -spread, end, falling)
            _keep(found, self.sell_stops[-1] if self.sell_stops else None, spread, end, falling)
            return max(found, key=lambda c: (c[0], -abs(c[1])), default=None)
        _keep(found, self.sell_limits[0] if self.sell_limits else None, spread, end, falling)
        _keep(found, self.buy_stops[0] if self.buy_stops else None, -spread, end, falling)
        return min(found, key=lambda c: (c[0], abs(c[1])), default=None)

    def nearest(self, price: Decimal) -> tuple[Decimal | None, Decimal | None]:
        """The highest level at or below ``price`` and the lowest at or above it, over every
        resting limit and stop (what a price moving from ``price`` meets first)."""
        under: Decimal | None = None
        over: Decimal | None = None
        for levels in (self.buy_limits, self.sell_limits, self.buy_stops, self.sell_stops):
            if not levels:
                continue
            at = bisect_right(levels, _last(price))
            if at > 0 and (under is None or levels[at - 1][0] > under):
                under = levels[at - 1][0]
            at = bisect_left(levels, _first(price))
            if at < len(levels) and (over is None or levels[at][0] < over):
                over = levels[at][0]
        return under, over

    def crossed(self, low: Decimal, high: Decimal) -> bool:
        """Whether an order rests on the wrong side of a price in ``[low, high]``: a buy limit
        at or above ``low``, a sell limit at or below ``high``, a buy stop at or below
        ``high``, a sell stop at or above ``low``. (It fills or triggers at the next tick,
        wherever the price goes.)"""
        return (
            (bool(self.buy_limits) and self.buy_limits[-1][0] >= low)
            or (bool(self.sell_limits) and self.sell_limits[0][0] <= high)
            or (bool(self.buy_stops) and self.buy_stops[0][0] <= high)
            or (bool(self.sell_stops) and self.sell_stops[-1][0] >= low)
        )

    def reached(self, bid: Decimal, ask: Decimal) -> list[OrderId]:
        """Every order a quote already satisfies, in arrival order: buy limits at or above the
        ask, sell limits at or below the bid, buy stops at or below the ask, sell stops at or
        above the bid."""
        found: list[Level] = []
        found += self.buy_limits[bisect_left(self.buy_limits, _first(ask)) :]
        found += self.sell_limits[: bisect_right(self.sell_limits, _last(bid))]
        found += self.buy_stops[: bisect_right(self.buy_stops, _last(ask))]
        found += self.sell_stops[bisect_left(self.sell_stops, _first(bid)) :]
        return [order_id for _, _, order_id in sorted(found, key=lambda level: abs(level[1]))]


def _keep(
    found: list[Level], level: Level | None, shift: Decimal, end: Decimal, falling: bool
) -> None:
    if level is not None:
        at = level[0] + shift
        if (at >= end) if falling else (at <= end):
            found.append((at, level[1], level[2]))


def _first(price: Decimal) -> Level:
    return (price, -(1 << 62), OrderId(""))


def _last(price: Decimal) -> Level:
    return (price, 1 << 62, OrderId(""))
