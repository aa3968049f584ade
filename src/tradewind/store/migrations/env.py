"""Alembic environment: migrations run on a connection handed in by ``store.migrate``."""

from __future__ import annotations

from alembic import context

from tradewind.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `tradewind db upgrade` (tradewind.store.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
