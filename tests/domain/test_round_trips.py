"""Spot round trips from fills, against the plain reading of the rule: each sell takes the
buys still held of its own placement first, then the earliest others, scanning them all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.orders import AccountId, Fill, FillId, Liquidity, OrderId, Side
from tradewind.domain.round_trips import RoundTrip, quote_fee, spot_round_trips
from tradewind.venues.paper.catalog import paper_instruments

BTC = paper_instruments()["BTC/USDT"]


def plainly(fills: Sequence[Fill], seq_of: Mapping[str, int | None]) -> list[RoundTrip]:
    held: list[list[Any]] = []
    trips: list[RoundTrip] = []
    for fill in fills:
        fee = quote_fee(fill, BTC.base)
        seq = seq_of.get(fill.order_id)
        if fill.side is Side.BUY:
            held.append([fill.amount, fill.price, fill.ts_ms, fee / fill.amount, seq])
            continue
        left, cost, entry_fees, amount = fill.amount, Decimal(0), Decimal(0), Decimal(0)
        entry_ms: int | None = None
        own = [lot for lot in held if seq is not None and lot[4] == seq]
        for lot in own + [lot for lot in held if all(lot is not o for o in own)]:
            if left <= 0:
                break
            take = min(left, lot[0])
            cost, entry_fees, amount = (
                cost + take * lot[1],
                entry_fees + take * lot[3],
                amount + take,
            )
            entry_ms = lot[2] if entry_ms is None else min(entry_ms, lot[2])
            lot[0] -= take
            left -= take
        held = [lot for lot in held if lot[0] > 0]
        if amount <= 0 or entry_ms is None:
            continue
        exit_fee = fee * amount / fill.amount
        trips.append(RoundTrip(
            side=Side.BUY, amount=amount, entry_ms=entry_ms, entry_price=cost / amount,
            exit_ms=fill.ts_ms, exit_price=fill.price,
            profit=amount * fill.price - cost - entry_fees - exit_fee, fees=entry_fees + exit_fee,
            margin=cost,
        ))  # fmt: skip
    return trips


@given(
    st.lists(
        st.tuples(
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 50),  # amount, in 0.001
            st.integers(9_000, 11_000),  # price
            st.one_of(st.none(), st.integers(0, 4)),  # placement
            st.booleans(),  # fee in the base asset
        ),
        max_size=60,
    )
)
def test_round_trips_are_the_plain_reading_of_the_pairing(
    rows: list[tuple[Side, int, int, int | None, bool]],
) -> None:
    fills, seq_of = [], {}
    for i, (side, amount, price, seq, base_fee) in enumerate(rows):
        a, p = Decimal(amount) / 1000, Decimal(price)
        fills.append(Fill(
            id=FillId(f"fil_{i:04}"), order_id=OrderId(f"ord_{i:04}"), account_id=AccountId("a"),
            symbol=BTC.symbol, side=side, amount=a, price=p,
            fee=a / 1000 if base_fee else a * p / 1000, fee_asset="BTC" if base_fee else "USDT",
            liquidity=Liquidity.MAKER, ts_ms=1_000 * i,
        ))  # fmt: skip
        seq_of[f"ord_{i:04}"] = seq
    assert spot_round_trips(fills, BTC.base, seq_of) == plainly(fills, seq_of)
