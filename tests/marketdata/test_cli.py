from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.marketdata.factories import APR4
from tradewind.cli import app

runner = CliRunner()


def test_import_then_list(tmp_path: Path) -> None:
    csv = tmp_path / "btc.csv"
    csv.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        f"{APR4},7424.91,7424.91,7422,7422,7.14319709\n"
        f"{APR4 + 60_000},7420,7422,7405,7405,13.35069752\n"
    )
    env = {"TRADEWIND_DATA_DIR": str(tmp_path / "data")}
    args = [
        "data",
        "import",
        str(csv),
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDT",
        "--timeframe",
        "1m",
    ]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "imported 2 rows into binance BTC/USDT 1m" in result.output
    assert "2018-04-04T00:00:00Z to 2018-04-04T00:01:00Z" in result.output
    assert (
        tmp_path / "data" / "marketdata" / "candles" / "binance" / "BTC_USDT" / "1m.parquet"
    ).is_file()

    listed = runner.invoke(app, ["data", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    series = {
        (s["venue"], s["symbol"], s["timeframe"]): s["rows"] for s in json.loads(listed.output)
    }
    assert series[("binance", "BTC/USDT", "1m")] == 2
    assert series[("paper", "BTC/USDT", "1h")] == 20_111

    table = runner.invoke(app, ["data", "list", "--data-dir", str(tmp_path / "data")])
    assert table.exit_code == 0, table.output
    assert "binance" in table.output and "paper-2017" in table.output and "20,111" in table.output


def test_a_bad_file_fails_with_the_reason(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(f"{APR4},1,0.5,0.5,1,1\n")  # high below open
    args = ["data", "import", str(csv), "--exchange", "x", "--symbol", "A/B", "--timeframe", "1m"]
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert "high is below max(open, close)" in result.output
    assert not (tmp_path / "data" / "marketdata").exists()


def test_unknown_timeframe_is_a_usage_error(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("")
    args = ["data", "import", str(csv), "--exchange", "x", "--symbol", "A/B", "--timeframe", "2m"]
    assert runner.invoke(app, [*args, "--data-dir", str(tmp_path)]).exit_code == 2
