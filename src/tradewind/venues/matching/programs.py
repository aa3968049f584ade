"""Order programs as pure functions: what to place after a fill, and where a trailing stop goes.

The engine executes what these return; the backtester's compiled loop follows the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from tradewind.domain.orders import (
    PREFIX_OCO,
    PREFIX_ORDER,
    Fill,
    Order,
    OrderId,
    OrderRole,
    OrderType,
    Rearm,
    Side,
)
from tradewind.venues.matching.rules import ceil_to, floor_to

_GENERATION = re.compile(r"^(?P<root>.*):r(?P<n>[0-9]+)$")


def rearm_client_id(parent: Order) -> str:
    """``<root>:r<n>``: the root is the chain's first client id (or order id), ``n`` counts the
    generations, so a grid level's orders are named the same on every run."""
    name = parent.client_order_id or parent.id
    found = _GENERATION.match(name)
    if found is None:
        return f"{name}:r1"
    return f"{found['root']}:r{int(found['n']) + 1}"


def rearm_order(parent: Order, fill: Fill, order_id: OrderId) -> Order | None:
    """The LIMIT on the other side that ``parent.rearm`` asks for after ``fill``."""
    rearm = parent.rearm
    if rearm is None:
        return None
    back = parent.price if parent.price is not None else fill.price
    return Order(
        id=order_id,
        account_id=parent.account_id,
        symbol=parent.symbol,
        side=parent.side.opposite,
        type=OrderType.LIMIT,
        amount=fill.amount,
        created_ms=fill.ts_ms,
        updated_ms=fill.ts_ms,
        price=rearm.price,
        client_order_id=rearm_client_id(parent),
        rearm=Rearm(price=back, flip=True) if rearm.flip else None,
    )


def bracket_orders(parent: Order, fill: Fill, new_id: Callable[[str], str]) -> list[Order]:
    """The reduce-only stop-loss and take-profit ``parent.bracket`` asks for after ``fill``,
    sized to the fill, bound to its position, in a new OCO group."""
    bracket = parent.bracket
    if bracket is None or (bracket.stop_loss is None and bracket.take_profit is None):
        return []
    group = new_id(PREFIX_OCO)
    name = parent.client_order_id or parent.id
    legs: list[tuple[OrderRole, OrderType, Decimal | None, Decimal | None, str]] = []
    if bracket.stop_loss is not None:
        legs.append((OrderRole.STOP_LOSS, OrderType.STOP, None, bracket.stop_loss, "sl"))
    if bracket.take_profit is not None:
        legs.append((OrderRole.TAKE_PROFIT, OrderType.LIMIT, bracket.take_profit, None, "tp"))
    return [
        Order(
            id=OrderId(new_id(PREFIX_ORDER)),
            account_id=parent.account_id,
            symbol=parent.symbol,
            side=parent.side.opposite,
            type=kind,
            amount=fill.amount,
            created_ms=fill.ts_ms,
            updated_ms=fill.ts_ms,
            price=price,
            stop_price=stop,
            client_order_id=f"{name}:{tag}",
            reduce_only=True,
            position_id=fill.position_id,
            role=role,
            oco_group=group,
        )
        for role, kind, price, stop, tag in legs
    ]


def trail(order: Order, bid: Decimal, ask: Decimal, tick: Decimal) -> bool:
    """Move a trailing stop for the quote ``bid``/``ask``; True when ``stop_price`` moved.

    A sell stop (protecting a long) follows the highest bid, a buy stop the lowest ask, at
    ``callback`` behind it, rounded to the tick away from the price; it only ever tightens.
    Before activation (the price has not reached ``activation_price``) nothing moves.
    """
    trailing = order.trailing
    if trailing is None:
        return False
    selling = order.side is Side.SELL
    price = bid if selling else ask
    anchor = order.trail_anchor
    if anchor is None:
        activation = trailing.activation_price
        if activation is not None and (price < activation if selling else price > activation):
            return False
        anchor = price
    elif price > anchor if selling else price < anchor:
        anchor = price
    order.trail_anchor = anchor
    if selling:
        stop = floor_to(anchor * (1 - trailing.callback), tick)
        better = order.stop_price is None or stop > order.stop_price
    else:
        stop = ceil_to(anchor * (1 + trailing.callback), tick)
        better = order.stop_price is None or stop < order.stop_price
    if better:
        order.stop_price = stop
    return better
