"""CCXT clients for the services: the exchange registry's metadata, markets, credential checks,
and the clients a live venue trades through. Clients are made by a
``ClientFactory`` held on the runtime (tests pass one pointed at a local fake); CCXT's errors
become domain errors or check outcomes here, and go no further.

Clients log through a logger held at INFO whatever the process's level: CCXT logs every
request's headers at DEBUG, and those carry the API key (and, on OKX, the passphrase)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import ccxt
import ccxt.async_support as ccxt_async

from tradewind.domain.errors import VenueUnavailable
from tradewind.logs import get_logger

log = get_logger("tradewind.exchanges")

CLIENT_LOG = logging.getLogger("tradewind.ccxt")
CLIENT_LOG.setLevel(logging.INFO)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An exchange account's credentials, decrypted: handed to an exchange client, never to
    an API answer or a log line (the ``repr`` shows none of them)."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)
    testnet: bool = False


class ClientFactory(Protocol):
    """Makes an async CCXT client for one exchange, with credentials or without."""

    def __call__(self, exchange_id: str, credentials: Credentials | None = None) -> Any: ...


def ccxt_client(
    exchange_id: str,
    credentials: Credentials | None = None,
    *,
    config: Mapping[str, Any] | None = None,
) -> Any:
    """A client of the real exchange (its testnet when the credentials say so)."""
    options: dict[str, Any] = {"enableRateLimit": True, "logger": CLIENT_LOG, **(config or {})}
    if credentials is not None:
        options |= {"apiKey": credentials.api_key, "secret": credentials.secret}
        if credentials.passphrase:
            options["password"] = credentials.passphrase
    client = getattr(ccxt_async, exchange_id)(options)
    if credentials is not None and credentials.testnet:
        client.set_sandbox_mode(True)
    return client


def exchange_ids() -> frozenset[str]:
    """Every exchange this CCXT release has a client for."""
    return frozenset(ccxt.exchanges)


@functools.cache
def describe(exchange_id: str) -> Mapping[str, Any]:
    """CCXT's metadata of an exchange (urls, credentials it needs, what it has); cached:
    building it costs a few milliseconds per exchange."""
    described: Mapping[str, Any] = getattr(ccxt, exchange_id)().describe()
    return described


async def fetch_markets(
    clients: ClientFactory, exchange_id: str
) -> tuple[list[dict[str, Any]], int]:
    """CCXT's unified markets of an exchange and its precision mode (``TICK_SIZE``,
    ``DECIMAL_PLACES`` or ``SIGNIFICANT_DIGITS``); VenueUnavailable when it cannot be had."""
    client = clients(exchange_id)
    try:
        markets = await client.load_markets()
        return list(markets.values()), int(client.precisionMode)
    except ccxt.BaseError as e:
        raise VenueUnavailable(f"{exchange_id} markets could not be loaded: {_reason(e)}") from e
    finally:
        await client.close()


class CheckOutcome(StrEnum):
    ACCEPTED = "accepted"
    """The exchange answered a private call with these credentials."""
    REJECTED = "rejected"
    """The exchange (or the client, signing with them) refused the credentials."""
    UNCHECKED = "unchecked"
    """The exchange could not be reached, or failed for a reason that says nothing of them."""


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    outcome: CheckOutcome
    reason: str | None = None


async def check_credentials(
    clients: ClientFactory, exchange_id: str, credentials: Credentials
) -> CredentialCheck:
    """Ask the exchange for the account's balances with these credentials. The reason given
    never contains a credential (the exchange's message is scrubbed of them)."""
    client = clients(exchange_id, credentials)
    try:
        await client.fetch_balance()
        return CredentialCheck(CheckOutcome.ACCEPTED)
    except ccxt.AuthenticationError as e:  # PermissionDenied, AccountSuspended included
        return CredentialCheck(CheckOutcome.REJECTED, _scrub(_reason(e), credentials))
    except ccxt.BaseError as e:
        return CredentialCheck(CheckOutcome.UNCHECKED, _scrub(_reason(e), credentials))
    except Exception as e:  # the client failed to sign: a malformed secret (bad base64, PEM)
        log.info(
            "credential check failed in the client", exchange=exchange_id, error=type(e).__name__
        )
        return CredentialCheck(
            CheckOutcome.REJECTED,
            f"the secret could not be used to sign a request ({type(e).__name__})",
        )
    finally:
        await client.close()


def _reason(e: Exception) -> str:
    """CCXT's message, without query strings (timestamps and signatures say nothing)."""
    text = _QUERY.sub("", str(e)) or type(e).__name__
    return f"{type(e).__name__}: {text[:300]}"


_QUERY = re.compile(r"\?\S*")


def _scrub(text: str, credentials: Credentials) -> str:
    for value in (credentials.secret, credentials.passphrase, credentials.api_key):
        if value and len(value) >= 4:  # shorter ones would blot out ordinary words
            text = text.replace(value, "***")
    return text
