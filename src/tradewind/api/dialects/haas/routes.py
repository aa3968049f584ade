"""HaasOnline's partner operations that need no bot engine: exchanges, markets, and the users
a partner manages. The document names operations but few paths; these are plain ones, each a
POST with the document's JSON body where the document shows one (listed in the OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tradewind.api.deps import RuntimeDep, SessionDep, require_scope
from tradewind.api.dialects.haas import exchanges as views
from tradewind.api.dialects.haas.envelope import ok
from tradewind.api.registry import public_router
from tradewind.domain.accounts import Role, Scope
from tradewind.domain.bots import BotStatus
from tradewind.domain.errors import Forbidden, ValidationFailed
from tradewind.domain.instruments import Instrument, InstrumentKind
from tradewind.services import accounts, bots, exchange_accounts, exchanges, trading
from tradewind.services.api_keys import Principal
from tradewind.services.credentials import Credentials
from tradewind.services.exchange_accounts import NewExchangeAccount
from tradewind.services.pagination import decode_cursor
from tradewind.services.trading import TESTNET_SUFFIX
from tradewind.store.tables import UserRow

router = public_router(prefix="/compat/haas", tags=["dialect: haas"])

PAPER_ID = "PAPER"
SIM_KEY = "sim"
DEFAULT_PAGE = 10_000  # the document: -1 means the default page size


async def _partner(
    principal: Annotated[Principal, Depends(require_scope(Scope.FULL))],
) -> Principal:
    if principal.role is not Role.PARTNER:
        raise Forbidden("only partner accounts use the white-label API")
    return principal


Partner = Annotated[Principal, Depends(_partner)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PageRequest(Body):
    limit: int = -1
    next_page_id: str | None = Field(default=None, alias="nextPageId")


def page_args(body: PageRequest) -> tuple[int, str | None]:
    """The page size (``-1`` is the default) and the cursor (``""`` is none), checked here so
    a bad one is refused naming the document's field."""
    limit = DEFAULT_PAGE if body.limit == -1 else body.limit
    if not 1 <= limit <= DEFAULT_PAGE:
        raise ValidationFailed(
            "invalid limit", details=[{"field": "limit", "message": f"1 to {DEFAULT_PAGE}, or -1"}]
        )
    cursor = body.next_page_id or None
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValidationFailed:
            raise ValidationFailed(
                "invalid nextPageId",
                details=[{"field": "nextPageId", "message": "not a nextPageId from this API"}],
            ) from None
    return limit, cursor


class UserRef(Body):
    user_id: str = Field(alias="userId", min_length=1)


class UserCreate(Body):
    exchange_id: str = Field(alias="exchangeId", min_length=1)
    public_key: SecretStr = Field(
        alias="publicKey", min_length=1, description='"sim" makes a paper account.'
    )
    secret_key: SecretStr = Field(alias="secretKey", min_length=1)
    extra_key: SecretStr | None = Field(
        default=None, alias="extraKey", description="The passphrase, where the exchange has one."
    )
    exchange_user_id: str | None = Field(default=None, alias="exchangeUserId")


def haas_symbol(i: Instrument, exchange: str = PAPER_ID) -> str:
    """``PAPER_BTC_USDT_`` for spot, ``PAPER_BTC_USDT_PERPETUAL`` / ``PAPER_EUR_USD_EURUSD``
    for contracts (exchange, base, quote, contract: the document's format); on an exchange
    ``BINANCE_BTC_USDT_``."""
    contract = (
        ""
        if i.kind is InstrumentKind.SPOT
        else ("PERPETUAL" if i.kind is InstrumentKind.PERPETUAL else i.symbol)
    )
    return f"{exchange}_{i.base}_{i.quote}_{contract}"


def exchange_of(venue_name: str) -> str:
    """The HaasOnline id of a venue's exchange: ``PAPER``, ``BINANCE`` (its testnet's too)."""
    return exchanges.get(venue_name.removesuffix(TESTNET_SUFFIX)).haas_id


def market(i: Instrument, now_s: int) -> dict[str, Any]:
    exchange_symbol = i.symbol.replace("/", "").split(":")[0]
    return {
        "exchangeId": PAPER_ID, "name": f"{i.base}/{i.quote} {exchange_symbol}",
        "fullName": f"Tradewind Paper {exchange_symbol}", "symbol": haas_symbol(i),
        "exchangeSymbol": exchange_symbol, "baseCurrency": i.base, "quoteCurrency": i.quote,
        "priceDecimals": i.price_decimals, "amountDecimals": i.amount_decimals,
        "minimumTradeAmount": float(i.min_amount), "minimumTradeVolume": float(i.min_notional),
        "amountLabel": i.base if i.kind is InstrumentKind.SPOT else "contracts", "profitLabel": i.quote,
        "isSpot": i.kind is InstrumentKind.SPOT, "isLeverage": i.is_derivative, "isOpen": True,
        "timestamp": now_s,
    }  # fmt: skip


