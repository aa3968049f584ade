"""Candles: OHLCV bars as parallel numpy arrays, their validation, and CSV and Arrow I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from numpy.typing import NDArray

from tradewind.domain.errors import ValidationFailed
from tradewind.marketdata.timeframes import Timeframe

COLUMNS = ("ts", "open", "high", "low", "close", "volume")
CSV_HEADER = "timestamp_ms,open,high,low,close,volume"
SCHEMA = pa.schema([("ts", pa.int64())] + [(name, pa.float64()) for name in COLUMNS[1:]])
# Integer timestamps below this (March 1973 in ms) are almost surely seconds.
_MIN_PLAUSIBLE_MS = 100_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]


class InvalidCandles(ValidationFailed, ValueError):
    """Candles break a rule; ``row`` is the index of the first bad row, when there is one."""

    code = "invalid_candles"

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message, details=None if row is None else [{"row": row}])
        self.row = row


def format_ts(ts_ms: int) -> str:
    """``2018-04-04T16:47:00Z`` for an epoch-millisecond timestamp."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _frozen(values: Any, dtype: type[np.generic]) -> Any:
    array = np.asarray(values, dtype=dtype).view()
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False, slots=True)
class Candles:
    """Bars in ascending open time: ``ts`` (int64 epoch ms, bar open, UTC) and float64 OHLCV.

    The arrays are read-only views. Construction checks only shapes; ``validate`` checks
    the market rules (the store calls it on every write).
    """

    ts: Int64s
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _frozen(self.ts, np.int64))
        for name in COLUMNS[1:]:
            object.__setattr__(self, name, _frozen(getattr(self, name), np.float64))
        lengths = {getattr(self, name).shape for name in COLUMNS}
        if len(lengths) != 1 or self.ts.ndim != 1:
            raise ValueError(f"candle columns must be 1-D and of one length, got {lengths}")

    @classmethod
    def empty(cls) -> Candles:
        """No bars."""
        nothing = np.empty(0, np.float64)
        return cls(np.empty(0, np.int64), nothing, nothing, nothing, nothing, nothing)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def __getitem__(self, index: slice) -> Candles:
        if not isinstance(index, slice):
            raise TypeError("Candles support slices only, e.g. candles[10:20]")
        return Candles(*(getattr(self, name)[index] for name in COLUMNS))

    def between(self, start_ms: int | None = None, end_ms: int | None = None) -> Candles:
        """Bars opening in ``[start_ms, end_ms)``; ``None`` leaves that side open."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, "left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.ts, end_ms, "left"))
        return self[lo:hi]

    def validate(self, timeframe: Timeframe) -> None:
        """Raise ``InvalidCandles`` naming the first row that breaks a rule.

        Rules: finite values, strictly increasing ``ts`` on the timeframe's grid,
        ``high >= max(open, close)``, ``low <= min(open, close)``, ``volume >= 0``.
        """
        if not len(self):
            return
        top = np.maximum(self.open, self.close)
        bottom = np.minimum(self.open, self.close)
        not_after = np.concatenate(([False], np.diff(self.ts) <= 0))
        checks: list[tuple[NDArray[np.bool_], str]] = [
            (~np.isfinite(getattr(self, name)), f"{name} is not a finite number")
            for name in COLUMNS[1:]
        ]
        checks += [
            (not_after, "ts is not after the previous row's"),
            (self.ts % timeframe.ms != 0, f"ts is not on the {timeframe} grid"),
            (self.high < top, "high is below max(open, close)"),
            (self.low > bottom, "low is above min(open, close)"),
            (self.volume < 0, "volume is negative"),
        ]
        firsts = [(int(np.argmax(bad)), reason) for bad, reason in checks if bad.any()]
        if not firsts:
            return
        row = min(first for first, _ in firsts)
        reasons = "; ".join(reason for first, reason in firsts if first == row)
        ts = int(self.ts[row])
        values = ", ".join(f"{name}={float(getattr(self, name)[row])!r}" for name in COLUMNS[1:])
        raise InvalidCandles(
            f"row {row} (ts {ts} = {format_ts(ts)}): {reasons} [{values}]", row=row
        )

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` with the store's schema (``ts``, open … volume)."""
        return pa.Table.from_arrays(
            [pa.array(getattr(self, name)) for name in COLUMNS], schema=SCHEMA
        )

    @classmethod
    def from_arrow(cls, table: Any) -> Candles:
        """From a table with the store's column names; numeric columns are not copied."""
        return cls(*(_numpy(table.column(name), SCHEMA.field(name).type) for name in COLUMNS))

    @classmethod
    def from_csv(cls, path: Path | str) -> Candles:
        """Read a ``timestamp_ms,open,high,low,close,volume`` CSV (the format of ``CSV_HEADER``).

        As a courtesy the header line may be missing, and the first column may hold ISO-8601
        times instead of epoch milliseconds (``2018-04-04T00:00:00Z``; a time without an
        offset is taken as UTC). Columns are read in that order; a header that names other
        columns is refused. Only parsing is checked here; ``validate`` checks the rules.
        """
        path = Path(path)
        with path.open(encoding="utf-8-sig") as f:
            first_line = f.readline().strip()
        has_header = bool(first_line) and not _looks_like_time(first_line.split(",")[0])
        if has_header:
            names = [n.strip().lower() for n in first_line.split(",")]
            if len(names) != 6 or names[1:] != list(COLUMNS[1:]):
                raise InvalidCandles(
                    f"{path}: expected the header {CSV_HEADER!r}, got {first_line!r}"
                )
        try:
            table = pcsv.read_csv(
                path,
                read_options=pcsv.ReadOptions(
                    column_names=list(COLUMNS), skip_rows=int(has_header), encoding="utf-8-sig"
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={"ts": pa.string(), **{n: pa.float64() for n in COLUMNS[1:]}}
                ),
            )
        except pa.ArrowInvalid as e:
            raise InvalidCandles(f"{path}: {e}") from e
        for name in COLUMNS:
            column = table.column(name)
            if column.null_count:
                row = int(np.argmax(pc.is_null(column).to_numpy(zero_copy_only=False)))
                raise InvalidCandles(f"{path}: row {row} has no {name}", row=row)
        ts = _parse_times(table.column("ts"), path)
        return cls(ts, *(_numpy(table.column(n), pa.float64()) for n in COLUMNS[1:]))


