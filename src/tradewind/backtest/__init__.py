"""Backtests: any bot on stored candles, with the same strategies and matching engine as live.
``metrics`` turns a run's equity curve, positions and orders into its results
(docs/backtest-metrics.md)."""

from tradewind.backtest.metrics import (
    BacktestMetrics,
    ClosedPosition,
    EquityCurve,
    OrderRecord,
    compute_metrics,
)

__all__ = ["BacktestMetrics", "ClosedPosition", "EquityCurve", "OrderRecord", "compute_metrics"]
