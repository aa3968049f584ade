"""Exchanges (the registry), their markets, your exchange accounts, and the platform's
egress IPs."""

from __future__ import annotations

from datetime import datetime

from fastapi import Response, status
from pydantic import BaseModel, Field, SecretStr

from tradewind.api.deps import FullScope, ReadScope, RuntimeDep, SessionDep
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.api.v1.trading_schemas import OptDec
from tradewind.services import exchange_accounts, exchanges
from tradewind.services.credentials import Credentials
from tradewind.services.exchange_accounts import AccountStatus, NewExchangeAccount
from tradewind.services.exchanges import ExchangeInfo
from tradewind.services.markets import Market, MarketsSnapshot, MarketType
from tradewind.store.tables import ExchangeAccountRow

router = public_router()
ACCOUNT = "/exchange-accounts/{account_id}"


class ExchangeRead(BaseModel):
    id: str
    name: str
    tier: int = Field(description="1: the largest venues; 2: supported the same way, fewer users.")
    requires_passphrase: bool
    requires_rsa: bool = Field(description="The secret is a private key (PEM), not an HMAC secret.")
    has_testnet: bool
    has_futures: bool
    has_spot: bool
    has_margin: bool
    doc_url: str | None
    manage_url: str | None = Field(description="Where API keys are made on the exchange.")
    www_url: str | None
    verified: bool = Field(
        description="Tradewind's tests run this exchange's client against a fake of its API."
    )

    @classmethod
    def of(cls, e: ExchangeInfo) -> ExchangeRead:
        return cls(
            id=e.id, name=e.name, tier=e.tier, requires_passphrase=e.requires_passphrase,
            requires_rsa=e.requires_rsa, has_testnet=e.has_testnet, has_futures=e.has_futures,
            has_spot=e.has_spot, has_margin=e.has_margin, doc_url=e.doc_url, manage_url=e.manage_url,
            www_url=e.www_url, verified=e.verified,
        )  # fmt: skip


class MarketRead(BaseModel):
    symbol: str = Field(description="BASE/QUOTE; BASE/QUOTE:SETTLE for perpetuals.")
    exchange_symbol: str
    base: str
    quote: str
    settle: str | None
    type: MarketType
    active: bool
    tick_size: OptDec
    amount_step: OptDec
    price_decimals: int | None
    amount_decimals: int | None
    min_amount: OptDec
    min_notional: OptDec
    max_leverage: OptDec
    contract_size: OptDec

    @classmethod
    def of(cls, m: Market) -> MarketRead:
        return cls(
            symbol=m.symbol, exchange_symbol=m.exchange_symbol, base=m.base, quote=m.quote,
            settle=m.settle, type=m.type, active=m.active, tick_size=m.tick_size,
            amount_step=m.amount_step, price_decimals=m.price_decimals,
            amount_decimals=m.amount_decimals, min_amount=m.min_amount, min_notional=m.min_notional,
            max_leverage=m.max_leverage, contract_size=m.contract_size,
        )  # fmt: skip


class MarketsRead(BaseModel):
    exchange: str
    fetched_at: datetime = Field(description="When these markets were loaded from the exchange.")
    age_seconds: float
    stale: bool = Field(
        description="Older than the refresh interval: the exchange could not be reached."
    )
    error: str | None = Field(description="Why the last reload failed, when stale.")
    count: int
    markets: list[MarketRead]

    @classmethod
    def of(cls, s: MarketsSnapshot, type: MarketType | None) -> MarketsRead:
        markets = [MarketRead.of(m) for m in s.markets if type is None or m.type is type]
        return cls(
            exchange=s.exchange, fetched_at=s.fetched_at, age_seconds=round(s.age_seconds, 3),
            stale=s.stale, error=s.error, count=len(markets), markets=markets,
        )  # fmt: skip


class ExchangeAccountCreate(Model):
    exchange: str = Field(min_length=1, max_length=32, description="An id from GET /exchanges.")
    api_key: SecretStr = Field(min_length=1, max_length=512)
    secret: SecretStr = Field(
        min_length=1, max_length=8192, description="The API secret (or PEM private key)."
    )
    passphrase: SecretStr | None = Field(
        default=None, max_length=512, description="Required where the exchange has one."
    )
    testnet: bool = False
    label: str | None = Field(default=None, max_length=100)


class ExchangeAccountRead(BaseModel):
    account_id: str
    exchange: str
    label: str
    api_key_hint: str = Field(
        description="The key's first and last characters; secrets are never shown."
    )
    has_passphrase: bool
    testnet: bool
    status: AccountStatus = Field(
        description="verified: the exchange accepted the credentials; unverified: it could not "
        "be reached to check them; rejected: a later check was refused."
    )
    validated_at: datetime | None
    last_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: ExchangeAccountRow) -> ExchangeAccountRead:
        return cls(
            account_id=row.id, exchange=row.exchange, label=row.label, api_key_hint=row.api_key_hint,
            has_passphrase=row.passphrase_enc is not None, testnet=row.testnet,
            status=AccountStatus(row.status), validated_at=row.validated_at,
            last_error=row.last_error, created_at=row.created_at,
        )  # fmt: skip


