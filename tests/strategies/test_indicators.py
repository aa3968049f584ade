"""Wilder's RSI, incremental and over an array, against hand numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tradewind.strategies.indicators import WilderRSI, rsi_series


def test_rsi_by_hand_with_period_two() -> None:
    rsi = WilderRSI(period=2)
    assert [rsi.update(c) for c in (10.0, 11.0)] == [None, None]
    # moves +1, -1: gains 0.5, losses 0.5 -> 50
    assert rsi.update(10.0) == 50.0
    # move +2: gain (0.5 + 2) / 2 = 1.25, loss 0.5 / 2 = 0.25 -> 100 - 100 / 6
    assert rsi.update(12.0) == pytest.approx(100 - 100 / 6)
    assert rsi.previous == 50.0


def test_no_losses_is_100_and_no_moves_is_50() -> None:
    rising, flat = WilderRSI(period=3), WilderRSI(period=3)
    rising.feed([1.0, 2.0, 3.0, 4.0])
    flat.feed([5.0] * 4)
    assert (rising.value, flat.value) == (100.0, 50.0)


def test_the_series_is_the_incremental_values_with_nan_while_warming_up() -> None:
    closes = np.array([44.3, 44.1, 44.2, 43.6, 44.3, 44.8, 45.1, 45.4, 45.8, 46.1])
    values = rsi_series(closes, 5)
    assert all(math.isnan(v) for v in values[:5]) and not math.isnan(values[5])
    rsi = WilderRSI(period=5)
    assert [rsi.update(c) for c in closes][5:] == list(values[5:])


def test_the_state_survives_json() -> None:
    rsi = WilderRSI(period=14)
    rsi.feed([100 + math.sin(i / 3) * 5 for i in range(30)])
    copy = WilderRSI.model_validate(json.loads(json.dumps(rsi.model_dump(mode="json"))))
    assert copy == rsi
    assert copy.update(101.5) == rsi.update(101.5)
