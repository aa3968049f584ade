from __future__ import annotations

from tradewind.venues.base import Venue
from tradewind.venues.paper.venue import PaperVenue


def test_the_paper_venue_is_a_venue() -> None:
    # Structural: every member of the protocol exists on the paper venue (mypy checks the types
    # through the assignment in services.trading.Venues).
    members = [m for m in vars(Venue) if not m.startswith("_")] + list(Venue.__annotations__)
    missing = [
        m
        for m in members
        if not hasattr(PaperVenue, m)
        and m not in ("name", "capabilities", "instruments", "connected")
    ]
    assert missing == []
    assert {"name", "capabilities"} <= set(vars(PaperVenue))
