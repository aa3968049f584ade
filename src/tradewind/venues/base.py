"""What every venue offers. Bots, signals and the terminal API talk only to this."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue supports natively; the engine emulates the rest (it asks, never checks names)."""

    stop_orders: bool = True
    stop_limit_orders: bool = True
    trailing_stops: bool = False
    oco: bool = False
    hedging: bool = False
    reduce_only: bool = True
    derivatives: bool = False
