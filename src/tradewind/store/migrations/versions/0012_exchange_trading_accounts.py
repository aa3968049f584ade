"""trading_accounts.exchange_account_id: the exchange keys a live trading account trades with

No foreign key: SQLite adds one only by rebuilding the table, and dropping trading_accounts
with foreign keys on would cascade to every order and fill. The exchange accounts service
keeps the link (it detaches the trading account when the keys are deleted).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "trading_accounts", sa.Column("exchange_account_id", sa.String(40), nullable=True)
    )
    op.create_index(
        "ix_trading_accounts_exchange_account_id", "trading_accounts", ["exchange_account_id"],
        unique=True,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_trading_accounts_exchange_account_id", table_name="trading_accounts")
    with op.batch_alter_table("trading_accounts") as batch:
        batch.drop_column("exchange_account_id")
