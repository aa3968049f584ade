"""``tradewind data``: import candle CSVs into the store and list what it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tradewind.console import console
from tradewind.marketdata.bundled import bundled_store
from tradewind.marketdata.candles import InvalidCandles, format_ts
from tradewind.marketdata.importer import import_csv
from tradewind.marketdata.store import CandleStore
from tradewind.marketdata.timeframes import Timeframe
from tradewind.settings import Settings

data_app = typer.Typer(
    help="Market data: import candles, list stored series.", no_args_is_help=True
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="TRADEWIND_DATA_DIR", help="Where the store and market data live."
    ),
]


def _store(data_dir: Path | None) -> CandleStore:
    return bundled_store(data_dir or Settings().data_dir)


@data_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV to import.")],
    exchange: Annotated[str, typer.Option(help="Venue the candles belong to, e.g. paper.")],
    symbol: Annotated[str, typer.Option(help="Market symbol, e.g. BTC/USDT.")],
    timeframe: Annotated[Timeframe, typer.Option(help="Bar length of the file.")],
    data_dir: DataDir = None,
) -> None:
    """Import a timestamp_ms,open,high,low,close,volume CSV (merged with what is stored)."""
    store = _store(data_dir)
    size_mb = file.stat().st_size / 1e6
    try:
        with console.status(f"importing {file.name} ({size_mb:.1f} MB)…"):
            rows = import_csv(store, file, exchange, symbol, timeframe)
    except (InvalidCandles, ValueError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    info = store.info(exchange, symbol, timeframe)
    assert info is not None  # just written
    typer.echo(
        f"imported {rows:,} rows into {exchange} {symbol} {timeframe}; the series now has "
        f"{info.rows:,} rows from {format_ts(info.first_ts)} to {format_ts(info.last_ts)}"
    )


@data_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")] = False,
    data_dir: DataDir = None,
) -> None:
    """List the stored series, bundled ones included."""
    series = _store(data_dir).series()
    if as_json:
        typer.echo(json.dumps([s._asdict() for s in series], indent=2))
        return
    table = Table("venue", "symbol", "timeframe", "first bar (UTC)", "last bar (UTC)", "rows")
    for s in series:
        table.add_row(
            s.venue,
            s.symbol,
            s.timeframe,
            format_ts(s.first_ts),
            format_ts(s.last_ts),
            f"{s.rows:,}",
        )
    out = Console()
    (out if out.is_terminal else Console(width=120)).print(table)
