"""A backtest's result as one self-contained HTML page: header, results, three charts, settings.

A trader opens the file from disk, maybe offline or from a mail attachment, so nothing is
fetched: the charts are SVG drawn here from numpy arrays, the styles one short ``<style>``
block, and there is no script, font or image. A run of a million bars would make a page no
browser wants to open, so every series is first cut to at most ``MAX_BUCKETS`` time buckets,
keeping each bucket's extremes (a spike survives, a flat stretch costs nothing), and above
``MAX_MARKERS`` trades the markers stand for a bucket's buys or sells each.

Every value of a bar (its close, the equity marked at it, the drawdown) is drawn at the bar's
close time, its open plus one bar: fills happen inside a bar, so a fill at the close price then
sits on the line, and the three charts share one time axis, from the first bar's open to the
last bar's close.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tradewind.backtest.metrics import DAY_MS, BacktestMetrics, EquityCurve
from tradewind.domain.clock import from_ms, to_ms
from tradewind.marketdata.candles import Candles
from tradewind.marketdata.timeframes import MINUTE_MS, Timeframe

MAX_BUCKETS = 2_000
"""Time buckets a series is cut to; a price or equity line keeps two points per bucket."""
MAX_MARKERS = 2_000
"""Above this many trades the markers are aggregated, one per side and marker bucket."""
MARKER_BUCKETS = 250
"""Slices of the period for aggregated markers: more would only pile triangles on each other."""
CANDLE_BARS = 300
"""Up to this many bars are drawn as candles, more as a close line."""

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

_SVG_NS = "http://www.w3.org/2000/svg"
_WIDTH = 1000
_LEFT, _RIGHT, _TOP, _BOTTOM = 84, 16, 12, 28
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_BLUE, _GREEN, _RED, _GREY = "#2563eb", "#16a34a", "#dc2626", "#6b7280"

# ---- public API ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TradeMark:
    """One fill of the bot, for the price chart."""

    ts_ms: int
    side: str
    """``"buy"`` or ``"sell"``."""
    price: float
    amount: float


def render_report(
    *,
    title: str,
    symbol: str,
    timeframe: str,
    candles: Candles,
    curve: EquityCurve,
    trades: Sequence[TradeMark],
    metrics: BacktestMetrics,
    settings: Mapping[str, Any],
    start_balance: Decimal,
    currency: str,
) -> str:
    """The whole report as one HTML document (UTF-8 text, nothing external to load).

    ``candles`` set the time axis of all three charts; ``curve`` is the run's equity at each
    bar; ``settings`` are the bot's settings as JSON-like data. Raises ``ValueError`` for a
    trade whose side is neither ``"buy"`` nor ``"sell"``."""
    bar_ms = _bar_ms(timeframe, candles)
    t0, t1 = _time_span(candles, curve, bar_ms)
    fills = _Fills.of(trades)
    haas = metrics.to_haas()
    money = _Money(
        currency=str(haas["summary"].get("profitCurrency") or currency), start=start_balance
    )
    times, equity = _equity_series(curve, float(start_balance), t0, bar_ms)
    body = "".join(
        (
            _header(title, symbol, timeframe, candles, start_balance, currency, len(fills)),
            _cards(haas, money),
            _section("Price", _price_note(fills), _price_chart(candles, fills, t0, t1, bar_ms)),
            _section("Equity", "", _equity_chart(times, equity, float(start_balance), t0, t1)),
            _section("Drawdown", "", _drawdown_chart(times, equity, t0, t1)),
            _section("Results", "", _result_tables(haas, money)),
            _section("Settings", "", _settings_table(settings)),
        )
    )
    return _PAGE.format(title=escape(title), style=_STYLE, body=body)


# ---- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fills:
    ts: Int64s
    buy: Bools
    price: Floats
    amount: Floats

    @classmethod
    def of(cls, trades: Sequence[TradeMark]) -> _Fills:
        sides = [t.side for t in trades]
        if any(side not in ("buy", "sell") for side in sides):
            raise ValueError("a trade's side must be 'buy' or 'sell'")
        return cls(
            np.fromiter((t.ts_ms for t in trades), np.int64, len(trades)),
            np.fromiter((side == "buy" for side in sides), np.bool_, len(trades)),
            np.fromiter((t.price for t in trades), np.float64, len(trades)),
            np.fromiter((t.amount for t in trades), np.float64, len(trades)),
        )

    def __len__(self) -> int:
        return int(self.ts.size)


def _bar_ms(timeframe: str, candles: Candles) -> int:
    try:
        return Timeframe(timeframe).ms
    except ValueError:
        pass
    if len(candles) > 1:
        return max(int(np.median(np.diff(candles.ts))), 1)
    return MINUTE_MS


def _time_span(candles: Candles, curve: EquityCurve, bar_ms: int) -> tuple[int, int]:
    times = candles.ts if len(candles) else curve.times_ms
    if not times.size:
        return 0, bar_ms
    return int(times[0]), int(times[-1]) + bar_ms


def _equity_series(curve: EquityCurve, start: float, t0: int, bar_ms: int) -> tuple[Int64s, Floats]:
    # Before its first bar the account held the starting balance, so the line starts there.
    first = min(t0, int(curve.times_ms[0]) + bar_ms) if len(curve) else t0
    times = np.concatenate(([first], curve.times_ms + bar_ms)).astype(np.int64)
    return times, np.concatenate(([start], curve.equity)).astype(np.float64)


# ---- downsampling -------------------------------------------------------------------------


def _buckets(times: Int64s, t0: int, t1: int, count: int) -> Int64s:
    scaled = np.floor((times - t0) * (count / max(t1 - t0, 1)))
    buckets: Int64s = np.clip(scaled, 0, count - 1).astype(np.int64)
    return buckets


def _extremes(
    times: Int64s, values: Floats, t0: int, t1: int, *, keep_max: bool = True
) -> tuple[Int64s, Floats]:
    """Each time bucket's lowest (and highest) point, in time order; short series as they are."""
    if values.size <= MAX_BUCKETS * (2 if keep_max else 1):
        return times, values
    starts = np.flatnonzero(np.diff(_buckets(times, t0, t1, MAX_BUCKETS), prepend=-1))
    picks = [_first_equal(values, np.minimum.reduceat(values, starts), starts)]
    if keep_max:
        picks.append(_first_equal(values, np.maximum.reduceat(values, starts), starts))
    keep = np.unique(np.concatenate(picks))
    return times[keep], values[keep]


