"""Order programs the engine runs by itself: OCO, re-arm (grids), bracket, trailing, reduce-only."""

from __future__ import annotations

from decimal import Decimal as D

from tradewind.domain import events as ev
from tradewind.domain.orders import (
    Bracket,
    Liquidity,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionMode,
    Rearm,
    Side,
    Trailing,
)

from .conftest import PERP, SPOT, Sim, fills, kinds, of

BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP


def test_oco_a_fill_cancels_the_sibling_and_frees_what_it_held(sim: Sim) -> None:
    acc = sim.account(BTC=1)
    take = sim.order(acc, SPOT, SELL, LIMIT, "0.1", price="52000", oco_group="oco_a")
    stop = sim.order(acc, SPOT, SELL, STOP, "0.1", stop="48000", oco_group="oco_a")
    sim.submit(take, "50000")
    sim.submit(stop, "50000")
    assert sim.ledger.balances(acc)["BTC"].locked == D("0.2")
    events = sim.walk(SPOT, 50000, 52500)
    (cancelled,) = of(ev.OrderCancelled, events)
    assert cancelled.order.id == stop.id and cancelled.reason == "oco"
    assert stop.status is OrderStatus.CANCELLED and take.status is OrderStatus.FILLED
    assert sim.ledger.balances(acc)["BTC"].locked == 0 and sim.total(acc, "BTC") == D("0.9")
    assert sim.engine.open_orders() == []


def test_rearm_flips_a_grid_pair_for_ever_and_earns_the_spacing_less_fees(sim: Sim) -> None:
    acc = sim.account(USDT=1000)
    first = sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000", client_order_id="grid-1",
                      rearm=Rearm(price=D("50000")))  # fmt: skip
    sim.submit(first, "49500")
    events = sim.walk(SPOT, 49500, 48500, 50500, 48500, 50500, 48500, 50500)
    done = fills(events)
    assert [(f.side, f.price, f.liquidity) for f in done] == [
        (BUY, D("49000"), Liquidity.MAKER), (SELL, D("50000"), Liquidity.MAKER),
    ] * 3  # fmt: skip
    names = [e.order.client_order_id for e in of(ev.OrderFilled, events)]
    assert names == ["grid-1", "grid-1:r1", "grid-1:r2", "grid-1:r3", "grid-1:r4", "grid-1:r5"]
    # Each round trip: 0.01 * (50000 - 49000) = 10, less maker fees 0.49 + 0.50.
    round_trips = sum(1 for f in done if f.side is SELL)
    assert round_trips == 3
    assert sim.total(acc, "USDT") == D("1000") + round_trips * (D("10") - D("0.49") - D("0.50"))
    assert sim.total(acc, "BTC") == 0
    (waiting,) = sim.engine.open_orders(acc)
    assert (waiting.side, waiting.price, waiting.client_order_id) == (BUY, D("49000"), "grid-1:r6")
    assert waiting.rearm == Rearm(price=D("50000"), flip=True)
    assert sim.ledger.balances(acc)["USDT"].locked == waiting.reserved == D("490.49")


def test_a_rearm_that_would_cross_the_market_is_rejected_not_looped(sim: Sim) -> None:
    acc = sim.account(USDT=1000)
    sim.submit(
        sim.order(acc, SPOT, BUY, LIMIT, "0.01", price="49000", rearm=Rearm(price=D("48000"))),
        "50000",
    )
    events = sim.walk(SPOT, 50000, 48500)
    (rejected,) = of(ev.OrderRejected, events)
    assert rejected.reason == "a re-armed order would cross the market"
    assert len(fills(events)) == 1 and sim.engine.open_orders() == []


def test_a_program_placement_without_funds_is_an_event_not_an_exception(sim: Sim) -> None:
    acc = sim.account(BTC="0.01")
    order = sim.order(acc, SPOT, SELL, LIMIT, "0.01", price="50000", rearm=Rearm(price=D("49990")))
    sim.submit(order, "49500")
    events = sim.walk(SPOT, 49500, 50500)
    # The sale brings 500 - 0.5 = 499.5 USDT; the re-armed buy needs 0.01 * 49990 * 1.001.
    (rejected,) = of(ev.OrderRejected, events)
    assert rejected.reason == "Insufficient funds" and rejected.order.status is OrderStatus.REJECTED
    assert sim.free(acc, "USDT") == D("499.5")


