"""What every venue offers. Bots, signals and the terminal API talk only to this."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tradewind.domain.instruments import Instrument
from tradewind.domain.orders import Order, Position

if TYPE_CHECKING:
    from tradewind.venues.matching import Quote
    from tradewind.venues.paper.ledger import AccountSummary, Balance
    from tradewind.venues.paper.venue import OrderRequest, Placed


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
