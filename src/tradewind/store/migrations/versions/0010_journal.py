"""trade journal: strategies, trade records, bots linked to a strategy

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.String(40)
_TS = tradewind.store.types.UTCDateTime
_DEC = tradewind.store.types.ExactDecimal


def upgrade() -> None:
    op.create_table(
        "journal_strategies",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.String(8), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
        sa.Column("updated_at", _TS(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_journal_strategies_user_id_id", "journal_strategies", ["user_id", "id"])
    op.create_table(
        "journal_trades",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("strategy_id", _ID, sa.ForeignKey("journal_strategies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("event", sa.String(8), nullable=False),
        sa.Column("entry", _DEC(), nullable=True),
        sa.Column("stop_loss", _DEC(), nullable=True),
        sa.Column("take_profit", _DEC(), nullable=True),
        sa.Column("close_price", _DEC(), nullable=True),
        sa.Column("opened_at", _TS(), nullable=False),
        sa.Column("closed_at", _TS(), nullable=True),
        sa.Column("signal_time", _TS(), nullable=True),
        sa.Column("timeframe", sa.String(16), nullable=True),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("external_reference", sa.String(128), nullable=True),
        sa.Column("signal", sa.JSON(), nullable=True),
        sa.Column("market", sa.JSON(), nullable=True),
        sa.Column("risk", sa.JSON(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("bot_id", _ID, sa.ForeignKey("bots.id", ondelete="SET NULL"), nullable=True),
        sa.Column("position_ref", sa.String(64), nullable=True),
        sa.Column("created_at", _TS(), nullable=False),
        sa.Column("updated_at", _TS(), nullable=False),
        sa.UniqueConstraint("strategy_id", "position_ref", name="uq_journal_trades_strategy_id_position_ref"),
    )  # fmt: skip
    op.create_index("ix_journal_trades_strategy_id_id", "journal_trades", ["strategy_id", "id"])
    op.create_index(
        "ix_journal_trades_strategy_id_external_reference",
        "journal_trades",
        ["strategy_id", "external_reference"],
    )
    op.create_table(
        "journal_bot_links",
        sa.Column("bot_id", _ID, sa.ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("strategy_id", _ID, sa.ForeignKey("journal_strategies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_journal_bot_links_strategy_id", "journal_bot_links", ["strategy_id"])


def downgrade() -> None:
    op.drop_index("ix_journal_bot_links_strategy_id", table_name="journal_bot_links")
    op.drop_table("journal_bot_links")
    op.drop_index("ix_journal_trades_strategy_id_external_reference", table_name="journal_trades")
    op.drop_index("ix_journal_trades_strategy_id_id", table_name="journal_trades")
    op.drop_table("journal_trades")
    op.drop_index("ix_journal_strategies_user_id_id", table_name="journal_strategies")
    op.drop_table("journal_strategies")
