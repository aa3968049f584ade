"""The smart trade on stored BTC hours: entries where the candles reach them, the take-profit
ladder sized to what was entered, the stop loss and the trailing stop at market, edits while
running, and the end of the trade once it holds nothing."""

from __future__ import annotations

from decimal import ROUND_FLOOR
from decimal import Decimal as D
from itertools import pairwise
from typing import Any

from tradewind.domain.orders import OrderType, Side
from tradewind.marketdata import Candles
from tradewind.strategies.base import AmendOrder
from tradewind.strategies.smart_trade import SmartTrade, SmartTradeSettings

from .conftest import first_time_at_or_above, first_time_at_or_below, ohlc_points
from .harness import Harness

SPOT = "BTC/USDT"
HALF, SAT = D("0.5"), D("0.00001")


def plan(**fields: Any) -> SmartTradeSettings:
    return SmartTradeSettings.model_validate({"symbol": SPOT, "amount": 1000, **fields})


def levels(*pairs: tuple[object, object]) -> list[dict[str, object]]:
    return [{"price": p, "share": s} for p, s in pairs]


def harness(settings: SmartTradeSettings, candles: Candles, start: int, stop: int) -> Harness:
    h = Harness(SmartTrade(settings), candles[:stop], symbol=SPOT, interval="1h",
                balances={"USDT": D(5000)}, start=start)  # fmt: skip
    h.start()
    return h


def open_orders(h: Harness) -> dict[str, tuple[D | None, D]]:
    return {o.tag: (o.price, o.amount - o.filled) for o in h.ctx().open_orders}


# 2018-10-29 01:00 at 6405.99: down to 6272 within the day and 6203.72 on the 31st, back
# to 6440 on 11-02 and 6540 on 11-04
DIP = 11630


def test_entries_fill_where_the_price_reaches_them_and_the_ladder_sells_what_was_entered(
    btc_1h: Candles,
) -> None:
    stop = 11900
    targets = levels((6400, 30), (6500, 30), (6530, 40))
    h = harness(plan(entries=levels((6300, 60), (6220, 40)), takeProfits=targets),
                btc_1h, DIP, stop)  # fmt: skip
    points = ohlc_points(btc_1h, DIP, stop)

    amounts = [(D(600) / D(6300)).quantize(SAT, ROUND_FLOOR),
               (D(400) / D(6220)).quantize(SAT, ROUND_FLOOR)]  # fmt: skip
    entries = h.orders_placed()
    assert [(c.tag, c.side, c.type, c.price, c.amount) for c in entries] == [
        ("e:0", Side.BUY, OrderType.LIMIT, D(6300), amounts[0]),
        ("e:1", Side.BUY, OrderType.LIMIT, D(6220), amounts[1]),
    ]
    h.run(11700 - DIP)  # through the dip of the 31st

    fills = {f.tag: f for f in h.fills}
    for tag, price in (("e:0", D(6300)), ("e:1", D(6220))):
        reached = first_time_at_or_below(points, price - HALF)  # the ask comes down to it
        assert reached is not None
        assert (fills[tag].price, fills[tag].ts_ms) == (price, reached[0])

    # the ladder holds 30/30/40 % of everything entered, and together exactly that
    entered = sum(amounts, D(0))
    sizes = [(entered * D(s) / 100).quantize(SAT, ROUND_FLOOR) for s in (30, 30, 40)]
    sizes[-1] = entered - sizes[0] - sizes[1]
    assert open_orders(h) == {f"tp:{k}": (D(t["price"]), sizes[k]) for k, t in enumerate(targets)}
    assert sum(sizes, D(0)) == entered
    # it was placed after the first entry and re-sized after the second
    assert [(c.tag, c.amount) for c in h.commands if isinstance(c, AmendOrder)] == [
        (f"tp:{k}", sizes[k]) for k in range(3)
    ]

    h.run()
    fills = {f.tag: f for f in h.fills}
    after = fills["e:1"].ts_ms
    for k, target in enumerate(targets):
        price = D(target["price"])
        reached = first_time_at_or_above(points, price + HALF, after_ms=after)  # the bid
        assert reached is not None
        fill = fills[f"tp:{k}"]
        assert (fill.side, fill.price, fill.amount, fill.ts_ms) == (
            Side.SELL, price, sizes[k], reached[0],
        )  # fmt: skip
    # flat after the last target: the trade stops, nothing left open, the coins all sold
    assert h.status == "stopped" and h.stop_reason == "closed by take-profit"
    assert h.ctx().open_orders == () and h.total("BTC") == 0
    assert h.index < stop  # it stopped before the candles ran out


