"""API keys: create (secret shown once), list, revoke, rotate, and authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tradewind.domain.accounts import Role, Scope
from tradewind.domain.clock import Clock
from tradewind.domain.errors import NotFound, Unauthenticated, ValidationFailed
from tradewind.domain.ids import PREFIX_API_KEY, new_id
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.services.security import (
    KeyMaterial,
    hash_api_secret,
    new_key_material,
    secret_matches,
    split_credentials,
)
from tradewind.store.tables import ApiKeyRow, UserRow

# last_used_at is written at most this often per key, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedKey:
    """A key row with its one-time secret."""

    row: ApiKeyRow
    material: KeyMaterial


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do."""

    user_id: str
    role: Role
    scope: Scope
    key_id: str | None = None  # None for a login (JWT) session
    account_id: str | None = None  # the trading account the key is bound to, if any

    @property
    def is_partner(self) -> bool:
        return self.role is Role.PARTNER


def _expiry(clock: Clock, days: int | None, default_days: int, max_days: int) -> datetime:
    days = default_days if days is None else days
    if not 1 <= days <= max_days:
        raise ValidationFailed(
            "invalid expiry",
            details=[{"field": "expires_in_days", "message": f"must be between 1 and {max_days}"}],
        )
    return clock.now() + timedelta(days=days)


async def create_key(
    session: AsyncSession,
    clock: Clock,
    user_id: str,
    name: str,
    scope: Scope,
    expires_in_days: int | None = None,
    *,
    default_days: int = 90,
    max_days: int = 365,
    account_id: str | None = None,
) -> IssuedKey:
    """A new key; ``account_id`` (already checked to be the user's) binds it to one account."""
    expires_at = _expiry(clock, expires_in_days, default_days, max_days)
    material = new_key_material()
    row = ApiKeyRow(
        id=new_id(PREFIX_API_KEY),
        user_id=user_id,
        name=name,
        scope=scope.value,
        public_key=material.public_key,
        secret_hash=hash_api_secret(material.secret),
        secret_last4=material.secret[-4:],
        created_at=clock.now(),
        expires_at=expires_at,
        revoked_at=None,
        last_used_at=None,
        account_id=account_id,
    )
    session.add(row)
    await session.flush()
    return IssuedKey(row=row, material=material)


async def list_keys(
    session: AsyncSession, user_id: str, limit: int, cursor: str | None, *, include_revoked: bool
) -> Page[ApiKeyRow]:
    stmt = select(ApiKeyRow).where(ApiKeyRow.user_id == user_id)
    if not include_revoked:
        stmt = stmt.where(ApiKeyRow.revoked_at.is_(None))
    rows = (await session.scalars(paginate(stmt, ApiKeyRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def get_key(session: AsyncSession, user_id: str, key_id: str) -> ApiKeyRow:
    row = await session.get(ApiKeyRow, key_id)
    if row is None or row.user_id != user_id:
        raise NotFound("api key not found")
    return row


async def revoke_key(session: AsyncSession, clock: Clock, user_id: str, key_id: str) -> ApiKeyRow:
    row = await get_key(session, user_id, key_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        await session.flush()
    return row


async def rotate_key(session: AsyncSession, clock: Clock, user_id: str, key_id: str) -> IssuedKey:
    """A new secret for the same key (same id, name, scope and lifetime, counted from now).

    The old secret stops working when this transaction commits.
    """
    row = await get_key(session, user_id, key_id)
    if row.revoked_at is not None:
        raise NotFound("api key not found")
    now = clock.now()
    lifetime = row.expires_at - row.created_at
    secret = new_key_material().secret
    row.secret_hash = hash_api_secret(secret)
    row.secret_last4 = secret[-4:]
    row.expires_at = now + lifetime
    await session.flush()
    return IssuedKey(row=row, material=KeyMaterial(public_key=row.public_key, secret=secret))


# Prepared once: this runs on every key-authenticated request.
_KEY_LOOKUP = (
    select(
        ApiKeyRow.id, ApiKeyRow.user_id, ApiKeyRow.scope, ApiKeyRow.secret_hash, ApiKeyRow.revoked_at,
        ApiKeyRow.expires_at, ApiKeyRow.account_id, UserRow.role,
    )
    .join(UserRow, UserRow.id == ApiKeyRow.user_id)
    .where(ApiKeyRow.public_key == bindparam("public_key"))
)  # fmt: skip


def authenticate_key(session: Session, clock: Clock, raw: str) -> Principal:
    """The principal for ``pk_…:sk_…`` or ``tk_live_…``; Unauthenticated for anything else.

    Synchronous, so callers run it as one unit of work (``StoreRunner.run``): on SQLite that
    is one thread hop instead of one per driver call, on the hot path of every request.
    """
    parts = split_credentials(raw)
    if parts is None:
        raise Unauthenticated("invalid api key")
    return authenticate_pair(session, clock, *parts)


def authenticate_pair(session: Session, clock: Clock, public_key: str, secret: str) -> Principal:
    """Check a key pair given separately (TrynQuant signals carry them in the body)."""
    row = session.connection().execute(_KEY_LOOKUP, {"public_key": public_key}).first()
    if row is None:
        raise Unauthenticated("invalid api key")
    role = row.role
    if not secret_matches(secret, row.secret_hash):
        raise Unauthenticated("invalid api key")
    if row.revoked_at is not None:
        raise Unauthenticated("api key revoked")
    if row.expires_at <= clock.now():
        raise Unauthenticated("api key expired")
    return Principal(
        user_id=row.user_id,
        role=Role(role),
        scope=Scope(row.scope),
        key_id=row.id,
        account_id=row.account_id,
    )


class UsageRecorder:
    """Decides when a key's ``last_used_at`` is worth writing (at most once per resolution),
    so authentication stays a read and its bookkeeping never holds a request's transaction."""

    def __init__(self, resolution: timedelta = LAST_USED_RESOLUTION) -> None:
        self.resolution = resolution
        self._written: dict[str, datetime] = {}

    def due(self, key_id: str, now: datetime) -> bool:
        last = self._written.get(key_id)
        if last is not None and now - last < self.resolution:
            return False
        if len(self._written) > 100_000:
            self._written.clear()
        self._written[key_id] = now
        return True


def record_use(session: Session, key_id: str, now: datetime) -> None:
    session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))
