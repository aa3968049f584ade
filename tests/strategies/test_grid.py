"""Spot and futures grid bots on stored BTC hours, checked against hand counts."""

from __future__ import annotations

from decimal import Decimal as D
from itertools import pairwise

import pytest

from tradewind.domain.orders import OrderType, Rearm, Side
from tradewind.marketdata import Candles
from tradewind.strategies.base import Context, PlaceOrder, StopBot
from tradewind.strategies.grid import FuturesGrid, SpotGrid
from tradewind.strategies.grid_settings import FuturesGridSettings, SpotGridSettings, grid_levels
from tradewind.venues.paper.catalog import paper_instruments

from .conftest import HOUR, first_time_at_or_below, ohlc_points
from .harness import ACCOUNT, Harness

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"
BTC = paper_instruments()[SPOT]
HALF, MAKER, TAKER = D("0.5"), D("0.001"), D("0.001")
RANGING = (11420, 11590)  # 2018-10-20 07:00 to 2018-10-27 08:00 UTC: 6,355 to 6,453
BREAKDOWN = (11590, 11660)  # 2018-10-27 09:00 to 10-30 06:00: the range breaks on the 29th


def spot_grid(**overrides: object) -> SpotGridSettings:
    base: dict[str, object] = {
        "symbol": SPOT, "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
        "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
    }  # fmt: skip
    return SpotGridSettings.model_validate(base | overrides)


def run(bot: SpotGrid | FuturesGrid, candles: Candles, start: int, stop: int) -> Harness:
    symbol = PERP if isinstance(bot, FuturesGrid) else SPOT
    balances = {"USDT": D(2000)}
    h = Harness(bot, candles[:stop], symbol=symbol, interval="1h", balances=balances, start=start)
    h.start()
    h.run()
    return h


class HandCount:
    """Each grid alternates on its own: a BUY at its lower level fills when the ask (last +
    0.5) comes down to it, a SELL at its upper level when the bid (last - 0.5) reaches it. On
    a monotonic leg of the path a grid can flip at most once."""

    def __init__(self, levels: list[D], amounts: list[D], start_price: D) -> None:
        self.levels, self.amounts = levels, amounts
        self.waiting = ["buy" if levels[i] < start_price else "sell" for i in range(len(amounts))]
        self.bought = [False] * len(amounts)
        self.buys: list[tuple[D, D]] = []
        self.sells: list[tuple[D, D]] = []
        self.trips, self.profit = 0, D(0)

    def walk(self, points: list[tuple[int, D]]) -> None:
        for (_, a), (_, b) in pairwise(points):
            low, high = min(a, b), max(a, b)
            for i, amount in enumerate(self.amounts):
                lower, upper = self.levels[i], self.levels[i + 1]
                if self.waiting[i] == "buy" and low + HALF <= lower:
                    self.waiting[i], self.bought[i] = "sell", True
                    self.buys.append((amount, lower))
                elif self.waiting[i] == "sell" and high - HALF >= upper:
                    self.waiting[i] = "buy"
                    self.sells.append((amount, upper))
                    if self.bought[i]:
                        self.trips += 1
                        self.profit += amount * (upper - lower) - amount * (lower + upper) * MAKER
                        self.bought[i] = False


def test_a_spot_grid_in_a_ranging_market_matches_the_hand_count(btc_1h: Candles) -> None:
    start, stop = RANGING
    h = run(SpotGrid(spot_grid()), btc_1h, start, stop)

    levels = [D(6370), D(6390), D(6410), D(6430), D(6450)]
    amounts = [
        (D(250) / level).quantize(D("0.00001"), rounding="ROUND_FLOOR") for level in levels[:4]
    ]
    p0 = D(repr(float(btc_1h.open[start])))  # 6412.44: grids 0-2 buy, grid 3 sells
    hand = HandCount(levels, amounts, p0)
    hand.walk(ohlc_points(btc_1h, start, stop))

    bot = h.strategy
    assert isinstance(bot, SpotGrid)
    assert hand.trips == 11
    assert bot.state.round_trips == hand.trips
    assert bot.state.grid_profit == hand.profit
    # the ledger agrees, to the cent and the satoshi: the fill order, then every grid fill
    fill_price = p0 + HALF
    spent = amounts[3] * fill_price * (1 + TAKER)
    quote = D(2000) - spent - sum(a * p * (1 + MAKER) for a, p in hand.buys)
    quote += sum(a * p * (1 - MAKER) for a, p in hand.sells)
    assert h.total("USDT") == quote
    assert h.total("BTC") == amounts[3] + sum(a for a, _ in hand.buys) - sum(
        a for a, _ in hand.sells
    )
    # the re-arm is the matching engine's: Python placed five orders, the engine the rest
    placed = h.orders_placed()
    assert [(p.tag, p.side, p.type, p.price) for p in placed] == [
        ("fill", Side.BUY, OrderType.MARKET, None),
        ("grid:0", Side.BUY, OrderType.LIMIT, D(6370)),
        ("grid:1", Side.BUY, OrderType.LIMIT, D(6390)),
        ("grid:2", Side.BUY, OrderType.LIMIT, D(6410)),
        ("grid:3", Side.SELL, OrderType.LIMIT, D(6450)),
    ]
    assert placed[1].rearm == Rearm(price=D(6390), flip=True)
    assert placed[4].rearm == Rearm(price=D(6430), flip=True)
    assert len(h.fills) == 1 + len(hand.buys) + len(hand.sells)
    assert {f.leg for f in h.fills[1:]} >= {"order", "rearm"}


