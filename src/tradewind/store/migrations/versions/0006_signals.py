"""signals and their deliveries to bots; bot webhook tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("hook_token_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_bots_hook_token_hash", ["hook_token_hash"])
    op.create_table(
        "signals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("dedup_key", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("amount", tradewind.store.types.ExactDecimal(), nullable=True),
        sa.Column("price", tradewind.store.types.ExactDecimal(), nullable=True),
        sa.Column("investment_type", sa.String(16), nullable=True),
        sa.Column("signal_ts", tradewind.store.types.UTCDateTime(), nullable=True),
        sa.Column("max_lag", sa.BigInteger(), nullable=True),
        sa.Column("bot_id", sa.String(40), nullable=True),
        sa.Column("token", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", tradewind.store.types.UTCDateTime(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_signals_owner_id_id", "signals", ["owner_id", "id"])
    op.create_index("ix_signals_owner_id_dedup_key", "signals", ["owner_id", "dedup_key"])
    op.create_index("ix_signals_token_id", "signals", ["token", "id"])
    op.create_table(
        "signal_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("signal_id", sa.String(40), sa.ForeignKey("signals.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("bot_id", sa.String(40), sa.ForeignKey("bots.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", tradewind.store.types.UTCDateTime(), nullable=False),
        sa.Column("handled_at", tradewind.store.types.UTCDateTime(), nullable=True),
    )  # fmt: skip
    op.create_index("ix_signal_deliveries_signal_id", "signal_deliveries", ["signal_id"])
    op.create_index("ix_signal_deliveries_bot_id_status", "signal_deliveries", ["bot_id", "status"])


def downgrade() -> None:
    op.drop_table("signal_deliveries")
    op.drop_table("signals")
    with op.batch_alter_table("bots") as batch:
        batch.drop_constraint("uq_bots_hook_token_hash", type_="unique")
        batch.drop_column("hook_token_hash")
