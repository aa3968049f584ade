"""Trading accounts: ownership, the default paper account, and the venue (and bot engine)
each account is on. The terminal trades any of them through its venue (``for_account``): the
paper venue, or an exchange's ``CcxtVenue`` (spot: no positions, leverage or reduce-only).

Orders, positions and balances live in the venue (the paper venue keeps them in memory and
in the store); this service checks that an account belongs to the caller first, so another
user's account, order or position is always "not found".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.errors import Conflict, NotFound, ValidationFailed, VenueUnavailable
from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Position, PositionMode
from tradewind.engine.bots import BotEngine
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.db import StoreRunner
from tradewind.store.tables import FillRow, OrderRow, PositionRow, TradingAccountRow
from tradewind.venues.base import Venue
from tradewind.venues.ccxt.venue import CcxtVenue
from tradewind.venues.matching import Quote
from tradewind.venues.paper.catalog import DEFAULT_BALANCES, DEFAULT_LEVERAGE
from tradewind.venues.paper.persistence import AccountInfo
from tradewind.venues.paper.venue import PaperVenue

DEFAULT_ACCOUNT_NAME = "Paper"


TradingVenue = PaperVenue | CcxtVenue
"""A venue accounts trade on: the paper venue, or a live exchange through CCXT."""


def live_venue_name(exchange: str, testnet: bool) -> str:
    """The venue of an exchange's accounts: CCXT's id (``binance``), with ``-testnet`` for its
    test network (other URLs, other markets and orders: a venue of its own)."""
    return f"{exchange}{TESTNET_SUFFIX}" if testnet else exchange


TESTNET_SUFFIX = "-testnet"


class Venues:
    """The venues this process trades on, by name, each with the bot engine running its bots:
    the paper venue, and one CCXT venue per exchange (its testnet apart) that has accounts,
    once connected (``services.live``). ``waiting`` names the live venues that have accounts
    but are not connected yet, and why."""

    def __init__(self, paper: PaperVenue, engine: BotEngine) -> None:
        self.paper = paper
        as_venue: Venue = paper  # mypy checks the paper venue against the Venue protocol here
        self._by_name: dict[str, TradingVenue] = {as_venue.name: paper}
        self._engines: dict[str, BotEngine] = {paper.name: engine}
        self.waiting: dict[str, str] = {}

    def add(self, venue: CcxtVenue, engine: BotEngine) -> None:
        as_venue: Venue = venue  # (so that mypy checks the CCXT venue against the protocol)
        self._by_name[as_venue.name] = venue
        self._engines[venue.name] = engine
        self.waiting.pop(venue.name, None)

    def remove(self, name: str) -> None:
        if name != self.paper.name:
            self._by_name.pop(name, None)
            self._engines.pop(name, None)

    def get(self, name: str) -> TradingVenue:
        try:
            return self._by_name[name]
        except KeyError:
            if name in self.waiting:
                raise VenueUnavailable(
                    f"{name} is not connected yet ({self.waiting[name]}); Tradewind keeps trying"
                ) from None
            raise ValidationFailed(
                f"unknown venue {name}",
                details=[{"field": "venue", "message": f"one of {sorted(self._by_name)}"}],
            ) from None

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    @property
    def live(self) -> list[CcxtVenue]:
        return [v for v in self._by_name.values() if isinstance(v, CcxtVenue)]

    def catalogs(self) -> list[Mapping[str, Instrument]]:
        """The instruments of each venue running, the paper venue's first: what a client's
        market name is read against, so a market only an exchange has is known too (each
        searched in turn, not merged: an exchange has thousands)."""
        return [self.paper.instruments, *(venue.instruments for venue in self.live)]

    def known(self, symbol: str) -> Instrument | None:
        """``symbol``'s instrument on the first venue (``catalogs``) that has it."""
        return next((c[symbol] for c in self.catalogs() if symbol in c), None)

    @property
    def store(self) -> StoreRunner:
        return self._engines[self.paper.name].store

    def engine(self, name: str) -> BotEngine:
        """The bot engine of the venue called ``name``."""
        self.get(name)
        return self._engines[name]

    @property
    def engines(self) -> list[BotEngine]:
        return list(self._engines.values())

    def running(self, bot_id: str) -> BotEngine | None:
        """The engine running ``bot_id`` (active or paused), if one is."""
        for engine in self._engines.values():
            if engine.is_running(bot_id):
                return engine
        return None

    def is_running(self, bot_id: str) -> bool:
        return self.running(bot_id) is not None

    async def for_account(
        self, session: AsyncSession, user_id: str, account_id: str
    ) -> TradingVenue:
        """The venue holding the caller's account; NotFound for anyone else's. The paper
        venue keeps its accounts in memory, so this usually needs no query."""
        info = self.paper.find_account(account_id)
        if info is not None:
            if info.user_id != user_id:
                raise NotFound("account not found")
            return self.paper
        row = await owned_account(session, user_id, account_id)
        venue = self.get(row.venue)
        if isinstance(venue, CcxtVenue) and not venue.has_account(account_id):
            if row.exchange_account_id is None:
                raise Conflict("this account's exchange keys were deleted: add them again to trade")
            raise VenueUnavailable(f"account {account_id} is not connected to {venue.name} yet")
        return venue

    async def paper_account(
        self, session: AsyncSession, user_id: str, account_id: str, *, what: str
    ) -> PaperVenue:
        """``for_account`` for what only the paper venue does (``what``: a reset):
        ValidationFailed naming ``account_id`` for an exchange account."""
        venue = await self.for_account(session, user_id, account_id)
        if not isinstance(venue, PaperVenue):
            raise ValidationFailed(
                f"account {account_id} is on {venue.name}: {what} takes paper accounts only",
                details=[{"field": "account_id", "message": "a paper account"}],
            )
        return venue

    def _holding(self, account_id: str) -> TradingVenue | None:
        """The venue holding ``account_id`` in memory, if any (no ownership check)."""
        if self.paper.find_account(account_id) is not None:
            return self.paper
        return next((v for v in self.live if v.has_account(account_id)), None)

    def venue_of(self, account_id: str) -> TradingVenue:
        """The venue holding ``account_id`` in memory, else the paper venue (to value a bot's
        holdings at its own market's price; no ownership check)."""
        return self._holding(account_id) or self.paper

    def engine_of(self, account_id: str) -> BotEngine:
        """The engine of the venue holding ``account_id`` in memory (no ownership check: for
        bots the caller has already checked)."""
        venue = self._holding(account_id)
        if venue is None:
            raise VenueUnavailable(f"account {account_id} is not connected to its exchange")
        return self._engines[venue.name]

    async def engine_for(self, session: AsyncSession, user_id: str, account_id: str) -> BotEngine:
        """The bot engine of the caller's account's venue (NotFound for anyone else's)."""
        venue = await self.for_account(session, user_id, account_id)
        return self._engines[venue.name]

    async def forget_account(self, name: str, account_id: str) -> None:
        """Take an account out of its venue (its rows are being deleted, or its keys were)."""
        venue = self._by_name.get(name)
        if isinstance(venue, CcxtVenue):
            await venue.remove_account(account_id)
        elif venue is not None:
            await venue.forget_account(account_id)

    async def priced(self, engine: BotEngine, symbol: str) -> None:
        """Make sure ``symbol`` has a price on ``engine``'s venue: a live venue polls it once
        (it polls only the symbols it watches); Conflict when there is still none."""
        venue = self.get(engine.venue.name)
        await venue.prime_price(symbol)
        if venue.mark(symbol) is None:
            raise Conflict(f"no price for {symbol} yet; try again when the market has one")