async def _user_view(session: SessionDep, row: UserRow) -> dict[str, Any]:
    counts = await bots.status_counts(session, row.id)
    active = counts.get(BotStatus.ACTIVE.value, 0)
    exchange = await exchange_accounts.user_exchange(session, row.id)
    return {
        "userId": row.id, "exchangeId": exchange.upper() if exchange else PAPER_ID,
        "exchangeUserId": row.exchange_user_id,
        "createdAt": int(row.created_at.timestamp()),
        # started: running now, paused included; active: running and trading
        "botsStarted": active + counts.get(BotStatus.PAUSED.value, 0), "botsActive": active,
    }  # fmt: skip


@router.get("/exchanges", summary="Exchanges enabled for the partner")
async def list_exchanges(principal: Partner) -> dict[str, Any]:
    return ok([e.haas() for e in exchanges.supported()])


@router.get(
    "/markets",
    summary="Every market of the enabled exchanges (the paper venue's, and each exchange's "
    "cached copy); with exchangeId, that exchange's, loaded when none is cached",
)
async def markets(
    principal: Partner,
    runtime: RuntimeDep,
    exchange_id: Annotated[str | None, Query(alias="exchangeId")] = None,
) -> dict[str, Any]:
    now_s = int(runtime.clock.now().timestamp())
    paper = [market(i, now_s) for i in runtime.venues.paper.instruments.values()]
    if exchange_id is not None:
        info = exchanges.get(exchange_id)
        if info.id == exchanges.PAPER_ID:
            return ok(paper)
        return ok(views.markets_view(info, await runtime.exchange_markets.get(info.id)))
    out = paper
    for info in exchanges.supported():
        if info.id != exchanges.PAPER_ID:
            cached = await runtime.exchange_markets.cached(info.id)
            out += views.markets_view(info, cached) if cached is not None else []
    return ok(out)


@router.post("/users/list", summary="The partner's users, paginated (limit, nextPageId)")
async def list_users(body: PageRequest, principal: Partner, session: SessionDep) -> dict[str, Any]:
    limit, cursor = page_args(body)
    page = await accounts.managed_users(session, principal.user_id, limit, cursor)
    items = [await _user_view(session, r) for r in page.items]
    return ok({"items": items, "nextPageId": page.next_cursor})


@router.post("/users/get", summary="One of the partner's users")
async def get_user(body: UserRef, principal: Partner, session: SessionDep) -> dict[str, Any]:
    return ok(
        await _user_view(
            session, await accounts.get_managed_user(session, principal.user_id, body.user_id)
        )
    )


@router.post(
    "/users/create", summary='Create a user with exchange credentials (publicKey "sim" for paper)'
)
async def create_user(
    body: UserCreate, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """``sim``: a paper account. Real keys take the native exchange-account path: checked
    against the exchange first (refused keys make no user), stored encrypted."""
    if body.public_key.get_secret_value() == SIM_KEY:
        row = await accounts.create_managed_user(
            session, runtime.clock, principal.user_id, exchange_user_id=body.exchange_user_id
        )
        await session.commit()  # durable before the venue's own transaction opens the account
        await trading.default_account(session, runtime.venues, row.id)  # as a sign-up's
        return ok(row.id)
    credentials = Credentials(
        api_key=body.public_key.get_secret_value(),
        secret=body.secret_key.get_secret_value(),
        passphrase=body.extra_key.get_secret_value() if body.extra_key else None,
    )
    new = NewExchangeAccount(exchange=body.exchange_id, credentials=credentials)
    info, credentials = exchange_accounts.validate(new, views.FIELDS)
    result = await exchange_accounts.check(
        runtime.exchange_clients, info, credentials, views.FIELDS
    )
    row = await accounts.create_managed_user(
        session, runtime.clock, principal.user_id, exchange_user_id=body.exchange_user_id
    )
    added = await exchange_accounts.add(
        session, runtime.vault, runtime.clock, row.id, info, credentials, result
    )
    await runtime.live.link(session, added)
    return ok(row.id)


@router.post("/users/delete", summary="Delete a user (refused while it has active bots)")
async def delete_user(
    body: UserRef, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    await accounts.get_managed_user(session, principal.user_id, body.user_id)
    await bots.check_user_deletable(session, body.user_id)
    await trading.close_user_accounts(session, runtime.venues, body.user_id)
    await accounts.delete_managed_user(session, principal.user_id, body.user_id)
    return ok(True)
