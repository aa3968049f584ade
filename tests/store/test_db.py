"""The store on both backends: migrations, SQLite pragmas, UTC round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tradewind.store.db import create_engine, session_factory
from tradewind.store.migrate import current_revision, upgrade
from tradewind.store.tables import UserRow


async def test_upgrade_is_idempotent_and_reaches_head(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    await upgrade(engine)
    assert await current_revision(engine) == "0012"
    await engine.dispose()


async def test_fresh_sqlite_file_is_created_in_wal_with_foreign_keys(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "deep" / "dir" / "tw.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()
    assert path.exists()


async def test_datetimes_round_trip_as_utc(database_url: str) -> None:
    engine = create_engine(database_url)
    made = datetime(2026, 5, 21, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    async with session_factory(engine)() as s:
        s.add(
            UserRow(
                id="usr_01TEST00000000000000000000",
                email="tz@example.com",
                password_hash="x",
                public_profile_enabled=False,
                plan="free",
                role="user",
                created_at=made,
                updated_at=made,
            )
        )
        await s.commit()
    async with session_factory(engine)() as s:
        row = await s.get(UserRow, "usr_01TEST00000000000000000000")
        assert row is not None
        assert row.created_at == made and row.created_at.tzinfo == UTC
    await engine.dispose()


async def test_naive_datetimes_are_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_factory(engine)() as s:
        now = datetime(2026, 1, 1)
        s.add(
            UserRow(
                id="usr_01TEST00000000000000000001",
                email="n@example.com",
                password_hash="x",
                public_profile_enabled=False,
                plan="free",
                role="user",
                created_at=now,
                updated_at=now,
            )
        )
        with pytest.raises(Exception, match="naive datetime"):
            await s.commit()
    await engine.dispose()
