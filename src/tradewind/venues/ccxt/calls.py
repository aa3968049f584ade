"""Calling an exchange through CCXT: which errors are worth another try, how long to wait, and
what each refusal means to the platform. Nothing above ``venues/ccxt`` imports ``ccxt``.

Retries. A read or a cancel is safe to repeat: it is tried again after a rate limit (waiting
the ``Retry-After`` the exchange asked for, else the backoff), a timeout, a network error or an
exchange that is down or in maintenance. A placement is different: a timeout or a dropped
connection may come after the exchange accepted the order, so the caller looks the order up
by its client id before sending it again (``CcxtVenue`` does; see ``create``). A rate limit
refused the request before it was processed, so a placement is sent again after the wait.
Everything else is an answer, translated once and never retried.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt.async_support as ccxt

from tradewind.domain.errors import (
    DomainError,
    InsufficientFunds,
    NotFound,
    RateLimited,
    VenueUnavailable,
)
from tradewind.domain.instruments import InvalidOrder
from tradewind.logs import get_logger

log = get_logger("tradewind.ccxt")
T = TypeVar("T")

RETRYABLE = (ccxt.NetworkError,)
"""Timeouts, dropped connections, 5xx, maintenance, rate limits: nothing was answered."""
RATE_LIMITS = (ccxt.RateLimitExceeded, ccxt.DDoSProtection)


class VenueRefused(DomainError):
    """The exchange refused the request for a reason of its own (its message is kept)."""

    code = "venue_refused"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a request is tried again."""

    attempts: int = 6
    """Tries in all (the first one included)."""
    backoff: float = 0.25
    """Seconds before the second try; doubled for each further one, up to ``max_wait``."""
    max_wait: float = 10.0
    """The longest wait between two tries, also for a ``Retry-After``."""
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def waits(self) -> Iterator[float]:
        """The backoff before each try after the first."""
        for n in range(self.attempts - 1):
            yield min(self.backoff * 2**n, self.max_wait)


def retry_after(client: Any, error: Exception) -> float | None:
    """The seconds a rate-limited exchange asked us to wait (``Retry-After``), if it said."""
    headers = getattr(client, "last_response_headers", None) or {}
    for key, value in headers.items():
        if str(key).lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def translate(error: Exception, *, exchange: str, client: Any = None) -> DomainError:
    """The platform's error for a CCXT error, with the exchange's own message kept (and, for a
    rate limit, the ``Retry-After`` it asked for when ``client`` has its answer's headers)."""
    message = _message(error)
    if isinstance(error, ccxt.InsufficientFunds):
        return InsufficientFunds(f"Insufficient funds on {exchange}: {message}")
    if isinstance(error, ccxt.OrderNotFound):
        return NotFound(f"Order not found on {exchange}: {message}")
    if isinstance(error, (ccxt.InvalidOrder, ccxt.BadRequest)):  # Binance: NOTIONAL is a 400
        return InvalidOrder(f"{exchange} refused the order: {message}", "order")
    if isinstance(error, RATE_LIMITS):
        asked = retry_after(client, error) if client is not None else None
        return RateLimited(f"{exchange} rate limit: {message}", retry_after=asked or 1.0)
    if isinstance(error, ccxt.NetworkError):
        return VenueUnavailable(f"{exchange} is unavailable: {message}")
    if isinstance(error, ccxt.AuthenticationError):
        return VenueRefused(f"{exchange} refused the credentials: {message}")
    return VenueRefused(f"{exchange} refused: {message}")


def _message(error: Exception) -> str:
    """CCXT puts the exchange's JSON after the exchange id: keep the exchange's words."""
    text = str(error).strip()
    if "{" in text and text.endswith("}"):
        import json

        try:
            body = json.loads(text[text.index("{") :])
        except ValueError:
            return text
        if isinstance(body, dict):
            found = body.get("msg") or body.get("message") or body.get("error")
            if isinstance(found, str) and found:
                return found
    return text


async def call(
    client: Any, request: Callable[[], Awaitable[T]], *, policy: RetryPolicy, exchange: str
) -> T:
    """A read or an idempotent change, tried again on errors that mean "nothing was answered";
    any other error is translated and raised. Out of tries: ``VenueUnavailable`` (or
    ``RateLimited``)."""
    waits = policy.waits()
    while True:
        try:
            return await request()
        except RETRYABLE as e:
            wait = next(waits, None)
            if wait is None:
                raise translate(e, exchange=exchange, client=client) from e
            await pause(client, e, wait, policy, exchange)
        except ccxt.BaseError as e:
            raise translate(e, exchange=exchange) from e


async def pause(
    client: Any, error: Exception, wait: float, policy: RetryPolicy, exchange: str
) -> None:
    """Wait before the next try: a rate limit's ``Retry-After`` when given, else ``wait``."""
    asked = retry_after(client, error) if isinstance(error, RATE_LIMITS) else None
    seconds = min(asked, policy.max_wait) if asked is not None else wait
    log.info(
        "exchange request retried", exchange=exchange, error=type(error).__name__, wait=seconds
    )
    await policy.sleep(seconds)
