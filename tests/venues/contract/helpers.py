"""Requests and readings the contract tests share."""

from __future__ import annotations

from decimal import Decimal as D

from tests.venues.contract.conftest import Desk
from tradewind.domain.orders import OrderType, Side
from tradewind.venues.ops import OrderRequest

Holdings = dict[str, tuple[D, D]]


def limit(
    side: Side, amount: str, price: str, client_order_id: str | None = None, *, symbol: str = "BTC/USDT"
) -> OrderRequest:  # fmt: skip
    return OrderRequest(
        symbol=symbol, side=side, type=OrderType.LIMIT, amount=D(amount), price=D(price),
        client_order_id=client_order_id,
    )  # fmt: skip


def market(side: Side, amount: str) -> OrderRequest:
    return OrderRequest(symbol="BTC/USDT", side=side, type=OrderType.MARKET, amount=D(amount))


def holdings(desk: Desk, account_id: str | None = None) -> Holdings:
    """Free and locked of every asset the account holds (an asset at zero left out: a venue
    may list it or not)."""
    balances = desk.venue.balances(account_id or desk.account_id)
    return {a: (b.free, b.locked) for a, b in balances.items() if b.total or b.locked}


def state(desk: Desk) -> tuple[Holdings, list[str]]:
    """What a refused request must leave as it was: balances and open orders."""
    return holdings(desk), [o.id for o in desk.venue.open_orders(desk.account_id)]
