"""exchange accounts (encrypted credentials) and the exchanges' cached markets

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.String(40)
_TS = tradewind.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "exchange_accounts",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("api_key_enc", sa.Text(), nullable=False),
        sa.Column("api_key_hint", sa.String(16), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("passphrase_enc", sa.Text(), nullable=True),
        sa.Column("testnet", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("validated_at", _TS(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS(), nullable=False),
    )  # fmt: skip
    op.create_index("ix_exchange_accounts_user_id_id", "exchange_accounts", ["user_id", "id"])
    op.create_table(
        "exchange_markets",
        sa.Column("exchange", sa.String(32), primary_key=True),
        sa.Column("fetched_at", _TS(), nullable=False),
        sa.Column("markets", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exchange_markets")
    op.drop_index("ix_exchange_accounts_user_id_id", table_name="exchange_accounts")
    op.drop_table("exchange_accounts")
