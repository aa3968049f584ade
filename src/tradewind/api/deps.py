"""Dependencies, declared once. Every endpoint states what it needs through these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.api.runtime import Runtime
from tradewind.domain.accounts import Role, Scope
from tradewind.domain.errors import Forbidden, MissingCredentials, RateLimited, Unauthenticated
from tradewind.services import accounts
from tradewind.services.api_keys import Principal, authenticate_key, record_use
from tradewind.store.tables import UserRow


async def get_runtime(request: Request) -> Runtime:
    """Async on purpose: FastAPI runs a sync dependency in a worker thread, one thread hop
    per request for a dictionary lookup."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with runtime.sessions() as session:
        try:
            yield session
            # (a session the request never used has nothing to commit: 50 µs saved on the
            # hot paths that write through the store's writer instead)
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent (FastAPI's default scope
# for a dependency with yield runs its exit after the response, so a client could act on an
# answer, such as a new API key, before its transaction had committed)
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# Declared so the OpenAPI document and /docs know the scheme; the checks are ours.
_bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API key as `pk_…:sk_…` or `tk_live_…`, or a login token from /api/v1/auth/login.",
)
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise MissingCredentials("missing Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    return token.strip()


async def resolve_principal(
    runtime: Runtime,
    session: AsyncSession,
    token: str,
    *,
    allow_keys: bool = True,
    allow_jwt: bool = True,
) -> Principal:
    """Authenticate a bearer token (API key pair, single key token, or login JWT)."""
    if token.startswith(("pk_", "tk_live_")):
        if not allow_keys:
            raise Unauthenticated("this endpoint takes a login token, not an API key")
        now = runtime.clock.now()
        principal = await runtime.store.run(lambda s: authenticate_key(s, runtime.clock, token))
        bucket = principal.key_id or principal.user_id
        key_id = principal.key_id
        if key_id and runtime.key_usage.due(key_id, now):
            # Its own short transaction: the request's stays read-only until the handler writes.
            await runtime.store.run(lambda s: record_use(s, key_id, now))
    else:
        if not allow_jwt:
            raise Unauthenticated("this endpoint takes an API key")
        user_id = runtime.signer.verify(token, runtime.clock.now())
        role = await runtime.store.run(
            lambda s: s.scalar(select(UserRow.role).where(UserRow.id == user_id))
        )
        if role is None:
            raise Unauthenticated("invalid token")
        principal = Principal(user_id=user_id, role=Role(role), scope=Scope.FULL)
        bucket = "jwt:" + user_id
    wait = runtime.key_limits.hit(bucket)
    if wait > 0:
        raise RateLimited("rate limit exceeded for this key", retry_after=wait)
    return principal


def check_scope(principal: Principal, needed: Scope) -> None:
    """Forbidden unless the caller's scope covers ``needed`` (for front doors that resolve
    their credentials themselves, as ``require_scope`` does for the rest)."""
    if not principal.scope.allows(needed):
        raise Forbidden(
            f"this API key's scope '{principal.scope}' does not allow this; needs '{needed}'"
        )


def require_scope(
    needed: Scope,
    *,
    allow_keys: bool = True,
    allow_jwt: bool = True,
    token_from: Callable[[Request], Awaitable[str | None]] | None = None,
) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks its scope covers ``needed``.
    ``token_from``: where else the token may come from when it gives one (a body field, for
    senders that cannot set headers); else the Authorization header."""

    async def dependency(
        request: Request, runtime: RuntimeDep, session: SessionDep, _doc: BearerDoc
    ) -> Principal:
        token = await token_from(request) if token_from is not None else None
        principal = await resolve_principal(
            runtime, session, token or bearer_token(request), allow_keys=allow_keys,
            allow_jwt=allow_jwt,
        )  # fmt: skip
        check_scope(principal, needed)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{needed.value}_scope"
    return dependency


async def _require_partner(
    principal: Annotated[Principal, Depends(require_scope(Scope.FULL))],
) -> Principal:
    if not principal.is_partner:
        raise Forbidden("only partner accounts may do this")
    return principal


ReadScope = Annotated[Principal, Depends(require_scope(Scope.READ))]
TradeScope = Annotated[Principal, Depends(require_scope(Scope.TRADE))]
FullScope = Annotated[Principal, Depends(require_scope(Scope.FULL))]
PartnerScope = Annotated[Principal, Depends(_require_partner)]


async def password_login(
    request: Request, session: AsyncSession, runtime: Runtime, email: str, password: str
) -> UserRow:
    """Check an email and password under the login throttle (per email and client address):
    every front door that takes a password uses this one."""
    throttle_key = f"{accounts.normalise_email(email)}|{request.state.client_ip}"
    wait = runtime.login_throttle.retry_after(throttle_key)
    if wait > 0:
        raise RateLimited("too many failed logins; try again later", retry_after=wait)
    try:
        user = await accounts.authenticate_password(session, email, password)
    except Unauthenticated:
        runtime.login_throttle.failed(throttle_key)
        raise
    runtime.login_throttle.succeeded(throttle_key)
    return user
