"""Venues, their instruments, tickers and candles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from tradewind.api.deps import ReadScope, RuntimeDep
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import errors
from tradewind.api.v1.trading_schemas import Dec
from tradewind.domain.clock import from_ms
from tradewind.domain.instruments import Instrument, InstrumentKind

router = public_router(prefix="/markets", tags=["market data"])


class InstrumentRead(BaseModel):
    venue: str
    symbol: str
    base: str
    quote: str
    kind: InstrumentKind
    tick_size: Dec
    amount_step: Dec
    min_amount: Dec
    min_notional: Dec
    contract_size: Dec
    max_leverage: Dec
    maker_fee: Dec
    taker_fee: Dec

    @classmethod
    def of(cls, i: Instrument) -> InstrumentRead:
        return cls(
            venue=i.venue, symbol=i.symbol, base=i.base, quote=i.quote, kind=i.kind, tick_size=i.tick_size,
            amount_step=i.amount_step, min_amount=i.min_amount, min_notional=i.min_notional,
            contract_size=i.contract_size, max_leverage=i.max_leverage, maker_fee=i.maker_fee, taker_fee=i.taker_fee,
        )  # fmt: skip


class VenueRead(BaseModel):
    venue: str
    connected: bool
    instruments: list[InstrumentRead]


class Ticker(BaseModel):
    venue: str
    symbol: str
    bid: Dec
    ask: Dec
    last: Dec
    ts: datetime


class Candle(BaseModel):
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class CandlePage(BaseModel):
    venue: str
    symbol: str
    timeframe: str
    candles: list[Candle]


@router.get(
    "",
    response_model=list[VenueRead],
    responses=errors(401),
    summary="Venues and their instruments",
)
async def list_markets(principal: ReadScope, runtime: RuntimeDep) -> list[VenueRead]:
    out = []
    for name in runtime.venues.names:
        venue = runtime.venues.get(name)
        out.append(VenueRead(venue=name, connected=venue.connected,
                             instruments=[InstrumentRead.of(i) for i in venue.instruments.values()]))  # fmt: skip
    return out


@router.get(
    "/{venue}/{symbol:path}/ticker",
    response_model=Ticker,
    responses=errors(401, 404, 503),
    summary="Ticker",
)
async def ticker(venue: str, symbol: str, principal: ReadScope, runtime: RuntimeDep) -> Ticker:
    v = runtime.venues.get(venue)
    q = v.quote(v.instrument(symbol).symbol)
    return Ticker(
        venue=venue,
        symbol=symbol,
        bid=q.bid,
        ask=q.ask,
        last=q.last,
        ts=from_ms(q.ts_ms),
    )


@router.get("/{venue}/{symbol:path}/candles", response_model=CandlePage, responses=errors(401, 404, 422),
            summary="Candles (1m, 5m, 15m, 1h, 4h, 1d)")  # fmt: skip
async def candles(
    venue: str, symbol: str, principal: ReadScope, runtime: RuntimeDep,
    timeframe: str = "1h", start: datetime | None = None, end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> CandlePage:  # fmt: skip
    v = runtime.venues.get(venue)
    instrument = v.instrument(symbol)
    bars = runtime.market.candles(
        venue, instrument.symbol, timeframe, start_ms=int(start.timestamp() * 1000) if start else None,
        end_ms=int(end.timestamp() * 1000) if end else None, limit=limit,
    )  # fmt: skip
    return CandlePage(venue=venue, symbol=symbol, timeframe=timeframe, candles=[
        Candle(ts=datetime.fromtimestamp(int(t) / 1000, UTC), open=float(o), high=float(h), low=float(lo),
               close=float(c), volume=float(vol))
        for t, o, h, lo, c, vol in zip(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True)
    ])  # fmt: skip
