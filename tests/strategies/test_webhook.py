"""The webhook bot: signals in, orders out."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tradewind.domain.orders import OrderType, Side
from tradewind.marketdata import Candles
from tradewind.strategies.base import Severity, Signal, SignalAction
from tradewind.strategies.webhook import WebhookBot, WebhookSettings

from .harness import ACCOUNT, Harness

A = SignalAction


def harness(candles: Candles, symbol: str) -> Harness:
    bot = WebhookBot(WebhookSettings(symbol=symbol, signal_token="tv-123"))
    h = Harness(bot, candles[:11430], symbol=symbol, interval="1h",
                balances={"USDT": D(2000)}, start=11420)  # fmt: skip
    h.start()
    return h


def test_spot_signals_buy_sell_and_close(btc_1h: Candles) -> None:
    h = harness(btc_1h, "BTC/USDT")
    price = h.price
    h.signal(Signal(A.BUY, amount=D("0.010004")))  # rounded down to the step
    h.signal(Signal(A.SELL, amount=D("0.004")))
    h.signal(Signal(A.CLOSE))
    assert [(f.side, f.amount, f.price) for f in h.fills] == [
        (Side.BUY, D("0.01"), price + D("0.5")),
        (Side.SELL, D("0.004"), price - D("0.5")),
        (Side.SELL, D("0.006"), price - D("0.5")),
    ]
    assert h.total("BTC") == 0
    h.signal(Signal(A.ENTER_SHORT, amount=D("0.01")))
    h.signal(Signal(A.EXIT_LONG))
    h.signal(Signal(A.BUY))
    errors = [log.message for log in h.logs() if log.severity is Severity.ERROR]
    assert errors == [
        "Signal enter_short ignored: a spot market cannot be shorted",
        "Signal exit_long ignored: no long to exit",
        "Signal buy ignored: the signal has no amount",
    ]
    assert len(h.fills) == 3


def test_perpetual_signals_flip_through_reduce_only_closes(btc_1h: Candles) -> None:
    h = harness(btc_1h, "BTC/USDT:USDT")
    h.signal(Signal(A.ENTER_LONG, amount=D("0.01")))
    h.signal(Signal(A.ENTER_SHORT, amount=D("0.02")))
    placed = h.orders_placed()
    assert [(c.side, c.amount, c.reduce_only) for c in placed] == [
        (Side.BUY, D("0.01"), False),
        (Side.SELL, D("0.01"), True),  # closes the long first
        (Side.SELL, D("0.02"), False),
    ]
    (position,) = h.ledger.positions(ACCOUNT)
    assert (position.side, position.amount) == (Side.SELL, D("0.02"))
    h.signal(Signal(A.EXIT_SHORT, amount=D("0.005")))
    h.signal(Signal(A.EXIT_SHORT))
    assert [(c.side, c.amount, c.reduce_only) for c in h.orders_placed()[3:]] == [
        (Side.BUY, D("0.005"), True),
        (Side.BUY, D("0.015"), True),
    ]
    assert h.ledger.positions(ACCOUNT) == []


def test_a_signal_with_a_price_rests_as_a_limit(btc_1h: Candles) -> None:
    h = harness(btc_1h, "BTC/USDT")
    h.signal(Signal(A.BUY, amount=D("0.01"), price=D("6000.004"), id="sig_1"))
    (order,) = h.orders_placed()
    assert (order.type, order.price, order.note) == (
        OrderType.LIMIT,
        D("6000.00"),
        "Signal buy sig_1",
    )
    assert not h.fills and len(h.engine.open_orders()) == 1


def test_the_token_is_required_and_editable() -> None:
    with pytest.raises(ValueError, match="signalToken"):
        WebhookSettings.model_validate({"symbol": "BTC/USDT", "signalToken": ""})
    assert WebhookSettings.model_json_schema()["properties"]["signalToken"]["x-editable"] is True
