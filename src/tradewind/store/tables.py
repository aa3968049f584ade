"""The tables. Rows stay inside the store and services; APIs return their own schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tradewind.store.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str | None] = mapped_column(String(32), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    bio: Mapped[str | None] = mapped_column(Text)
    public_profile_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    plan: Mapped[str] = mapped_column(String(32), default="free")
    role: Mapped[str] = mapped_column(String(16), default="user")
    partner_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    exchange_user_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    secret_last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    account_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="SET NULL")
    )

    __table_args__ = (Index("ix_api_keys_user_id_id", "user_id", "id"),)


class TradingAccountRow(Base):
    """A venue account owned by a user: on paper, or on an exchange through its keys."""

    __tablename__ = "trading_accounts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    venue: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(16))
    leverage: Mapped[Decimal] = mapped_column(ExactDecimal())
    currency: Mapped[str] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    initial_balances: Mapped[dict[str, str]] = mapped_column(JSON)
    leverages: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    """Leverage per symbol where one was chosen (a bot's ``SetLeverage``)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exchange_account_id: Mapped[str | None] = mapped_column(ID, default=None)
    """On a live exchange: the exchange account (keys) it trades with; None on paper, and
    once those keys are deleted (the account stays for its records). No foreign key: see
    migration 0012."""

    __table_args__ = (
        Index("ix_trading_accounts_exchange_account_id", "exchange_account_id", unique=True),
    )


class BalanceRow(Base):
    __tablename__ = "balances"

    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    free: Mapped[Decimal] = mapped_column(ExactDecimal())
    locked: Mapped[Decimal] = mapped_column(ExactDecimal())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerEntryRow(Base):
    """Every change to every balance; a balance is its start plus the sum of its entries."""

    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="CASCADE")
    )
    asset: Mapped[str] = mapped_column(String(16))
    delta: Mapped[Decimal] = mapped_column(ExactDecimal())
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_ledger_entries_account_id_id", "account_id", "id"),)


class OrderRow(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="CASCADE")
    )
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    client_order_id: Mapped[str | None] = mapped_column(String(100))
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    position_id: Mapped[str | None] = mapped_column(ID)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    filled: Mapped[Decimal] = mapped_column(ExactDecimal())
    average_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    fee: Mapped[Decimal] = mapped_column(ExactDecimal())
    triggered: Mapped[bool] = mapped_column(Boolean)
    oco_group: Mapped[str | None] = mapped_column(String(40))
    programs: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(200))
    reserved: Mapped[Decimal] = mapped_column(ExactDecimal())
    reserved_asset: Mapped[str | None] = mapped_column(String(16))
    ticket: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_orders_account_id_id", "account_id", "id"),
        Index("ix_orders_account_id_status", "account_id", "status"),
        UniqueConstraint(
            "account_id", "client_order_id", name="uq_orders_account_id_client_order_id"
        ),
    )


class FillRow(Base):
    __tablename__ = "fills"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    order_id: Mapped[str] = mapped_column(
        ID, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="CASCADE")
    )
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    fee: Mapped[Decimal] = mapped_column(ExactDecimal())
    fee_asset: Mapped[str] = mapped_column(String(16))
    liquidity: Mapped[str] = mapped_column(String(8))
    position_id: Mapped[str | None] = mapped_column(ID)
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal())
    ticket: Mapped[int] = mapped_column(BigInteger, unique=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_fills_account_id_id", "account_id", "id"),)


class PositionRow(Base):
    __tablename__ = "positions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="CASCADE")
    )
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    entry_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    leverage: Mapped[Decimal] = mapped_column(ExactDecimal())
    margin: Mapped[Decimal] = mapped_column(ExactDecimal())
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal())
    fees: Mapped[Decimal] = mapped_column(ExactDecimal())
    stop_loss: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    take_profit: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    liquidation_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    close_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    ticket: Mapped[int] = mapped_column(BigInteger, unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_positions_account_id_closed_at", "account_id", "closed_at"),)


class BotRow(Base):
    """A bot: its script and settings, its lifecycle, and the strategy state it resumes from."""

    __tablename__ = "bots"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    script: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(40))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(500))
    master_bot_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("bots.id", ondelete="SET NULL"), index=True
    )
    follow_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    cloned: Mapped[int] = mapped_column(BigInteger, default=0)
    investment: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    leverage: Mapped[Decimal] = mapped_column(ExactDecimal())
    stop_loss_pct: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    order_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    pending: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Venue operations decided and not yet known to be done (re-run after a crash; each is
    idempotent: placements carry the bot's client ids)."""
    fill_cursor: Mapped[str | None] = mapped_column(ID)
    """The last fill of the bot's orders its strategy has been given."""
    log_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    stop_exit: Mapped[bool] = mapped_column(Boolean, default=False)
    """A stop in progress also closes what the bot holds."""
    hook_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the bot's webhook token (``POST /api/v1/hooks/{token}``), if it has one."""
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_bots_user_id_id", "user_id", "id"),
        Index("ix_bots_status", "status"),
    )


