"""Real-looking instruments and a small harness: a ledger and an engine, time moved by hand."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal as D
from typing import Any

import pytest

from tradewind.domain import events as ev
from tradewind.domain.instruments import Instrument, InstrumentKind
from tradewind.domain.orders import (
    AccountId,
    Bracket,
    Fill,
    Order,
    OrderId,
    OrderType,
    PositionId,
    PositionMode,
    Rearm,
    Side,
    Trailing,
)
from tradewind.venues.matching import MatchingEngine, Quote
from tradewind.venues.paper.ledger import PaperLedger

BTC_SPOT = Instrument(
    venue="paper", symbol="BTC/USDT", base="BTC", quote="USDT", kind=InstrumentKind.SPOT,
    tick_size=D("0.01"), amount_step=D("0.00001"), min_amount=D("0.00001"), min_notional=D("5"),
    maker_fee=D("0.001"), taker_fee=D("0.001"),
)  # fmt: skip
BTC_PERP = Instrument(
    venue="paper", symbol="BTC/USDT:USDT", base="BTC", quote="USDT", kind=InstrumentKind.PERPETUAL,
    tick_size=D("0.1"), amount_step=D("0.001"), min_amount=D("0.001"), min_notional=D("5"),
    max_leverage=D("100"), maker_fee=D("0.0002"), taker_fee=D("0.0005"),
)  # fmt: skip
EURUSD = Instrument(
    venue="paper", symbol="EURUSD", base="EUR", quote="USD", kind=InstrumentKind.CFD,
    tick_size=D("0.00001"), amount_step=D("0.01"), min_amount=D("0.01"), min_notional=D("0"),
    contract_size=D("100000"), max_leverage=D("100"), maker_fee=D("0"), taker_fee=D("0"),
    half_spread=D("0.00005"),
)  # fmt: skip
INSTRUMENTS = {i.symbol: i for i in (BTC_SPOT, BTC_PERP, EURUSD)}
SPOT, PERP, CFD = BTC_SPOT.symbol, BTC_PERP.symbol, EURUSD.symbol
T0 = 1_700_000_000_000


class Ids:
    """Deterministic ids: ``ord_000001``, ``fil_000002``, ..."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n:06d}"


class Sim:
    """A paper exchange without a venue: submit orders, walk prices, keep every event."""

    def __init__(self, *, slippage: D = D(0), **ledger_options: D) -> None:
        self.ids = Ids()
        self.ledger = PaperLedger(INSTRUMENTS, new_id=self.ids, **ledger_options)
        self.engine = MatchingEngine(INSTRUMENTS, self.ledger, slippage=slippage, new_id=self.ids)
        self.now = T0
        self.events: list[ev.Event] = []
        self.start: dict[tuple[AccountId, str], D] = {}

    def account(
        self,
        name: str = "acc_1",
        *,
        mode: PositionMode = PositionMode.NETTING,
        leverage: D = D(10),
        currency: str = "USDT",
        **balances: D | str | int,
    ) -> AccountId:
        account_id = AccountId(name)
        funds = {asset: D(str(v)) for asset, v in balances.items()}
        self.ledger.open_account(
            account_id,
            mode=mode,
            leverage=leverage,
            currency=currency,
            balances=funds,
            now_ms=self.now,
        )
        return account_id

    def order(
        self,
        account_id: AccountId,
        symbol: str,
        side: Side,
        kind: OrderType,
        amount: D | str,
        *,
        price: D | str | None = None,
        stop: D | str | None = None,
        client_order_id: str | None = None,
        reduce_only: bool = False,
        position_id: PositionId | None = None,
        oco_group: str | None = None,
        rearm: Rearm | None = None,
        bracket: Bracket | None = None,
        trailing: Trailing | None = None,
    ) -> Order:
        return Order(
            id=OrderId(self.ids("ord")), account_id=account_id, symbol=symbol, side=side, type=kind,
            amount=D(amount), created_ms=self.now, updated_ms=self.now,
            price=None if price is None else D(price), stop_price=None if stop is None else D(stop),
            client_order_id=client_order_id, reduce_only=reduce_only, position_id=position_id,
            oco_group=oco_group, rearm=rearm, bracket=bracket, trailing=trailing,
        )  # fmt: skip

    def quote(self, symbol: str, last: D | str, half_spread: D | str | None = None) -> Quote:
        spread = INSTRUMENTS[symbol].half_spread if half_spread is None else D(half_spread)
        return Quote.at(symbol, D(last), spread, self.now)

    def submit(
        self, order: Order, last: D | str, half_spread: D | str | None = None
    ) -> list[ev.Event]:
        found = self.engine.submit(order, self.quote(order.symbol, last, half_spread), self.now)
        self.events += found
        return found

    def walk(
        self,
        symbol: str,
        *prices: D | str | int,
        step_ms: int = 1000,
        half_spread: D | str | None = None,
    ) -> list[ev.Event]:
        """Prices one ``step_ms`` apart, starting now; time ends at the last point."""
        path = [(self.now + i * step_ms, D(str(p))) for i, p in enumerate(prices)]
        self.now = path[-1][0]
        spread = None if half_spread is None else D(half_spread)
        found = self.engine.on_prices(symbol, path, spread)
        self.events += found
        return found

    def free(self, account_id: AccountId, asset: str) -> D:
        balance = self.ledger.balances(account_id).get(asset)
        return balance.free if balance else D(0)

    def total(self, account_id: AccountId, asset: str) -> D:
        balance = self.ledger.balances(account_id).get(asset)
        return balance.total if balance else D(0)


def of(kind: type, events: Iterable[ev.Event]) -> list[Any]:
    """The events of one kind."""
    return [e for e in events if isinstance(e, kind)]


def fills(events: Iterable[ev.Event]) -> list[Fill]:
    return [e.fill for e in of(ev.OrderFilled, events)]


def kinds(events: Iterable[ev.Event]) -> list[str]:
    """Event class names, to assert on sequences."""
    return [type(e).__name__ for e in events]


@pytest.fixture
def sim() -> Sim:
    return Sim()