def test_geometric_levels_keep_a_constant_ratio() -> None:
    settings = spot_grid(lowerLimit=1000, upperLimit=8000, gridCount=3, gridMode="Geometric")
    assert grid_levels(settings, BTC) == [D(1000), D(2000), D(4000), D(8000)]
    settings = spot_grid(lowerLimit=100, upperLimit=200, gridCount=2, gridMode="Geometric")
    assert grid_levels(settings, BTC) == [D(100), D("141.42"), D(200)]


def test_preview_shows_the_orders_without_placing_them() -> None:
    bot = SpotGrid(spot_grid(investmentAsset="Base", investmentAmount="0.2"))
    ctx = Context(bot_id="bot_x", instrument=BTC, now_ms=0, price=D("6400.5"))
    orders = bot.preview(ctx)
    assert [(o.tag, o.side, o.price, o.amount) for o in orders] == [
        ("fill", Side.BUY, None, D("0.1")),
        ("grid:0", Side.BUY, D(6370), D("0.05")),
        ("grid:1", Side.BUY, D(6390), D("0.05")),
        ("grid:2", Side.SELL, D(6430), D("0.05")),
        ("grid:3", Side.SELL, D(6450), D("0.05")),
    ]
    assert bot.state.phase == "idle" and bot.state.pairs == []


def test_without_trade_to_fill_the_sells_come_from_the_free_base() -> None:
    bot = SpotGrid(spot_grid(investmentAsset="Base", investmentAmount="0.2", tradeToFillGrid=False))
    ctx = Context(
        bot_id="bot_x", instrument=BTC, now_ms=0, price=D("6400.5"), balances={"BTC": D("0.07")}
    )
    commands = bot.on_start(ctx)
    placed = [c for c in commands if isinstance(c, PlaceOrder)]
    assert [(o.tag, o.side) for o in placed] == [
        ("grid:0", Side.BUY), ("grid:1", Side.BUY), ("grid:2", Side.SELL),
    ]  # fmt: skip
    assert "Grid #3 left out" in str(commands)


def test_a_price_stop_with_stop_exit_sells_what_the_grid_bought(btc_1h: Candles) -> None:
    start, stop = BREAKDOWN
    settings = spot_grid(
        lowerLimit=6360, upperLimit=6440, gridCount=4, stopCondition="Price",
        stopType="Below value", stopValue=6350, stopExit=True,
    )  # fmt: skip
    h = run(SpotGrid(settings), btc_1h, start, stop)

    crossed = first_time_at_or_below(ohlc_points(btc_1h, start, stop), D(6350))
    assert crossed is not None
    assert h.status == "stopped" and h.stop_reason == "Stop condition: Price below value 6350"
    assert h.timers[-1] == crossed[0]
    exit_fill = h.fills[-1]
    assert (exit_fill.tag, exit_fill.side, exit_fill.ts_ms) == ("exit", Side.SELL, crossed[0])
    assert exit_fill.price == D(6350) - HALF  # sold at the bid where the price crossed
    assert h.total("BTC") == 0  # everything it bought is sold
    assert not h.engine.open_orders()
    assert h.index < stop - 1  # it stopped there, not at the end of the data


