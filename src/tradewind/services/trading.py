"""Trading accounts: ownership, the default paper account, and the venue each account is on.

Orders, positions and balances live in the venue (the paper venue keeps them in memory and
in the store); this service checks that an account belongs to the caller first, so another
user's account, order or position is always "not found".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Position, PositionMode
from tradewind.services.pagination import Page, make_page, paginate
from tradewind.store.tables import FillRow, OrderRow, PositionRow, TradingAccountRow
from tradewind.venues.base import Venue
from tradewind.venues.paper.catalog import DEFAULT_BALANCES, DEFAULT_LEVERAGE
from tradewind.venues.paper.persistence import AccountInfo
from tradewind.venues.paper.venue import PaperVenue

DEFAULT_ACCOUNT_NAME = "Paper"


class Venues:
    """The venues this process trades on, by name."""

    def __init__(self, paper: PaperVenue) -> None:
        self.paper = paper
        as_venue: Venue = paper  # mypy checks the paper venue against the Venue protocol here
        self._by_name = {as_venue.name: paper}

    def get(self, name: str) -> PaperVenue:
        try:
            return self._by_name[name]
        except KeyError:
            raise ValidationFailed(
                f"unknown venue {name}",
                details=[{"field": "venue", "message": f"one of {sorted(self._by_name)}"}],
            ) from None

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    async def for_account(self, session: AsyncSession, user_id: str, account_id: str) -> PaperVenue:
        """The venue holding the caller's account; NotFound for anyone else's. Venues keep
        their accounts in memory, so this usually needs no query."""
        for venue in self._by_name.values():
            info = venue.find_account(account_id)
            if info is not None:
                if info.user_id != user_id:
                    raise NotFound("account not found")
                return venue
        row = await owned_account(session, user_id, account_id)
        return self.get(row.venue)


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


async def close_user_accounts(session: AsyncSession, venues: Venues, user_id: str) -> None:
    """Before a user is deleted: take its accounts out of the venues' memory (the store drops
    their rows with the user)."""
    for row in await list_accounts(session, user_id):
        await venues.get(row.venue).forget_account(row.id)
