"""Live trading in the service: one CCXT venue per exchange (its testnet apart) that has
accounts, each with its own bot engine, connected at start-up and when a first account of it is
added, and kept trying while its exchange cannot be reached.

An exchange account (the user's keys) trades through a ``trading_accounts`` row on the venue
``live_venue_name(exchange, testnet)`` that names it (``exchange_account_id``): the exchange
accounts service writes both. A venue is started as ``engine.live.start`` starts one (orders
from the store, a price poll, the bots resumed, reconciliation, then polling); when that fails
(the exchange is down, its markets cannot be loaded) the app starts anyway: the venue is listed
in ``Venues.waiting`` with the reason (``/readyz`` shows it), requests on its accounts answer
503, and the connection is tried again with a growing pause until it succeeds (its bots resume
then).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.clock import Clock
from tradewind.domain.errors import DomainError
from tradewind.engine import live
from tradewind.engine.bus import EventBus
from tradewind.logs import get_logger
from tradewind.services.credentials import Credentials, Vault
from tradewind.services.exchange_accounts import credentials_of, trading_account_of
from tradewind.services.trading import Venues
from tradewind.store.db import StoreRunner
from tradewind.store.tables import ExchangeAccountRow, TradingAccountRow
from tradewind.venues.ccxt.calls import RetryPolicy
from tradewind.venues.ccxt.clients import ClientFactory
from tradewind.venues.ccxt.venue import CcxtVenue

log = get_logger("tradewind.live")


@dataclass(frozen=True, slots=True)
class Linked:
    """A trading account on a live venue and the keys it trades with."""

    account_id: str
    venue: str
    exchange: str
    credentials: Credentials


@dataclass(frozen=True, slots=True)
class LiveStatus:
    venue: str
    connected: bool
    accounts: int
    error: str | None


class LiveVenues:
    """Starts, extends and stops the live venues (the lifespan holds one)."""

    def __init__(
        self, *, venues: Venues, writer: StoreRunner, clock: Clock, bus: EventBus,
        clients: ClientFactory, vault: Vault, poll_seconds: float, retry_seconds: float = 30.0,
        start_wait_seconds: float = 10.0, policy: RetryPolicy | None = None,
    ) -> None:  # fmt: skip
        self._venues = venues
        self._writer = writer
        self._clock = clock
        self._bus = bus
        self._clients = clients
        self._vault = vault
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._start_wait = start_wait_seconds
        self._policy = policy
        self._running: dict[str, live.LiveTrading] = {}
        self._connecting: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Connect every venue that has accounts; wait at most ``start_wait_seconds`` for them
        (so a restart resumes and reconciles before serving), the rest connect meanwhile."""
        for name in sorted({link.venue for link in await self._linked()}):
            self._connect(name)
        if self._connecting:
            await asyncio.wait(list(self._connecting.values()), timeout=self._start_wait)

    async def link(self, session: AsyncSession, row: ExchangeAccountRow) -> None:
        """Trade a just stored exchange account: the request's writes are committed first (the
        venue reads the link in its own session), then its trading account is attached,
        waiting for the venue only when the exchange accepted the keys."""
        trading = await trading_account_of(session, row)
        await session.commit()
        await self.attach(trading.id, wait=row.status == "verified")

    async def attach(self, trading_account_id: str, *, wait: bool = True) -> None:
        """Trade a newly linked account (committed by the caller): added to its venue when
        that runs, else the venue is connected (with ``wait``, waiting at most
        ``start_wait_seconds`` for it: the exchange just answered). Never raises: a failure
        is logged and the connection tried again."""
        try:
            found = await self._linked(account_id=trading_account_id)
            if not found:
                return
            link = found[0]
            running = self._running.get(link.venue)
            if running is None:  # its first account: connect, waiting a while for it
                self._connect(link.venue)
                connecting = self._connecting.get(link.venue)
                if connecting is not None and wait:
                    await asyncio.wait({connecting}, timeout=self._start_wait)
            elif not running.venue.has_account(link.account_id):
                await running.venue.add_account(link.account_id, self._client(link))
                log.info("exchange account connected", venue=link.venue, account_id=link.account_id)
        except Exception:
            log.exception("exchange account not connected", account_id=trading_account_id)

    def status(self) -> list[LiveStatus]:
        """Each live venue with accounts: connected (polling without errors) or why not."""
        found = [
            LiveStatus(name, t.venue.connected, len(t.venue.account_ids), None)
            for name, t in self._running.items()
        ]
        found += [
            LiveStatus(name, False, 0, reason) for name, reason in self._venues.waiting.items()
        ]
        return sorted(found, key=lambda s: s.venue)

    async def close(self) -> None:
        """Stop connecting, polling and cycling; close every client (the store keeps all)."""
        for task in list(self._connecting.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for name, trading in list(self._running.items()):
            await trading.close()
            self._venues.remove(name)
        self._running.clear()

    # ---- connecting -----------------------------------------------------------------------

    def _connect(self, name: str) -> None:
        if name in self._running or name in self._connecting:
            return
        self._venues.waiting[name] = "connecting"
        task = asyncio.create_task(self._keep_connecting(name), name=f"{name}-connect")
        self._connecting[name] = task
        task.add_done_callback(lambda _: self._connecting.pop(name, None))

    async def _keep_connecting(self, name: str) -> None:
        pause = min(1.0, self._retry_seconds)
        while True:
            try:
                await self._open(name)
                return
            except Exception as e:
                reason = e.message if isinstance(e, DomainError) else type(e).__name__
                self._venues.waiting[name] = reason
                log.warning("exchange not connected; trying again", venue=name, error=reason,
                            retry_in=pause)  # fmt: skip
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._retry_seconds)

    async def _open(self, name: str) -> None:
        links = await self._linked(venue=name)
        if not links:
            self._venues.waiting.pop(name, None)
            return
        venue = CcxtVenue(
            name=name, writer=self._writer, clock=self._clock, bus=self._bus, policy=self._policy
        )
        try:
            for link in links:
                await venue.add_account(link.account_id, self._client(link))
            trading = await live.start(venue, self._writer, poll_seconds=self._poll_seconds)
        except BaseException:
            await venue.close()
            raise
        self._running[name] = trading
        self._venues.add(venue, trading.bots)
        log.info(
            "exchange connected", venue=name, accounts=len(links), bots_resumed=trading.resumed
        )
        for link in await self._linked(venue=name):  # linked while this was connecting
            if not venue.has_account(link.account_id):
                await self.attach(link.account_id)

    def _client(self, link: Linked) -> Any:
        return self._clients(link.exchange, link.credentials)

    async def _linked(
        self, *, venue: str | None = None, account_id: str | None = None
    ) -> list[Linked]:
        stmt = select(TradingAccountRow, ExchangeAccountRow).join(
            ExchangeAccountRow, TradingAccountRow.exchange_account_id == ExchangeAccountRow.id
        )
        if venue is not None:
            stmt = stmt.where(TradingAccountRow.venue == venue)
        if account_id is not None:
            stmt = stmt.where(TradingAccountRow.id == account_id)
        async with self._writer.sessions() as session:
            rows = (await session.execute(stmt.order_by(TradingAccountRow.id))).all()
        return [Linked(t.id, t.venue, e.exchange, credentials_of(e, self._vault)) for t, e in rows]
