"""paper venue: accounts, balances, ledger, orders, fills, positions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:44:43.904456
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trading_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("leverage", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("initial_balances", sa.JSON(), nullable=False),
        sa.Column("created_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reset_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_trading_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_accounts")),
    )
    with op.batch_alter_table("trading_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trading_accounts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "balances",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("free", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("locked", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("updated_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_balances_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "asset", name=op.f("pk_balances")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("delta", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("ts", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account_id_id", ["account_id", "id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("amount", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("price", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("stop_price", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("client_order_id", sa.String(length=100), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("position_id", sa.String(length=40), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("filled", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("average_price", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("fee", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("triggered", sa.Boolean(), nullable=False),
        sa.Column("oco_group", sa.String(length=40), nullable=True),
        sa.Column("programs", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("reserved", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("reserved_asset", sa.String(length=16), nullable=True),
        sa.Column("ticket", sa.BigInteger(), nullable=False),
        sa.Column("created_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_orders_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "account_id", "client_order_id", name="uq_orders_account_id_client_order_id"
        ),
        sa.UniqueConstraint("ticket", name=op.f("uq_orders_ticket")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_orders_account_id_status", ["account_id", "status"], unique=False)

    op.create_table(
        "positions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("amount", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("entry_price", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("leverage", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("margin", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("realized_pnl", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("fees", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("stop_loss", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("take_profit", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column(
            "liquidation_price", tradewind.store.types.ExactDecimal(length=64), nullable=True
        ),
        sa.Column("close_price", tradewind.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("ticket", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", tradewind.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_positions_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint("ticket", name=op.f("uq_positions_ticket")),
    )
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_positions_account_id_closed_at", ["account_id", "closed_at"], unique=False
        )

    op.create_table(
        "fills",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("amount", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("price", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("fee", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("fee_asset", sa.String(length=16), nullable=False),
        sa.Column("liquidity", sa.String(length=8), nullable=False),
        sa.Column("position_id", sa.String(length=40), nullable=True),
        sa.Column("realized_pnl", tradewind.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("ticket", sa.BigInteger(), nullable=False),
        sa.Column("ts", tradewind.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_fills_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("ticket", name=op.f("uq_fills_ticket")),
    )
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.create_index("ix_fills_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fills_order_id"), ["order_id"], unique=False)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_account_id_trading_accounts"),
            "trading_accounts",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_api_keys_account_id_trading_accounts"), type_="foreignkey"
        )
        batch_op.drop_column("account_id")

    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fills_order_id"))
        batch_op.drop_index("ix_fills_account_id_id")

    op.drop_table("fills")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index("ix_positions_account_id_closed_at")

    op.drop_table("positions")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_account_id_status")
        batch_op.drop_index("ix_orders_account_id_id")

    op.drop_table("orders")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_account_id_id")

    op.drop_table("ledger_entries")
    op.drop_table("balances")
    with op.batch_alter_table("trading_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trading_accounts_user_id"))

    op.drop_table("trading_accounts")
