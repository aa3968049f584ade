"""``tradewind backtest``: one bot over stored candles, from the command line.

A thin transport over ``prepare`` and ``run_backtest``: it parses the options, shows the run's
progress, and prints the results as a table (or one JSON document with ``--json``), with the
HTML report on request. Bad input exits with code 2 and a message naming the option or
field; Ctrl-C stops the run between steps and exits with code 130.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradewind.console import console
from tradewind.domain.clock import from_ms
from tradewind.domain.errors import DomainError, ValidationFailed
from tradewind.marketdata.timeframes import Timeframe
from tradewind.settings import Settings

if TYPE_CHECKING:
    from tradewind.backtest.request import BacktestRequest
    from tradewind.backtest.runner import BacktestResult

EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130
"""What a shell reports for a command ended by SIGINT (128 + 2)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="TRADEWIND_DATA_DIR", help="Where the store and market data live."
    ),
]


class _BadOption(Exception):
    pass  # an option's value cannot be used; the message names the option


def backtest_command(
    bot: Annotated[
        str,
        typer.Option(
            metavar="SCRIPT",
            help="The bot: a script id or alias (spot_grid, futures_grid, dca_spot, rsi_bot, "
            "webhook, smart_trade, ...).",
        ),
    ],
    settings: Annotated[
        str,
        typer.Option(
            metavar="FILE|JSON",
            help="The bot's settings (camelCase keys, as the API takes them): a JSON file, or "
            "inline JSON when the value starts with '{'.",
        ),
    ],
    timeframe: Annotated[Timeframe, typer.Option(help="Bar length of the candles to run on.")],
    start: Annotated[
        str,
        typer.Option(
            metavar="DATE",
            help="The first bar's open: an ISO date or datetime (UTC unless it names a zone).",
        ),
    ],
    end: Annotated[
        str, typer.Option(metavar="DATE", help="The last bar's open, written as --start.")
    ],
    symbol: Annotated[
        str | None,
        typer.Option(
            metavar="SYMBOL",
            help="Market symbol, e.g. BTC/USDT (optional when the settings name it).",
        ),
    ] = None,
    balance: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Starting balance in the instrument's quote currency (default: 10000).",
        ),
    ] = None,
    maker_fee: Annotated[
        str | None,
        typer.Option(
            metavar="FRACTION",
            help="Maker fee as a fraction, 0.001 is 0.1 % (default: the instrument's).",
        ),
    ] = None,
    taker_fee: Annotated[
        str | None,
        typer.Option(
            metavar="FRACTION", help="Taker fee as a fraction (default: the instrument's)."
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also write the HTML report (charts, results, settings) to this file.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of the table.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Backtest a bot on stored candles (bundled or imported) and print its results."""
    try:
        request = _request(
            bot, settings, symbol, timeframe, start, end, balance, maker_fee, taker_fee
        )
        if report is not None and not report.resolve().parent.is_dir():
            raise _BadOption(f"--report: no directory {report.resolve().parent}")
    except _BadOption as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(EXIT_BAD_INPUT) from None

    try:
        service = Settings(data_dir=data_dir) if data_dir else Settings()
        result = _run(request, service.data_dir, service.backtest_max_span_days)
    except ValidationFailed as e:
        _print_refusal(e)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except DomainError as e:
        console.print(f"[red]error:[/red] {escape(e.message)}")
        raise typer.Exit(1) from None
    except _Interrupted:
        console.print("cancelled")
        raise typer.Exit(EXIT_CANCELLED) from None

    if as_json:
        typer.echo(json.dumps(_document(result), indent=2))
    else:
        out = Console()
        (out if out.is_terminal else Console(width=120)).print(_summary(result))
    if report is not None:
        try:
            report.write_text(_report_html(result), encoding="utf-8")
        except OSError as e:
            console.print(
                f"[red]error:[/red] --report: cannot write {escape(str(report))}: {escape(str(e))}"
            )
            raise typer.Exit(1) from None
        console.print(f"report written to {escape(str(report.resolve()))}")


# ---- the request ----------------------------------------------------------------------------


def _request(
    bot: str,
    settings: str,
    symbol: str | None,
    timeframe: Timeframe,
    start: str,
    end: str,
    balance: str | None,
    maker_fee: str | None,
    taker_fee: str | None,
) -> BacktestRequest:
    from tradewind.backtest.request import BacktestRequest
    from tradewind.venues.paper.catalog import paper_instruments

    bot_settings = _bot_settings(settings)
    if symbol and "symbol" not in bot_settings:
        bot_settings["symbol"] = symbol
    balances = None
    if balance is not None:
        amount = _decimal("--balance", balance)
        # The quote currency is the instrument's; an unknown symbol is left to prepare to name.
        named = bot_settings.get("symbol") or symbol
        instrument = paper_instruments().get(named) if isinstance(named, str) else None
        if instrument is not None:
            balances = {instrument.quote: amount}
    return BacktestRequest(
        script=bot,
        settings=bot_settings,
        symbol=symbol or "",
        timeframe=timeframe.value,
        start_ms=_epoch_ms("--start", start),
        end_ms=_epoch_ms("--end", end),
        balances=balances,
        maker_fee=None if maker_fee is None else _decimal("--maker-fee", maker_fee),
        taker_fee=None if taker_fee is None else _decimal("--taker-fee", taker_fee),
    )


def _bot_settings(value: str) -> dict[str, Any]:
    text = value.strip()
    source = "the inline JSON"
    if not text.startswith("{"):
        path = Path(value)
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _BadOption(f"--settings: no such file {path}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise _BadOption(f"--settings: cannot read {path}: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise _BadOption(f"--settings: {source} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise _BadOption(f"--settings: {source} must hold a JSON object of settings")
    return data


def _epoch_ms(option: str, value: str) -> int:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _BadOption(
            f"{option}: {value!r} is not an ISO date or datetime (e.g. 2018-10-20 or "
            "2018-10-20T12:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _decimal(option: str, value: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise _BadOption(f"{option}: {value!r} is not a number") from None
    if not number.is_finite():
        raise _BadOption(f"{option}: {value!r} is not a number")
    return number


def _print_refusal(e: ValidationFailed) -> None:
    details = e.details if isinstance(e.details, list) else []
    if len(details) == 1 and details[0].get("message") == e.message:
        console.print(f"[red]error:[/red] {escape(str(details[0]['field']))}: {escape(e.message)}")
        return
    console.print(f"[red]error:[/red] {escape(e.message)}")
    for detail in details:
        console.print(f"  {escape(str(detail['field']))}: {escape(str(detail['message']))}")


# ---- the run ----------------------------------------------------------------------------------


class _Interrupted(Exception):
    pass


def _run(request: BacktestRequest, data_dir: Path, max_span_days: int) -> BacktestResult:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from tradewind.backtest.request import prepare
    from tradewind.backtest.runner import Cancelled, run_backtest
    from tradewind.marketdata.bundled import bundled_store

    async def run(stop: Callable[[], bool]) -> BacktestResult:
        spec = prepare(request, bundled_store(data_dir), max_span_days=max_span_days)
        with Progress(
            TextColumn("backtest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("bars"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("backtest", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return await run_backtest(spec, progress=progress, cancelled=stop)

    try:
        with _sigint_flag() as stop:
            return asyncio.run(run(stop))
    except (Cancelled, KeyboardInterrupt):
        raise _Interrupted() from None


@contextmanager
def _sigint_flag() -> Iterator[Callable[[], bool]]:
    # The first Ctrl-C raises a flag the run checks between steps; a second one interrupts at
    # once. asyncio's own handler cancels the main task, which takes effect only when the run
    # yields to the event loop, and a run of jumps and synchronous steps rarely does.
    pressed: list[bool] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(True)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Ctrl-C is not ours to handle
        yield lambda: False
        return
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)


# ---- the results ------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _utc(ts_ms: int) -> str:
    return from_ms(ts_ms).strftime("%Y-%m-%d %H:%M")


def _money_decimals(start_balance: Decimal) -> int:
    # About six significant digits of the starting balance, as the HTML report shows money.
    if start_balance <= 0:
        return 2
    return min(8, max(2, 4 - math.floor(math.log10(float(start_balance)))))


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _summary(result: BacktestResult) -> Table:
    spec = result.spec
    m = result.metrics
    currency = m.summary.profit_currency
    places = _money_decimals(result.start_balance)

    def money(value: Decimal | float) -> str:
        return f"{float(value):,.{places}f} {currency}"

    def pct(value: float) -> str:
        return f"{value:,.2f} %"

    ts = spec.candles.ts
    jumped = result.bars - result.event_bars - result.compiled_bars
    q = m.positions
    rows: list[tuple[str, str]] = [
        ("period", f"{_utc(int(ts[spec.start]))} to {_utc(int(ts[-1]))} UTC (bar opens)"),
        (
            "bars",
            f"{result.bars:,} ({result.event_bars:,} walked, {result.compiled_bars:,} run "
            f"compiled, {jumped:,} jumped)",
        ),
        ("fills", f"{len(result.fills):,}"),
        (
            "orders",
            f"{m.orders.total:,} ({m.orders.filled:,} filled, "
            f"{m.orders.partially_filled:,} partly filled)",
        ),
        (
            "closed positions",
            f"{q.closed_positions:,} ({q.winning_positions:,} won, {q.losing_positions:,} lost)",
        ),
        ("realized profit", money(m.summary.realized_profit)),
        ("ROI", pct(m.summary.roi)),
        ("fees", money(m.summary.fee_costs)),
        ("price change", pct(m.summary.price_change)),
        (
            "max drawdown",
            f"{money(m.performance.max_drawdown)} ({pct(m.performance.max_drawdown_percent)})",
        ),
        ("profit factor", _ratio(m.performance.profit_factor)),
        ("Sharpe ratio", _ratio(m.performance.sharpe_ratio)),
        ("Sortino ratio", _ratio(m.performance.sortino_ratio)),
        ("win rate", pct(m.performance.win_percentage * 100)),
        ("starting balance", money(result.start_balance)),
        ("final equity", money(float(result.curve.equity[-1])) if len(result.curve) else "—"),
        ("final balances", ", ".join(f"{_plain(v)} {a}" for a, v in result.balances.items())),
    ]
    if result.bot_status != "active":
        last = result.logs[-1].message if result.logs else ""
        rows.append(("bot", f"{result.bot_status}: {last}" if last else result.bot_status))
    table = Table(
        "", "", title=f"{spec.script} on {spec.symbol} {spec.timeframe}", show_header=False
    )
    for name, value in rows:
        table.add_row(name, escape(value))
    return table


def _document(result: BacktestResult) -> dict[str, Any]:
    spec = result.spec
    ts = spec.candles.ts
    return {
        "script": spec.script,
        "symbol": spec.symbol,
        "timeframe": str(spec.timeframe),
        "firstBarMs": int(ts[spec.start]),
        "lastBarMs": int(ts[-1]),
        "bars": result.bars,
        "eventBars": result.event_bars,
        "compiledBars": result.compiled_bars,
        "fills": len(result.fills),
        "startBalance": _plain(result.start_balance),
        "balances": {asset: _plain(v) for asset, v in result.balances.items()},
        "botStatus": result.bot_status,
        **result.metrics.to_haas(),
    }


def _report_html(result: BacktestResult) -> str:
    from tradewind.backtest.report import TradeMark, render_report
    from tradewind.strategies.registry import get_script

    spec = result.spec
    settings: Mapping[str, Any] = spec.settings
    return render_report(
        title=f"{get_script(spec.script).name} backtest",
        symbol=spec.symbol,
        timeframe=str(spec.timeframe),
        candles=spec.candles[spec.start :],
        curve=result.curve,
        trades=[
            TradeMark(f.ts_ms, f.side.value, float(f.price), float(f.amount)) for f in result.fills
        ],
        metrics=result.metrics,
        settings=settings,
        start_balance=result.start_balance,
        currency=result.instrument.quote,
    )
