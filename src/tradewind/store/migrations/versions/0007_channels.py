"""partner signal channels: channels, subscriptions, channel signals, each subscriber's trade
of a signal, and the answered deliveries (idempotency)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.String(40)
_TS = tradewind.store.types.UTCDateTime
_DEC = tradewind.store.types.ExactDecimal


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("partner_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_channels_partner_id_id", "channels", ["partner_id", "id"])
    op.create_table(
        "channel_subscriptions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("channel_id", _ID, sa.ForeignKey("channels.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", _ID, sa.ForeignKey("trading_accounts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("amount_type", sa.String(16), nullable=False),
        sa.Column("amount", _DEC(), nullable=False),
        sa.Column("max_leverage", _DEC(), nullable=False),
        sa.Column("follow_trailing", sa.Boolean(), nullable=False),
        sa.Column("follow_dca", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
        sa.UniqueConstraint("channel_id", "user_id", name="uq_channel_subscriptions_channel_id"),
    )  # fmt: skip
    op.create_index(
        "ix_channel_subscriptions_user_id_id", "channel_subscriptions", ["user_id", "id"]
    )
    op.create_table(
        "channel_signals",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("channel_id", _ID, sa.ForeignKey("channels.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("partner_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
        sa.Column("updated_at", _TS(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_channel_signals_partner_id_id", "channel_signals", ["partner_id", "id"])
    op.create_table(
        "channel_trades",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("signal_id", _ID, sa.ForeignKey("channel_signals.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subscription_id", _ID,
                  sa.ForeignKey("channel_subscriptions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("bot_id", _ID, sa.ForeignKey("bots.id", ondelete="SET NULL"), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", _TS(), nullable=False),
        sa.Column("updated_at", _TS(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_channel_trades_signal_id", "channel_trades", ["signal_id"])
    op.create_index("ix_channel_trades_user_id_id", "channel_trades", ["user_id", "id"])
    op.create_table(
        "channel_deliveries",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("partner_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("dedup_key", sa.String(128), nullable=False),
        sa.Column("keyed", sa.Boolean(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
    )  # fmt: skip
    op.create_index(
        "ix_channel_deliveries_partner_id_dedup_key", "channel_deliveries",
        ["partner_id", "dedup_key"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("channel_deliveries")
    op.drop_table("channel_trades")
    op.drop_table("channel_signals")
    op.drop_table("channel_subscriptions")
    op.drop_table("channels")