def test_bracket_places_stop_loss_and_take_profit_and_the_take_profit_cancels_the_stop(
    sim: Sim,
) -> None:
    acc = sim.account(USDT=10000)
    entry = sim.order(
        acc, PERP, BUY, MARKET, "0.1", bracket=Bracket(stop_loss=D("49000"), take_profit=D("52000"))
    )
    events = sim.submit(entry, "50000")
    (position,) = sim.ledger.positions(acc)
    stop_loss, take_profit = (e.order for e in of(ev.OrderAccepted, events))
    assert (stop_loss.type, stop_loss.side, stop_loss.stop_price, stop_loss.role) == (
        STOP, SELL, D("49000"), OrderRole.STOP_LOSS,
    )  # fmt: skip
    assert (take_profit.type, take_profit.price, take_profit.role) == (
        LIMIT,
        D("52000"),
        OrderRole.TAKE_PROFIT,
    )
    for leg in (stop_loss, take_profit):
        assert leg.reduce_only and leg.position_id == position.id and leg.amount == D("0.1")
    assert stop_loss.oco_group == take_profit.oco_group is not None
    assert (stop_loss.client_order_id, take_profit.client_order_id) == (
        f"{entry.id}:sl",
        f"{entry.id}:tp",
    )

    events = sim.walk(PERP, 50000, 52500)
    (fill,) = fills(events)
    assert (fill.order_id, fill.price, fill.realized_pnl) == (take_profit.id, D("52000"), D("200"))
    assert [(e.order.id, e.reason) for e in of(ev.OrderCancelled, events)] == [
        (stop_loss.id, "oco")
    ]
    assert not position.is_open and sim.engine.open_orders() == []
    # entry taker fee 2.5, exit maker fee 0.1 * 52000 * 0.0002 = 1.04
    assert sim.total(acc, "USDT") == D("10000") - D("2.5") + D("200") - D("1.04")
    assert sim.ledger.balances(acc)["USDT"].locked == 0


def test_bracket_on_spot_protects_the_bought_amount(sim: Sim) -> None:
    acc = sim.account(USDT=1000)
    entry = sim.order(
        acc,
        SPOT,
        BUY,
        MARKET,
        "0.01",
        bracket=Bracket(stop_loss=D("48000"), take_profit=D("52000")),
    )
    sim.submit(entry, "50000")
    assert [o.role for o in sim.engine.open_orders(acc)] == [
        OrderRole.STOP_LOSS,
        OrderRole.TAKE_PROFIT,
    ]
    (fill,) = fills(sim.walk(SPOT, 50000, 47000))
    assert (
        fill.price == D("48000") and sim.total(acc, "BTC") == 0 and sim.engine.open_orders() == []
    )


def test_trailing_stop_ratchets_one_way_and_fills_on_the_retrace(sim: Sim) -> None:
    acc = sim.account(USDT=10000)
    sim.submit(sim.order(acc, PERP, BUY, MARKET, "0.1"), "50000")
    trail = sim.order(acc, PERP, SELL, STOP, "0.1", reduce_only=True,
                      trailing=Trailing(callback=D("0.01"), activation_price=D("51000")))  # fmt: skip
    assert kinds(sim.submit(trail, "50000")) == ["OrderAccepted"]
    assert sim.walk(PERP, 50000, 50500) == [] and trail.stop_price is None  # not activated yet

    events = sim.walk(PERP, 50500, 52000, 51700, 53000, 52600)
    (amended,) = of(ev.OrderAmended, events)  # one announcement per call
    assert amended.order.stop_price == D("52470") and amended.order.trail_anchor == D("53000")
    assert fills(events) == []  # 52600 is above the stop

    lower = sim.walk(PERP, 52600, 52550)  # a lower price never moves a sell stop down
    assert trail.stop_price == D("52470") and of(ev.OrderAmended, lower) == []

    events = sim.walk(PERP, 52550, 52000)
    assert kinds(events)[:2] == ["OrderTriggered", "OrderFilled"]
    (fill,) = fills(events)
    assert (fill.price, fill.liquidity, fill.realized_pnl) == (
        D("52470"),
        Liquidity.TAKER,
        D("247"),
    )
    assert sim.ledger.positions(acc) == []


