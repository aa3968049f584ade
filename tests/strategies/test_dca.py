"""Spot and futures DCA bots: the ladder, the take-profit, the stop-loss, the cooldown."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN
from decimal import Decimal as D

import pytest

from tradewind.domain.orders import OrderRole, OrderType, Side
from tradewind.marketdata import Candles
from tradewind.strategies.base import (
    AmendOrder,
    BotFill,
    Context,
    OrderLeg,
    PlaceOrder,
    SetLeverage,
)
from tradewind.strategies.dca import FuturesDca, FuturesDcaSettings, SpotDca, SpotDcaSettings
from tradewind.strategies.schema import InvalidSettings, parse_settings
from tradewind.venues.paper.catalog import paper_instruments

from .conftest import HOUR, first_time_at_or_above, first_time_at_or_below, ohlc_points
from .harness import Harness

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"
HALF, CENT, SAT = D("0.5"), D("0.01"), D("0.00001")


def dca(**overrides: object) -> SpotDcaSettings:
    base: dict[str, object] = {
        "symbol": SPOT, "baseOrderSize": 100, "safetyOrderSize": 100, "safetyOrderCount": 3,
        "priceDeviation": 1, "stepScale": "1.5", "volumeScale": "1.5", "takeProfit": "1.5",
        "cooldown": 3600,
    }  # fmt: skip
    return SpotDcaSettings.model_validate(base | overrides)


def run(settings: SpotDcaSettings, candles: Candles, start: int, stop: int) -> Harness:
    h = Harness(SpotDca(settings), candles[:stop], symbol=SPOT, interval="1h",
                balances={"USDT": D(5000)}, start=start)  # fmt: skip
    h.start()
    h.run()
    return h


def test_the_ladder_sits_at_the_deviations_and_the_deal_closes_at_take_profit(
    btc_1h: Candles,
) -> None:
    start, stop = 11630, 11790  # 2018-10-29 01:00: a 2.9% dip, then a slow recovery
    h = run(dca(), btc_1h, start, stop)
    points = ohlc_points(btc_1h, start, stop)

    entry = D(repr(float(btc_1h.open[start]))) + HALF  # the market buy takes the ask
    base = h.fills[0]
    assert (base.tag, base.price, base.amount) == (
        "1:base",
        entry,
        (D(100) / (entry - HALF)).quantize(SAT, ROUND_FLOOR),  # sized at the last price
    )
    # deviations 1%, 1 + 1.5 = 2.5%, 2.5 + 2.25 = 4.75%; sizes 100, 150, 225 USDT
    prices = [
        (entry * (1 - d / 100)).quantize(CENT, ROUND_HALF_EVEN) for d in (D(1), D("2.5"), D("4.75"))
    ]
    amounts = [
        (size / p).quantize(SAT, ROUND_FLOOR)
        for size, p in zip((D(100), D(150), D(225)), prices, strict=True)
    ]
    ladder = [c for c in h.orders_placed() if c.tag.startswith("1:so")]
    assert [(c.tag, c.side, c.type, c.price, c.amount) for c in ladder] == [
        (f"1:so{k}", Side.BUY, OrderType.LIMIT, p, a)
        for k, (p, a) in enumerate(zip(prices, amounts, strict=True), start=1)
    ]
    assert {t for t, c, _ in h.placed if c in ladder} == {base.ts_ms}  # all at once

    # safety orders 1 and 2 fill where the ask comes down to them; 3 (at -4.75%) never does
    fills = {f.tag: f for f in h.fills}
    for k in (1, 2):
        reached = first_time_at_or_below(points, prices[k - 1] - HALF)
        assert reached is not None and fills[f"1:so{k}"].ts_ms == reached[0]
    assert first_time_at_or_below(points, prices[2] - HALF) is None or "1:so3" not in fills

    bought = [(base.amount, entry), *((amounts[k], prices[k]) for k in (0, 1))]
    held = sum(a for a, _ in bought)
    average = sum(a * p for a, p in bought) / held
    take = (average * D("1.015")).quantize(CENT, ROUND_CEILING)
    tp = fills["1:tp"]
    assert (tp.side, tp.price, tp.amount) == (Side.SELL, take, held)
    reached = first_time_at_or_above(points, take + HALF, after_ms=fills["1:so2"].ts_ms)
    assert reached is not None and tp.ts_ms == reached[0]
    # the take-profit was placed once and moved after each safety order
    amends = [c for c in h.commands if isinstance(c, AmendOrder)]
    assert [(a.tag, a.amount) for a in amends] == [
        ("1:tp", base.amount + amounts[0]),
        ("1:tp", held),
    ]
    assert amends[-1].price == take

    bot = h.strategy
    assert isinstance(bot, SpotDca)
    fees = base.amount * entry * D("0.001") + sum(a * p * D("0.001") for a, p in bought[1:])
    fees += held * take * D("0.001")
    profit = held * take - sum(a * p for a, p in bought) - fees
    assert bot.state.deals_closed == 1 and bot.state.profit == profit
    # the deal's last safety order is gone; the next deal opens an hour later
    assert not [o for o in h.ctx().open_orders if o.tag.startswith("1:")]
    deal2 = next(t for t, c, _ in h.placed if c.tag == "2:base")
    assert deal2 == tp.ts_ms + HOUR


def test_the_stop_loss_closes_the_deal_where_the_price_reaches_it(btc_1h: Candles) -> None:
    start, stop = 12010, 12034  # 2018-11-13 21:00, into the crash of the 14th
    h = run(dca(stopLoss=8), btc_1h, start, stop)
    points = ohlc_points(btc_1h, start, stop)

    entry = h.fills[0].price
    level = entry * D("0.92")
    reached = first_time_at_or_below(points, level)
    assert reached is not None
    exit_fill = next(f for f in h.fills if f.tag == "1:exit")
    assert exit_fill.ts_ms == reached[0]
    assert exit_fill.price == (level - HALF).quantize(CENT, ROUND_FLOOR)
    assert exit_fill.amount == sum(
        f.amount for f in h.fills if f.tag.startswith("1:") and f.side is Side.BUY
    )
    assert [f.tag for f in h.fills[:5]] == ["1:base", "1:so1", "1:so2", "1:so3", "1:exit"]
    bot = h.strategy
    assert isinstance(bot, SpotDca)
    assert bot.state.deals_closed >= 1 and bot.state.profit < 0
    assert next(t for t, c, _ in h.placed if c.tag == "2:base") == exit_fill.ts_ms + HOUR
    assert "Deal 1 closed by stop-loss" in str(h.logs())


def test_a_futures_sell_deal_ladders_up_and_takes_profit_below() -> None:
    perp = paper_instruments()[PERP]
    settings = FuturesDcaSettings.model_validate({
        "symbol": PERP, "direction": "Sell", "baseOrderSize": 100, "safetyOrderSize": 50,
        "safetyOrderCount": 2, "priceDeviation": 2, "takeProfit": 1, "leverage": 3,
    })  # fmt: skip
    bot = FuturesDca(settings)
    ctx = Context(bot_id="bot_x", instrument=perp, now_ms=0, price=D(6000))
    first = bot.on_start(ctx)
    assert first[0] == SetLeverage(D(3))
    base = first[-1]
    assert isinstance(base, PlaceOrder)
    assert (base.side, base.type, base.amount) == (
        Side.SELL,
        OrderType.MARKET,
        D("0.05"),
    )  # 300 / 6000
    fill = BotFill(tag="1:base", leg=OrderLeg.ORDER, client_order_id="bot_x:1", side=Side.SELL,
                   amount=D("0.05"), price=D("5999.5"), fee=D("0.15"), fee_asset="USDT", ts_ms=1)  # fmt: skip
    placed = [c for c in bot.on_fill(fill, ctx) if isinstance(c, PlaceOrder)]
    assert [(c.tag, c.side, c.price, c.reduce_only) for c in placed] == [
        ("1:so1", Side.SELL, D("6119.5"), False),  # +2% = 6119.49, to the 0.1 tick
        ("1:so2", Side.SELL, D("6239.5"), False),  # +4% = 6239.48
        ("1:tp", Side.BUY, D("5939.5"), True),  # 5939.505, rounded down
    ]
    assert placed[-1].role is OrderRole.TAKE_PROFIT and placed[-1].amount == D("0.05")


def test_a_take_profit_edit_moves_the_open_take_profit() -> None:
    btc = paper_instruments()[SPOT]
    bot = SpotDca(dca())
    ctx = Context(bot_id="bot_x", instrument=btc, now_ms=0, price=D(6000))
    bot.on_start(ctx)
    fill = BotFill(tag="1:base", leg=OrderLeg.ORDER, client_order_id="bot_x:1", side=Side.BUY,
                   amount=D("0.01666"), price=D("6000.5"), fee=D("0.1"), fee_asset="USDT", ts_ms=1)  # fmt: skip
    bot.on_fill(fill, ctx)
    from tradewind.strategies.base import OrderView

    tp = OrderView(tag="1:tp", leg=OrderLeg.ORDER, client_order_id="bot_x:5", side=Side.SELL,
                   type=OrderType.LIMIT, amount=D("0.01666"), filled=D(0), price=D("6090.51"),
                   stop_price=None, reduce_only=False)  # fmt: skip
    with_tp = Context(bot_id="bot_x", instrument=btc, now_ms=2, price=D(6000), open_orders=(tp,))
    assert bot.on_settings(dca(takeProfit=2), with_tp) == [
        AmendOrder("1:tp", price=D("6120.51"), amount=D("0.01666"))
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stopLoss": 4}, "stopLoss"),  # inside the ladder (last safety order at 4.75%)
        ({"priceDeviation": 30, "safetyOrderCount": 3}, "safetyOrderCount"),  # 30+45+67.5%
        ({"baseOrderSize": 0}, "baseOrderSize"),
        ({"direction": "Up"}, "direction"),
    ],
)
def test_settings_errors_name_the_field(changes: dict[str, object], field: str) -> None:
    data = dca().to_wire() | changes
    with pytest.raises(InvalidSettings) as caught:
        parse_settings(SpotDcaSettings, data)
    assert caught.value.field == field


def test_an_order_below_the_minimum_value_is_refused_for_the_instrument() -> None:
    with pytest.raises(InvalidSettings) as caught:
        dca(safetyOrderSize=4).validate_for(paper_instruments()[SPOT])
    assert caught.value.field == "safetyOrderSize" and "below the minimum" in caught.value.message