async def owned_account(session: AsyncSession, user_id: str, account_id: str) -> TradingAccountRow:
    row = await session.get(TradingAccountRow, account_id)
    if row is None or row.user_id != user_id:
        raise NotFound("account not found")
    return row


async def list_accounts(session: AsyncSession, user_id: str) -> list[TradingAccountRow]:
    stmt = (
        select(TradingAccountRow)
        .where(TradingAccountRow.user_id == user_id)
        .order_by(TradingAccountRow.id)
    )
    return list((await session.scalars(stmt)).all())


async def default_account(session: AsyncSession, venues: Venues, user_id: str) -> str:
    """The user's default paper account, opened on first need (10,000 USDT and 10,000 USD)."""
    known = venues.paper.default_account_of(user_id)
    if known is not None:
        return known
    found = await session.scalar(
        select(TradingAccountRow.id).where(
            TradingAccountRow.user_id == user_id, TradingAccountRow.is_default.is_(True)
        )
    )
    if found:
        return found
    info = await venues.paper.open_account(
        user_id=user_id, name=DEFAULT_ACCOUNT_NAME, mode=PositionMode.NETTING, leverage=DEFAULT_LEVERAGE,
        currency="USD", balances=DEFAULT_BALANCES, is_default=True,
    )  # fmt: skip
    return info.account_id


