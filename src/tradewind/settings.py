"""One settings object for the whole service; every knob has a ``TRADEWIND_*`` env var."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service configuration, read from ``TRADEWIND_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TRADEWIND_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./tradewind-data"), description="Where SQLite and market data live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite in data_dir when unset."
    )
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    log_json: bool = False

    jwt_secret: str | None = Field(
        default=None, description="HS256 key for login tokens; a key file in data_dir when unset."
    )
    jwt_ttl_seconds: int = Field(default=3600, ge=60)
    api_key_default_days: int = 90
    api_key_max_days: int = 365

    rate_limit_per_key: float = Field(
        default=100.0, gt=0, description="Requests per second per key."
    )
    rate_limit_per_ip: float = Field(default=300.0, gt=0, description="Requests per second per IP.")
    rate_limit_burst_seconds: float = Field(
        default=1.0, gt=0, description="Bucket depth, in seconds of the sustained rate."
    )
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    trust_forwarded_for: bool = False

    price_source: Literal["replay", "manual", "live"] = Field(
        default="replay",
        description="replay: bundled/imported candles played back; manual: prices pushed by tests or scripts; "
        "live: live_exchange's public prices, through CCXT.",
    )
    live_exchange: str = Field(
        default="binance",
        description="The exchange (a CCXT id) whose public prices paper accounts trade on when "
        "price_source is live.",
    )
    live_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often live prices are polled where CCXT has no websocket for the exchange; "
        "after a failure the wait doubles with each one, up to a minute.",
    )
    replay_bar_seconds: float = Field(
        default=60.0, gt=0, description="Wall-clock seconds one replayed bar lasts."
    )
    paper_tick_seconds: float = Field(
        default=0.25,
        ge=0,
        description="How often the paper venue advances prices; 0 stops the background ticker.",
    )
    platform_ips: list[str] = Field(
        default_factory=list,
        description="Static egress IPs users may whitelist on their exchange keys (JSON list in the env var).",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) encrypting exchange credentials at rest, comma-separated: the "
        "first encrypts, every one decrypts (rotation). A master.key file in data_dir when unset.",
    )
    markets_refresh_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How old an exchange's cached markets may get before a reload.",
    )
    signal_dedup_seconds: float = Field(
        default=60.0,
        ge=0,
        description="A signal with the same source, owner and body within this many seconds is a "
        "repeat delivery: answered with the first outcome, executed once.",
    )
    signal_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a signal's answer waits for its bots to act (TradingView gives up "
        "after 3 s); the signal is durable before, and executes anyway.",
    )
    engine_join_writes: bool = Field(
        default=True,
        description="Write each bot's state in the paper venue's transaction with the orders it "
        "places (one commit, nothing pending). Off: operations are written as pending, run, then "
        "cleared, as on a venue that cannot share the transaction (the crash tests use it).",
    )
    exchange_poll_seconds: float = Field(
        default=2.0, gt=0,
        description="How often a live exchange (CCXT) is polled: the prices of the symbols with "
        "bots or open orders (emulated stops trigger, bots waiting on a price wake), then the "
        "open orders (fills, cancellations).",
    )  # fmt: skip
    backtest_workers: int = Field(
        default=2, ge=1, le=64,
        description="Backtests run at once, each in its own process (more wait, queued).",
    )  # fmt: skip
    sweep_workers: int | None = Field(
        default=None, ge=1, le=256,
        description="Processes one parameter sweep runs its combinations on (default: one per core).",
    )  # fmt: skip
    sweep_max_combinations: int = Field(
        default=10_000, ge=1, description="The most combinations one parameter sweep may have."
    )
    backtest_max_span_days: int = Field(
        default=3660, ge=1, description="The longest period one backtest may cover."
    )
    ws_queue_size: int = Field(
        default=1000, ge=10, description="Messages a WebSocket client may fall behind by."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def effective_database_url(self) -> str:
        """The async SQLAlchemy URL actually used."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tradewind.db').resolve()}"


def normalise_database_url(url: str) -> str:
    """Map plain ``postgresql://`` / ``sqlite://`` URLs onto the async drivers we ship."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url
