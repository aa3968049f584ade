"""The strategy contract: client ids, wakes, commands, and for every script: determinism,
snapshot/restore mid-run, and a skipping backtester seeing the same thing."""

from __future__ import annotations

import ast
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tradewind.domain.orders import (
    AccountId,
    Fill,
    FillId,
    Liquidity,
    Order,
    OrderId,
    OrderStatus,
    OrderType,
    Side,
)
from tradewind.marketdata import Candles
from tradewind.strategies import base
from tradewind.strategies.base import (
    BotFill,
    CancelOrder,
    IndicatorWake,
    OrderKey,
    OrderLeg,
    OrderView,
    PlaceOrder,
    Strategy,
    Wake,
    client_order_id,
    parse_client_order_id,
)
from tradewind.strategies.registry import get_script

from .harness import ACCOUNT, Harness

# ---- client ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("bot_01J:7", OrderKey("bot_01J", 7)),
        ("bot_01J:7:r1", OrderKey("bot_01J", 7, OrderLeg.REARM, 1)),
        ("bot_01J:7:r12", OrderKey("bot_01J", 7, OrderLeg.REARM, 12)),
        ("bot_01J:7:sl", OrderKey("bot_01J", 7, OrderLeg.STOP_LOSS)),
        ("bot_01J:7:tp", OrderKey("bot_01J", 7, OrderLeg.TAKE_PROFIT)),
        ("bot_01J:7:r2:tp", OrderKey("bot_01J", 7, OrderLeg.TAKE_PROFIT, 2)),
        ("my-own-id", None),
        ("bot_01J:seven", None),
        (None, None),
    ],
)
def test_client_ids_name_the_bot_the_placement_and_the_leg(
    text: str | None, key: OrderKey | None
) -> None:
    assert parse_client_order_id(text) == key
    if key is not None and key.leg is OrderLeg.ORDER:
        assert client_order_id(key.bot_id, key.seq) == text


def test_fills_and_orders_carry_the_tag_and_the_leg() -> None:
    order = Order(
        id=OrderId("ord_1"), account_id=AccountId("acc"), symbol="BTC/USDT", side=Side.SELL,
        type=OrderType.LIMIT, amount=D("0.1"), created_ms=5, price=D(7000),
        client_order_id="bot_1:3:r2", status=OrderStatus.FILLED, filled=D("0.1"),
    )  # fmt: skip
    fill = Fill(
        id=FillId("fil_1"), order_id=order.id, account_id=order.account_id, symbol="BTC/USDT",
        side=Side.SELL, amount=D("0.1"), price=D(7000), fee=D("0.7"), fee_asset="USDT",
        liquidity=Liquidity.MAKER, ts_ms=9,
    )  # fmt: skip
    got = BotFill.of(fill, order, "grid:3")
    assert (got.tag, got.leg, got.generation, got.order_done) == ("grid:3", OrderLeg.REARM, 2, True)
    view = OrderView.of(order, "grid:3")
    assert (view.tag, view.leg, view.client_order_id) == ("grid:3", OrderLeg.REARM, "bot_1:3:r2")


def test_commands_refuse_what_no_engine_could_run() -> None:
    with pytest.raises(ValueError, match="tag"):
        PlaceOrder("", "BTC/USDT", Side.BUY, OrderType.MARKET, D(1))
    with pytest.raises(ValueError, match="price"):
        PlaceOrder("x", "BTC/USDT", Side.BUY, OrderType.LIMIT, D(1))
    with pytest.raises(ValueError, match="positive"):
        PlaceOrder("x", "BTC/USDT", Side.BUY, OrderType.MARKET, D(0))
    with pytest.raises(ValueError, match="exactly one"):
        CancelOrder()


# ---- waking -----------------------------------------------------------------------------

PATH = [(0, D(100)), (1000, D(90)), (2000, D(110))]


def test_a_price_level_is_due_where_the_path_crosses_it() -> None:
    assert Wake(below=D(95)).first_hit(PATH) == (0, (500, D(95)))
    assert Wake(above=D(105)).first_hit(PATH) == (1, (1750, D(105)))
    assert Wake(below=D(95), above=D(108)).first_hit(PATH) == (0, (500, D(95)))
    assert Wake(below=D(80)).first_hit(PATH) is None
    assert Wake().first_hit(PATH) is None


def test_a_time_is_due_at_its_moment_and_a_held_level_once_per_vertex() -> None:
    assert Wake(at_ms=1500).first_hit(PATH) == (1, (1500, D(100)))
    assert Wake(below=D(100)).first_hit(PATH) == (0, (0, D(100)))
    assert Wake(below=D(100)).first_hit(PATH, skip_start=True) == (0, (1000, D(90)))
    assert Wake(at_ms=0).first_hit(PATH, skip_start=True) == (0, (1000, D(90)))


def test_merged_wakes_take_the_nearer_levels_and_the_earlier_time() -> None:
    rsi = IndicatorWake(period=14, interval="1h", at_or_above=30.0)
    merged = Wake(below=D(90), at_ms=50).merge(
        Wake(below=D(95), above=D(120), at_ms=70, indicator=rsi)
    )
    assert merged == Wake(below=D(95), above=D(120), at_ms=50, indicator=rsi)
    other = IndicatorWake(period=7, interval="1h", at_or_below=20.0)
    assert Wake(indicator=rsi).merge(Wake(indicator=other)).every_bar
    assert Wake(below=D(1)).is_due(D(1), 0) and not Wake(below=D(1)).is_due(D(2), 0)


