"""bot engine: each bot's pending venue operations, fill cursor, log counter and stop-exit flag;
per-symbol leverage on trading accounts; bot log colours as long as a CSS rgba()

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("pending", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("fill_cursor", sa.String(40), nullable=True))
        batch.add_column(sa.Column("log_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("stop_exit", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("trading_accounts") as batch:
        batch.add_column(sa.Column("leverages", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("bot_logs") as batch:
        batch.alter_column("color", type_=sa.String(64), existing_type=sa.String(16))


def downgrade() -> None:
    with op.batch_alter_table("bot_logs") as batch:
        batch.alter_column("color", type_=sa.String(16), existing_type=sa.String(64))
    with op.batch_alter_table("trading_accounts") as batch:
        batch.drop_column("leverages")
    with op.batch_alter_table("bots") as batch:
        for column in ("stop_exit", "log_seq", "fill_cursor", "pending"):
            batch.drop_column(column)
