"""``tradewind backtest``: the command's results are the backtester's, bad input exits 2
naming what is wrong, and Ctrl-C stops a run with 130."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tradewind.backtest.request import BacktestRequest, prepare
from tradewind.backtest.runner import BacktestResult, run_backtest
from tradewind.cli import app
from tradewind.marketdata.bundled import bundled_store

runner = CliRunner()

GRID: dict[str, Any] = {
    "symbol": "BTC/USDT",
    "lowerLimit": 6370,
    "upperLimit": 6450,
    "gridCount": 4,
    "investmentAsset": "Quote",
    "investmentAmount": 1000,
    "tradeToFillGrid": True,
}
PERIOD = ["--timeframe", "1h", "--start", "2018-10-20", "--end", "2018-10-27"]


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> BacktestResult:
    """The same run, asked of the backtester directly."""
    store = bundled_store(tmp_path_factory.mktemp("direct"))
    request = BacktestRequest(
        "spot_grid", GRID, "BTC/USDT", "1h", _ms("2018-10-20"), _ms("2018-10-27")
    )
    return asyncio.run(run_backtest(prepare(request, store)))


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(GRID))
    return path


def backtest(tmp_path: Path, *args: str) -> Any:
    return runner.invoke(app, ["backtest", *args, "--data-dir", str(tmp_path / "data")])


def _row(output: str, label: str) -> str:
    match = re.search(rf"{label}\W+(.+?)\s*│", output)
    assert match, f"no {label!r} row in:\n{output}"
    return match.group(1)


def _number(text: str) -> float:
    match = re.match(r"-?[\d,]+(\.\d+)?", text)
    assert match, text
    return float(match.group(0).replace(",", ""))


class TestRun:
    def test_summary_shows_the_backtesters_results(
        self, tmp_path: Path, settings_file: Path, direct: BacktestResult
    ) -> None:
        r = backtest(tmp_path, "--bot", "spot_grid", "--settings", str(settings_file), *PERIOD)

        assert r.exit_code == 0, r.output
        m = direct.metrics
        assert direct.fills  # the comparison means something only if the grid traded
        profit = _row(r.stdout, "realized profit")
        assert profit.endswith(" USDT")
        assert _number(profit) == pytest.approx(float(m.summary.realized_profit), abs=0.005)
        assert _number(_row(r.stdout, "ROI")) == pytest.approx(m.summary.roi, abs=0.005)
        assert _number(_row(r.stdout, "win rate")) == pytest.approx(
            m.performance.win_percentage * 100, abs=0.005
        )
        assert _number(_row(r.stdout, "fills")) == len(direct.fills)
        jumped = direct.bars - direct.event_bars - direct.compiled_bars
        assert direct.compiled_bars > 0  # a grid: its re-arms run compiled
        assert _row(r.stdout, "bars") == (
            f"{direct.bars} ({direct.event_bars} walked, {direct.compiled_bars} run compiled, "
            f"{jumped} jumped)"
        )
        assert _row(r.stdout, "period").startswith("2018-10-20 00:00 to 2018-10-27 00:00 UTC")

    def test_json_is_the_backtesters_haas_results(
        self, tmp_path: Path, direct: BacktestResult
    ) -> None:
        inline = json.dumps({k: v for k, v in GRID.items() if k != "symbol"})

        r = backtest(
            tmp_path, "--bot", "grid_spot", "--settings", inline, "--symbol", "BTC/USDT", "--json",
            *PERIOD,
        )  # fmt: skip

        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        for key, value in direct.metrics.to_haas().items():
            assert doc[key] == value, key
        assert doc["bars"] == direct.bars
        assert doc["fills"] == len(direct.fills)
        assert doc["balances"] == {
            a: format(v.normalize(), "f") for a, v in direct.balances.items()
        }

    def test_balance_and_fees_reach_the_run(self, tmp_path: Path, settings_file: Path) -> None:
        r = backtest(
            tmp_path, "--bot", "spot_grid", "--settings", str(settings_file), "--json",
            "--balance", "5000", "--maker-fee", "0", "--taker-fee", "0", *PERIOD,
        )  # fmt: skip

        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert doc["startBalance"] == "5000"
        assert doc["fills"] > 0
        assert doc["summary"]["feeCosts"] == 0

    def test_report_is_written(self, tmp_path: Path, settings_file: Path) -> None:
        path = tmp_path / "report.html"

        r = backtest(
            tmp_path, "--bot", "spot_grid", "--settings", str(settings_file), "--report", str(path),
            *PERIOD,
        )  # fmt: skip

        assert r.exit_code == 0, r.output
        html = path.read_text(encoding="utf-8")
        assert "<svg" in html and "BTC/USDT" in html
        assert str(path.resolve()) in r.stderr


class TestBadInput:
    def test_end_before_start(self, tmp_path: Path, settings_file: Path) -> None:
        r = backtest(
            tmp_path, "--bot", "spot_grid", "--settings", str(settings_file), "--timeframe", "1h",
            "--start", "2018-10-27", "--end", "2018-10-20",
        )  # fmt: skip

        assert r.exit_code == 2
        assert "end: the end must be after the start" in r.stderr

    def test_unknown_bot(self, tmp_path: Path, settings_file: Path) -> None:
        r = backtest(tmp_path, "--bot", "no_such_bot", "--settings", str(settings_file), *PERIOD)

        assert r.exit_code == 2
        assert "script: unknown bot script 'no_such_bot'" in r.stderr

    def test_bad_settings_value_names_the_field(self, tmp_path: Path) -> None:
        bad = json.dumps({**GRID, "gridCount": 1})

        r = backtest(tmp_path, "--bot", "spot_grid", "--settings", bad, *PERIOD)

        assert r.exit_code == 2
        assert re.search(r"^\s*settings\.gridCount: .+", r.stderr, re.MULTILINE), r.stderr

    def test_missing_settings_file(self, tmp_path: Path) -> None:
        missing = tmp_path / "nowhere.json"

        r = backtest(tmp_path, "--bot", "spot_grid", "--settings", str(missing), *PERIOD)

        assert r.exit_code == 2
        assert "--settings" in r.stderr and "nowhere.json" in r.stderr

    def test_settings_that_are_not_json(self, tmp_path: Path) -> None:
        path = tmp_path / "grid.json"
        path.write_text("{symbol: BTC/USDT}")

        r = backtest(tmp_path, "--bot", "spot_grid", "--settings", str(path), *PERIOD)

        assert r.exit_code == 2
        assert "--settings" in r.stderr and "not valid JSON" in r.stderr

    def test_a_date_that_is_not_iso(self, tmp_path: Path, settings_file: Path) -> None:
        r = backtest(
            tmp_path, "--bot", "spot_grid", "--settings", str(settings_file), "--timeframe", "1h",
            "--start", "20/10/2018", "--end", "2018-10-27",
        )  # fmt: skip

        assert r.exit_code == 2
        assert "--start" in r.stderr


def _interrupt_once_handled(timeout: float = 60.0) -> Callable[[], None]:
    """Send SIGINT as soon as a handler other than Python's default takes it (the command's),
    so the signal cannot land before the command is ready for it."""
    default = signal.getsignal(signal.SIGINT)

    def send() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if signal.getsignal(signal.SIGINT) is not default:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.005)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread.join


def test_ctrl_c_cancels_the_run(tmp_path: Path) -> None:
    # An RSI bot trades on bars, so every one of the ~19,000 bars is walked: a run of seconds.
    joined = _interrupt_once_handled()
    settings = json.dumps({"symbol": "BTC/USDT", "orderSize": 100})

    r = backtest(
        tmp_path, "--bot", "rsi_bot", "--settings", settings, "--timeframe", "1h",
        "--start", "2017-07-20", "--end", "2019-10-01",
    )  # fmt: skip
    joined()

    assert r.exit_code == 130, r.output
    assert r.stderr.strip().endswith("cancelled")
    assert r.stdout == ""


def test_help_lists_the_options() -> None:
    r = runner.invoke(app, ["backtest", "--help"], env={"COLUMNS": "160"})

    assert r.exit_code == 0
    for option in (
        "--bot", "--settings", "--symbol", "--timeframe", "--start", "--end", "--balance",
        "--maker-fee", "--taker-fee", "--report", "--json", "--data-dir",
    ):  # fmt: skip
        assert option in r.stdout, option