def test_a_stop_loss_closes_at_market_where_the_price_reaches_it(btc_1h: Candles) -> None:
    start, stop = 12010, 12034  # 2018-11-13 21:00, into the crash of the 14th
    open_ = D(repr(float(btc_1h.open[start])))
    h = harness(plan(entries=levels((7000, 100)), takeProfits=levels((7500, 100)),
                     stopLoss=6000), btc_1h, start, stop)  # fmt: skip
    h.run()
    points = ohlc_points(btc_1h, start, stop)

    entry, exit_ = h.fills  # the target at 7500 never filled
    # an entry above the market takes the ask at once
    assert (entry.tag, entry.price, entry.ts_ms) == ("e:0", open_ + HALF, int(btc_1h.ts[start]))
    reached = first_time_at_or_below(points, D(6000))
    assert reached is not None
    assert (exit_.tag, exit_.side, exit_.price, exit_.amount, exit_.ts_ms) == (
        "exit", Side.SELL, D(6000) - HALF, entry.amount, reached[0],
    )  # fmt: skip
    assert h.status == "stopped" and h.stop_reason == "closed by stop-loss"
    assert h.ctx().open_orders == () and h.total("BTC") == 0


def test_trailing_follows_the_best_price_and_closes_on_the_callback(btc_1h: Candles) -> None:
    start, stop = 11790, 11900  # 2018-11-02 from 6400: up past 6450, then 1% back
    settings = plan(entries=levels((7000, 100)), trailingActivation=6450, trailingCallback=1)
    h = harness(settings, btc_1h, start, stop)
    h.run()
    points = ohlc_points(btc_1h, start, stop)

    # written out again: active once the path reaches 6450, the best price since then is
    # the anchor, the close comes where the path falls 1% below it
    activated = first_time_at_or_above(points, D(6450))
    assert activated is not None
    best, close = D(6450), None
    for (t0, p0), (t1, p1) in pairwise(points):
        if t1 <= activated[0]:
            continue
        if p1 > best:
            best = p1
            continue
        level = best * D("0.99")
        if p1 <= level < p0:
            close = (t0 + int((t1 - t0) * (level - p0) / (p1 - p0)), level)
            break
    assert close is not None and best > D(6450)  # it did follow the price up

    entry, exit_ = h.fills
    assert (exit_.tag, exit_.side, exit_.amount) == ("exit", Side.SELL, entry.amount)
    assert exit_.ts_ms == close[0]
    assert abs(exit_.price - (close[1] - HALF)) <= D("0.01")  # the bid, to the tick
    assert h.status == "stopped" and h.stop_reason == "closed by trailing stop"
    assert any("Trailing stop active" in log.message for log in h.logs())


def test_editing_the_targets_while_running_moves_the_orders(btc_1h: Candles) -> None:
    stop = 11900
    first = plan(entries=levels((6300, 100)), takeProfits=levels((6600, 50), (6700, 50)))
    h = harness(first, btc_1h, DIP, stop)
    h.run(11700 - DIP)  # entered in the dip; 6600 is far away
    [entry] = h.fills
    half = (entry.amount / 2).quantize(SAT, ROUND_FLOOR)
    assert open_orders(h) == {"tp:0": (D(6600), half), "tp:1": (D(6700), entry.amount - half)}

    h.edit(plan(entries=levels((6300, 100)), takeProfits=levels((6400, 50), (6500, 50))))
    assert open_orders(h) == {"tp:0": (D(6400), half), "tp:1": (D(6500), entry.amount - half)}
    assert any("Plan updated: takeProfits" in log.message for log in h.logs())

    h.run()
    points = ohlc_points(btc_1h, DIP, stop)
    fills = {f.tag: f for f in h.fills}
    for k, price in enumerate((D(6400), D(6500))):
        reached = first_time_at_or_above(points, price + HALF, after_ms=entry.ts_ms)
        assert reached is not None
        assert (fills[f"tp:{k}"].price, fills[f"tp:{k}"].ts_ms) == (price, reached[0])
    assert h.status == "stopped" and h.total("BTC") == 0
