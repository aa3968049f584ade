"""The paper venue's instruments, out of the box.

Each replays a bundled real series (see docs/market-data.md). Tick sizes, steps, minimums and
fees follow what major venues use for the same markets; the half-spread is the paper fill
model's (bid = last - half_spread, ask = last + half_spread).
"""

from __future__ import annotations

from decimal import Decimal as D

from tradewind.domain.instruments import Instrument, InstrumentKind

VENUE = "paper"

PAPER_INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        venue=VENUE, symbol="BTC/USDT", base="BTC", quote="USDT", kind=InstrumentKind.SPOT,
        tick_size=D("0.01"), amount_step=D("0.00001"), min_amount=D("0.00001"), min_notional=D("5"),
        maker_fee=D("0.001"), taker_fee=D("0.001"), half_spread=D("0.5"),
    ),
    Instrument(
        venue=VENUE, symbol="ETH/USDT", base="ETH", quote="USDT", kind=InstrumentKind.SPOT,
        tick_size=D("0.01"), amount_step=D("0.0001"), min_amount=D("0.0001"), min_notional=D("5"),
        maker_fee=D("0.001"), taker_fee=D("0.001"), half_spread=D("0.05"),
    ),
    Instrument(
        venue=VENUE, symbol="LTC/USDT", base="LTC", quote="USDT", kind=InstrumentKind.SPOT,
        tick_size=D("0.01"), amount_step=D("0.001"), min_amount=D("0.001"), min_notional=D("5"),
        maker_fee=D("0.001"), taker_fee=D("0.001"), half_spread=D("0.01"),
    ),
    Instrument(
        venue=VENUE, symbol="BTC/USDT:USDT", base="BTC", quote="USDT", kind=InstrumentKind.PERPETUAL,
        tick_size=D("0.1"), amount_step=D("0.001"), min_amount=D("0.001"), min_notional=D("5"),
        max_leverage=D("100"), maker_fee=D("0.0002"), taker_fee=D("0.0005"), half_spread=D("0.5"),
    ),
    Instrument(
        venue=VENUE, symbol="ETH/USDT:USDT", base="ETH", quote="USDT", kind=InstrumentKind.PERPETUAL,
        tick_size=D("0.01"), amount_step=D("0.01"), min_amount=D("0.01"), min_notional=D("5"),
        max_leverage=D("100"), maker_fee=D("0.0002"), taker_fee=D("0.0005"), half_spread=D("0.05"),
    ),
    Instrument(
        venue=VENUE, symbol="EURUSD", base="EUR", quote="USD", kind=InstrumentKind.CFD,
        tick_size=D("0.00001"), amount_step=D("0.01"), min_amount=D("0.01"), min_notional=D("0"),
        contract_size=D("100000"), max_leverage=D("500"), maker_fee=D("0"), taker_fee=D("0"),
        half_spread=D("0.00005"),
    ),
)  # fmt: skip

DEFAULT_BALANCES = {"USDT": D("10000"), "USD": D("10000")}
DEFAULT_LEVERAGE = D("10")


def paper_instruments() -> dict[str, Instrument]:
    return {i.symbol: i for i in PAPER_INSTRUMENTS}
