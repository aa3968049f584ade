"""Exchange accounts: a user's API credentials on an exchange, checked, stored encrypted.

Adding one checks what can be checked without the exchange (it is supported, the key and
secret are there, the passphrase is there when the exchange needs one, a testnet exists when
asked for), then asks the exchange for the account's balances with the credentials: refused
credentials are refused here (nothing is stored); when the exchange cannot be reached the
account is stored ``unverified``, and saying why. The credentials are written only as
ciphertext; an API answers with the key's masked hint, never with a secret.

Each exchange account comes with the trading account it trades through (venue: the exchange,
``binance``, or its testnet, ``binance-testnet``), written with it: bots and orders name that
one. Deleting the keys is refused while a bot on that account runs; the trading account then
stays, detached, for its records.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.bots import RUNNING
from tradewind.domain.clock import Clock
from tradewind.domain.errors import Conflict, NotFound, ValidationFailed
from tradewind.domain.ids import PREFIX_EXCHANGE_ACCOUNT, new_id
from tradewind.domain.orders import PREFIX_ACCOUNT, PositionMode
from tradewind.logs import get_logger
from tradewind.services import exchanges
from tradewind.services.credentials import Credentials, Vault, mask
from tradewind.services.exchanges import ExchangeInfo
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.services.trading import Venues, live_venue_name
from tradewind.store.tables import BotRow, ExchangeAccountRow, TradingAccountRow
from tradewind.venues.ccxt import clients as exchange_clients
from tradewind.venues.ccxt.clients import CheckOutcome, ClientFactory, CredentialCheck

log = get_logger("tradewind.exchange_accounts")


class AccountStatus(StrEnum):
    """The outcome of the last check of the credentials against the exchange (not a
    lifecycle: any check may give any of them)."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    """Not checked: the exchange could not be reached (``last_error`` says why)."""
    REJECTED = "rejected"
    """A later check was refused by the exchange (revoked key, IP not whitelisted, ...)."""


@dataclass(frozen=True, slots=True)
class CredentialFields:
    """What an API calls the credential fields, so its refusals name its own fields."""

    exchange: str = "exchange"
    api_key: str = "api_key"
    secret: str = "secret"  # noqa: S105 - a field name
    passphrase: str = "passphrase"  # noqa: S105 - a field name
    testnet: str = "testnet"


NATIVE_FIELDS = CredentialFields()


@dataclass(frozen=True, slots=True)
class NewExchangeAccount:
    exchange: str
    credentials: Credentials
    label: str | None = None


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


def validate(
    new: NewExchangeAccount, fields: CredentialFields = NATIVE_FIELDS
) -> tuple[ExchangeInfo, Credentials]:
    """The exchange and the credentials to store, or ValidationFailed naming the field. A
    passphrase the exchange does not use is dropped (a secret not kept is one not leaked)."""
    info = exchanges.find(new.exchange)
    if info is None:
        raise _invalid(fields.exchange, f"{new.exchange!r} is not a supported exchange")
    if info.id == exchanges.PAPER_ID:
        raise _invalid(
            fields.exchange,
            "paper accounts need no exchange credentials: open one as a trading account",
        )
    c = new.credentials
    api_key, secret = c.api_key.strip(), c.secret.strip()
    if not api_key:
        raise _invalid(fields.api_key, "the exchange API key is required")
    if not secret:
        raise _invalid(fields.secret, "the exchange API secret is required")
    passphrase = (c.passphrase or "").strip() or None
    if info.requires_passphrase and passphrase is None:
        raise _invalid(
            fields.passphrase, f"{info.name} API keys have a passphrase: it is required here"
        )
    if c.testnet and not info.has_testnet:
        raise _invalid(fields.testnet, f"{info.name} has no testnet")
    return info, Credentials(
        api_key=api_key,
        secret=secret,
        passphrase=passphrase if info.requires_passphrase else None,
        testnet=c.testnet,
    )


async def check(
    clients: ClientFactory,
    info: ExchangeInfo,
    credentials: Credentials,
    fields: CredentialFields = NATIVE_FIELDS,
) -> CredentialCheck:
    """Ask the exchange; ValidationFailed naming the credentials when it refuses them."""
    result = await exchange_clients.check_credentials(clients, info.id, credentials)
    if result.outcome is CheckOutcome.REJECTED:
        message = f"{info.name} refused these credentials ({result.reason})"
        if info.manage_url:
            message += f"; check the key, its permissions and its IP whitelist at {info.manage_url}"
        raise ValidationFailed(
            message,
            details=[
                {"field": fields.api_key, "message": message},
                {"field": fields.secret, "message": "refused with the key"},
            ],
        )
    return result


def _status(result: CredentialCheck) -> AccountStatus:
    return {
        CheckOutcome.ACCEPTED: AccountStatus.VERIFIED,
        CheckOutcome.REJECTED: AccountStatus.REJECTED,
        CheckOutcome.UNCHECKED: AccountStatus.UNVERIFIED,
    }[result.outcome]


async def add(
    session: AsyncSession,
    vault: Vault,
    clock: Clock,
    user_id: str,
    info: ExchangeInfo,
    credentials: Credentials,
    result: CredentialCheck,
    label: str | None = None,
) -> ExchangeAccountRow:
    """Store checked credentials, encrypted (``validate`` and ``check`` first)."""
    now = clock.now()
    status = _status(result)
    row = ExchangeAccountRow(
        id=new_id(PREFIX_EXCHANGE_ACCOUNT),
        user_id=user_id,
        exchange=info.id,
        label=(label or "").strip()
        or (f"{info.name} testnet" if credentials.testnet else info.name),
        api_key_enc=vault.encrypt(credentials.api_key),
        api_key_hint=mask(credentials.api_key),
        secret_enc=vault.encrypt(credentials.secret),
        passphrase_enc=vault.encrypt(credentials.passphrase) if credentials.passphrase else None,
        testnet=credentials.testnet,
        status=status.value,
        validated_at=now if status is AccountStatus.VERIFIED else None,
        last_error=result.reason,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    session.add(TradingAccountRow(
        id=new_id(PREFIX_ACCOUNT), user_id=user_id, venue=live_venue_name(info.id, row.testnet),
        name=row.label, mode=PositionMode.NETTING.value, leverage=Decimal(1), currency="USDT",
        is_default=False, initial_balances={}, leverages={}, created_at=now, exchange_account_id=row.id,
    ))  # fmt: skip
    await session.flush()
    log.info(
        "exchange account added", account_id=row.id, exchange=info.id, status=status.value,
        testnet=credentials.testnet,
    )  # fmt: skip
    return row


async def _linked_trading_account(
    session: AsyncSession, row: ExchangeAccountRow
) -> TradingAccountRow | None:
    return await session.scalar(
        select(TradingAccountRow).where(TradingAccountRow.exchange_account_id == row.id)
    )


async def trading_account_of(session: AsyncSession, row: ExchangeAccountRow) -> TradingAccountRow:
    """The trading account an exchange account trades through (``add`` makes it)."""
    found = await _linked_trading_account(session, row)
    if found is None:
        raise NotFound("the exchange account has no trading account")
    return found


async def create_exchange_account(
    session: AsyncSession,
    vault: Vault,
    clients: ClientFactory,
    clock: Clock,
    user_id: str,
    new: NewExchangeAccount,
    fields: CredentialFields = NATIVE_FIELDS,
) -> ExchangeAccountRow:
    """Validate, check against the exchange (before any write: no transaction waits on the
    network), store."""
    info, credentials = validate(new, fields)
    result = await check(clients, info, credentials, fields)
    return await add(session, vault, clock, user_id, info, credentials, result, new.label)


async def list_exchange_accounts(
    session: AsyncSession, user_id: str, limit: int, cursor: str | None
) -> Page[ExchangeAccountRow]:
    stmt = select(ExchangeAccountRow).where(ExchangeAccountRow.user_id == user_id)
    rows = (await session.scalars(paginate(stmt, ExchangeAccountRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def get_exchange_account(
    session: AsyncSession, user_id: str, account_id: str
) -> ExchangeAccountRow:
    """The user's exchange account; NotFound for anyone else's."""
    row = await session.get(ExchangeAccountRow, account_id)
    if row is None or row.user_id != user_id:
        raise NotFound("exchange account not found")
    return row


async def delete_exchange_account(
    session: AsyncSession, venues: Venues, user_id: str, account_id: str
) -> None:
    """Delete the keys. Refused (Conflict) while a bot of its trading account is active or
    paused: stop them first (their open orders are cancelled then). The trading account stays,
    detached (``exchange_account_id`` None), with its orders, fills and bots' records, and
    leaves its venue once this is committed (committed here first, as a bot is before the
    engine gets it)."""
    row = await get_exchange_account(session, user_id, account_id)
    trading = await _linked_trading_account(session, row)
    if trading is not None:
        running = await session.scalar(
            select(func.count()).select_from(BotRow).where(
                BotRow.account_id == trading.id, BotRow.deleted_at.is_(None),
                BotRow.status.in_(RUNNING),
            )
        )  # fmt: skip
        if running:
            raise Conflict(
                f"{running} bot(s) trade with these keys (account {trading.id}); "
                "stop them before deleting the keys"
            )
        trading.exchange_account_id = None
    await session.delete(row)
    await session.flush()
    log.info("exchange account deleted", account_id=account_id, exchange=row.exchange)
    await session.commit()
    if trading is not None:
        await venues.forget_account(trading.venue, trading.id)


async def recheck(
    session: AsyncSession,
    vault: Vault,
    clients: ClientFactory,
    clock: Clock,
    user_id: str,
    account_id: str,
) -> ExchangeAccountRow:
    """Check the stored credentials again and record the outcome (a refusal is recorded as
    ``rejected``, not raised: the account exists either way)."""
    row = await get_exchange_account(session, user_id, account_id)
    credentials = credentials_of(row, vault)
    result = await exchange_clients.check_credentials(clients, row.exchange, credentials)
    status = _status(result)
    row.status, row.last_error = status.value, result.reason
    if status is AccountStatus.VERIFIED:
        row.validated_at = clock.now()
    await session.flush()
    return row


def credentials_of(row: ExchangeAccountRow, vault: Vault) -> Credentials:
    """A stored account's credentials, decrypted (for a unit of work on a sync session)."""
    return Credentials(
        api_key=vault.decrypt(row.api_key_enc),
        secret=vault.decrypt(row.secret_enc),
        passphrase=vault.decrypt(row.passphrase_enc) if row.passphrase_enc else None,
        testnet=row.testnet,
    )


async def decrypted_credentials(
    session: AsyncSession, vault: Vault, account_id: str, user_id: str
) -> Credentials:
    """The credentials of one of the user's exchange accounts, to build a client with;
    NotFound for anyone else's."""
    return credentials_of(await get_exchange_account(session, user_id, account_id), vault)


async def user_trading_account(session: AsyncSession, user_id: str) -> str | None:
    """The trading account of the user's first exchange account (``user_exchange``'s), if
    any: where a HaasOnline user made with exchange keys trades."""
    stmt = (
        select(TradingAccountRow.id)
        .join(ExchangeAccountRow, TradingAccountRow.exchange_account_id == ExchangeAccountRow.id)
        .where(ExchangeAccountRow.user_id == user_id)
        .order_by(ExchangeAccountRow.id)
        .limit(1)
    )
    account: str | None = await session.scalar(stmt)
    return account


async def user_exchange(session: AsyncSession, user_id: str) -> str | None:
    """The exchange of the user's first exchange account, if any."""
    stmt = (
        select(ExchangeAccountRow.exchange)
        .where(ExchangeAccountRow.user_id == user_id)
        .order_by(ExchangeAccountRow.id)
        .limit(1)
    )
    exchange: str | None = await session.scalar(stmt)
    return exchange
