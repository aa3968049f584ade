"""Property: whatever orders and prices come, the books balance exactly after every step.

Random sequences of orders (market, limit, stop, stop-limit; both sides; sizes on the step;
now and then reduce-only, closing a ticket, re-armed, bracketed or trailing), cancels, and
random price paths each followed by the margin checks and the closes they call for (as the
venue does), on spot and derivative accounts in both position modes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradewind.domain import events as ev
from tradewind.domain.errors import InsufficientFunds
from tradewind.domain.instruments import InvalidOrder
from tradewind.domain.orders import (
    AccountId,
    Bracket,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionMode,
    Rearm,
    Side,
    Trailing,
)

from ..conftest import CFD, INSTRUMENTS, PERP, SPOT, Sim, fills

ACCOUNTS: dict[str, tuple[str, PositionMode, str, D, dict[str, str]]] = {
    "spot": (SPOT, PositionMode.NETTING, "USDT", D(1), {"USDT": "5000", "BTC": "0.1"}),
    "net": (PERP, PositionMode.NETTING, "USDT", D(10), {"USDT": "1000"}),
    "hedge": (PERP, PositionMode.HEDGING, "USDT", D(20), {"USDT": "800"}),
    "cfd": (CFD, PositionMode.NETTING, "USD", D(50), {"USD": "1500"}),
    "cfd-hedge": (CFD, PositionMode.HEDGING, "USD", D(100), {"USD": "800"}),
}
START = {SPOT: D("50000"), PERP: D("50000"), CFD: D("1.1")}
LOT = {SPOT: D("0.001"), PERP: D("0.002"), CFD: D("0.01")}  # amounts are 1 to 60 of these

orders = st.fixed_dictionaries(
    {
        "do": st.just("order"),
        "account": st.sampled_from(sorted(ACCOUNTS)),
        "side": st.sampled_from([Side.BUY, Side.SELL]),
        "type": st.sampled_from(
            [OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT]
        ),
        "units": st.integers(1, 60),
        "offset": st.integers(-300, 300),  # basis points from the price now
        "limit_offset": st.integers(-100, 100),
        "extra": st.sampled_from(["", "", "", "reduce", "ticket", "rearm", "bracket", "trail"]),
    }
)
walks = st.fixed_dictionaries(
    {
        "do": st.just("walk"),
        "symbol": st.sampled_from([SPOT, PERP, CFD]),
        "moves": st.lists(
            st.integers(-400, 400) | st.integers(-1500, 1500), min_size=1, max_size=6
        ),
        "gap": st.booleans(),
    }
)
others = st.fixed_dictionaries({"do": st.just("cancel"), "pick": st.integers(0, 1000)})
steps = st.lists(st.one_of(orders, orders, orders, walks, walks, others), min_size=15, max_size=40)


class World:
    def __init__(self) -> None:
        self.sim = Sim(slippage=D("0.0005"))
        self.price = dict(START)
        self.accounts: dict[str, AccountId] = {}
        for name, (_, mode, currency, leverage, funds) in ACCOUNTS.items():
            self.accounts[name] = self.sim.account(
                name, mode=mode, currency=currency, leverage=leverage, **funds
            )

    def at(self, symbol: str, bps: int) -> D:
        instrument = INSTRUMENTS[symbol]
        return instrument.round_price(self.price[symbol] * (1 + D(bps) / 10000))

    def order(self, step: dict[str, Any]) -> None:
        sim, name = self.sim, step["account"]
        symbol, acc = ACCOUNTS[name][0], self.accounts[name]
        instrument = INSTRUMENTS[symbol]
        kind, side, extra = step["type"], step["side"], step["extra"]
        amount = LOT[symbol] * step["units"]
        trigger = self.at(symbol, step["offset"])
        limit = self.at(symbol, step["offset"] + step["limit_offset"])
        options: dict[str, Any] = {}
        if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            options["price"] = trigger if kind is OrderType.LIMIT else limit
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            options["stop"] = trigger
        positions = sim.ledger.positions(acc)
        if extra == "reduce" or (extra == "ticket" and positions):
            options["reduce_only"] = True
            if extra == "ticket" or ACCOUNTS[name][1] is PositionMode.HEDGING:
                position = positions[step["units"] % len(positions)] if positions else None
                options["position_id"] = position.id if position else None
                if extra == "ticket" and position:  # close all of it, or about half
                    side = position.side.opposite
                    half = (position.amount / 2).quantize(instrument.amount_step)
                    amount = position.amount if step["units"] % 2 or half == 0 else half
        elif extra == "rearm" and kind is OrderType.LIMIT:
            options["rearm"] = Rearm(
                price=self.at(symbol, step["offset"] + (150 if side is Side.BUY else -150))
            )
        elif extra == "bracket":
            sign = 1 if side is Side.BUY else -1
            options["bracket"] = Bracket(self.at(symbol, -sign * 200), self.at(symbol, sign * 250))
        elif extra == "trail" and kind is OrderType.STOP:
            options["trailing"] = Trailing(callback=D("0.01"), activation_price=limit)
            options.pop("stop")
        order = sim.order(acc, symbol, side, kind, amount, **options)
        before = (sim.ledger.balances(acc), len(sim.ledger.entries(acc)), len(sim.events))
        try:
            sim.submit(order, self.price[symbol])
        except (InsufficientFunds, InvalidOrder):
            assert order.status is OrderStatus.REJECTED and order.reserved == 0
            assert (
                sim.ledger.balances(acc),
                len(sim.ledger.entries(acc)),
                len(sim.events),
            ) == before

    def walk(self, step: dict[str, Any]) -> None:
        symbol = step["symbol"]
        points = [] if step["gap"] else [self.price[symbol]]
        for bps in step["moves"]:
            low, high = START[symbol] * D("0.6"), START[symbol] * D("1.4")
            self.price[symbol] = min(max(self.at(symbol, bps), low), high)
            points.append(self.price[symbol])
        self.sim.walk(symbol, *points)
        self.margin(step)  # as the venue does after every tick

    def cancel(self, step: dict[str, Any]) -> None:
        open_orders = self.sim.engine.open_orders()
        if open_orders:
            order = open_orders[step["pick"] % len(open_orders)]
            self.sim.events += self.sim.engine.cancel(order.id, self.sim.now)

    def margin(self, step: dict[str, Any]) -> None:
        sim = self.sim
        for acc in self.accounts.values():
            events, due = sim.ledger.check_margin(acc, self.price, sim.now)
            sim.events += events
            for position, reason in due:
                close = sim.order(acc, position.symbol, position.side.opposite, OrderType.MARKET,
                                  position.amount, reduce_only=True, position_id=position.id)  # fmt: skip
                close.role, close.reason = OrderRole.LIQUIDATION, reason
                sim.submit(close, self.price[position.symbol])
                assert not position.is_open

    def check(self) -> None:
        sim = self.sim
        everything = fills(sim.events)
        for acc in self.accounts.values():
            entries = sim.ledger.entries(acc)
            open_orders = sim.engine.open_orders(acc)
            positions = sim.ledger.positions(acc)
            for asset, balance in sim.ledger.balances(acc).items():
                assert balance.total == sum((e.delta for e in entries if e.asset == asset), D(0))
                assert balance.free >= 0, (asset, balance)
                held = sum((o.reserved for o in open_orders if o.reserved_asset == asset), D(0))
                margin = sum(
                    (p.margin for p in positions if INSTRUMENTS[p.symbol].settle == asset), D(0)
                )
                assert balance.locked == held + margin, (asset, balance, held, margin)
            mine = [f for f in everything if f.account_id == acc]
            assert -sum((e.delta for e in entries if e.kind == "fee"), D(0)) == sum(
                (f.fee for f in mine), D(0)
            )
            pnl = sum((e.delta for e in entries if e.kind == "realized_pnl"), D(0))
            assert pnl == sum((f.realized_pnl for f in mine), D(0))
            assert all(o.reserved >= 0 and o.is_open for o in open_orders)
            assert all(p.margin >= 0 and p.amount > 0 for p in positions)
            if ACCOUNTS[acc][1] is PositionMode.NETTING:
                symbols = [p.symbol for p in positions]
                assert len(symbols) == len(set(symbols))
        for event in sim.events:
            if isinstance(event, ev.OrderFilled):
                assert event.fill.price % INSTRUMENTS[event.fill.symbol].tick_size == 0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_balances_stay_exact_whatever_happens(plan: list[dict[str, Any]]) -> None:
    world = World()
    actions: dict[str, Callable[[dict[str, Any]], None]] = {
        "order": world.order, "walk": world.walk, "cancel": world.cancel,
    }  # fmt: skip
    for step in plan:
        actions[step["do"]](step)
        world.check()
