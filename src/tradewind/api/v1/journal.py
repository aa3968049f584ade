"""Trade journal: strategies, trade records, profiles and public profiles (native API)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from tradewind.api.deps import FullScope, ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.api.v1.trading_schemas import Dec, OptDec
from tradewind.domain.journal import (
    Origin,
    StrategyStats,
    TradeEvent,
    TradeSide,
    TradeStatus,
    Visibility,
)
from tradewind.services import journal
from tradewind.store.tables import JournalBotLinkRow, JournalStrategyRow, JournalTradeRow

router = public_router(tags=["journal"])

Price = Annotated[Decimal, Field(gt=0, le=Decimal("1e15"))]
Tag = Annotated[str, Field(min_length=1, max_length=40)]
Title = Annotated[str, Field(min_length=1, max_length=200)]


# ---- schemas -----------------------------------------------------------------------------


class StrategyCreate(Model):
    title: Title
    description: str | None = Field(default=None, max_length=5000)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    visibility: Visibility = Field(
        default=Visibility.PUBLIC,
        description="public: shown on your public profile when you enable it.",
    )


class StrategyUpdate(Model):
    title: Title | None = None
    description: str | None = Field(default=None, max_length=5000)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    visibility: Visibility | None = None


class StrategyRead(BaseModel):
    strategy_id: str
    title: str
    description: str | None
    tags: list[str]
    visibility: Visibility
    trade_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: JournalStrategyRow, count: int) -> StrategyRead:
        return cls(
            strategy_id=row.id, title=row.title, description=row.description, tags=row.tags,
            visibility=Visibility(row.visibility), trade_count=count, created_at=row.created_at,
            updated_at=row.updated_at,
        )  # fmt: skip


class TradeCreate(Model):
    symbol: str = Field(min_length=1, max_length=40)
    side: TradeSide
    event: TradeEvent = TradeEvent.ENTRY
    status: TradeStatus | None = None
    entry: Price | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    close_price: Price | None = None
    signal_time: AwareDatetime | None = None
    timeframe: str | None = Field(default=None, max_length=16)
    source: str | None = Field(default=None, max_length=64)
    external_reference: str | None = Field(default=None, max_length=128)
    signal: dict[str, Any] | None = None
    market: dict[str, Any] | None = None
    risk: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_new(self) -> journal.NewTrade:
        return journal.NewTrade(**self.model_dump(), given=frozenset(self.model_fields_set))


class TradeUpdate(Model):
    status: TradeStatus | None = None
    close_price: Price | None = None
    closed_at: AwareDatetime | None = None


class TradeClose(Model):
    close_price: Price | None = None
    closed_at: AwareDatetime | None = None


class ResultRead(BaseModel):
    """The realised result of a closed record with an entry and a close price."""

    points: Dec = Field(description="(close - entry) for BUY, (entry - close) for SELL.")
    return_pct: Dec = Field(description="points / entry * 100")
    r_multiple: OptDec = Field(description="points / |entry - stop_loss|; null without a stop.")


class TradeRead(BaseModel):
    trade_id: str
    strategy_id: str
    user_id: str
    symbol: str
    side: TradeSide
    status: TradeStatus
    event: TradeEvent
    entry: OptDec
    stop_loss: OptDec
    take_profit: OptDec
    close_price: OptDec
    opened_at: datetime
    closed_at: datetime | None
    signal_time: datetime | None
    timeframe: str | None
    source: str | None
    external_reference: str | None
    signal: dict[str, Any] | None
    market: dict[str, Any] | None
    risk: dict[str, Any] | None
    context: dict[str, Any] | None
    meta: dict[str, Any] | None
    origin: Origin = Field(description="manual (yours to change) or tradewind (from a bot).")
    bot_id: str | None
    result: ResultRead | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: JournalTradeRow) -> TradeRead:
        r = journal.result_of(row)
        return cls(
            trade_id=row.id, strategy_id=row.strategy_id, user_id=row.user_id, symbol=row.symbol,
            side=TradeSide(row.side), status=TradeStatus(row.status), event=TradeEvent(row.event),
            entry=row.entry, stop_loss=row.stop_loss, take_profit=row.take_profit,
            close_price=row.close_price, opened_at=row.opened_at, closed_at=row.closed_at,
            signal_time=row.signal_time, timeframe=row.timeframe, source=row.source,
            external_reference=row.external_reference, signal=row.signal, market=row.market,
            risk=row.risk, context=row.context, meta=row.meta, origin=Origin(row.origin),
            bot_id=row.bot_id,
            result=ResultRead(points=r.points, return_pct=r.return_pct, r_multiple=r.r_multiple)
            if r else None,
            created_at=row.created_at, updated_at=row.updated_at,
        )  # fmt: skip


class StatsRead(BaseModel):
    trade_count: int = Field(description="Records not cancelled.")
    closed_count: int = Field(description="Closed records with an entry and a close price.")
    win_rate: OptDec = Field(description="Percent of the closed records with points > 0.")
    total_return_pct: Dec = Field(description="Sum of the closed records' return_pct.")
    max_drawdown_pct: Dec = Field(
        description="Largest fall of the running total_return_pct from a peak (points of %)."
    )

    @classmethod
    def of(cls, s: StrategyStats) -> StatsRead:
        return cls(
            trade_count=s.trade_count, closed_count=s.closed_count, win_rate=s.win_rate,
            total_return_pct=s.total_return_pct, max_drawdown_pct=s.max_drawdown_pct,
        )  # fmt: skip


class StrategyDetail(StrategyRead):
    statistics: StatsRead


class PublicStrategyRead(BaseModel):
    strategy_id: str
    title: str
    description: str | None
    tags: list[str]
    statistics: StatsRead


class PublicProfileRead(BaseModel):
    user_name: str
    display_name: str | None
    bio: str | None
    public_profile_enabled: bool
    strategies: list[PublicStrategyRead]

    @classmethod
    def of(cls, p: journal.PublicProfile) -> PublicProfileRead:
        return cls(
            user_name=p.user.user_name or "", display_name=p.user.display_name, bio=p.user.bio,
            public_profile_enabled=p.user.public_profile_enabled,
            strategies=[
                PublicStrategyRead(strategy_id=s.id, title=s.title, description=s.description,
                                   tags=s.tags, statistics=StatsRead.of(st))
                for s, st in p.strategies
            ],
        )  # fmt: skip


class ProfileDeleted(BaseModel):
    user_id: str
    deleted_strategy_count: int
    deleted_api_key_count: int


class BotJournalLink(Model):
    strategy_id: str = Field(min_length=1, max_length=40)


class BotJournalRead(BaseModel):
    bot_id: str
    strategy_id: str
    linked_at: datetime

    @classmethod
    def of(cls, row: JournalBotLinkRow) -> BotJournalRead:
        return cls(bot_id=row.bot_id, strategy_id=row.strategy_id, linked_at=row.created_at)


# ---- strategies --------------------------------------------------------------------------


@router.post("/strategies", status_code=status.HTTP_201_CREATED, response_model=StrategyRead,
             responses=errors(401, 403, 422), summary="Create a journal strategy")  # fmt: skip
async def create_strategy(
    body: StrategyCreate, principal: TradeScope, session: SessionDep, runtime: RuntimeDep
) -> StrategyRead:
    new = journal.NewStrategy(
        title=body.title, description=body.description, tags=tuple(body.tags),
        visibility=body.visibility,
    )  # fmt: skip
    return StrategyRead.of(
        await journal.create_strategy(session, runtime.clock, principal.user_id, new), 0
    )


@router.get("/strategies", response_model=PageOf[StrategyRead], responses=errors(401, 422),
            summary="Your journal strategies, newest first")  # fmt: skip
async def list_strategies(
    principal: ReadScope, session: SessionDep, limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
) -> PageOf[StrategyRead]:  # fmt: skip
    page = await journal.list_strategies(session, principal.user_id, limit, cursor)
    counts = await journal.trade_counts(session, [r.id for r in page.items])
    return PageOf[StrategyRead](
        data=[StrategyRead.of(r, counts.get(r.id, 0)) for r in page.items],
        next_cursor=page.next_cursor,
    )


async def _detail(
    session: SessionDep, runtime: RuntimeDep, row: JournalStrategyRow
) -> StrategyDetail:
    await journal.sync_strategy(session, runtime.clock, row.id)
    counts = await journal.trade_counts(session, [row.id])
    stats = (await journal.statistics(session, [row.id]))[row.id]
    base = StrategyRead.of(row, counts.get(row.id, 0))
    return StrategyDetail(**base.model_dump(), statistics=StatsRead.of(stats))


@router.get("/strategies/{strategy_id}", response_model=StrategyDetail, responses=errors(401, 404),
            summary="One journal strategy with its statistics")  # fmt: skip
async def get_strategy(
    strategy_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep
) -> StrategyDetail:
    row = await journal.get_strategy(session, principal.user_id, strategy_id)
    return await _detail(session, runtime, row)


@router.patch("/strategies/{strategy_id}", response_model=StrategyDetail,
              responses=errors(401, 403, 404, 422), summary="Change a journal strategy")  # fmt: skip
async def update_strategy(
    strategy_id: str, body: StrategyUpdate, principal: TradeScope, session: SessionDep,
    runtime: RuntimeDep,
) -> StrategyDetail:  # fmt: skip
    changes = {  # a null title, tag list or visibility changes nothing; a null description clears it
        k: v for k, v in body.model_dump(exclude_unset=True).items()
        if v is not None or k == "description"
    }  # fmt: skip
    row = await journal.update_strategy(
        session, runtime.clock, principal.user_id, strategy_id, changes
    )
    return await _detail(session, runtime, row)


@router.delete("/strategies/{strategy_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(401, 403, 404), summary="Delete a strategy and its records")  # fmt: skip
async def delete_strategy(strategy_id: str, principal: FullScope, session: SessionDep) -> Response:
    await journal.delete_strategy(session, principal.user_id, strategy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- trade records -----------------------------------------------------------------------


@router.post("/strategies/{strategy_id}/trades", status_code=status.HTTP_201_CREATED,
             response_model=TradeRead, responses=errors(401, 403, 404, 409, 422),
             summary="Record a trade or signal (201), or apply an update/exit to an open one (200)")  # fmt: skip
async def create_trade(
    strategy_id: str, body: TradeCreate, principal: TradeScope, session: SessionDep,
    runtime: RuntimeDep, response: Response,
) -> TradeRead:  # fmt: skip
    row, created = await journal.record_trade(
        session, runtime.clock, principal.user_id, strategy_id, body.to_new()
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return TradeRead.of(row)


@router.get("/strategies/{strategy_id}/trades", response_model=PageOf[TradeRead],
            responses=errors(401, 404, 422), summary="A strategy's records, newest first")  # fmt: skip
async def list_trades(
    strategy_id: str, principal: ReadScope, session: SessionDep, runtime: RuntimeDep,
    status_: Annotated[TradeStatus | None, Query(alias="status")] = None,
    symbol: str | None = None,
    opened_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    opened_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: LimitQuery = DEFAULT_PAGE, cursor: CursorQuery = None,
) -> PageOf[TradeRead]:  # fmt: skip
    filters = journal.TradeFilter(status_, symbol, opened_from, opened_to)
    page = await journal.list_trades(
        session, runtime.clock, principal.user_id, strategy_id, filters, limit, cursor
    )
    return PageOf[TradeRead](
        data=[TradeRead.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/strategies/{strategy_id}/trades/{trade_id}", response_model=TradeRead,
            responses=errors(401, 404), summary="One record")  # fmt: skip
async def get_trade(
    strategy_id: str, trade_id: str, principal: ReadScope, session: SessionDep
) -> TradeRead:
    return TradeRead.of(await journal.get_trade(session, principal.user_id, strategy_id, trade_id))


@router.patch("/strategies/{strategy_id}/trades/{trade_id}", response_model=TradeRead,
              responses=errors(401, 403, 404, 409, 422),
              summary="Change a record's status, close price or close time")  # fmt: skip
async def update_trade(
    strategy_id: str, trade_id: str, body: TradeUpdate, principal: TradeScope,
    session: SessionDep, runtime: RuntimeDep,
) -> TradeRead:  # fmt: skip
    row = await journal.update_trade(
        session, runtime.clock, principal.user_id, strategy_id, trade_id,
        body.model_dump(exclude_unset=True),
    )  # fmt: skip
    return TradeRead.of(row)


@router.post("/strategies/{strategy_id}/trades/{trade_id}/close", response_model=TradeRead,
             responses=errors(401, 403, 404, 409, 422), summary="Close an open record")  # fmt: skip
async def close_trade(
    strategy_id: str, trade_id: str, principal: TradeScope, session: SessionDep,
    runtime: RuntimeDep, body: TradeClose | None = None,
) -> TradeRead:  # fmt: skip
    body = body or TradeClose()
    row = await journal.close_trade(
        session, runtime.clock, principal.user_id, strategy_id, trade_id, body.close_price,
        body.closed_at,
    )  # fmt: skip
    return TradeRead.of(row)


@router.delete("/strategies/{strategy_id}/trades/{trade_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(401, 403, 404, 409),
               summary="Delete a record made by hand (a bot's is 409)")  # fmt: skip
async def delete_trade(
    strategy_id: str, trade_id: str, principal: TradeScope, session: SessionDep
) -> Response:
    await journal.delete_trade(session, principal.user_id, strategy_id, trade_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- bots feeding a strategy -------------------------------------------------------------


@router.put("/bots/{bot_id}/journal", response_model=BotJournalRead,
            responses=errors(401, 403, 404, 422),
            summary="Write the bot's closed positions into a journal strategy")  # fmt: skip
async def link_bot(
    bot_id: str, body: BotJournalLink, principal: TradeScope, session: SessionDep,
    runtime: RuntimeDep,
) -> BotJournalRead:  # fmt: skip
    row = await journal.link_bot(
        session, runtime.clock, principal.user_id, bot_id, body.strategy_id
    )
    return BotJournalRead.of(row)


@router.get("/bots/{bot_id}/journal", response_model=BotJournalRead, responses=errors(401, 404),
            summary="The journal strategy the bot writes into")  # fmt: skip
async def get_bot_link(bot_id: str, principal: ReadScope, session: SessionDep) -> BotJournalRead:
    return BotJournalRead.of(await journal.bot_link(session, principal.user_id, bot_id))


@router.delete("/bots/{bot_id}/journal", status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(401, 403, 404),
               summary="Stop writing the bot's positions (its records stay)")  # fmt: skip
async def unlink_bot(bot_id: str, principal: TradeScope, session: SessionDep) -> Response:
    await journal.unlink_bot(session, principal.user_id, bot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- profiles ----------------------------------------------------------------------------


@router.delete("/me/profile", response_model=ProfileDeleted, responses=errors(401, 403),
               summary="Delete your workspace profile, journal strategies and API keys")  # fmt: skip
async def delete_profile(
    principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> ProfileDeleted:
    done = await journal.delete_profile(session, runtime.clock, principal.user_id)
    return ProfileDeleted(
        user_id=done.user_id, deleted_strategy_count=done.deleted_strategy_count,
        deleted_api_key_count=done.deleted_api_key_count,
    )  # fmt: skip


@router.get("/profiles/{user_name}", response_model=PublicProfileRead, responses=errors(404),
            summary="A public profile with its public strategies (no authentication)")  # fmt: skip
async def public_profile(
    user_name: str, session: SessionDep, runtime: RuntimeDep
) -> PublicProfileRead:
    return PublicProfileRead.of(await journal.public_profile(session, runtime.clock, user_name))
