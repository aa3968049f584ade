"""An exchange's markets: loaded through CCXT, normalised, cached in the store.

A copy younger than ``TRADEWIND_MARKETS_REFRESH_SECONDS`` is served as it is; an older one
is reloaded first. When the exchange cannot be reached the last copy is served with its age
(``stale``); with no copy at all the answer is VenueUnavailable (503). After a failed load
the exchange is not asked again for ``RETRY_AFTER_FAILURE`` seconds, so a dead exchange
costs each request nothing but the answer. Exchanges the process runs itself (``paper``)
answer from their instruments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from tradewind.domain.clock import Clock
from tradewind.domain.errors import VenueUnavailable
from tradewind.domain.instruments import Instrument, InstrumentKind
from tradewind.logs import get_logger
from tradewind.services import exchanges
from tradewind.store.db import StoreRunner
from tradewind.store.tables import ExchangeMarketsRow
from tradewind.venues.ccxt import clients as exchange_clients
from tradewind.venues.ccxt.clients import ClientFactory

log = get_logger("tradewind.markets")

RETRY_AFTER_FAILURE = 30.0
# CCXT's precision modes (ccxt.DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE)
DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE = 2, 3, 4


class MarketType(StrEnum):
    SPOT = "spot"
    SWAP = "swap"
    """A perpetual contract."""
    FUTURE = "future"
    """A dated contract."""
    CFD = "cfd"


@dataclass(frozen=True, slots=True)
class Market:
    """One market of an exchange, in CCXT's unified symbols (``BTC/USDT``, perpetuals
    ``BTC/USDT:USDT``, dated futures ``BTC/USDT:USDT-261225``). A rule the exchange does not
    publish is None."""

    symbol: str
    exchange_symbol: str
    base: str
    quote: str
    settle: str | None
    type: MarketType
    active: bool
    tick_size: Decimal | None
    amount_step: Decimal | None
    price_decimals: int | None
    amount_decimals: int | None
    min_amount: Decimal | None
    min_notional: Decimal | None
    max_leverage: Decimal | None
    contract_size: Decimal | None

    @property
    def is_derivative(self) -> bool:
        return self.type is not MarketType.SPOT

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _text(value) if isinstance(value, Decimal) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Market:
        def dec(name: str) -> Decimal | None:
            value = data.get(name)
            return None if value is None else Decimal(value)

        return cls(
            symbol=data["symbol"], exchange_symbol=data["exchange_symbol"], base=data["base"],
            quote=data["quote"], settle=data.get("settle"), type=MarketType(data["type"]),
            active=bool(data["active"]), tick_size=dec("tick_size"), amount_step=dec("amount_step"),
            price_decimals=data.get("price_decimals"), amount_decimals=data.get("amount_decimals"),
            min_amount=dec("min_amount"), min_notional=dec("min_notional"),
            max_leverage=dec("max_leverage"), contract_size=dec("contract_size"),
        )  # fmt: skip


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        return None
    return out if out.is_finite() else None


def _decimals(tick: Decimal) -> int:
    exponent = tick.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _precision(value: Any, mode: int) -> tuple[Decimal | None, int | None]:
    """(tick or step, decimals) of a CCXT precision value in the exchange's mode."""
    number = _dec(value)
    if number is None or number <= 0:
        return None, None
    if mode == TICK_SIZE:
        return number, _decimals(number)
    if mode == DECIMAL_PLACES:
        places = int(number)
        return Decimal(1).scaleb(-places), places
    return None, None  # significant digits: no fixed tick


def from_ccxt(raw: Mapping[str, Any], precision_mode: int) -> Market | None:
    """A CCXT unified market, normalised; None for what Tradewind does not trade (options,
    indexes, margin-only listings)."""
    kind = raw.get("type")
    if kind not in ("spot", "swap", "future") or raw.get("option"):
        return None
    precision = raw.get("precision") or {}
    limits = raw.get("limits") or {}
    tick, price_decimals = _precision(precision.get("price"), precision_mode)
    step, amount_decimals = _precision(precision.get("amount"), precision_mode)
    contract = bool(raw.get("contract"))
    return Market(
        symbol=str(raw["symbol"]), exchange_symbol=str(raw.get("id") or raw["symbol"]),
        base=str(raw.get("base") or ""), quote=str(raw.get("quote") or ""),
        settle=(str(raw["settle"]) if raw.get("settle") else None), type=MarketType(kind),
        active=raw.get("active") is not False, tick_size=tick, amount_step=step,
        price_decimals=price_decimals, amount_decimals=amount_decimals,
        min_amount=_dec((limits.get("amount") or {}).get("min")),
        min_notional=_dec((limits.get("cost") or {}).get("min")),
        max_leverage=_dec((limits.get("leverage") or {}).get("max")),
        contract_size=_dec(raw.get("contractSize")) if contract else None,
    )  # fmt: skip


_KINDS = {
    InstrumentKind.SPOT: MarketType.SPOT,
    InstrumentKind.PERPETUAL: MarketType.SWAP,
    InstrumentKind.CFD: MarketType.CFD,
}


