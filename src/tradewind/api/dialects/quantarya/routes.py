"""Quantarya's endpoints under ``/compat/quantarya``: parse the document's fields, take the
auth the document gives each endpoint, call ``services.journal`` (and ``services.api_keys``),
answer ``{"message", "data"}`` with numbers as JSON numbers and times as ``…Z`` strings.

"Bearer user JWT" endpoints take only a login token (an API key is 401); "Bearer API key or
user JWT" endpoints (the trades) take either: a key reads with any scope and writes with
``trade`` or ``full``. Keys made here are Tradewind API keys of scope ``trade`` for 365 days,
their ``raw_api_key`` the one-string form ``tk_live_…``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tradewind.api.deps import RuntimeDep, SessionDep, require_scope
from tradewind.api.dialects.quantarya.envelope import PREFIX, ok
from tradewind.api.registry import public_router
from tradewind.api.v1 import journal as native
from tradewind.domain.accounts import Scope
from tradewind.services import api_keys, journal
from tradewind.services.api_keys import Principal
from tradewind.services.pagination import MAX_LIMIT
from tradewind.store.tables import ApiKeyRow, JournalStrategyRow, JournalTradeRow, UserRow

router = public_router(prefix=PREFIX, tags=["quantarya"])

KEY_DAYS = 365
"""A TradingView alert keeps its key for long; the longest lifetime Tradewind allows."""


async def _body_key(request: Request) -> str | None:
    """An API key in the body's ``api_key`` when no Authorization header came (a TradingView
    alert cannot set headers). Only a key: a login token never travels in a body."""
    if request.headers.get("authorization"):
        return None
    try:
        body = await request.json()
    except ValueError:
        return None
    key = body.get("api_key") if isinstance(body, dict) else None
    if isinstance(key, str) and key.startswith(("pk_", "tk_live_")):
        return key
    return None


UserJwt = Annotated[Principal, Depends(require_scope(Scope.READ, allow_keys=False))]
KeyOrJwtRead = Annotated[Principal, Depends(require_scope(Scope.READ))]
KeyOrJwtWrite = Annotated[Principal, Depends(require_scope(Scope.TRADE))]
KeyOrJwtPost = Annotated[Principal, Depends(require_scope(Scope.TRADE, token_from=_body_key))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiKeyCreate(_In):
    key_name: str = Field(min_length=1, max_length=100)


# The journal's bodies are the native API's (same fields, same checks); a trade may carry
# the API key for senders that cannot set headers.
StrategyCreate = native.StrategyCreate
TradeUpdate = native.TradeUpdate
TradeClose = native.TradeClose


class TradeCreate(native.TradeCreate):
    api_key: str | None = Field(
        default=None,
        description="Tradewind addition: the API key, for senders that cannot set headers "
        "(TradingView alerts). Used to authenticate, never stored.",
    )


class ProfileSave(_In):
    user_name: str = Field(min_length=1, max_length=32)
    display_name: str | None = Field(default=None, max_length=100)
    bio: str | None = Field(default=None, max_length=1000)
    public_profile_enabled: bool | None = None


class ProfilePatch(_In):
    user_name: str | None = Field(default=None, min_length=1, max_length=32)
    display_name: str | None = Field(default=None, max_length=100)
    bio: str | None = Field(default=None, max_length=1000)
    public_profile_enabled: bool | None = None


# ---- views -------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _num(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)


def trade_view(row: JournalTradeRow) -> dict[str, Any]:
    r = journal.result_of(row)
    return {
        "trade_id": row.id, "strategy_id": row.strategy_id, "user_id": row.user_id,
        "symbol": row.symbol, "side": row.side, "status": row.status, "event": row.event,
        "entry": _num(row.entry), "stop_loss": _num(row.stop_loss),
        "take_profit": _num(row.take_profit), "close_price": _num(row.close_price),
        "opened_at": _time(row.opened_at), "closed_at": _time(row.closed_at),
        "signal_time": _time(row.signal_time), "timeframe": row.timeframe, "source": row.source,
        "external_reference": row.external_reference, "signal": row.signal,
        "market": row.market, "risk": row.risk, "context": row.context, "meta": row.meta,
        "origin": row.origin, "bot_id": row.bot_id,
        "result": None if r is None else {
            "points": _num(r.points), "return_pct": _num(r.return_pct),
            "r_multiple": _num(r.r_multiple),
        },
        "created_at": _time(row.created_at), "updated_at": _time(row.updated_at),
    }  # fmt: skip


def strategy_view(row: JournalStrategyRow, count: int) -> dict[str, Any]:
    return {
        "strategy_id": row.id, "user_id": row.user_id, "title": row.title,
        "description": row.description, "tags": row.tags, "visibility": row.visibility,
        "trade_count": count, "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
    }  # fmt: skip


def stats_view(s: Any) -> dict[str, Any]:
    return {
        "trade_count": s.trade_count, "closed_count": s.closed_count,
        "win_rate": _num(s.win_rate), "total_return": _num(s.total_return_pct),
        "max_drawdown": _num(s.max_drawdown_pct),
    }  # fmt: skip


def profile_view(row: UserRow) -> dict[str, Any]:
    return {
        "user_id": row.id, "email": row.email, "user_name": row.user_name,
        "display_name": row.display_name, "bio": row.bio,
        "public_profile_enabled": row.public_profile_enabled,
        "created_at": _time(row.created_at), "updated_at": _time(row.updated_at),
    }  # fmt: skip


def key_view(row: ApiKeyRow) -> dict[str, Any]:
    return {
        "api_key_id": row.id, "key_name": row.name, "created_at": _time(row.created_at),
        "expires_at": _time(row.expires_at), "last_used_at": _time(row.last_used_at),
    }  # fmt: skip


# ---- API keys ----------------------------------------------------------------------------


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, summary="Create API key")
async def create_api_key(
    body: ApiKeyCreate, principal: UserJwt, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    issued = await api_keys.create_key(
        session, runtime.clock, principal.user_id, body.key_name, Scope.TRADE, KEY_DAYS,
        max_days=KEY_DAYS,
    )  # fmt: skip
    data = {**key_view(issued.row), "raw_api_key": issued.material.token}
    return ok("API key created", data)


@router.get("/api-keys", summary="List API keys")
async def list_api_keys(principal: UserJwt, session: SessionDep) -> dict[str, Any]:
    rows: list[ApiKeyRow] = []
    cursor = None
    while True:
        page = await api_keys.list_keys(
            session, principal.user_id, MAX_LIMIT, cursor, include_revoked=False
        )
        rows += page.items
        cursor = page.next_cursor
        if cursor is None:
            return ok("API keys", [key_view(r) for r in rows])


@router.delete("/api-keys/{api_key_id}", summary="Revoke API key")
async def revoke_api_key(
    api_key_id: str, principal: UserJwt, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await api_keys.revoke_key(session, runtime.clock, principal.user_id, api_key_id)
    return ok("API key revoked", {"api_key_id": row.id, "revoked_at": _time(row.revoked_at)})


# ---- strategies --------------------------------------------------------------------------


@router.get("/strategies", summary="List strategies")
async def list_strategies(principal: UserJwt, session: SessionDep) -> dict[str, Any]:
    page = await journal.list_strategies(session, principal.user_id, None, None)
    counts = await journal.trade_counts(session, [r.id for r in page.items])
    return ok("Strategies", [strategy_view(r, counts.get(r.id, 0)) for r in page.items])


@router.post("/strategies", status_code=status.HTTP_201_CREATED, summary="Create strategy")
async def create_strategy(
    body: StrategyCreate, principal: UserJwt, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    new = journal.NewStrategy(
        title=body.title, description=body.description, tags=tuple(body.tags),
        visibility=body.visibility,
    )  # fmt: skip
    row = await journal.create_strategy(session, runtime.clock, principal.user_id, new)
    return ok("Strategy created", strategy_view(row, 0))


@router.get("/strategies/{strategy_id}", summary="Get strategy")
async def get_strategy(
    strategy_id: str, principal: UserJwt, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row = await journal.get_strategy(session, principal.user_id, strategy_id)
    await journal.sync_strategy(session, runtime.clock, row.id)
    counts = await journal.trade_counts(session, [row.id])
    stats = (await journal.statistics(session, [row.id]))[row.id]
    data = {**strategy_view(row, counts.get(row.id, 0)), "statistics": stats_view(stats)}
    return ok("Strategy found", data)


@router.delete("/strategies/{strategy_id}", summary="Delete strategy")
async def delete_strategy(
    strategy_id: str, principal: UserJwt, session: SessionDep
) -> dict[str, Any]:
    await journal.delete_strategy(session, principal.user_id, strategy_id)
    return ok("Strategy deleted", {"strategy_id": strategy_id})


# ---- trades ------------------------------------------------------------------------------


@router.get("/strategies/{strategy_id}/trades", summary="List trades")
async def list_trades(
    strategy_id: str, principal: KeyOrJwtRead, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    page = await journal.list_trades(
        session, runtime.clock, principal.user_id, strategy_id, journal.TradeFilter(), None, None
    )
    return ok("Trades", [trade_view(r) for r in page.items])


@router.post("/strategies/{strategy_id}/trades", status_code=status.HTTP_201_CREATED,
             summary="Create trade (an update/exit of an open record's reference: 200)")  # fmt: skip
async def create_trade(
    strategy_id: str, body: TradeCreate, principal: KeyOrJwtPost, session: SessionDep,
    runtime: RuntimeDep, response: Response,
) -> dict[str, Any]:  # fmt: skip
    new = journal.NewTrade(
        **body.model_dump(exclude={"api_key"}), given=frozenset(body.model_fields_set)
    )
    row, created = await journal.record_trade(
        session, runtime.clock, principal.user_id, strategy_id, new
    )
    if not created:
        response.status_code = status.HTTP_200_OK
        return ok("Trade updated", trade_view(row))
    return ok("Trade created", trade_view(row))


@router.get("/strategies/{strategy_id}/trades/{trade_id}", summary="Get trade")
async def get_trade(
    strategy_id: str, trade_id: str, principal: KeyOrJwtRead, session: SessionDep
) -> dict[str, Any]:
    row = await journal.get_trade(session, principal.user_id, strategy_id, trade_id)
    return ok("Trade found", trade_view(row))


@router.patch("/strategies/{strategy_id}/trades/{trade_id}", summary="Update trade")
async def update_trade(
    strategy_id: str, trade_id: str, body: TradeUpdate, principal: KeyOrJwtWrite,
    session: SessionDep, runtime: RuntimeDep,
) -> dict[str, Any]:  # fmt: skip
    row = await journal.update_trade(
        session, runtime.clock, principal.user_id, strategy_id, trade_id,
        body.model_dump(exclude_unset=True),
    )  # fmt: skip
    return ok("Trade updated", trade_view(row))


@router.delete("/strategies/{strategy_id}/trades/{trade_id}", summary="Delete manual trade")
async def delete_trade(
    strategy_id: str, trade_id: str, principal: KeyOrJwtWrite, session: SessionDep
) -> dict[str, Any]:
    row = await journal.delete_trade(session, principal.user_id, strategy_id, trade_id)
    return ok("Trade deleted", {"trade_id": row.id, "source": row.source})


@router.post("/strategies/{strategy_id}/trades/{trade_id}/close", summary="Close trade")
async def close_trade(
    strategy_id: str, trade_id: str, principal: KeyOrJwtWrite, session: SessionDep,
    runtime: RuntimeDep, body: TradeClose | None = None,
) -> dict[str, Any]:  # fmt: skip
    body = body or TradeClose()
    row = await journal.close_trade(
        session, runtime.clock, principal.user_id, strategy_id, trade_id, body.close_price,
        body.closed_at,
    )  # fmt: skip
    return ok("Trade closed", trade_view(row))


# ---- the user's profile ------------------------------------------------------------------


@router.get("/me", summary="Get current user profile")
async def get_me(principal: UserJwt, session: SessionDep) -> dict[str, Any]:
    return ok("User profile", profile_view(await journal.get_profile(session, principal.user_id)))


@router.post("/me", status_code=status.HTTP_201_CREATED,
             summary="Create or update current user profile (201 created, 200 updated)")  # fmt: skip
async def save_me(
    body: ProfileSave, principal: UserJwt, session: SessionDep, runtime: RuntimeDep,
    response: Response,
) -> dict[str, Any]:  # fmt: skip
    row, created = await journal.save_profile(
        session, runtime.clock, principal.user_id, body.model_dump(exclude_unset=True)
    )
    if not created:
        response.status_code = status.HTTP_200_OK
        return ok("User profile updated", profile_view(row))
    return ok("User profile created", profile_view(row))


@router.patch("/me", summary="Update current user profile (a Tradewind addition)")
async def patch_me(
    body: ProfilePatch, principal: UserJwt, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    row, _ = await journal.save_profile(
        session, runtime.clock, principal.user_id, body.model_dump(exclude_unset=True),
        require_existing=True,
    )  # fmt: skip
    return ok("User profile updated", profile_view(row))


@router.delete("/me", summary="Delete workspace profile")
async def delete_me(principal: UserJwt, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    done = await journal.delete_profile(session, runtime.clock, principal.user_id)
    return ok("Workspace profile deleted", {
        "user_id": done.user_id, "deleted_strategy_count": done.deleted_strategy_count,
        "deleted_api_key_count": done.deleted_api_key_count,
    })  # fmt: skip


@router.get("/profiles/{user_name}", summary="Get public profile")
async def public_profile(
    user_name: str, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    p = await journal.public_profile(session, runtime.clock, user_name)
    return ok("Public profile found", {
        "user_name": p.user.user_name, "display_name": p.user.display_name, "bio": p.user.bio,
        "public_profile_enabled": p.user.public_profile_enabled,
        "strategies": [
            {"strategy_id": s.id, "title": s.title, "description": s.description,
             "tags": s.tags, "statistics": stats_view(st)}
            for s, st in p.strategies
        ],
    })  # fmt: skip
