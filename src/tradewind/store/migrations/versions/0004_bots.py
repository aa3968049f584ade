"""bots and bot logs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:01:05.287587
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("script", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("master_bot_id", sa.String(length=40), nullable=True),
        sa.Column("follow_updates", sa.Boolean(), nullable=False),
        sa.Column("cloned", sa.BigInteger(), nullable=False),
        sa.Column("investment", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("leverage", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("stop_loss_pct", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("order_seq", sa.BigInteger(), nullable=False),
        sa.Column("realized_pnl", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("created_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_bots_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["master_bot_id"],
            ["bots.id"],
            name=op.f("fk_bots_master_bot_id_bots"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bots_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bots")),
    )
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bots_master_bot_id"), ["master_bot_id"], unique=False)
        batch_op.create_index("ix_bots_status", ["status"], unique=False)
        batch_op.create_index("ix_bots_user_id_id", ["user_id", "id"], unique=False)

    op.create_table(
        "bot_logs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("bot_id", sa.String(length=40), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("ts", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_bot_logs_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_logs")),
        sa.UniqueConstraint("bot_id", "line", name="uq_bot_logs_bot_id_line"),
    )


def downgrade() -> None:
    op.drop_table("bot_logs")
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.drop_index("ix_bots_user_id_id")
        batch_op.drop_index("ix_bots_status")
        batch_op.drop_index(batch_op.f("ix_bots_master_bot_id"))

    op.drop_table("bots")
