"""The candle store: one Parquet file per (venue, symbol, timeframe), read back as ``Candles``.

Layout under the writable root: ``candles/<venue>/<symbol with / and : as _>/<timeframe>.parquet``;
each file records its venue, symbol and timeframe in the Parquet metadata, so two symbols that
map to one directory name are told apart (and refused) rather than mixed. Read-only fallbacks
(a directory in the same layout, or an explicit table of files such as the bundled data) are
consulted after the root: the first layer holding a series wins. Writing a series that only a
fallback holds copies it into the root, merged with the new rows.

One writer per store directory: files are replaced atomically, but two processes writing the
same series at once may lose one of the writes.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow.parquet as pq

from tradewind.domain.errors import Conflict, NotFound
from tradewind.marketdata.candles import COLUMNS, Candles
from tradewind.marketdata.resample import resample
from tradewind.marketdata.timeframes import Timeframe

_VENUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
_META = b"tradewind.symbol"
_TIMEFRAMES = frozenset(tf.value for tf in Timeframe)


class SeriesKey(NamedTuple):
    """Names one stored series."""

    venue: str
    symbol: str
    timeframe: Timeframe


class SeriesInfo(NamedTuple):
    """What ``CandleStore.series`` reports for each stored series."""

    venue: str
    symbol: str
    timeframe: Timeframe
    first_ts: int
    last_ts: int
    rows: int


class SeriesNotFound(NotFound, LookupError):
    """Neither the series nor a finer one it could be resampled from is stored."""


Fallback = Path | Mapping[SeriesKey, Path]
"""A read-only layer: a directory in the store layout, or a table of series to files."""


def series_key(venue: str, symbol: str, timeframe: Timeframe | str) -> SeriesKey:
    """A checked key: names safe for a path, a known timeframe (``ValueError`` otherwise)."""
    if not _VENUE.fullmatch(venue):
        raise ValueError(f"venue {venue!r} must be letters, digits, '.', '_' or '-'")
    if not _SYMBOL.fullmatch(symbol):
        raise ValueError(f"symbol {symbol!r} must be letters, digits, '.', '_', '-', '/' or ':'")
    return SeriesKey(venue, symbol, Timeframe(timeframe))


def symbol_dirname(symbol: str) -> str:
    """The directory a symbol's files live in: ``BTC/USDT:USDT`` → ``BTC_USDT_USDT``."""
    return symbol.replace("/", "_").replace(":", "_")


class _Directory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def target(self, key: SeriesKey) -> Path:
        return (
            self.root
            / "candles"
            / key.venue
            / symbol_dirname(key.symbol)
            / f"{key.timeframe}.parquet"
        )

    def find(self, key: SeriesKey) -> Path | None:
        path = self.target(key)
        if not path.is_file():
            return None
        owner = _symbol_of(path)
        return path if owner in (None, key.symbol) else None

    def series_keys(self) -> Iterator[SeriesKey]:
        for path in sorted(self.root.glob("candles/*/*/*.parquet")):
            if path.stem in _TIMEFRAMES:
                symbol = _symbol_of(path) or path.parent.name
                yield SeriesKey(path.parent.parent.name, symbol, Timeframe(path.stem))


class _Table:
    def __init__(self, files: Mapping[SeriesKey, Path]) -> None:
        self.files = dict(files)

    def find(self, key: SeriesKey) -> Path | None:
        path = self.files.get(key)
        return path if path is not None and path.is_file() else None

    def series_keys(self) -> Iterator[SeriesKey]:
        yield from self.files