def from_instrument(i: Instrument) -> Market:
    """A market of a venue Tradewind runs itself."""
    return Market(
        symbol=i.symbol, exchange_symbol=i.symbol.replace("/", "").split(":")[0], base=i.base,
        quote=i.quote, settle=i.settle if i.is_derivative else None, type=_KINDS[i.kind],
        active=True, tick_size=i.tick_size, amount_step=i.amount_step,
        price_decimals=i.price_decimals, amount_decimals=i.amount_decimals,
        min_amount=i.min_amount, min_notional=i.min_notional,
        max_leverage=i.max_leverage if i.is_derivative else None,
        contract_size=i.contract_size if i.is_derivative else None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MarketsSnapshot:
    """An exchange's markets as last loaded. ``stale``: older than the refresh interval,
    served because the exchange could not be reached (``error`` says why)."""

    exchange: str
    markets: tuple[Market, ...]
    fetched_at: datetime
    age_seconds: float
    stale: bool = False
    error: str | None = None

    @property
    def symbols(self) -> list[str]:
        return sorted(m.symbol for m in self.markets if m.active)


@dataclass(frozen=True, slots=True)
class _Copy:
    markets: tuple[Market, ...]
    fetched_at: datetime


class ExchangeMarkets:
    """The markets of every supported exchange, cached in memory and in the store."""

    def __init__(
        self,
        *,
        store: StoreRunner,
        clock: Clock,
        clients: ClientFactory,
        refresh_seconds: float,
        local: Mapping[str, Callable[[], Iterable[Instrument]]] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._clients = clients
        self._refresh = timedelta(seconds=refresh_seconds)
        self._local = dict(local or {})
        self._copies: dict[str, _Copy | None] = {}
        self._failures: dict[str, tuple[datetime, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, exchange_id: str) -> MarketsSnapshot:
        """The exchange's markets: the cached copy while fresh, else reloaded; a stale copy
        when the exchange cannot be reached; VenueUnavailable when there is none."""
        exchange = exchanges.get(exchange_id).id
        now = self._clock.now()
        if exchange in self._local:
            markets = tuple(from_instrument(i) for i in self._local[exchange]())
            return MarketsSnapshot(exchange, markets, now, 0.0)
        copy = await self._copy(exchange)
        if copy is not None and now - copy.fetched_at < self._refresh:
            return self._snapshot(exchange, copy)
        async with self._locks.setdefault(exchange, asyncio.Lock()):
            copy = self._copies.get(exchange)  # another request may have reloaded meanwhile
            if copy is not None and self._clock.now() - copy.fetched_at < self._refresh:
                return self._snapshot(exchange, copy)
            failed = self._failures.get(exchange)
            if (
                failed is None
                or (self._clock.now() - failed[0]).total_seconds() >= RETRY_AFTER_FAILURE
            ):
                try:
                    return self._snapshot(exchange, await self._reload(exchange))
                except VenueUnavailable as e:
                    failed = (self._clock.now(), e.message)
                    self._failures[exchange] = failed
                    log.warning("exchange markets unavailable", exchange=exchange, error=e.message)
            if copy is None:
                raise VenueUnavailable(
                    f"{exchange} cannot be reached and no copy of its markets is cached yet "
                    f"({failed[1]}); try again later"
                )
            return self._snapshot(exchange, copy, error=failed[1])

    async def cached(self, exchange_id: str) -> MarketsSnapshot | None:
        """The copy at hand, however old, without asking the exchange."""
        exchange = exchanges.get(exchange_id).id
        if exchange in self._local:
            return await self.get(exchange)
        copy = await self._copy(exchange)
        return None if copy is None else self._snapshot(exchange, copy)

    def _snapshot(self, exchange: str, copy: _Copy, *, error: str | None = None) -> MarketsSnapshot:
        age = (self._clock.now() - copy.fetched_at).total_seconds()
        stale = age >= self._refresh.total_seconds()
        return MarketsSnapshot(
            exchange, copy.markets, copy.fetched_at, max(0.0, age), stale, error if stale else None
        )

    async def _copy(self, exchange: str) -> _Copy | None:
        if exchange not in self._copies:
            row = await self._store.run(lambda s: _read(s, exchange))
            self._copies[exchange] = row
        return self._copies[exchange]

    async def _reload(self, exchange: str) -> _Copy:
        raw, mode = await exchange_clients.fetch_markets(self._clients, exchange)
        markets = tuple(
            sorted((m for m in (from_ccxt(r, mode) for r in raw) if m), key=lambda m: m.symbol)
        )
        copy = _Copy(markets, self._clock.now())
        data = [m.to_json() for m in markets]
        await self._store.run(lambda s: _write(s, exchange, copy.fetched_at, data), bulk=True)
        self._copies[exchange] = copy
        self._failures.pop(exchange, None)
        log.info("exchange markets loaded", exchange=exchange, markets=len(markets))
        return copy


def _read(session: Session, exchange: str) -> _Copy | None:
    row = session.get(ExchangeMarketsRow, exchange)
    if row is None:
        return None
    return _Copy(tuple(Market.from_json(m) for m in row.markets), row.fetched_at)


def _write(
    session: Session, exchange: str, fetched_at: datetime, data: list[dict[str, Any]]
) -> None:
    row = session.get(ExchangeMarketsRow, exchange)
    if row is None:
        session.add(ExchangeMarketsRow(exchange=exchange, fetched_at=fetched_at, markets=data))
    else:
        row.fetched_at, row.markets = fetched_at, data
