"""What every venue offers. Bots, signals and the terminal API talk only to this."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Order, Position, Side

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tradewind.marketdata.feeds import PriceFeed
    from tradewind.venues.matching import Quote
    from tradewind.venues.ops import Listener, Op, OpResult, OrderRequest, Placed, PriceListener
    from tradewind.venues.paper.ledger import AccountSummary, Balance
    from tradewind.venues.requests import TradeCheck


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue supports natively; the engine emulates the rest (it asks, never checks names)."""

    stop_orders: bool = True
    stop_limit_orders: bool = True
    trailing_stops: bool = False
    oco: bool = False
    hedging: bool = False
    reduce_only: bool = True
    derivatives: bool = False


@runtime_checkable
class Venue(Protocol):
    """What every venue implements: the paper venue now, exchanges through CCXT next. Bots,
    signals and the terminal API talk only to this (candles of a venue's market come from the
    market-data service, which knows each venue's feed)."""

    name: str
    capabilities: Capabilities
    instruments: dict[str, Instrument]
    connected: bool

    def instrument(self, symbol: str) -> Instrument: ...
    def quote(self, symbol: str) -> Quote: ...
    async def prime_price(self, symbol: str) -> None:
        """Check ``symbol`` is traded here; a venue that polls prices polls it once when it has
        none yet (before a ``quote`` that needs one)."""
        ...

    def balances(self, account_id: str) -> dict[str, Balance]: ...
    def summary(self, account_id: str) -> AccountSummary: ...
    def open_orders(self, account_id: str, symbol: str | None = None) -> list[Order]: ...
    def positions(self, account_id: str) -> list[Position]: ...
    async def place_order(self, account_id: str, request: OrderRequest) -> Placed: ...
    async def cancel_order(self, account_id: str, order_id: str) -> Order: ...
    async def amend_order(
        self,
        account_id: str,
        order_id: str,
        *,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        amount: Decimal | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
    ) -> Order: ...
    async def trade(
        self, account_id: str, symbol: str, side: Side, amount: Decimal, *,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> Placed:  # fmt: skip
        """A market order with optional SL/TP (the terminal's trade); stops on the wrong side
        of the price refuse it before anything is placed."""
        ...

    async def check_trade(
        self, account_id: str, symbol: str, side: Side, amount: Decimal, *,
        stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
    ) -> TradeCheck:  # fmt: skip
        """Whether ``trade`` would be accepted and what it would need; changes nothing."""
        ...

    async def close_position(
        self, account_id: str, position_id: str, amount: Decimal | None = None
    ) -> Placed: ...
    async def set_protection(
        self,
        account_id: str,
        position_id: str,
        *,
        stop_loss: Decimal | None,
        take_profit: Decimal | None,
    ) -> Position: ...


class EngineVenue(Protocol):
    """What the bot engine uses of a venue, and nothing more: the paper venue and the CCXT venue
    both offer it (the engine never asks which one it runs on; it asks ``capabilities``)."""

    @property
    def name(self) -> str: ...
    @property
    def capabilities(self) -> Capabilities: ...
    @property
    def instruments(self) -> Mapping[str, Instrument]: ...
    @property
    def feeds(self) -> Mapping[str, PriceFeed]:
        """Candles of the venue's market (a bot's history and closed bars); may be empty."""
        ...

    @property
    def listeners(self) -> list[Listener]:
        """Told of every committed change (fills, refusals, ...), after the commit."""
        ...

    @property
    def price_listeners(self) -> list[PriceListener]:
        """Told of every symbol's price path as the venue learns it."""
        ...

    @property
    def joins_writes(self) -> bool:
        """``execute`` takes the caller's writes into its own transaction (``also``); when
        False the engine writes its operations as pending first and clears them after."""
        ...

    def instrument(self, symbol: str) -> Instrument: ...
    def mark(self, symbol: str) -> Decimal | None:
        """The last price seen for ``symbol``, None when there is none yet."""
        ...

    def now_ms(self) -> int: ...
    def working_orders(self, account_id: str, symbol: str) -> list[Order]:
        """The account's open orders in ``symbol``, in arrival order (read, do not change)."""
        ...

    def free_balances(self, account_id: str) -> dict[str, Decimal]: ...
    def open_positions(self, account_id: str) -> list[Position]: ...
    async def execute(
        self,
        ops: Sequence[Op],
        *,
        also: Callable[[list[OpResult]], Callable[[Session], None]] | None = None,
    ) -> list[OpResult]:
        """Run the operations, each succeeding or refused on its own; placements are
        idempotent on their client order id, cancelling an order no longer open is done."""
        ...