class CandleStore:
    """Candles kept as Parquet under ``root``, with optional read-only ``fallbacks``."""

    def __init__(self, root: Path, fallbacks: Sequence[Fallback] = ()) -> None:
        self._root = _Directory(Path(root))
        self._layers: list[_Directory | _Table] = [self._root]
        for layer in fallbacks:
            self._layers.append(_Directory(layer) if isinstance(layer, Path) else _Table(layer))

    @property
    def root(self) -> Path:
        """The writable directory."""
        return self._root.root

    def write(self, venue: str, symbol: str, timeframe: Timeframe | str, candles: Candles) -> int:
        """Validate ``candles`` and merge them into the series; returns the series' row count.

        Rows whose ``ts`` is already stored replace the stored ones. Raises ``InvalidCandles``
        (a ``ValueError``) naming the first bad row; nothing is written then.
        """
        key = series_key(venue, symbol, timeframe)
        candles.validate(key.timeframe)
        target = self._root.target(key)
        if target.is_file() and _symbol_of(target) not in (None, key.symbol):
            raise Conflict(f"{target} holds {_symbol_of(target)!r}, not {key.symbol!r}")
        current = self._find(key)
        if current is not None:
            candles = _merge(candles, _load(current))
        if not len(candles):
            return 0
        write_parquet(target, candles, {_META: key.symbol.encode()})
        return len(candles)

    def read(
        self,
        venue: str,
        symbol: str,
        timeframe: Timeframe | str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> Candles:
        """Bars opening in ``[start_ms, end_ms)``, oldest first.

        ``limit`` keeps the first ``limit`` bars when ``start_ms`` is given and the last
        ``limit`` (the most recent before ``end_ms``) otherwise. A timeframe that is not stored
        is resampled from a stored one that divides it (see ``source_for``); raises
        ``SeriesNotFound`` when there is none.
        """
        key = series_key(venue, symbol, timeframe)
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        source = self._source(key, start_ms, end_ms)
        if source is None:
            raise SeriesNotFound(
                f"no candles for {key.venue} {key.symbol} {key.timeframe}",
                details={"stored": [str(t) for t in self.timeframes(key.venue, key.symbol)]},
            )
        stored, path = source
        if stored == key:
            candles = _load(path, start_ms, end_ms)
        else:
            tf = key.timeframe
            lo = None if start_ms is None else tf.floor(start_ms)
            hi = None if end_ms is None else tf.ceil(end_ms)
            candles = resample(_load(path, lo, hi), tf).between(start_ms, end_ms)
        if limit is not None:
            keep_first = start_ms is not None
            candles = candles[:limit] if keep_first else candles[max(0, len(candles) - limit) :]
        return candles

    def source_for(
        self,
        venue: str,
        symbol: str,
        timeframe: Timeframe | str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> SeriesKey | None:
        """The stored series ``read`` answers from, or ``None``: the series itself when stored.

        Otherwise, among the stored timeframes that divide ``timeframe``, the one covering most of
        ``[start_ms, end_ms)`` wins, and on a tie the coarser (fewer rows to aggregate):
        with BTC/USDT stored as 1m (three days) and 1h (two years), 4h comes from 1h and 5m
        from 1m.
        """
        source = self._source(series_key(venue, symbol, timeframe), start_ms, end_ms)
        return None if source is None else source[0]

    def timeframes(self, venue: str, symbol: str) -> list[Timeframe]:
        """The timeframes stored for a symbol (not those that could be resampled)."""
        return [tf for tf in Timeframe if self._find(series_key(venue, symbol, tf)) is not None]

    def info(self, venue: str, symbol: str, timeframe: Timeframe | str) -> SeriesInfo | None:
        """Range and size of one stored series, or ``None``."""
        key = series_key(venue, symbol, timeframe)
        path = self._find(key)
        return None if path is None else SeriesInfo(*key, *_summary(path))

    def series(self) -> list[SeriesInfo]:
        """Every stored series, across the root and the fallbacks (the root wins)."""
        seen: dict[SeriesKey, Path] = {}
        for layer in self._layers:
            for key in layer.series_keys():
                if key not in seen and (path := layer.find(key)) is not None:
                    seen[key] = path
        ordered = sorted(seen, key=lambda k: (k.venue, k.symbol, k.timeframe.ms))
        return [SeriesInfo(*key, *_summary(seen[key])) for key in ordered]

    def _find(self, key: SeriesKey) -> Path | None:
        for layer in self._layers:
            path = layer.find(key)
            if path is not None:
                return path
        return None

    def _source(
        self, key: SeriesKey, start_ms: int | None, end_ms: int | None
    ) -> tuple[SeriesKey, Path] | None:
        path = self._find(key)
        if path is not None:
            return key, path
        lo = -(2**62) if start_ms is None else start_ms
        hi = 2**62 if end_ms is None else end_ms
        best: tuple[int, int, SeriesKey, Path] | None = None
        for tf in Timeframe:
            candidate = SeriesKey(key.venue, key.symbol, tf)
            path = self._find(candidate) if tf.divides(key.timeframe) else None
            if path is None:
                continue
            first, last, _ = _summary(path)
            covered = max(0, min(hi, last + tf.ms) - max(lo, first))
            if best is None or (covered, tf.ms) > best[:2]:
                best = (covered, tf.ms, candidate, path)
        return None if best is None else best[2:]


def _symbol_of(path: Path) -> str | None:
    metadata = pq.read_schema(path).metadata or {}
    value = metadata.get(_META)
    return None if value is None else bytes(value).decode()


def _merge(new: Candles, old: Candles) -> Candles:
    if not len(old):
        return new
    both = [np.concatenate((getattr(new, n), getattr(old, n))) for n in COLUMNS]
    _, first = np.unique(both[0], return_index=True)  # sorted; ``new`` wins on a tie
    return Candles(*(column[first] for column in both))


def _load(path: Path, start_ms: int | None = None, end_ms: int | None = None) -> Candles:
    filters: list[tuple[str, str, int]] = []
    if start_ms is not None:
        filters.append(("ts", ">=", start_ms))
    if end_ms is not None:
        filters.append(("ts", "<", end_ms))
    table = pq.read_table(path, columns=list(COLUMNS), filters=filters or None)
    return Candles.from_arrow(table)


def _summary(path: Path) -> tuple[int, int, int]:
    meta = pq.read_metadata(path)
    if meta.num_rows == 0:
        return 0, 0, 0
    ts = meta.schema.names.index("ts")
    first = meta.row_group(0).column(ts).statistics
    last = meta.row_group(meta.num_row_groups - 1).column(ts).statistics
    if first is None or last is None or not (first.has_min_max and last.has_min_max):
        candles = _load(path)
        return int(candles.ts[0]), int(candles.ts[-1]), len(candles)
    return int(first.min), int(last.max), int(meta.num_rows)


def write_parquet(
    path: Path, candles: Candles, metadata: Mapping[bytes, bytes] | None = None, level: int = 9
) -> None:
    """Write ``candles`` atomically: zstd at ``level``, delta-encoded ``ts``, with statistics."""
    table: Any = candles.to_arrow()
    if metadata:
        table = table.replace_schema_metadata(dict(metadata))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=level,
            use_dictionary=False,
            column_encoding={"ts": "DELTA_BINARY_PACKED"},
        )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
