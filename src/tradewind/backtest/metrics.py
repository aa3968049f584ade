"""A backtest's results, computed from its equity curve, closed positions and orders (pure).

The fields and their meanings are HaasOnline's (summary, performance, orders, positions), so
the native API and the Haas dialect show the same numbers. Everything here is a plain function
of its inputs (no clock, no store), so a test can check each metric against an independent
computation on the same series, and the sweep can rank thousands of runs with it.

Money stays ``Decimal`` where it is summed from the books (profits, fees, margins): those sums
are exact and match the bot's own accounting. The equity curve is a float64 array: drawdowns
and returns over a million bars must be fast, and a ratio does not need exact cents.
docs/backtest-metrics.md says, for traders, what each field means and how it is computed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

import numpy as np
from numpy.typing import NDArray

from tradewind.domain.orders import OrderStatus

ZERO = Decimal(0)
PRECISION = 40
"""Digits for averages and ratios of decimals; sums stay exact."""
DAY_MS = 86_400_000
PERIODS_PER_YEAR = 365
"""Crypto trades every day of the year, so a year is 365 daily returns (not 252)."""
MIN_RETURNS = 2
"""Fewer daily returns than this say nothing about their spread: Sharpe and Sortino are null."""
_TINY = 1e-12
"""A spread of returns at or below this is zero (float noise on a flat or steady curve)."""

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]


# ---- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class EquityCurve:
    """What the account was worth (cash plus open positions marked at the close, in the quote
    currency) at the close of each bar. ``times_ms`` are the bars' timestamps (their open time,
    as candles are stamped), ascending; build one with ``EquityCurve.of``."""

    times_ms: Int64s
    equity: Floats

    def __post_init__(self) -> None:
        # read-only views, not copies (a backtest's curve is a million points: 8 MB each); the
        # caller hands the arrays over and does not change them after
        times = np.asarray(self.times_ms, dtype=np.int64).view()
        equity = np.asarray(self.equity, dtype=np.float64).view()
        if times.ndim != 1 or times.shape != equity.shape:
            raise ValueError("an equity curve needs one value per timestamp")
        if times.size > 1 and bool(np.any(times[1:] < times[:-1])):
            raise ValueError("an equity curve's timestamps must be in ascending order")
        if not bool(np.all(np.isfinite(equity))):
            raise ValueError("an equity curve's values must be finite numbers")
        times.flags.writeable = False
        equity.flags.writeable = False
        object.__setattr__(self, "times_ms", times)
        object.__setattr__(self, "equity", equity)

    @classmethod
    def of(cls, times_ms: Iterable[int], equity: Iterable[Decimal | float]) -> EquityCurve:
        """From plain sequences (decimals become floats)."""
        return cls(
            np.fromiter(times_ms, dtype=np.int64),
            np.fromiter((float(value) for value in equity), dtype=np.float64),
        )

    def __len__(self) -> int:
        return int(self.times_ms.size)


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """One round trip: opened at ``entry_ms``, closed at ``exit_ms``. ``profit`` is what it
    realised net of its ``fees`` (both in the quote currency); ``margin`` is what it tied up:
    the margin of a derivative position, the cost of the entry on spot."""

    entry_ms: int
    exit_ms: int
    profit: Decimal
    fees: Decimal = ZERO
    margin: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        """What it realised before fees."""
        return self.profit + self.fees


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order the bot placed: its final (or, at the end of the run, current) ``status``,
    when it was placed and when it left the book (None while it is still open); ``filled`` is
    the amount that filled, so a cancelled order that filled in part counts as partly filled."""

    status: OrderStatus
    created_ms: int
    closed_ms: int | None = None
    filled: Decimal = ZERO


# ---- results --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """HaasOnline's ``summary``: what the run earned, against what holding would have."""

    realized_profit: Decimal
    profit_currency: str
    roi: float
    """Percent of the starting balance (24.57 is 24.57 %)."""
    fee_costs: Decimal
    gross_profit: Decimal
    price_change: float
    """Percent, the instrument's last price against its first."""


@dataclass(frozen=True, slots=True)
class Performance:
    """HaasOnline's ``performance``: how the run got there (risk, wins and losses)."""

    profit_factor: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    max_drawdown: float
    """Quote currency, <= 0."""
    max_drawdown_percent: float
    """Percent of the peak it fell from, <= 0."""
    win_percentage: float
    """A fraction (0.68 is 68 %), as in HaasOnline's results."""
    biggest_win: Decimal
    biggest_loss: Decimal
    highest_profit: Decimal
    lowest_profit: Decimal


@dataclass(frozen=True, slots=True)
class OrderStats:
    """HaasOnline's ``orders``."""

    total: int
    filled: int
    partially_filled: int
    average_open_time: float
    """Seconds."""


