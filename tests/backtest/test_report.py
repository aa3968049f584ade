"""The backtest report: one well-formed, self-contained page whose numbers and marks match its
inputs, and which stays small for a million bars.

The page is read back with the standard library's ``HTMLParser`` (no browser): tags, the
results tables' rows, each chart's marks and tick labels. The run is a deterministic random
walk with a simple strategy (buy at a bar's close, sell a few bars later), so the trades, the
equity curve and the metrics agree with each other as a real run's would.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal as D
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest

from tradewind.backtest.metrics import (
    BacktestMetrics,
    ClosedPosition,
    EquityCurve,
    OrderRecord,
    compute_metrics,
)
from tradewind.backtest.report import (
    CANDLE_BARS,
    MARKER_BUCKETS,
    MAX_BUCKETS,
    MAX_MARKERS,
    TradeMark,
    render_report,
)
from tradewind.domain.orders import OrderStatus
from tradewind.marketdata import Candles

HOUR = 3_600_000
MINUTE = 60_000
JAN_1 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
START = D(10_000)
SVG_NS = "http://www.w3.org/2000/svg"
SIZE_LIMIT = 3_000_000
TOLERANCE = 0.15  # viewBox units: coordinates are written with one decimal


# ---- a run ---------------------------------------------------------------------------------


@dataclass
class Run:
    candles: Candles
    curve: EquityCurve
    trades: list[TradeMark]
    metrics: BacktestMetrics


def walk(bars: int, bar_ms: int, seed: int = 7) -> Candles:
    rng = np.random.default_rng(seed)
    close = 42_000 * np.exp(np.cumsum(rng.normal(0, 0.006 * (bar_ms / HOUR) ** 0.5, bars)))
    open_ = np.concatenate(([42_000.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.002, bars))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.002, bars))
    ts = JAN_1 + np.arange(bars, dtype=np.int64) * bar_ms
    return Candles(ts, open_, high, low, close, rng.uniform(1, 10, bars))


def run(
    bars: int = 500, bar_ms: int = HOUR, every: int = 50, hold: int = 20, amount: float = 0.05
) -> Run:
    """Buy ``amount`` at the close of every ``every``-th bar, sell it ``hold`` bars later."""
    candles = walk(bars, bar_ms)
    close, ts = candles.close, candles.ts
    cash, held = np.full(bars, float(START)), np.zeros(bars)
    trades: list[TradeMark] = []
    positions: list[ClosedPosition] = []
    orders: list[OrderRecord] = []
    for i in range(5, bars - hold, every):
        j = i + hold
        bought, sold = int(ts[i]) + bar_ms - 1, int(ts[j]) + bar_ms - 1  # at the bars' close
        trades += [
            TradeMark(bought, "buy", float(close[i]), amount),
            TradeMark(sold, "sell", float(close[j]), amount),
        ]
        fee = 0.001 * amount * (close[i] + close[j])
        profit = amount * (close[j] - close[i]) - fee
        positions.append(
            ClosedPosition(
                bought, sold, D(f"{profit:.8f}"), D(f"{fee:.8f}"), D(f"{amount * close[i]:.2f}")
            )
        )
        orders += [
            OrderRecord(OrderStatus.FILLED, bought - MINUTE, bought, D(str(amount))),
            OrderRecord(OrderStatus.FILLED, sold - 2 * MINUTE, sold, D(str(amount))),
        ]
        held[i:j] += amount
        cash[i:j] -= amount * close[i]
        cash[j:] += profit
    curve = EquityCurve(ts, cash + held * close)
    metrics = compute_metrics(
        curve=curve,
        start_balance=START,
        positions=positions,
        orders=orders,
        first_price=D(str(close[0])),
        last_price=D(str(close[-1])),
        profit_currency="USDT",
    )
    return Run(candles, curve, trades, metrics)


SETTINGS: dict[str, Any] = {
    "symbol": "BTC/USDT",
    "lower_limit": D("38000.5"),
    "grid": {"count": 10, "mode": "arithmetic"},
    "tags": ["a", "b"],
    "trailing": None,
    "<u>key</u>": "<i>value</i>",
}


def render(case: Run, title: str = "Grid on BTC", timeframe: str = "1h") -> str:
    return render_report(
        title=title,
        symbol="BTC/USDT",
        timeframe=timeframe,
        candles=case.candles,
        curve=case.curve,
        trades=case.trades,
        metrics=case.metrics,
        settings=SETTINGS,
        start_balance=START,
        currency="USDT",
    )


# ---- reading the page back ----------------------------------------------------------------

BALANCED = {"html", "head", "body", "main", "header", "section", "svg", "g", "div", "table", "tr"}


@dataclass
class Mark:
    tag: str
    attrs: dict[str, str]
    chart: str | None
    text: str = ""


class Page(HTMLParser):
    """Tag balance, table rows (header cell to value cell), and every element inside a chart
    with the text inside it (a marker's text is its tooltip)."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter[str] = Counter()
        self.rows: dict[str, str] = {}
        self.marks: list[Mark] = []
        self.text: list[str] = []
        self._chart: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] = []
        self._open_marks: list[Mark] = []
        self.feed(markup)
        self.close()
        if self.stack:
            self.errors.append(f"never closed: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs, closes=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs, closes=True)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]], *, closes: bool) -> None:
        self.tags[tag] += 1
        values = {k: v or "" for k, v in attrs}
        if tag == "svg":
            self._chart = values.get("id", "").removeprefix("chart-")
        if tag in BALANCED and not closes:
            self.stack.append(tag)
        if tag in ("th", "td"):
            self._cell = []
        if self._chart is not None:
            mark = Mark(tag, values, self._chart)
            self.marks.append(mark)
            if not closes:
                self._open_marks.append(mark)

    def handle_endtag(self, tag: str) -> None:
        if tag in BALANCED:
            if not self.stack or self.stack[-1] != tag:
                self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            else:
                self.stack.pop()
        if tag in ("th", "td") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr":
            if len(self._row) == 2:
                self.rows[self._row[0]] = self._row[1]
            self._row = []
        if self._chart is not None and self._open_marks and self._open_marks[-1].tag == tag:
            self._open_marks.pop()
        if tag == "svg":
            self._chart = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        for mark in self._open_marks:
            mark.text += data

    def in_chart(self, chart: str, tag: str, cls: str | None = None) -> list[Mark]:
        return [
            m
            for m in self.marks
            if m.chart == chart and m.tag == tag and (cls is None or m.attrs.get("class") == cls)
        ]

    def x_labels(self, chart: str) -> list[str]:
        return [m.text for m in self.in_chart(chart, "text") if DATE_LABEL.fullmatch(m.text)]


DATE_LABEL = re.compile(r"\d{4}(-\d\d){0,2}|\d\d-\d\d \d\d:\d\d")  # a price has commas


def points(polyline: Mark) -> list[tuple[float, float]]:
    pairs = (p.split(",") for p in polyline.attrs["points"].split())
    return [(float(x), float(y)) for x, y in pairs]


def y_scale(parsed: Page, chart: str) -> Callable[[float], float]:
    """A chart's y for a value, from its first and last y tick: each label and its grid line."""
    labels = [
        float(m.text.removesuffix(" %").replace(",", ""))
        for m in parsed.in_chart(chart, "text")
        if NUMBER_LABEL.fullmatch(m.text)
    ]
    grid = parsed.in_chart(chart, "path")[0].attrs["d"]
    ys = [float(y) for y in re.findall(r"M[\d.]+,([\d.]+)H", grid)]
    assert len(labels) == len(ys) >= 3
    (v0, y0), (v1, y1) = (labels[0], ys[0]), (labels[-1], ys[-1])
    return lambda value: y0 + (value - v0) * (y1 - y0) / (v1 - v0)


NUMBER_LABEL = re.compile(r"-?[\d,]+(\.\d+)?( %)?")


def tip(marker: Mark) -> tuple[float, float]:
    match = re.match(r"M([-\d.]+),([-\d.]+)", marker.attrs["d"])
    assert match is not None
    return float(match[1]), float(match[2])


@pytest.fixture(scope="module")
def small() -> Run:
    return run()


@pytest.fixture(scope="module")
def page(small: Run) -> tuple[str, Page]:
    markup = render(small)
    return markup, Page(markup)


# ---- the page -------------------------------------------------------------------------------


def test_the_page_is_well_formed_with_three_charts(page: tuple[str, Page]) -> None:
    markup, parsed = page
    assert markup.startswith("<!DOCTYPE html>")
    assert parsed.errors == []
    assert parsed.tags["svg"] == 3
    assert {m.chart for m in parsed.marks} == {"price", "equity", "drawdown"}
    assert all(m.attrs["viewbox"].startswith("0 0 ") for m in parsed.marks if m.tag == "svg")


def test_nothing_is_loaded_from_outside(page: tuple[str, Page]) -> None:
    markup, parsed = page
    assert set(re.findall(r"https?://[^\s\"'<>)]*", markup)) == {SVG_NS}
    assert not {"script", "link", "img", "iframe", "object"} & set(parsed.tags)
    assert re.findall(r"url\(([^)]*)\)", markup) == [
        "#clip-price",
        "#clip-equity",
        "#clip-drawdown",
    ]


def test_the_header_names_the_run(page: tuple[str, Page], small: Run) -> None:
    text = "".join(page[1].text)
    assert "BTC/USDT" in text
    assert "1h" in text
    assert "2024-01-01 00:00 UTC → 2024-01-21 19:00 UTC (500 bars)" in text  # 499 hours later
    assert "10,000 USDT" in text


def test_every_result_is_shown_with_its_unit(page: tuple[str, Page], small: Run) -> None:
    rows = page[1].rows
    haas = small.metrics.to_haas()
    s, p, o, q = haas["summary"], haas["performance"], haas["orders"], haas["positions"]
    assert rows["Return on investment"] == f"{s['roi']:,.2f} %"
    assert rows["Price change (buy and hold)"] == f"{s['priceChange']:,.2f} %"
    assert rows["Realized profit"] == f"{s['realizedProfit']:,.2f} USDT"
    assert rows["Fees paid"] == f"{s['feeCosts']:,.2f} USDT"
    assert rows["Max drawdown %"] == f"{p['maxDrawdownPercent']:,.2f} %"
    assert isinstance(p["winPercentage"], float)
    assert 0 < p["winPercentage"] < 1
    assert rows["Win rate"] == f"{p['winPercentage'] * 100:.2f} %"  # a fraction, shown as percent
    assert rows["Sharpe ratio (annualised)"] == f"{p['sharpeRatio']:.2f}"
    assert rows["Orders placed"] == str(o["total"])
    assert rows["Average time on the book"] == "1 min 30 s"  # buys wait 1 min, sells 2
    assert rows["Closed positions"] == str(q["closedPositions"])
    labels = {"Profit currency", "Highest running profit", "Average margin", "Partly filled"}
    assert labels <= rows.keys()
    assert sum(len(group) for group in haas.values()) == 25
    assert len(rows) == 25 + 7  # every result once, and the seven settings
    assert not {"", "None", "nan"} & set(rows.values())


def test_a_ratio_that_does_not_exist_is_a_dash() -> None:
    case = run()
    winners = [
        ClosedPosition(JAN_1, JAN_1 + HOUR, D(5), D("0.1"), D(100)),
        ClosedPosition(JAN_1, JAN_1 + 2 * HOUR, D(7), D("0.1"), D(100)),
    ]
    metrics = compute_metrics(
        curve=case.curve,
        start_balance=START,
        positions=winners,
        orders=[],
        first_price=D(1),
        last_price=D(1),
        profit_currency="USDT",
    )
    assert metrics.performance.profit_factor is None
    rows = Page(render(Run(case.candles, case.curve, case.trades, metrics))).rows
    assert rows["Profit factor"] == "—"
    assert rows["Win rate"] == "100.00 %"


def test_one_marker_per_trade_on_the_price_line(page: tuple[str, Page], small: Run) -> None:
    parsed = page[1]
    buys, sells = parsed.in_chart("price", "path", "buy"), parsed.in_chart("price", "path", "sell")
    assert len(small.trades) == 20
    assert len(buys) == sum(t.side == "buy" for t in small.trades) == 10
    assert len(sells) == sum(t.side == "sell" for t in small.trades) == 10
    # Each trade filled at its bar's close, so its marker's tip is a vertex of the close line.
    (line,) = parsed.in_chart("price", "polyline")
    vertices = np.array(points(line))
    for marker in buys + sells:
        nearest = np.abs(vertices - np.array(tip(marker))).max(axis=1).min()
        assert nearest <= TOLERANCE


def test_a_marker_tells_its_fill(page: tuple[str, Page], small: Run) -> None:
    first = small.trades[0]
    marker = page[1].in_chart("price", "path", "buy")[0]
    assert marker.text == f"Buy 0.05 at {first.price:,.10g} · 2024-01-01 05:59:59 UTC"
    assert page[1].in_chart("price", "path", "sell")[0].text.startswith("Sell 0.05 at ")


def test_the_three_charts_share_one_time_axis(page: tuple[str, Page]) -> None:
    parsed = page[1]
    labels = {chart: parsed.x_labels(chart) for chart in ("price", "equity", "drawdown")}
    assert labels["price"] == labels["equity"] == labels["drawdown"]
    # three days apart on the UTC calendar, from the first bar's open to the last one's close
    assert labels["price"] == [f"2024-01-{day:02}" for day in (3, 6, 9, 12, 15, 18, 21)]


def test_the_drawdown_is_underwater_down_to_the_max_drawdown(
    page: tuple[str, Page], small: Run
) -> None:
    parsed = page[1]
    ticks = [m.text for m in parsed.in_chart("drawdown", "text") if m.text.endswith(" %")]
    assert ticks == ["-4 %", "-3 %", "-2 %", "-1 %", "0 %"]  # the run lost 4.x % at worst
    to_y = y_scale(parsed, "drawdown")
    (line,) = parsed.in_chart("drawdown", "polyline")
    ys = [y for _, y in points(line)]
    assert max(ys) == pytest.approx(
        to_y(small.metrics.performance.max_drawdown_percent), abs=TOLERANCE
    )
    assert min(ys) == pytest.approx(to_y(0.0), abs=TOLERANCE)
    assert parsed.in_chart("drawdown", "polygon")  # the area under water


def test_the_equity_starts_at_the_starting_balance(page: tuple[str, Page], small: Run) -> None:
    parsed = page[1]
    to_y = y_scale(parsed, "equity")
    (dashed,) = [m for m in parsed.in_chart("equity", "path") if "stroke-dasharray" in m.attrs]
    start_y = float(dashed.attrs["d"].split(",")[1].split("H")[0])
    assert start_y == pytest.approx(to_y(float(START)), abs=TOLERANCE)
    (line,) = parsed.in_chart("equity", "polyline")
    vertices = points(line)
    left_edge = float(parsed.in_chart("equity", "rect")[0].attrs["x"])
    assert vertices[0] == pytest.approx((left_edge, start_y), abs=TOLERANCE)  # the first open
    assert vertices[-1][1] == pytest.approx(to_y(float(small.curve.equity[-1])), abs=TOLERANCE)
    assert len(vertices) == len(small.curve) + 1


def test_text_from_the_inputs_is_escaped(small: Run) -> None:
    markup = render(small, title="<script>alert('hi')</script>")
    parsed = Page(markup)
    assert "script" not in parsed.tags
    assert "<script" not in markup
    assert "&lt;script&gt;" in markup
    assert not {"u", "i"} & set(parsed.tags)
    assert parsed.rows["<u>key</u>"] == "<i>value</i>"


def test_settings_are_a_flat_table(page: tuple[str, Page]) -> None:
    rows = page[1].rows
    assert rows["symbol"] == "BTC/USDT"
    assert rows["lower_limit"] == "38000.5"
    assert rows["grid.count"] == "10"
    assert rows["grid.mode"] == "arithmetic"
    assert rows["tags"] == '["a", "b"]'
    assert rows["trailing"] == "null"


def test_few_bars_are_drawn_as_candles() -> None:
    case = run(bars=120, every=30, hold=10)
    parsed = Page(render(case))
    assert len(case.candles) <= CANDLE_BARS
    assert parsed.in_chart("price", "polyline") == []
    bodies = parsed.in_chart("price", "path", "series")
    assert sum(m.attrs["d"].count("z") for m in bodies) == 120
    assert len(parsed.in_chart("price", "path", "buy")) == len(case.trades) // 2


def test_an_unknown_side_is_refused(small: Run) -> None:
    bad = Run(small.candles, small.curve, [TradeMark(JAN_1, "long", 1.0, 1.0)], small.metrics)
    with pytest.raises(ValueError, match="side"):
        render(bad)


# ---- a million bars ---------------------------------------------------------------------------


def test_a_million_bars_and_fifty_thousand_trades_stay_small() -> None:
    bars = 1_000_000
    candles = walk(bars, MINUTE)
    rng = np.random.default_rng(3)
    rows = np.sort(rng.choice(bars, 50_000, replace=False))
    trades = [
        TradeMark(
            int(candles.ts[i]) + MINUTE - 1,
            "buy" if k % 2 == 0 else "sell",
            float(candles.close[i]),
            0.01,
        )
        for k, i in enumerate(rows.tolist())
    ]
    equity = float(START) + np.cumsum(rng.normal(0, 1.0, bars))
    curve = EquityCurve(candles.ts, equity)
    metrics = compute_metrics(
        curve=curve,
        start_balance=START,
        positions=[ClosedPosition(JAN_1, JAN_1 + HOUR, D(1), D("0.1"), D(100))],
        orders=[],
        first_price=D(str(candles.close[0])),
        last_price=D(str(candles.close[-1])),
        profit_currency="USDT",
    )

    markup = render(Run(candles, curve, trades, metrics), timeframe="1m")

    assert len(markup.encode()) < SIZE_LIMIT
    parsed = Page(markup)
    assert parsed.errors == []
    for chart in ("price", "equity"):
        (line,) = parsed.in_chart(chart, "polyline")
        assert 1_000 < len(points(line)) <= 2 * MAX_BUCKETS + 1
    (underwater,) = parsed.in_chart("drawdown", "polyline")
    assert len(points(underwater)) <= MAX_BUCKETS
    markers = parsed.in_chart("price", "path", "buy") + parsed.in_chart("price", "path", "sell")
    assert len(markers) <= min(MAX_MARKERS, 2 * MARKER_BUCKETS)
    counts = [re.match(r"([\d,]+) (buys|sells) · ", m.text) for m in markers]
    assert sum(int(c[1].replace(",", "")) for c in counts if c is not None) == 50_000
    assert None not in counts
    assert "50,000 trades in total" in markup
    # each bucket keeps its extremes, so the highest and the lowest close are drawn
    to_y = y_scale(parsed, "price")
    ys = [y for _, y in points(parsed.in_chart("price", "polyline")[0])]
    assert min(ys) == pytest.approx(to_y(float(candles.close.max())), abs=TOLERANCE)
    assert max(ys) == pytest.approx(to_y(float(candles.close.min())), abs=TOLERANCE)
