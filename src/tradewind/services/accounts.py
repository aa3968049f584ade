"""Accounts: sign-up, login, profiles, and the users a partner manages."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.accounts import Role
from tradewind.domain.clock import Clock
from tradewind.domain.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from tradewind.domain.ids import PREFIX_USER, new_id
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.services.security import hash_password, verify_password
from tradewind.store.tables import UserRow

USER_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{1,30})[a-z0-9]$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128
# The passwords every credential-stuffing list starts with (NIST 800-63B: block known-bad ones).
_COMMON = frozenset(
    {
        "password", "password1", "password123", "12345678", "123456789", "1234567890",
        "qwertyuiop", "qwerty123", "iloveyou", "11111111", "00000000", "abc12345",
        "letmein123", "welcome123", "admin123", "passw0rd", "trustno1", "sunshine1",
        "football1", "baseball1", "princess1", "dragon123", "monkey123", "changeme",
    }
)  # fmt: skip


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Why a password is too weak (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"must be at most {MAX_PASSWORD} characters")
    if password.lower() in _COMMON or len(set(password)) < 4:
        problems.append("is too common or too simple")
    if email and email.split("@")[0].lower() in password.lower() and len(email.split("@")[0]) > 3:
        problems.append("must not contain your email name")
    return problems


def check_user_name(user_name: str) -> str:
    value = user_name.strip().lower()
    if not USER_NAME_RE.match(value):
        raise ValidationFailed(
            "invalid user_name",
            details=[
                {
                    "field": "user_name",
                    "message": "3-32 characters: lowercase letters, digits, '_', '.', '-'; "
                    "starting and ending with a letter or digit",
                }
            ],
        )
    return value


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str
    user_name: str | None = None
    display_name: str | None = None
    role: Role = Role.USER
    partner_id: str | None = None
    exchange_user_id: str | None = None


async def create_user(session: AsyncSession, clock: Clock, new: NewUser) -> UserRow:
    """Register a user; Conflict on a taken email or user name, ValidationFailed on weak input."""
    email = normalise_email(new.email)
    problems = password_problems(new.password, email)
    if problems:
        raise ValidationFailed(
            "password is too weak",
            details=[{"field": "password", "message": p} for p in problems],
        )
    user_name = check_user_name(new.user_name) if new.user_name else None
    if await session.scalar(select(UserRow.id).where(UserRow.email == email)):
        raise Conflict("email is already registered", details=[{"field": "email"}])
    if user_name and await session.scalar(select(UserRow.id).where(UserRow.user_name == user_name)):
        raise Conflict("user_name is taken", details=[{"field": "user_name"}])
    # argon2 takes about 100 ms of CPU on purpose; in a worker thread (it lets go of the GIL)
    # it does not stall every other request and every bot meanwhile
    password_hash = await asyncio.to_thread(hash_password, new.password)
    now = clock.now()
    row = UserRow(
        id=new_id(PREFIX_USER),
        email=email,
        password_hash=password_hash,
        user_name=user_name,
        display_name=new.display_name,
        bio=None,
        public_profile_enabled=False,
        plan="free",
        role=new.role.value,
        partner_id=new.partner_id,
        exchange_user_id=new.exchange_user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as e:  # a concurrent sign-up won the race
        raise Conflict("email or user_name is already registered") from e
    return row


async def authenticate_password(session: AsyncSession, email: str, password: str) -> UserRow:
    """The user whose email and password these are; one message for every failure."""
    row = await session.scalar(select(UserRow).where(UserRow.email == normalise_email(email)))
    valid = await asyncio.to_thread(verify_password, row.password_hash if row else None, password)
    if not valid or row is None:
        raise Unauthenticated("invalid email or password")
    return row


async def get_user(session: AsyncSession, user_id: str) -> UserRow:
    row = await session.get(UserRow, user_id)
    if row is None:
        raise NotFound("user not found")
    return row


PROFILE_FIELDS = ("user_name", "display_name", "bio", "public_profile_enabled")


async def update_profile(
    session: AsyncSession, clock: Clock, user_id: str, changes: dict[str, Any]
) -> UserRow:
    """Apply profile changes (only ``PROFILE_FIELDS``)."""
    row = await get_user(session, user_id)
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "unknown profile fields",
            details=[{"field": f, "message": "not editable"} for f in unknown],
        )
    if "user_name" in changes and changes["user_name"] is not None:
        name = check_user_name(changes["user_name"])
        taken = await session.scalar(
            select(UserRow.id).where(UserRow.user_name == name, UserRow.id != user_id)
        )
        if taken:
            raise Conflict("user_name is taken", details=[{"field": "user_name"}])
        changes = {**changes, "user_name": name}
    if changes.get("public_profile_enabled") and not (changes.get("user_name") or row.user_name):
        raise ValidationFailed(
            "a public profile needs a user_name",
            details=[{"field": "public_profile_enabled", "message": "set user_name first"}],
        )
    for field, value in changes.items():
        setattr(row, field, value)
    row.updated_at = clock.now()
    await session.flush()
    return row


async def managed_users(
    session: AsyncSession, partner_id: str, limit: int, cursor: str | None
) -> Page[UserRow]:
    """The users a partner created, newest first."""
    stmt = paginate(
        select(UserRow).where(UserRow.partner_id == partner_id), UserRow.id, limit, cursor
    )
    rows = (await session.scalars(stmt)).all()
    return make_page(rows, limit, lambda r: r.id)


async def managed_user_ids(session: AsyncSession, partner_id: str) -> list[str]:
    """Every user a partner created (whose bots its signals may reach)."""
    stmt = select(UserRow.id).where(UserRow.partner_id == partner_id)
    return list((await session.scalars(stmt)).all())


async def get_managed_user(session: AsyncSession, partner_id: str, user_id: str) -> UserRow:
    row = await session.get(UserRow, user_id)
    if row is None or row.partner_id != partner_id:
        raise NotFound("user not found")
    return row


async def delete_managed_user(session: AsyncSession, partner_id: str, user_id: str) -> None:
    row = await get_managed_user(session, partner_id, user_id)
    await session.delete(row)
    await session.flush()


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)


async def create_managed_user(
    session: AsyncSession, clock: Clock, partner_id: str, *, exchange_user_id: str | None = None
) -> UserRow:
    """A user a partner creates without login credentials (HaasOnline white-label): the
    partner acts for it. Its email is a placeholder that can never receive mail, and its
    password is random and never shown, so nobody can log in as it."""
    import secrets

    from tradewind.domain.ids import new_id as make_id

    placeholder = make_id(PREFIX_USER).lower() + "@managed.invalid"
    return await create_user(
        session,
        clock,
        NewUser(
            email=placeholder,
            password=secrets.token_urlsafe(32),
            partner_id=partner_id,
            exchange_user_id=exchange_user_id,
        ),
    )