@dataclass(frozen=True, slots=True)
class PositionStats:
    """HaasOnline's ``positions``: closed round trips only."""

    closed_positions: int
    winning_positions: int
    losing_positions: int
    average_profit: Decimal
    average_margin: Decimal


@dataclass(frozen=True, slots=True)
class BacktestMetrics:
    """A run's results; money as decimals, undefined ratios as None."""

    summary: Summary
    performance: Performance
    orders: OrderStats
    positions: PositionStats
    daily_returns: Floats = field(repr=False, compare=False)
    """The returns Sharpe and Sortino were computed from, for reports."""

    def to_haas(self) -> dict[str, dict[str, float | int | str | None]]:
        """HaasOnline's ``summary``/``performance``/``orders``/``positions`` objects: its field
        names, numbers as JSON numbers (counts as integers), undefined ratios as null."""
        s, p, o, q = self.summary, self.performance, self.orders, self.positions
        return {
            "summary": {
                "realizedProfit": float(s.realized_profit),
                "profitCurrency": s.profit_currency,
                "roi": s.roi,
                "feeCosts": float(s.fee_costs),
                "grossProfit": float(s.gross_profit),
                "priceChange": s.price_change,
            },
            "performance": {
                "profitFactor": p.profit_factor,
                "sharpeRatio": p.sharpe_ratio,
                "sortinoRatio": p.sortino_ratio,
                "maxDrawdown": p.max_drawdown,
                "maxDrawdownPercent": p.max_drawdown_percent,
                "winPercentage": p.win_percentage,
                "biggestWin": float(p.biggest_win),
                "biggestLoss": float(p.biggest_loss),
                "highestProfit": float(p.highest_profit),
                "lowestProfit": float(p.lowest_profit),
            },
            "orders": {
                "total": o.total,
                "filled": o.filled,
                "partiallyFilled": o.partially_filled,
                "averageOpenTime": o.average_open_time,
            },
            "positions": {
                "closedPositions": q.closed_positions,
                "winningPositions": q.winning_positions,
                "losingPositions": q.losing_positions,
                "averageProfit": float(q.average_profit),
                "averageMargin": float(q.average_margin),
            },
        }


# ---- the series math ------------------------------------------------------------------