class PlatformIps(BaseModel):
    ips: list[str] = Field(description="Whitelist these on your exchange API keys.")


# ---- exchanges ---------------------------------------------------------------------------


@router.get("/exchanges", response_model=list[ExchangeRead], responses=errors(401),
            tags=["exchanges"], summary="Supported exchanges")  # fmt: skip
async def list_exchanges(principal: ReadScope) -> list[ExchangeRead]:
    return [ExchangeRead.of(e) for e in exchanges.supported()]


@router.get("/exchanges/{exchange_id}", response_model=ExchangeRead, responses=errors(401, 404),
            tags=["exchanges"], summary="One exchange")  # fmt: skip
async def get_exchange(exchange_id: str, principal: ReadScope) -> ExchangeRead:
    return ExchangeRead.of(exchanges.get(exchange_id))


@router.get("/exchanges/{exchange_id}/markets", response_model=MarketsRead,
            responses=errors(401, 404, 503), tags=["exchanges"],
            summary="An exchange's markets (cached; stale with its age when the exchange is down)")  # fmt: skip
async def exchange_markets(
    exchange_id: str, principal: ReadScope, runtime: RuntimeDep, type: MarketType | None = None
) -> MarketsRead:
    return MarketsRead.of(await runtime.exchange_markets.get(exchange_id), type)


@router.get("/platform-ips", response_model=PlatformIps, responses=errors(401),
            tags=["exchanges"], summary="The platform's egress IPs")  # fmt: skip
async def platform_ips(principal: ReadScope, runtime: RuntimeDep) -> PlatformIps:
    return PlatformIps(ips=list(runtime.settings.platform_ips))


# ---- exchange accounts -------------------------------------------------------------------


@router.post("/exchange-accounts", status_code=status.HTTP_201_CREATED,
             response_model=ExchangeAccountRead, responses=errors(401, 403, 404, 422),
             tags=["exchange accounts"],
             summary="Add exchange credentials (checked against the exchange when it can be reached)")  # fmt: skip
async def create_exchange_account(
    body: ExchangeAccountCreate, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> ExchangeAccountRead:
    credentials = Credentials(
        api_key=body.api_key.get_secret_value(),
        secret=body.secret.get_secret_value(),
        passphrase=body.passphrase.get_secret_value() if body.passphrase else None,
        testnet=body.testnet,
    )
    row = await exchange_accounts.create_exchange_account(
        session, runtime.vault, runtime.exchange_clients, runtime.clock, principal.user_id,
        NewExchangeAccount(exchange=body.exchange, credentials=credentials, label=body.label),
    )  # fmt: skip
    await runtime.live.link(session, row)
    return ExchangeAccountRead.of(row)


@router.get("/exchange-accounts", response_model=PageOf[ExchangeAccountRead],
            responses=errors(401), tags=["exchange accounts"], summary="Your exchange accounts")  # fmt: skip
async def list_exchange_accounts(
    principal: ReadScope, session: SessionDep, limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
) -> PageOf[ExchangeAccountRead]:  # fmt: skip
    page = await exchange_accounts.list_exchange_accounts(session, principal.user_id, limit, cursor)
    return PageOf(
        data=[ExchangeAccountRead.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get(ACCOUNT, response_model=ExchangeAccountRead, responses=errors(401, 404),
            tags=["exchange accounts"], summary="One exchange account")  # fmt: skip
async def get_exchange_account(
    account_id: str, principal: ReadScope, session: SessionDep
) -> ExchangeAccountRead:
    row = await exchange_accounts.get_exchange_account(session, principal.user_id, account_id)
    return ExchangeAccountRead.of(row)


@router.post(ACCOUNT + "/verify", response_model=ExchangeAccountRead, responses=errors(401, 403, 404),
             tags=["exchange accounts"], summary="Check the stored credentials against the exchange again")  # fmt: skip
async def verify_exchange_account(
    account_id: str, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> ExchangeAccountRead:
    row = await exchange_accounts.recheck(
        session,
        runtime.vault,
        runtime.exchange_clients,
        runtime.clock,
        principal.user_id,
        account_id,
    )
    return ExchangeAccountRead.of(row)


@router.delete(ACCOUNT, status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404, 409),
               tags=["exchange accounts"],
               summary="Delete an exchange account and its credentials (not while its bots run)")  # fmt: skip
async def delete_exchange_account(
    account_id: str, principal: FullScope, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await exchange_accounts.delete_exchange_account(
        session, runtime.venues, principal.user_id, account_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