def _numpy(column: Any, arrow_type: Any) -> Any:
    if column.type != arrow_type:
        column = column.cast(arrow_type)
    if column.num_chunks == 0:
        return np.empty(0, np.int64 if arrow_type == pa.int64() else np.float64)
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if array.null_count:
        raise InvalidCandles("candle columns may not hold nulls")
    return array.to_numpy(zero_copy_only=True)


def _looks_like_time(field: str) -> bool:
    field = field.strip().strip('"')
    if field.lstrip("-").isdigit():
        return True
    try:
        datetime.fromisoformat(field)
    except ValueError:
        return False
    return True


def _parse_times(column: Any, path: Path) -> Int64s:
    try:
        ts: Int64s = _numpy(column, pa.int64())
    except pa.ArrowInvalid:
        return _parse_iso(column.to_pylist(), path)
    if len(ts) and int(ts.max()) < _MIN_PLAUSIBLE_MS:
        raise InvalidCandles(
            f"{path}: timestamps look like seconds (largest {int(ts.max())}); "
            "expected epoch milliseconds"
        )
    return ts


def _parse_iso(values: list[str], path: Path) -> Int64s:
    out = np.empty(len(values), np.int64)
    for row, value in enumerate(values):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as e:
            raise InvalidCandles(
                f"{path}: row {row}: {value!r} is neither epoch milliseconds nor ISO-8601",
                row=row,
            ) from e
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        out[row] = (moment - _EPOCH) // timedelta(milliseconds=1)
    return out