def test_a_buy_trailing_stop_follows_the_lowest_ask(sim: Sim) -> None:
    acc = sim.account(USDT=10000)
    sim.submit(sim.order(acc, PERP, SELL, MARKET, "0.1"), "50000")
    trail = sim.order(
        acc, PERP, BUY, STOP, "0.1", reduce_only=True, trailing=Trailing(callback=D("0.02"))
    )
    sim.submit(trail, "50000")
    assert trail.stop_price == D("51000")  # active at once: 50000 * 1.02
    events = sim.walk(PERP, 50000, 48000, 48500)
    assert trail.stop_price == D("48960") and len(of(ev.OrderAmended, events)) == 1
    (fill,) = fills(sim.walk(PERP, 48500, 49500))
    assert fill.price == D("48960") and fill.realized_pnl == D("104")


def test_reduce_only_orders_shrink_with_their_position_and_go_when_it_closes(sim: Sim) -> None:
    acc = sim.account(USDT=10000)
    sim.submit(sim.order(acc, PERP, BUY, MARKET, "0.1"), "50000")
    target = sim.order(acc, PERP, SELL, LIMIT, "0.1", price="55000", reduce_only=True)
    sim.submit(target, "50000")
    events = sim.submit(sim.order(acc, PERP, SELL, MARKET, "0.04"), "50000")
    (amended,) = of(ev.OrderAmended, events)
    assert amended.order.id == target.id and target.amount == D("0.06")
    events = sim.submit(sim.order(acc, PERP, SELL, MARKET, "0.06"), "50000")
    (cancelled,) = of(ev.OrderCancelled, events)
    assert cancelled.order.id == target.id and cancelled.reason == "position closed"
    assert sim.engine.open_orders() == []


def test_hedging_brackets_guard_their_own_ticket_only(sim: Sim) -> None:
    acc = sim.account(mode=PositionMode.HEDGING, USDT=10000)
    first = sim.order(acc, PERP, BUY, MARKET, "0.1", bracket=Bracket(stop_loss=D("45000")))
    sim.submit(first, "50000")
    sim.submit(
        sim.order(acc, PERP, BUY, MARKET, "0.2", bracket=Bracket(stop_loss=D("47000"))), "50000"
    )
    tickets = sim.ledger.positions(acc)
    assert [p.amount for p in tickets] == [D("0.1"), D("0.2")]
    (fill,) = fills(sim.walk(PERP, 50000, 46000))
    assert fill.position_id == tickets[1].id and fill.realized_pnl == D("-600")
    assert [p.id for p in sim.ledger.positions(acc)] == [tickets[0].id]
    assert [o.position_id for o in sim.engine.open_orders(acc)] == [tickets[0].id]


def test_a_trailing_stop_that_moves_and_triggers_in_one_walk_announces_the_move_first(
    sim: Sim,
) -> None:
    acc = sim.account(USDT=10000)
    sim.submit(sim.order(acc, PERP, BUY, MARKET, "0.1"), "50000")
    sim.submit(
        sim.order(acc, PERP, SELL, STOP, "0.1", reduce_only=True, trailing=Trailing(D("0.01"))),
        "50000",
    )
    events = sim.walk(PERP, 50000, 53000, 52000)
    assert kinds(events)[:3] == ["OrderAmended", "OrderTriggered", "OrderFilled"]
    assert events[0].order.stop_price == D("52470") and fills(events)[0].price == D("52470")


def test_a_stop_limit_in_an_oco_group_cancels_its_sibling_when_it_triggers(sim: Sim) -> None:
    acc = sim.account(BTC=1)
    take = sim.order(acc, SPOT, SELL, LIMIT, "0.1", price="53000", oco_group="oco_b")
    stop = sim.order(
        acc, SPOT, SELL, OrderType.STOP_LIMIT, "0.1", price="48500", stop="48000", oco_group="oco_b"
    )
    sim.submit(take, "50000")
    sim.submit(stop, "50000")
    events = sim.walk(SPOT, 50000, 47900)  # triggers; a sell limit at 48500 now waits above
    assert kinds(events)[:2] == ["OrderTriggered", "OrderCancelled"]
    assert take.status is OrderStatus.CANCELLED and stop.is_open and stop.triggered


def test_rearm_names_count_generations_from_the_chain_root() -> None:
    from tradewind.venues.matching.programs import rearm_client_id

    sim = Sim()
    acc = sim.account(USDT=1)
    named = sim.order(acc, SPOT, BUY, LIMIT, "1", price="1", client_order_id="lvl:r9")
    plain = sim.order(acc, SPOT, BUY, LIMIT, "1", price="1")
    assert rearm_client_id(named) == "lvl:r10"
    assert rearm_client_id(plain) == f"{plain.id}:r1"
