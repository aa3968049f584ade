"""Instruments and their trading rules. Prices and amounts are Decimals, checked at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from tradewind.domain.errors import ValidationFailed


class InstrumentKind(StrEnum):
    """Spot trades the asset itself; perpetuals and CFDs are margined contracts settled in quote."""

    SPOT = "spot"
    PERPETUAL = "perpetual"
    CFD = "cfd"


class InvalidOrder(ValidationFailed):
    """An order breaks an instrument rule (step, minimum, tick, leverage)."""

    code = "invalid_order"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, details=[{"field": field, "message": message}])
        self.field = field


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable market on one venue.

    ``amount`` is in contracts (lots) for derivatives and in base units for spot; one contract
    is ``contract_size`` base units (a forex lot is 100,000; a crypto unit is 1).
    """

    venue: str
    symbol: str
    base: str
    quote: str
    kind: InstrumentKind
    tick_size: Decimal
    amount_step: Decimal
    min_amount: Decimal
    min_notional: Decimal
    contract_size: Decimal = Decimal(1)
    max_leverage: Decimal = Decimal(1)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    half_spread: Decimal = Decimal(0)
    """Paper model: bid = last - half_spread, ask = last + half_spread (in price units)."""

    @property
    def is_derivative(self) -> bool:
        return self.kind is not InstrumentKind.SPOT

    @property
    def settle(self) -> str:
        """The asset profits, losses, margin and fees are counted in."""
        return self.quote

    @property
    def price_decimals(self) -> int:
        return max(0, -self.tick_size.normalize().as_tuple().exponent)  # type: ignore[operator]

    @property
    def amount_decimals(self) -> int:
        return max(0, -self.amount_step.normalize().as_tuple().exponent)  # type: ignore[operator]

    def round_price(self, price: Decimal) -> Decimal:
        """The nearest valid price (half-even on ties)."""
        if price <= 0:
            raise InvalidOrder("price must be positive", "price")
        ticks = (price / self.tick_size).to_integral_value(rounding=ROUND_HALF_EVEN)
        return (ticks * self.tick_size).quantize(self.tick_size)

    def check_amount(self, amount: Decimal, field: str = "amount") -> Decimal:
        """``amount`` itself when it is a positive multiple of the step and at least the minimum.

        Never rounds: an amount off the step is refused, not silently changed.
        """
        if amount <= 0:
            raise InvalidOrder(f"{field} must be positive", field)
        if amount % self.amount_step != 0:
            raise InvalidOrder(
                f"{field} {amount} is not a multiple of the step {self.amount_step}", field
            )
        if amount < self.min_amount:
            raise InvalidOrder(f"{field} {amount} is below the minimum {self.min_amount}", field)
        return amount.quantize(self.amount_step)

    def notional(self, amount: Decimal, price: Decimal) -> Decimal:
        """Value in the quote asset."""
        return amount * self.contract_size * price

    def check_notional(self, amount: Decimal, price: Decimal, field: str = "amount") -> None:
        if self.notional(amount, price) < self.min_notional:
            raise InvalidOrder(
                f"order value {self.notional(amount, price)} {self.quote} is below the minimum "
                f"{self.min_notional} {self.quote}",
                field,
            )

    def check_leverage(self, leverage: Decimal) -> Decimal:
        if not Decimal(1) <= leverage <= self.max_leverage:
            raise InvalidOrder(f"leverage must be between 1 and {self.max_leverage}", "leverage")
        return leverage
