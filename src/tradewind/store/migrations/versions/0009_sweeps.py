"""parameter sweeps with their stored ranked tables

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.String(40)
_TS = tradewind.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("script", sa.String(40), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("start_at", _TS(), nullable=False),
        sa.Column("end_at", _TS(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("combinations", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("created_at", _TS(), nullable=False),
        sa.Column("started_at", _TS(), nullable=True),
        sa.Column("finished_at", _TS(), nullable=True),
    )  # fmt: skip
    op.create_index("ix_sweeps_user_id_id", "sweeps", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_sweeps_user_id_id", table_name="sweeps")
    op.drop_table("sweeps")