def test_a_price_start_condition_places_nothing_until_it_is_met(btc_1h: Candles) -> None:
    start, stop = RANGING
    settings = spot_grid(startCondition="Price", startType="Below value", startValue=6390)
    h = run(SpotGrid(settings), btc_1h, start, stop)

    crossed = first_time_at_or_below(ohlc_points(btc_1h, start, stop), D(6390))
    assert crossed is not None
    first = h.placed[0]
    assert first[0] == crossed[0] and h.timers[0] == crossed[0]
    assert crossed[0] > int(btc_1h.ts[start]) + HOUR  # it waited
    assert [(c.tag, c.side) for c in h.orders_placed()][:3] == [
        ("fill", Side.BUY), ("grid:0", Side.BUY), ("grid:1", Side.SELL),
    ]  # fmt: skip  # laid out at 6390


def test_the_stop_conditions_are_editable_while_running_and_then_apply(btc_1h: Candles) -> None:
    start, stop = BREAKDOWN
    bot = SpotGrid(spot_grid(lowerLimit=6360, upperLimit=6440, gridCount=4))
    h = Harness(bot, btc_1h[:stop], symbol=SPOT, interval="1h", balances={"USDT": D(2000)},
                start=start)  # fmt: skip
    h.start()
    h.run(5)
    assert h.status == "active"
    edited = spot_grid(lowerLimit=6360, upperLimit=6440, gridCount=4, stopCondition="Price",
                       stopType="Below value", stopValue=6350)  # fmt: skip
    h.edit(edited)
    h.run()
    assert h.status == "stopped"
    assert h.total("BTC") > 0  # no stopExit: it keeps what it holds
    assert not h.engine.open_orders()


# ---- futures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def falling() -> tuple[int, int]:
    return 12000, 12060  # 2018-11-13 11:00 to 11-15 23:00: 6,285 down to 5,190


def futures_grid(**overrides: object) -> FuturesGridSettings:
    base: dict[str, object] = {
        "symbol": PERP, "lowerLimit": 5800, "upperLimit": 6400, "gridCount": 6,
        "investmentAmount": 300, "leverage": 5, "direction": "long", "maxLoss": 40,
    }  # fmt: skip
    return FuturesGridSettings.model_validate(base | overrides)


def test_a_long_futures_grid_stops_at_max_loss_and_closes(
    btc_1h: Candles, falling: tuple[int, int]
) -> None:
    start, stop = falling
    bot = FuturesGrid(futures_grid())
    h = Harness(bot, btc_1h[:stop], symbol=PERP, interval="1h", balances={"USDT": D(2000)},
                start=start)  # fmt: skip
    h.start()
    losses = []
    while h.status == "active" and h.index < stop:
        h.run(1)
        if h.status == "active":
            mark = {PERP: h.price}
            losses.append(h.ledger.summary(ACCOUNT, mark).equity - D(2000))
    assert h.status == "stopped"
    assert h.stop_reason == "maxLoss reached: total profit -40 USDT"
    assert all(loss > -40 for loss in losses)  # never there at an earlier bar's close
    assert h.ledger.positions(ACCOUNT) == []
    lost = h.total("USDT") - D(2000)
    # at the wake the bot's total was exactly -40; closing costs the spread and a taker fee
    closing = h.fills[-1]
    assert closing.tag == "exit" and closing.side is Side.SELL
    level = closing.price + HALF  # the bid at the wake, less the tick the sell rounds down by
    cost = closing.amount * (HALF + D("0.1") + level * D("0.0005"))
    assert -40 - cost <= lost < -40
    assert any(isinstance(c, StopBot) for c in h.commands)


def test_futures_grid_directions_lay_out_the_position(btc_1h: Candles) -> None:
    perp = paper_instruments()[PERP]
    ctx = Context(bot_id="bot_x", instrument=perp, now_ms=0, price=D(6100))
    long_orders = FuturesGrid(futures_grid()).preview(ctx)
    short_orders = FuturesGrid(futures_grid(direction="short")).preview(ctx)
    neutral = FuturesGrid(futures_grid(direction="neutral")).preview(ctx)
    # 300 USDT x 5 over 6 grids: 250 USDT of contracts per grid, valued at its lower level
    amounts = [
        (D(250) / p).quantize(D("0.001"), rounding="ROUND_FLOOR")
        for p in (5800, 5900, 6000, 6100, 6200, 6300)
    ]
    assert long_orders[0].tag == "fill" and long_orders[0].side is Side.BUY
    assert long_orders[0].amount == sum(amounts[3:])  # the grids above 6,100 sell it
    assert short_orders[0].side is Side.SELL and short_orders[0].amount == sum(amounts[:3])
    assert neutral[0].tag == "grid:0"
    assert [o.side for o in neutral] == [Side.BUY] * 3 + [Side.SELL] * 3