async def open_paper_account(
    venues: Venues, user_id: str, *, name: str, balances: Mapping[str, Decimal], mode: PositionMode,
    leverage: Decimal, currency: str | None,
) -> AccountInfo:  # fmt: skip
    if not balances:
        raise ValidationFailed(
            "an account needs a starting balance",
            details=[{"field": "balances", "message": "empty"}],
        )
    return await venues.paper.open_account(
        user_id=user_id, name=name, mode=mode, leverage=leverage,
        currency=currency or next(iter(balances)), balances=balances,
    )  # fmt: skip


# ---- reading orders, fills and positions ---------------------------------------------------


async def resolve_account(
    session: AsyncSession, venues: Venues, user_id: str, *, account_id: str | None = None,
    key_account_id: str | None = None,
) -> str:  # fmt: skip
    """The account a request trades on: the one named (if the caller's), else the one the key
    is bound to, else the caller's default paper account."""
    if account_id:
        await venues.for_account(session, user_id, account_id)  # ownership, from memory
        return account_id
    if key_account_id:
        return key_account_id
    return await default_account(session, venues, user_id)


OPEN_STATUSES = ("open", "partially_filled")


async def list_orders(
    session: AsyncSession,
    account_id: str,
    *,
    status: str,
    symbol: str | None,
    limit: int,
    cursor: str | None,
) -> Page[OrderRow]:
    stmt = select(OrderRow).where(OrderRow.account_id == account_id)
    if status == "open":
        stmt = stmt.where(OrderRow.status.in_(OPEN_STATUSES))
    elif status == "closed":
        stmt = stmt.where(OrderRow.status.not_in(OPEN_STATUSES))
    if symbol:
        stmt = stmt.where(OrderRow.symbol == symbol)
    rows = (await session.scalars(paginate(stmt, OrderRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def get_order(session: AsyncSession, account_id: str, order_id: str) -> OrderRow:
    row = await session.get(OrderRow, order_id)
    if row is None or row.account_id != account_id:
        raise NotFound("order not found")
    return row


async def order_fills(session: AsyncSession, order_id: str) -> list[FillRow]:
    return list(
        (
            await session.scalars(
                select(FillRow).where(FillRow.order_id == order_id).order_by(FillRow.id)
            )
        ).all()
    )


async def list_fills(
    session: AsyncSession, account_id: str, *, symbol: str | None = None, since: datetime | None = None,
    until: datetime | None = None, limit: int, cursor: str | None,
) -> Page[FillRow]:  # fmt: skip
    stmt = select(FillRow).where(FillRow.account_id == account_id)
    if symbol:
        stmt = stmt.where(FillRow.symbol == symbol)
    if since:
        stmt = stmt.where(FillRow.ts >= since)
    if until:
        stmt = stmt.where(FillRow.ts <= until)
    rows = (await session.scalars(paginate(stmt, FillRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def closed_positions(
    session: AsyncSession, account_id: str, *, limit: int, cursor: str | None
) -> Page[PositionRow]:
    stmt = select(PositionRow).where(
        PositionRow.account_id == account_id, PositionRow.closed_at.is_not(None)
    )
    rows = (await session.scalars(paginate(stmt, PositionRow.id, limit, cursor))).all()
    return make_page(rows, limit, lambda r: r.id)


async def get_position_row(session: AsyncSession, account_id: str, position_id: str) -> PositionRow:
    row = await session.get(PositionRow, position_id)
    if row is None or row.account_id != account_id:
        raise NotFound("position not found")
    return row


def unrealized_pnl(
    position: Position, instrument: Instrument, mark: Decimal | None
) -> Decimal | None:
    """Profit of an open position at ``mark``, in the instrument's settle asset."""
    if mark is None or not position.is_open:
        return None
    return (
        (mark - position.entry_price)
        * position.amount
        * instrument.contract_size
        * position.side.sign
    )


@dataclass(frozen=True, slots=True)
class AccountProfile:
    name: str
    leverage: Decimal
    demo: bool
    """No real money: a paper account, or an account on an exchange's testnet."""


async def account_profile(
    session: AsyncSession, venue: TradingVenue, user_id: str, account_id: str
) -> AccountProfile:
    """An account's name, leverage and whether it trades real money (an exchange account is
    spot: its venue's leverage is 1)."""
    if isinstance(venue, PaperVenue):
        info = venue.account(account_id)
        return AccountProfile(info.name, info.leverage, demo=True)
    row = await owned_account(session, user_id, account_id)
    testnet = venue.name.endswith(TESTNET_SUFFIX)
    return AccountProfile(row.name, venue.summary(account_id).leverage, demo=testnet)


async def tickets(
    session: AsyncSession, venue: TradingVenue, order_ids: Sequence[str]
) -> tuple[Mapping[str, int], Mapping[str, int]]:
    """Order and position id -> ticket, covering at least ``order_ids``: the paper venue
    keeps all of them in memory; an exchange account's orders have theirs in the store (and
    it has no positions)."""
    if isinstance(venue, PaperVenue):
        return venue.rows.order_tickets, venue.rows.position_tickets
    return await order_tickets(session, order_ids), {}


async def order_id_by_ticket(
    session: AsyncSession, venue: TradingVenue, account_id: str, ticket: int
) -> str | None:
    """The id of the account's order or position with ``ticket``, if it has one."""
    if isinstance(venue, PaperVenue):
        return venue.rows.ticket_by_number.get(ticket)
    return await order_by_ticket(session, account_id, ticket)


async def order_tickets(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, int]:
    """The tickets of the orders (an exchange account's, which live in the store)."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(OrderRow.id, OrderRow.ticket).where(OrderRow.id.in_(list(order_ids)))
    )
    return {order_id: ticket for order_id, ticket in rows.all()}


async def order_by_ticket(session: AsyncSession, account_id: str, ticket: int) -> str | None:
    """The id of the account's order with ``ticket``, if it has one."""
    return await session.scalar(
        select(OrderRow.id).where(OrderRow.account_id == account_id, OrderRow.ticket == ticket)
    )


# ---- quotes (Tradyn's terminal) ------------------------------------------------------------


async def priced_quote(venue: TradingVenue, symbol: str) -> Quote:
    """``symbol``'s quote; a live venue polls the price first when it has none yet."""
    await venue.prime_price(symbol)
    return venue.quote(symbol)


async def close_user_accounts(session: AsyncSession, venues: Venues, user_id: str) -> None:
    """Before a user is deleted: take its accounts out of the venues' memory (the store drops
    their rows with the user)."""
    for row in await list_accounts(session, user_id):
        await venues.forget_account(row.venue, row.id)