class BotLogRow(Base):
    __tablename__ = "bot_logs"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    bot_id: Mapped[str] = mapped_column(ID, ForeignKey("bots.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    severity: Mapped[str] = mapped_column(String(16))
    color: Mapped[str | None] = mapped_column(String(64))
    """A CSS colour, as HaasOnline shows them: ``rgba(128, 128, 128, 1.00)``."""
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("bot_id", "line", name="uq_bot_logs_bot_id_line"),)


class SignalRow(Base):
    """A trade signal as received, with its outcome (written before it is acknowledged)."""

    __tablename__ = "signals"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(128))
    """The idempotency key given, else a hash of the source, owner and body."""
    symbol: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    investment_type: Mapped[str | None] = mapped_column(String(16))
    signal_ts: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_lag: Mapped[int | None] = mapped_column(BigInteger)
    bot_id: Mapped[str | None] = mapped_column(ID)
    token: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    """accepted (handed to bots), executed, rejected"""
    message: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What was sent, credentials removed (HaasOnline's ``metadata`` and the like)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_signals_owner_id_id", "owner_id", "id"),
        Index("ix_signals_owner_id_dedup_key", "owner_id", "dedup_key"),
        Index("ix_signals_token_id", "token", "id"),
    )


class SignalDeliveryRow(Base):
    """One signal given to one bot: ``pending`` until the bot engine has handled it (written
    with the bot's state, so a signal is acted on exactly once, also across a crash)."""

    __tablename__ = "signal_deliveries"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    signal_id: Mapped[str] = mapped_column(ID, ForeignKey("signals.id", ondelete="CASCADE"))
    bot_id: Mapped[str] = mapped_column(ID, ForeignKey("bots.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    """pending, handled, executed, rejected"""
    message: Mapped[str | None] = mapped_column(Text)
    order_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_signal_deliveries_signal_id", "signal_id"),
        Index("ix_signal_deliveries_bot_id_status", "bot_id", "status"),
    )


class ChannelRow(Base):
    """A partner's signal channel; users subscribe to it."""

    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_channels_partner_id_id", "partner_id", "id"),)


class ChannelSubscriptionRow(Base):
    """A user's subscription to a channel, with how each signal is traded on their account."""

    __tablename__ = "channel_subscriptions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    channel_id: Mapped[str] = mapped_column(ID, ForeignKey("channels.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("trading_accounts.id", ondelete="CASCADE")
    )
    amount_type: Mapped[str] = mapped_column(String(16))
    """quote (a fixed quote amount per signal) or percent (of the free balance)"""
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    max_leverage: Mapped[Decimal] = mapped_column(ExactDecimal())
    follow_trailing: Mapped[bool] = mapped_column(Boolean)
    follow_dca: Mapped[bool] = mapped_column(Boolean)
    """Also take the channel's rebuy and DCA calls."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("channel_id", "user_id", name="uq_channel_subscriptions_channel_id"),
        Index("ix_channel_subscriptions_user_id_id", "user_id", "id"),
    )


class ChannelSignalRow(Base):
    """A partner's parent signal on a channel: the plan as sent, updated by its calls."""

    __tablename__ = "channel_signals"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    channel_id: Mapped[str] = mapped_column(ID, ForeignKey("channels.id", ondelete="CASCADE"))
    partner_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    """active, cancelled"""
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The signal as received (the dialect's body)."""
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The smart-trade settings it became, with every call applied (before per-user sizing)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_channel_signals_partner_id_id", "partner_id", "id"),)


class ChannelTradeRow(Base):
    """One channel signal on one subscriber's account: its smart-trade bot, or why it failed."""

    __tablename__ = "channel_trades"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    signal_id: Mapped[str] = mapped_column(ID, ForeignKey("channel_signals.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    subscription_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("channel_subscriptions.id", ondelete="SET NULL")
    )
    bot_id: Mapped[str | None] = mapped_column(ID, ForeignKey("bots.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    """started, failed"""
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_channel_trades_signal_id", "signal_id"),
        Index("ix_channel_trades_user_id_id", "user_id", "id"),
    )


class ChannelDeliveryRow(Base):
    """A partner's request as answered, so a duplicate gets the first answer (idempotency)."""

    __tablename__ = "channel_deliveries"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(String(128))
    """The idempotency key given, else a hash of the method, path and body."""
    keyed: Mapped[bool] = mapped_column(Boolean)
    """Whether ``dedup_key`` is the caller's key (kept) or a body hash (60 seconds)."""
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_channel_deliveries_partner_id_dedup_key", "partner_id", "dedup_key"),
    )


class JobColumns:
    """What backtest and sweep jobs both keep: what was asked, and where the job is."""

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    script: Mapped[str] = mapped_column(String(40))
    symbol: Mapped[str] = mapped_column(String(40))
    timeframe: Mapped[str] = mapped_column(String(8))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(24))
    """queued, loading_script, loading_data, executing, completed, failed, cancelled"""
    progress: Mapped[int] = mapped_column(BigInteger)
    """0 to 100"""
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BacktestRow(JobColumns, Base):
    """A backtest job and, once done, its results (kept, so they survive restarts; a job a
    restart cut off is failed with that reason)."""

    __tablename__ = "backtests"

    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """HaasOnline's summary, performance, orders and positions objects, and the run's counts."""
    positions: Mapped[list[Any] | None] = mapped_column(JSON)
    logs: Mapped[list[Any] | None] = mapped_column(JSON)
    equity: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_backtests_user_id_id", "user_id", "id"),)


class SweepRow(JobColumns, Base):
    """A parameter sweep (a backtest request with ``parameters`` and ``rank_by``): its counts
    and, once done, the ranked table (kept, as a backtest's results are; ``progress`` is the
    share of the combinations to run that are done)."""

    __tablename__ = "sweeps"

    combinations: Mapped[int] = mapped_column(BigInteger)
    """In the cartesian product of the parameters: skipped + completed + failed once done."""
    skipped: Mapped[int] = mapped_column(BigInteger)
    completed: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)
    results: Mapped[list[Any] | None] = mapped_column(JSON, deferred=True)
    """The ranked table, best first (up to one row per combination: read it on purpose)."""

    __table_args__ = (Index("ix_sweeps_user_id_id", "user_id", "id"),)


class JournalStrategyRow(Base):
    """A journal workspace: the trade records of one trading idea, owned by a user."""

    __tablename__ = "journal_strategies"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    visibility: Mapped[str] = mapped_column(String(8))
    """public (shown on the owner's public profile, when it is enabled) or private"""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_journal_strategies_user_id_id", "user_id", "id"),)


class JournalTradeRow(Base):
    """One trade or signal record of a journal strategy. ``origin`` says who made it:
    ``manual`` (an API client: may be changed and deleted) or ``tradewind`` (written from a
    linked bot's closed position: never changed or deleted)."""

    __tablename__ = "journal_trades"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    strategy_id: Mapped[str] = mapped_column(
        ID, ForeignKey("journal_strategies.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    """BUY or SELL"""
    status: Mapped[str] = mapped_column(String(10))
    """OPEN, CLOSED or CANCELLED"""
    event: Mapped[str] = mapped_column(String(8))
    """The last lifecycle event applied: entry, update or exit"""
    entry: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    stop_loss: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    take_profit: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    close_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signal_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timeframe: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    external_reference: Mapped[str | None] = mapped_column(String(128))
    signal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    market: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(String(16))
    """manual or tradewind"""
    bot_id: Mapped[str | None] = mapped_column(ID, ForeignKey("bots.id", ondelete="SET NULL"))
    position_ref: Mapped[str | None] = mapped_column(String(64))
    """The platform position a ``tradewind`` record was written from (one record each)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_journal_trades_strategy_id_id", "strategy_id", "id"),
        Index(
            "ix_journal_trades_strategy_id_external_reference", "strategy_id", "external_reference"
        ),
        UniqueConstraint(
            "strategy_id", "position_ref", name="uq_journal_trades_strategy_id_position_ref"
        ),
    )


class JournalBotLinkRow(Base):
    """A bot whose closed positions are written into a journal strategy."""

    __tablename__ = "journal_bot_links"

    bot_id: Mapped[str] = mapped_column(
        ID, ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True
    )
    strategy_id: Mapped[str] = mapped_column(
        ID, ForeignKey("journal_strategies.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExchangeAccountRow(Base):
    """A user's API credentials on an exchange. Only ciphertext (Fernet, under the master key
    kept outside the store) and a masked hint of the API key are stored."""

    __tablename__ = "exchange_accounts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    exchange: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100))
    api_key_enc: Mapped[str] = mapped_column(Text)
    api_key_hint: Mapped[str] = mapped_column(String(16))
    secret_enc: Mapped[str] = mapped_column(Text)
    passphrase_enc: Mapped[str | None] = mapped_column(Text)
    testnet: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    """The last check's outcome: verified, unverified (not reached) or rejected"""
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the exchange last accepted the credentials"""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_exchange_accounts_user_id_id", "user_id", "id"),)


class ExchangeMarketsRow(Base):
    """The last markets loaded from an exchange (normalised, as JSON), served while it is
    fresh and, with its age, while the exchange cannot be reached."""

    __tablename__ = "exchange_markets"

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    markets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