def _first_equal(values: Floats, per_bucket: Floats, starts: Int64s) -> Int64s:
    sizes = np.diff(np.append(starts, values.size))
    hits = np.flatnonzero(values == np.repeat(per_bucket, sizes))
    found: Int64s = hits[np.searchsorted(hits, starts)]
    return found


# ---- number and time formats --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Money:
    currency: str
    start: Decimal

    @property
    def decimals(self) -> int:
        # About six significant digits of the starting balance: cents for 10,000 USDT,
        # satoshi-ish for 0.5 BTC.
        if self.start <= 0:
            return 2
        return min(8, max(2, 4 - math.floor(math.log10(float(self.start)))))

    def __call__(self, value: float) -> str:
        return f"{value:,.{self.decimals}f} {self.currency}"


def _duration(seconds: float) -> str:
    # Two units at most: "3 h 12 min" reads at a glance, seconds of a day do not matter.
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return f"{days:,} d {hrs} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _plain(value: float) -> str:
    return f"{value:,.10g}"


def _utc(ts_ms: int | float, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    return from_ms(int(ts_ms)).strftime(fmt)


# label, kind; kinds: money, pct (already a percent), fraction (0..1), ratio, count, seconds
_FIELDS: dict[str, tuple[str, str]] = {
    "realizedProfit": ("Realized profit", "money"),
    "profitCurrency": ("Profit currency", "text"),
    "roi": ("Return on investment", "pct"),
    "feeCosts": ("Fees paid", "money"),
    "grossProfit": ("Gross profit (before fees)", "money"),
    "priceChange": ("Price change (buy and hold)", "pct"),
    "profitFactor": ("Profit factor", "ratio"),
    "sharpeRatio": ("Sharpe ratio (annualised)", "ratio"),
    "sortinoRatio": ("Sortino ratio (annualised)", "ratio"),
    "maxDrawdown": ("Max drawdown", "money"),
    "maxDrawdownPercent": ("Max drawdown %", "pct"),
    "winPercentage": ("Win rate", "fraction"),
    "biggestWin": ("Biggest win", "money"),
    "biggestLoss": ("Biggest loss", "money"),
    "highestProfit": ("Highest running profit", "money"),
    "lowestProfit": ("Lowest running profit", "money"),
    "total": ("Orders placed", "count"),
    "filled": ("Filled", "count"),
    "partiallyFilled": ("Partly filled", "count"),
    "averageOpenTime": ("Average time on the book", "seconds"),
    "closedPositions": ("Closed positions", "count"),
    "winningPositions": ("Winning positions", "count"),
    "losingPositions": ("Losing positions", "count"),
    "averageProfit": ("Average profit", "money"),
    "averageMargin": ("Average margin", "money"),
}
_UNSIGNED = {"feeCosts", "averageMargin", "profitCurrency"}


def _value(name: str, value: float | int | str | None, money: _Money) -> str:
    kind = _FIELDS.get(name, (name, "ratio"))[1]
    if value is None:
        return "—"
    if isinstance(value, str) or kind == "text":
        return escape(str(value))
    formats: dict[str, Callable[[float], str]] = {
        "money": money,
        "pct": lambda v: f"{v:,.2f} %",
        "fraction": lambda v: f"{v * 100:,.2f} %",
        "ratio": lambda v: f"{v:,.2f}",
        "count": lambda v: f"{v:,.0f}",
        "seconds": _duration,
    }
    return escape(formats[kind](float(value)))


def _sign(name: str, value: float | int | str | None) -> str:
    # Only gains and losses are coloured: a ratio or a count is neither good nor bad alone.
    kind = _FIELDS.get(name, (name, "ratio"))[1]
    if name in _UNSIGNED or kind not in ("money", "pct") or not isinstance(value, float | int):
        return ""
    return "pos" if value > 0 else "neg" if value < 0 else ""


# ---- page parts ---------------------------------------------------------------------------


def _header(
    title: str,
    symbol: str,
    timeframe: str,
    candles: Candles,
    start_balance: Decimal,
    currency: str,
    trades: int,
) -> str:
    if len(candles):
        first, last = int(candles.ts[0]), int(candles.ts[-1])
        bars = f"{len(candles):,} bar{'s' if len(candles) > 1 else ''}"
        period = f"{_utc(first)} → {_utc(last)} ({bars})"
    else:
        period = "no candles"
    facts = {
        "Symbol": symbol,
        "Timeframe": timeframe,
        "Period": period,
        "Starting balance": f"{start_balance:,f} {currency}",
        "Trades": f"{trades:,}",
    }
    items = "".join(f"<span><b>{escape(k)}</b> {escape(v)}</span>" for k, v in facts.items())
    return f'<header><h1>{escape(title)}</h1><div class="meta">{items}</div></header>'


_CARDS = (
    ("summary", "roi"),
    ("summary", "realizedProfit"),
    ("summary", "priceChange"),
    ("performance", "maxDrawdownPercent"),
    ("performance", "winPercentage"),
    ("performance", "profitFactor"),
    ("performance", "sharpeRatio"),
    ("positions", "closedPositions"),
)


def _cards(haas: dict[str, dict[str, Any]], money: _Money) -> str:
    cards = []
    for group, name in _CARDS:
        value = haas[group].get(name)
        cards.append(
            f'<div class="card"><div class="label">{_FIELDS[name][0]}</div>'
            f'<div class="value {_sign(name, value)}">{_value(name, value, money)}</div></div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _result_tables(haas: dict[str, dict[str, Any]], money: _Money) -> str:
    tables = []
    for group, fields in haas.items():
        rows = "".join(
            f"<tr><th>{escape(_FIELDS.get(name, (name, ''))[0])}</th>"
            f'<td class="num {_sign(name, value)}">'
            f"{_value(name, value, money)}</td></tr>"
            for name, value in fields.items()
        )
        tables.append(f"<div><h3>{escape(group.title())}</h3><table>{rows}</table></div>")
    return f'<div class="tables">{"".join(tables)}</div>'


def _settings_table(settings: Mapping[str, Any]) -> str:
    rows = _setting_rows(settings, "")
    if not rows:
        return '<p class="note">No settings.</p>'
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="settings">{cells}</table>'


def _setting_rows(settings: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    # Nested objects become dotted keys, so a table of two columns shows everything.
    rows: list[tuple[str, str]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(_setting_rows(value, f"{name}."))
        elif isinstance(value, str | Decimal):
            rows.append((name, str(value)))
        else:
            rows.append((name, json.dumps(value, default=str, ensure_ascii=False)))
    return rows


def _section(heading: str, note: str, content: str) -> str:
    return f"<section><h2>{heading}</h2>{note}{content}</section>"


def _price_note(fills: _Fills) -> str:
    buys = int(fills.buy.sum())
    legend = (
        f'<span class="legend"><span style="color:{_GREEN}">▲</span> buy ({buys:,}) '
        f'<span style="color:{_RED}">▼</span> sell ({len(fills) - buys:,})</span>'
    )
    if len(fills) <= MAX_MARKERS:
        return f'<p class="note">{legend} · hover a marker for its fill.</p>'
    return (
        f'<p class="note">{legend} · {len(fills):,} trades in total: too many to draw one '
        f"by one, so the period is cut in {MARKER_BUCKETS} equal slices and each marker stands "
        "for the buys or the sells of one slice, at their amount-weighted average price and "
        "middle time; hover it for the count.</p>"
    )


# ---- charts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Frame:
    """Maps times (ms) and values to one chart's viewBox."""

    t0: int
    t1: int
    lo: float
    hi: float
    height: int

    def xs(self, times: NDArray[Any]) -> Floats:
        scale = (_WIDTH - _LEFT - _RIGHT) / max(self.t1 - self.t0, 1)
        return np.asarray(_LEFT + (times - self.t0) * scale, dtype=np.float64)

    def ys(self, values: NDArray[Any]) -> Floats:
        scale = (self.height - _TOP - _BOTTOM) / (self.hi - self.lo)
        return np.asarray(self.height - _BOTTOM - (values - self.lo) * scale, dtype=np.float64)

    def x(self, ts: float) -> float:
        return float(self.xs(np.array([ts]))[0])

    def y(self, value: float) -> float:
        return float(self.ys(np.array([value]))[0])


def _padded(lo: float, hi: float) -> tuple[float, float]:
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        spread = max(abs(hi) * 0.01, 1e-9)
        return lo - spread, hi + spread
    pad = (hi - lo) * 0.06
    return lo - pad, hi + pad


def _points(frame: _Frame, times: NDArray[Any], values: NDArray[Any]) -> str:
    xs, ys = frame.xs(times).tolist(), frame.ys(values).tolist()
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def _y_ticks(lo: float, hi: float) -> tuple[list[float], int]:
    raw = (hi - lo) / 6
    power = 10.0 ** math.floor(math.log10(raw))
    mantissa = next(m for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    step = mantissa * power
    decimals = max(0, -math.floor(math.log10(step) + 1e-9) + (mantissa == 2.5))
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [k * step for k in range(first, last + 1)], decimals


_HOUR = 60 * MINUTE_MS
_FIXED_STEPS = [(m * MINUTE_MS, "%m-%d %H:%M") for m in (1, 5, 15, 30)]
_FIXED_STEPS += [(h * _HOUR, "%m-%d %H:%M") for h in (1, 2, 3, 6, 12)]
_FIXED_STEPS += [(d * DAY_MS, "%Y-%m-%d") for d in (1, 2, 3, 5, 7, 14)]
_MONTH_STEPS = [(m, "%Y-%m") for m in (1, 2, 3, 6)] + [
    (12 * y, "%Y") for y in (1, 2, 5, 10, 20, 50, 100)
]
_MAX_X_TICKS = 8


def _x_ticks(t0: int, t1: int) -> list[tuple[int, str]]:
    """UTC ticks on round times: minutes and hours, days, or first days of months and years."""
    span = max(t1 - t0, 1)
    for step, fmt in _FIXED_STEPS:
        if span / step <= _MAX_X_TICKS:
            first = -(-t0 // step) * step
            return [(t, _utc(t, fmt)) for t in range(first, t1 + 1, step)]
    for months, fmt in _MONTH_STEPS:
        if span / (months * 30.44 * DAY_MS) <= _MAX_X_TICKS or months == _MONTH_STEPS[-1][0]:
            return _month_ticks(t0, t1, months, fmt)
    return []


def _month_ticks(t0: int, t1: int, months: int, fmt: str) -> list[tuple[int, str]]:
    start = from_ms(t0)
    index = -(-(start.year * 12 + start.month - 1) // months) * months
    ticks: list[tuple[int, str]] = []
    while True:
        moment = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
        ts = to_ms(moment)
        if ts > t1:
            return ticks
        if ts >= t0:
            ticks.append((ts, moment.strftime(fmt)))
        index += months


def _svg(name: str, frame: _Frame, series: str, tick_label: Callable[[float, int], str]) -> str:
    """A chart: grid, axes' labels, and ``series`` clipped to the plot area."""
    bottom, right = frame.height - _BOTTOM, _WIDTH - _RIGHT
    values, decimals = _y_ticks(frame.lo, frame.hi)
    grid, labels = [], []
    for value in values:
        y = frame.y(value)
        grid.append(f"M{_LEFT},{y:.1f}H{right}")
        text = escape(tick_label(value + 0.0, decimals))
        labels.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    for ts, text in _x_ticks(frame.t0, frame.t1):
        x = frame.x(ts)
        grid.append(f"M{x:.1f},{_TOP}V{bottom}")
        # Centred under its tick, but moved in where it would run off the chart's edge.
        half = len(text) * 3.2
        at = min(max(x, half + 2), _WIDTH - half - 2)
        labels.append(f'<text x="{at:.1f}" y="{bottom + 17}" text-anchor="middle">{text}</text>')
    plot_w, plot_h = right - _LEFT, bottom - _TOP
    return (
        f'<svg xmlns="{_SVG_NS}" class="chart" id="chart-{name}" viewBox="0 0 {_WIDTH} '
        f'{frame.height}" width="100%" role="img" aria-label="{name} chart">'
        f'<clipPath id="clip-{name}"><rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" '
        f'height="{plot_h}"/></clipPath>'
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" '
        f'stroke="#d1d5db"/><path d="{"".join(grid)}" stroke="#eef0f3" fill="none"/>'
        f'<g font-family="{_FONT}" font-size="11" fill="{_GREY}">{"".join(labels)}</g>'
        f'<g clip-path="url(#clip-{name})">{series}</g></svg>'
    )


def _number_tick(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _empty(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _price_chart(candles: Candles, fills: _Fills, t0: int, t1: int, bar_ms: int) -> str:
    if not len(candles):
        return _empty("No candles to draw.")
    as_candles = len(candles) <= CANDLE_BARS
    low, high = (candles.low, candles.high) if as_candles else (candles.close, candles.close)
    lows, highs = [float(low.min())], [float(high.max())]
    if len(fills):
        lows.append(float(fills.price.min()))
        highs.append(float(fills.price.max()))
    frame = _Frame(t0, t1, *_padded(min(lows), max(highs)), 360)
    if as_candles:
        series = _candle_bodies(frame, candles, bar_ms)
    else:
        times, closes = _extremes(candles.ts + bar_ms, candles.close, t0, t1)
        series = _polyline(frame, times, closes, _BLUE)
    # Aggregated markers are a band along the line, so there the line is drawn over them.
    marks = _markers(frame, fills)
    layers = series + marks if len(fills) <= MAX_MARKERS else marks + series
    return _svg("price", frame, layers, _number_tick)


def _polyline(frame: _Frame, times: NDArray[Any], values: NDArray[Any], colour: str) -> str:
    return (
        f'<polyline class="series" points="{_points(frame, times, values)}" fill="none" '
        f'stroke="{colour}" stroke-width="1.4" stroke-linejoin="round" pointer-events="none"/>'
    )


def _candle_bodies(frame: _Frame, candles: Candles, bar_ms: int) -> str:
    # One path per colour for wicks and one for bodies: a few hundred bars, four elements.
    middle = frame.xs(candles.ts + bar_ms / 2)
    half = max((frame.x(bar_ms) - frame.x(0)) * 0.35, 0.5)
    top = frame.ys(np.maximum(candles.open, candles.close))
    bottom = frame.ys(np.minimum(candles.open, candles.close))
    high, low = frame.ys(candles.high), frame.ys(candles.low)
    rising = candles.close >= candles.open
    parts = []
    for mask, colour in ((rising, _GREEN), (~rising, _RED)):
        wicks, bodies = [], []
        for i in np.flatnonzero(mask).tolist():
            x, h = middle[i], max(bottom[i] - top[i], 0.8)
            wicks.append(f"M{x:.1f},{high[i]:.1f}V{low[i]:.1f}")
            bodies.append(f"M{x - half:.1f},{top[i]:.1f}h{2 * half:.1f}v{h:.1f}h{-2 * half:.1f}z")
        parts.append(f'<path d="{"".join(wicks)}" stroke="{colour}" fill="none"/>')
        parts.append(f'<path class="series" d="{"".join(bodies)}" fill="{colour}"/>')
    return "".join(parts)


_MARK_UP, _MARK_DOWN = "l-5,9h10z", "l-5,-9h10z"


def _markers(frame: _Frame, fills: _Fills) -> str:
    """Buy: an up-triangle whose tip is at the price; sell: a down-triangle likewise."""
    if len(fills) <= MAX_MARKERS:
        marks = _single_marks(fills)
    else:
        marks = _bucket_marks(fills, frame.t0, frame.t1)
    xs, ys = frame.xs(marks[0]).tolist(), frame.ys(marks[2]).tolist()
    groups: dict[bool, list[str]] = {True: [], False: []}
    for x, y, buy, tip in zip(xs, ys, marks[1].tolist(), marks[3], strict=True):
        shape, side = (_MARK_UP, "buy") if buy else (_MARK_DOWN, "sell")
        groups[buy].append(
            f'<path class="{side}" d="M{x:.1f},{y:.1f}{shape}"><title>{tip}</title></path>'
        )
    return "".join(
        f'<g fill="{colour}" stroke="#fff" stroke-width="0.8">{"".join(groups[buy])}</g>'
        for buy, colour in ((True, _GREEN), (False, _RED))
    )


_Marks = tuple[NDArray[Any], Bools, Floats, list[str]]


def _single_marks(fills: _Fills) -> _Marks:
    tips = [
        f"{'Buy' if buy else 'Sell'} {_plain(amount)} at {_plain(price)} · "
        f"{_utc(ts, '%Y-%m-%d %H:%M:%S UTC')}"
        for ts, buy, price, amount in zip(
            fills.ts.tolist(),
            fills.buy.tolist(),
            fills.price.tolist(),
            fills.amount.tolist(),
            strict=True,
        )
    ]
    return fills.ts, fills.buy, fills.price, tips


def _bucket_marks(fills: _Fills, t0: int, t1: int) -> _Marks:
    keys = _buckets(fills.ts, t0, t1, MARKER_BUCKETS) * 2 + fills.buy
    unique, group, counts = np.unique(keys, return_inverse=True, return_counts=True)
    amount = np.bincount(group, fills.amount)
    notional = np.bincount(group, fills.amount * fills.price)
    mean_price = np.bincount(group, fills.price) / counts
    price = np.where(amount > 0, notional / np.where(amount > 0, amount, 1.0), mean_price)
    first = np.full(unique.size, np.iinfo(np.int64).max, np.int64)
    last = np.full(unique.size, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(first, group, fills.ts)
    np.maximum.at(last, group, fills.ts)
    buy = (unique % 2).astype(np.bool_)
    tips = [
        f"{n:,} {'buys' if b else 'sells'} · amount {_plain(a)} · average price {_plain(p)} · "
        f"{_utc(f)} → {_utc(lt)}"
        for n, b, a, p, f, lt in zip(
            counts.tolist(),
            buy.tolist(),
            amount.tolist(),
            price.tolist(),
            first.tolist(),
            last.tolist(),
            strict=True,
        )
    ]
    return (first + last) / 2, buy, price, tips


def _equity_chart(times: Int64s, equity: Floats, start: float, t0: int, t1: int) -> str:
    frame = _Frame(
        t0, t1, *_padded(min(float(equity.min()), start), max(float(equity.max()), start)), 260
    )
    y = frame.y(start)
    label_y = y - 5 if y - 5 > _TOP + 12 else y + 14
    reference = (
        f'<path d="M{_LEFT},{y:.1f}H{_WIDTH - _RIGHT}" stroke="{_GREY}" stroke-dasharray="5 4"/>'
        f'<text x="{_WIDTH - _RIGHT - 6}" y="{label_y:.1f}" text-anchor="end" font-size="11" '
        f'font-family="{_FONT}" fill="{_GREY}">starting balance</text>'
    )
    series = reference + _polyline(frame, *_extremes(times, equity, t0, t1), "#7c3aed")
    return _svg("equity", frame, series, _number_tick)


def _drawdown_chart(times: Int64s, equity: Floats, t0: int, t1: int) -> str:
    """Underwater: equity against its running peak (the starting balance the first), <= 0 %."""
    peaks = np.maximum.accumulate(equity)
    safe = np.where(peaks > 0, peaks, 1.0)
    underwater = np.where(peaks > 0, equity / safe - 1.0, 0.0) * 100.0
    deepest = float(underwater.min())
    lo = deepest * 1.08 if deepest < 0 else -1.0
    frame = _Frame(t0, t1, lo, -lo * 0.04, 200)
    times, underwater = _extremes(times, underwater, t0, t1, keep_max=False)
    line = _points(frame, times, underwater)
    x0, x1, y0 = frame.x(float(times[0])), frame.x(float(times[-1])), frame.y(0.0)
    series = (
        f'<polygon points="{x0:.1f},{y0:.1f} {line} {x1:.1f},{y0:.1f}" fill="{_RED}" '
        f'fill-opacity="0.18" stroke="none"/>' + _polyline(frame, times, underwater, _RED)
    )
    return _svg("drawdown", frame, series, lambda v, d: f"{v:,.{d}f} %")


_STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f6f8; color: #111827;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 16px 40px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 16px; margin: 0 0 6px; }
h3 { font-size: 13px; margin: 0 0 4px; color: #374151; text-transform: uppercase;
  letter-spacing: .04em; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 20px; color: #374151; }
.meta b { color: #6b7280; font-weight: 500; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
  gap: 10px; margin: 18px 0; }
.card, section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; }
.card { padding: 10px 12px; }
.card .label { font-size: 12px; color: #6b7280; }
.card .value { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
section { padding: 14px 16px; margin: 14px 0; }
.pos { color: #15803d; } .neg { color: #b91c1c; }
.note { color: #6b7280; font-size: 13px; margin: 0 0 8px; }
.legend { color: #374151; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr));
  gap: 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 4px 6px; border-bottom: 1px solid #f0f1f3; text-align: left;
  vertical-align: top; }
th { font-weight: 500; color: #374151; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.settings th { width: 35%; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas,
  monospace; font-size: 13px; }
.settings td { word-break: break-word; }
svg.chart { display: block; width: 100%; height: auto; }
svg .buy:hover, svg .sell:hover { stroke: #111827; stroke-width: 1.5; }
footer { color: #9ca3af; font-size: 12px; text-align: center; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main>
{body}
<footer>Tradewind backtest report · all times UTC</footer>
</main>
</body>
</html>
"""
