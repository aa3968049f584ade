"""API keys: the secret is shown once, at creation or rotation."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Query, status
from pydantic import BaseModel, Field

from tradewind.api.deps import FullScope, RuntimeDep, SessionDep
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.domain.accounts import Scope
from tradewind.services import api_keys, trading
from tradewind.store.tables import ApiKeyRow

router = public_router(prefix="/api-keys", tags=["api keys"])


class ApiKeyCreate(Model):
    name: str = Field(min_length=1, max_length=100)
    scope: Scope = Field(description="read: only reads; trade: reads and trades; full: everything.")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=365, description="Default 90, at most 365."
    )
    account_id: str | None = Field(
        default=None,
        description="Bind the key to one of your trading accounts (dialects trade on it).",
    )


class ApiKeyRead(BaseModel):
    key_id: str
    name: str
    scope: Scope
    api_key: str = Field(description="The public half (pk_…); the secret is never shown again.")
    secret_last4: str
    account_id: str | None
    status: Literal["active", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiKeyRow, now: datetime) -> ApiKeyRead:
        state: Literal["active", "revoked", "expired"] = (
            "revoked" if row.revoked_at else "expired" if row.expires_at <= now else "active"
        )
        return cls(
            key_id=row.id,
            name=row.name,
            scope=Scope(row.scope),
            api_key=row.public_key,
            secret_last4=row.secret_last4,
            account_id=row.account_id,
            status=state,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


class ApiKeyCreated(BaseModel):
    key_id: str
    name: str
    scope: Scope
    api_key: str = Field(description="pk_…")
    api_secret: str = Field(description="sk_…, shown only now.")
    token: str = Field(
        description="The pair as one opaque bearer token (tk_live_…), shown only now."
    )
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, issued: api_keys.IssuedKey) -> ApiKeyCreated:
        row = issued.row
        return cls(
            key_id=row.id,
            name=row.name,
            scope=Scope(row.scope),
            api_key=row.public_key,
            api_secret=issued.material.secret,
            token=issued.material.token,
            expires_at=row.expires_at,
            created_at=row.created_at,
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=errors(401, 403, 422),
    summary="Create an API key",
)
async def create_key(
    body: ApiKeyCreate, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> ApiKeyCreated:
    if body.account_id is not None:
        await trading.owned_account(session, principal.user_id, body.account_id)
    issued = await api_keys.create_key(
        session,
        runtime.clock,
        principal.user_id,
        body.name,
        body.scope,
        body.expires_in_days,
        default_days=runtime.settings.api_key_default_days,
        max_days=runtime.settings.api_key_max_days,
        account_id=body.account_id,
    )
    return ApiKeyCreated.of(issued)


@router.get(
    "", response_model=PageOf[ApiKeyRead], responses=errors(401, 403), summary="List your API keys"
)
async def list_keys(
    principal: FullScope,
    session: SessionDep,
    runtime: RuntimeDep,
    limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
    include_revoked: bool = Query(default=False, description="Also list revoked keys."),
) -> PageOf[ApiKeyRead]:
    page = await api_keys.list_keys(
        session, principal.user_id, limit, cursor, include_revoked=include_revoked
    )
    now = runtime.clock.now()
    return PageOf[ApiKeyRead](
        data=[ApiKeyRead.of(r, now) for r in page.items], next_cursor=page.next_cursor
    )


@router.delete(
    "/{key_id}",
    response_model=ApiKeyRead,
    responses=errors(401, 403, 404),
    summary="Revoke an API key",
)
async def revoke_key(
    key_id: str, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> ApiKeyRead:
    row = await api_keys.revoke_key(session, runtime.clock, principal.user_id, key_id)
    return ApiKeyRead.of(row, runtime.clock.now())


@router.post(
    "/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=errors(401, 403, 404),
    summary="Issue a new secret; the old one stops working at once",
)
async def rotate_key(
    key_id: str, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> ApiKeyCreated:
    return ApiKeyCreated.of(
        await api_keys.rotate_key(session, runtime.clock, principal.user_id, key_id)
    )