def test_strategies_import_nothing_but_the_domain() -> None:
    package = Path(base.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("tradewind"):
                    assert name.startswith(("tradewind.domain", "tradewind.strategies")), (
                        f"{module.name} imports {name}"
                    )


# ---- every script: determinism, snapshot/restore, skipping ------------------------------

Case = tuple[str, dict[str, Any], str, int, int, int]
CASES: dict[str, Case] = {
    # script, settings, symbol, first bar (history from there), start, stop
    "spot_grid": ("spot_grid", {
        "symbol": "BTC/USDT", "lowerLimit": 6370, "upperLimit": 6450, "gridCount": 4,
        "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
        "stopCondition": "RSI", "stopType": "Below value", "stopValue": 25,
    }, "BTC/USDT", 11380, 11420, 11700),
    "spot_grid_rsi_start": ("spot_grid", {
        "symbol": "BTC/USDT", "lowerLimit": 6200, "upperLimit": 6450, "gridCount": 5,
        "investmentAsset": "Quote", "investmentAmount": 1000, "startCondition": "RSI",
        "startType": "Below value", "startValue": 35,
    }, "BTC/USDT", 11380, 11420, 11700),
    "futures_grid": ("futures_grid", {
        "symbol": "BTC/USDT:USDT", "lowerLimit": 5800, "upperLimit": 6400, "gridCount": 6,
        "investmentAmount": 300, "leverage": 5, "direction": "long", "maxLoss": 40,
    }, "BTC/USDT:USDT", 11990, 12000, 12060),
    "spot_dca": ("dca_bot", {
        "symbol": "BTC/USDT", "baseOrderSize": 100, "safetyOrderSize": 100,
        "safetyOrderCount": 3, "priceDeviation": 1, "volumeScale": 1.5, "stepScale": 1.5,
        "takeProfit": 1.5, "stopLoss": 8, "cooldown": 3600,
    }, "BTC/USDT", 12000, 12010, 12100),
    "futures_dca": ("futures_dollar_cost_averaging", {
        "symbol": "BTC/USDT:USDT", "direction": "Sell", "baseOrderSize": 100,
        "safetyOrderSize": 100, "safetyOrderCount": 2, "priceDeviation": 1.5,
        "takeProfit": 1, "leverage": 2,
    }, "BTC/USDT:USDT", 12000, 12010, 12100),
    "rsi_bot": ("rsi_bot", {
        "symbol": "BTC/USDT", "orderSize": 500, "stopLoss": 2, "takeProfit": 3,
    }, "BTC/USDT", 12000, 12100, 12500),
}  # fmt: skip


def harness(case: Case, candles: Candles, *, skip: bool = False) -> Harness:
    script_id, data, symbol, first, start, stop = case
    script = get_script(script_id)
    bot = script.build(script.parse(data))
    h = Harness(bot, candles[first:stop], symbol=symbol, interval="1h",
                balances={"USDT": D(5000), "BTC": D(1)}, start=start - first, skip=skip)  # fmt: skip
    h.start()
    return h


def outcome(h: Harness) -> tuple[Any, ...]:
    balances = {a: (b.free, b.locked) for a, b in h.ledger.balances(ACCOUNT).items()}
    return h.commands, [(f.tag, f.ts_ms, f.price, f.amount) for f in h.fills], balances, h.status


@pytest.mark.parametrize("name", CASES)
def test_the_same_events_make_the_same_commands(name: str, btc_1h: Candles) -> None:
    runs = []
    for _ in range(2):
        h = harness(CASES[name], btc_1h)
        h.run()
        runs.append(outcome(h))
    assert runs[0] == runs[1]
    assert runs[0][1], f"{name}: the scenario should trade"


@pytest.mark.parametrize("name", CASES)
def test_a_strategy_restored_mid_run_carries_on_as_if_never_stopped(
    name: str, btc_1h: Candles
) -> None:
    reference = harness(CASES[name], btc_1h)
    reference.run()

    resumed = harness(CASES[name], btc_1h)
    script = get_script(CASES[name][0])
    for split in (17, 23):  # twice, at different points
        resumed.run(split)
        saved = json.loads(json.dumps(resumed.strategy.snapshot()))
        fresh: Strategy[Any, Any] = script.build(resumed.strategy.settings)
        fresh.restore(saved)
        assert fresh.snapshot() == saved
        resumed.strategy = fresh
    resumed.run()
    assert outcome(resumed) == outcome(reference)


@pytest.mark.parametrize("name", ["spot_grid", "spot_grid_rsi_start", "rsi_bot", "spot_dca"])
def test_skipping_bars_by_the_wake_changes_nothing(name: str, btc_1h: Candles) -> None:
    every = harness(CASES[name], btc_1h)
    every.run()
    skipping = harness(CASES[name], btc_1h, skip=True)
    skipping.run()
    assert outcome(skipping) == outcome(every)
    assert skipping.bars_seen <= every.bars_seen