def daily_equity(curve: EquityCurve) -> tuple[Int64s, Floats]:
    """Each UTC day from the curve's first to its last, and the equity at its close: the last
    sample stamped that day, or the day before's when a day has none (nothing was marked, so
    nothing changed). Days are numbered from the epoch (``ts // DAY_MS``)."""
    if len(curve) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    times = curve.times_ms
    days = np.arange(int(times[0]) // DAY_MS, int(times[-1]) // DAY_MS + 1, dtype=np.int64)
    # the last sample of day d is the last before day d + 1 begins (without dividing every
    # sample's time: a million of them made an 8 MB temporary)
    last = np.searchsorted(times, (days + 1) * DAY_MS, side="left") - 1
    return days, curve.equity[last]


def daily_returns(curve: EquityCurve, start_balance: Decimal | float) -> Floats:
    """Simple returns of the daily closes, the first against the starting balance. Empty when
    the equity was zero or below at a day's start (after ruin a return means nothing)."""
    _, closes = daily_equity(curve)
    previous = np.concatenate(([float(start_balance)], closes[:-1]))
    if bool(np.any(previous <= 0)):
        return np.empty(0, dtype=np.float64)
    returns: Floats = closes / previous - 1.0
    return returns


def daily_rate(annual_rate: float) -> float:
    """The daily rate that compounds to ``annual_rate`` (a fraction) over 365 days."""
    return float((1.0 + annual_rate) ** (1.0 / PERIODS_PER_YEAR) - 1.0)


def sharpe_ratio(returns: Floats, risk_free_rate: float = 0.0) -> float | None:
    """Annualised Sharpe ratio of daily ``returns``: the mean excess return over its sample
    standard deviation, times sqrt(365). ``risk_free_rate`` is annual (0.04 is 4 %). None with
    fewer than two returns or when they do not vary."""
    if returns.size < MIN_RETURNS:
        return None
    excess = returns - daily_rate(risk_free_rate)
    spread = float(np.std(excess, ddof=1))
    if spread <= _TINY:
        return None
    return float(np.mean(excess)) / spread * math.sqrt(PERIODS_PER_YEAR)


def sortino_ratio(returns: Floats, risk_free_rate: float = 0.0) -> float | None:
    """Annualised Sortino ratio of daily ``returns``: the mean excess return over the downside
    deviation, times sqrt(365). The downside deviation is the root mean square of the
    shortfalls below the target (the daily risk-free rate, 0 by default) over *all* days, a
    day at or above the target counting as zero. None with fewer than two returns or when no
    day fell short."""
    if returns.size < MIN_RETURNS:
        return None
    excess = returns - daily_rate(risk_free_rate)
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside <= _TINY:
        return None
    return float(np.mean(excess)) / downside * math.sqrt(PERIODS_PER_YEAR)


_CHUNK = 1 << 16


def max_drawdown(curve: EquityCurve, start_balance: Decimal | float) -> tuple[float, float]:
    """The deepest fall of equity below its running peak (the starting balance counts as the
    first peak): in the quote currency and in percent of that peak, both <= 0. Each is its
    own deepest: a large fall from a high peak and a deep one from a low peak may differ."""
    # in chunks, the running peak carried over: a million bars made two 8 MB temporaries
    peak = np.float64(float(start_balance))
    deepest: list[np.float64] = [np.float64(0.0)]  # the start's own fall
    worst: list[np.float64] = [np.float64(0.0) / peak]
    values = curve.equity
    for a in range(0, len(values), _CHUNK):
        equity = values[a : a + _CHUNK]
        peaks = np.maximum.accumulate(equity)
        np.maximum(peaks, peak, out=peaks)
        falls = equity - peaks
        deepest.append(falls.min())
        worst.append(np.divide(falls, peaks, out=falls).min())
        peak = peaks[-1]
    return float(np.min(deepest)) + 0.0, float(np.min(worst)) * 100.0 + 0.0


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return numerator / denominator


# ---- everything at once ---------------------------------------------------------------


def compute_metrics(
    *,
    curve: EquityCurve,
    start_balance: Decimal,
    positions: Sequence[ClosedPosition],
    orders: Sequence[OrderRecord],
    first_price: Decimal,
    last_price: Decimal,
    profit_currency: str,
    fees: Decimal | None = None,
    risk_free_rate: float = 0.0,
) -> BacktestMetrics:
    """A backtest's results. ``fees`` is every fee paid over the run (the closed positions'
    and those of a position still open at the end); by default the closed positions' fees.
    ``risk_free_rate`` is annual, a fraction."""
    if start_balance <= 0:
        raise ValueError("the starting balance must be above zero")
    if first_price <= 0 or last_price <= 0:
        raise ValueError("prices must be above zero")
    fee_costs = sum((p.fees for p in positions), ZERO) if fees is None else fees
    gross_profit = sum((p.gross for p in positions), ZERO)
    realized = gross_profit - fee_costs

    profits = [p.profit for p in positions]
    wins = [x for x in profits if x > 0]
    losses = [x for x in profits if x < 0]
    won, lost = sum(wins, ZERO), -sum(losses, ZERO)
    closed = len(positions)

    running = [ZERO]
    for position in sorted(positions, key=lambda p: p.exit_ms):
        running.append(running[-1] + position.profit)
    running.append(realized)

    returns = daily_returns(curve, start_balance)
    drawdown, drawdown_percent = max_drawdown(curve, start_balance)

    ended = [
        o
        for o in orders
        if o.closed_ms is not None and o.status in (OrderStatus.FILLED, OrderStatus.CANCELLED)
    ]
    open_ms = sum((o.closed_ms - o.created_ms for o in ended if o.closed_ms is not None), 0)

    return BacktestMetrics(
        summary=Summary(
            realized_profit=realized,
            profit_currency=profit_currency,
            roi=float(_ratio(realized * 100, start_balance)),
            fee_costs=fee_costs,
            gross_profit=gross_profit,
            price_change=float(_ratio((last_price - first_price) * 100, first_price)),
        ),
        performance=Performance(
            profit_factor=float(_ratio(won, lost)) if lost else None,
            sharpe_ratio=sharpe_ratio(returns, risk_free_rate),
            sortino_ratio=sortino_ratio(returns, risk_free_rate),
            max_drawdown=drawdown,
            max_drawdown_percent=drawdown_percent,
            win_percentage=len(wins) / closed if closed else 0.0,
            biggest_win=max(wins, default=ZERO),
            biggest_loss=min(losses, default=ZERO),
            highest_profit=max(running),
            lowest_profit=min(running),
        ),
        orders=OrderStats(
            total=len(orders),
            filled=sum(1 for o in orders if o.status is OrderStatus.FILLED),
            partially_filled=sum(1 for o in orders if _partly_filled(o)),
            average_open_time=open_ms / len(ended) / 1000 if ended else 0.0,
        ),
        positions=PositionStats(
            closed_positions=closed,
            winning_positions=len(wins),
            losing_positions=len(losses),
            average_profit=_ratio(sum(profits, ZERO), Decimal(closed)) if closed else ZERO,
            average_margin=(
                _ratio(sum((p.margin for p in positions), ZERO), Decimal(closed))
                if closed
                else ZERO
            ),
        ),
        daily_returns=returns,
    )


def _partly_filled(order: OrderRecord) -> bool:
    """Still partly filled, or cancelled after part of it filled."""
    return order.status is OrderStatus.PARTIALLY_FILLED or (
        order.status is OrderStatus.CANCELLED and order.filled > 0
    )
