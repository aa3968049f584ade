"""Sign-up, login, the caller's profile, and the users a partner manages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Request, status
from pydantic import BaseModel, EmailStr, Field

from tradewind.api.deps import (
    FullScope,
    PartnerScope,
    ReadScope,
    RuntimeDep,
    SessionDep,
    password_login,
)
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.services import accounts, bots, trading
from tradewind.store.tables import UserRow

router = public_router(tags=["accounts"])


class RegisterRequest(Model):
    email: EmailStr
    password: str = Field(description="At least 8 characters, not a common password.")
    user_name: str | None = Field(default=None, description="Public handle: 3-32 of a-z 0-9 _ . -")


class Registered(BaseModel):
    user_id: str
    email: str
    user_name: str | None


class LoginRequest(Model):
    email: str
    password: str


class LoginToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token kind, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class UserRead(BaseModel):
    user_id: str
    email: str
    user_name: str | None
    display_name: str | None
    bio: str | None
    public_profile_enabled: bool
    plan: str
    role: Literal["user", "partner"]
    partner_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: UserRow) -> UserRead:
        return cls(
            user_id=row.id,
            email=row.email,
            user_name=row.user_name,
            display_name=row.display_name,
            bio=row.bio,
            public_profile_enabled=row.public_profile_enabled,
            plan=row.plan,
            role=row.role,
            partner_id=row.partner_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ProfileUpdate(Model):
    user_name: str | None = None
    display_name: str | None = Field(default=None, max_length=100)
    bio: str | None = Field(default=None, max_length=2000)
    public_profile_enabled: bool | None = None


class ManagedUserCreate(Model):
    email: EmailStr
    password: str
    user_name: str | None = None
    display_name: str | None = Field(default=None, max_length=100)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    responses=errors(409, 422),
    summary="Create an account",
)
async def register(body: RegisterRequest, session: SessionDep, runtime: RuntimeDep) -> Registered:
    row = await accounts.create_user(
        session,
        runtime.clock,
        accounts.NewUser(email=body.email, password=body.password, user_name=body.user_name),
    )
    registered = Registered(user_id=row.id, email=row.email, user_name=row.user_name)
    # The user must be durable before the venue (its own transaction) opens the default account.
    await session.commit()
    await trading.default_account(session, runtime.venues, row.id)
    return registered


@router.post(
    "/auth/login", response_model=LoginToken, responses=errors(401, 422, 429), summary="Log in"
)
async def login(
    body: LoginRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> LoginToken:
    user = await password_login(request, session, runtime, body.email, body.password)
    token = runtime.signer.issue(user.id, runtime.clock.now())
    return LoginToken(access_token=token, expires_in=runtime.signer.ttl_seconds)


@router.get("/me", response_model=UserRead, responses=errors(401), summary="Your profile")
async def get_me(principal: ReadScope, session: SessionDep) -> UserRead:
    return UserRead.of(await accounts.get_user(session, principal.user_id))


@router.patch(
    "/me",
    response_model=UserRead,
    responses=errors(401, 403, 409, 422),
    summary="Update your profile",
)
async def patch_me(
    body: ProfileUpdate, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> UserRead:
    row = await accounts.update_profile(
        session, runtime.clock, principal.user_id, body.model_dump(exclude_unset=True)
    )
    return UserRead.of(row)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=errors(401, 403, 409, 422),
    summary="Create a user you manage (partners)",
)
async def create_managed_user(
    body: ManagedUserCreate, principal: PartnerScope, session: SessionDep, runtime: RuntimeDep
) -> UserRead:
    row = await accounts.create_user(
        session,
        runtime.clock,
        accounts.NewUser(
            email=body.email,
            password=body.password,
            user_name=body.user_name,
            display_name=body.display_name,
            partner_id=principal.user_id,
        ),
    )
    return UserRead.of(row)


@router.get(
    "/users",
    response_model=PageOf[UserRead],
    responses=errors(401, 403),
    summary="Users you manage",
)
async def list_managed_users(
    principal: PartnerScope,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
) -> PageOf[UserRead]:
    page = await accounts.managed_users(session, principal.user_id, limit, cursor)
    return PageOf[UserRead](data=[UserRead.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/users/{user_id}",
    response_model=UserRead,
    responses=errors(401, 403, 404),
    summary="One user you manage",
)
async def get_managed_user(user_id: str, principal: PartnerScope, session: SessionDep) -> UserRead:
    return UserRead.of(await accounts.get_managed_user(session, principal.user_id, user_id))


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404, 409),
    summary="Delete a user you manage (refused while its bots run)",
)
async def delete_managed_user(
    user_id: str, principal: PartnerScope, session: SessionDep, runtime: RuntimeDep
) -> None:
    await accounts.get_managed_user(session, principal.user_id, user_id)
    await bots.check_user_deletable(session, user_id)
    await trading.close_user_accounts(session, runtime.venues, user_id)
    await accounts.delete_managed_user(session, principal.user_id, user_id)
