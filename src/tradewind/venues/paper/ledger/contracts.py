"""Derivative positions with isolated margin: what opening needs, what a fill does to them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

from tradewind.domain.errors import InsufficientFunds
from tradewind.domain.events import Event, PositionChanged, PositionClosed, PositionOpened
from tradewind.domain.instruments import Instrument, InvalidOrder
from tradewind.domain.orders import (
    PREFIX_POSITION,
    Fill,
    Order,
    Position,
    PositionId,
    PositionMode,
    Side,
)
from tradewind.venues.matching.rules import ceil_to, div_ceil, div_floor, floor_to
from tradewind.venues.paper.ledger.accounts import ZERO, Account, snapshot


class Contracts:
    """The rules for perpetuals and CFDs, settled in the instrument's quote asset."""

    def __init__(
        self,
        *,
        new_id: Callable[[str], str],
        maintenance_margin_rate: Decimal,
        margin_step: Decimal,
    ) -> None:
        self._new_id = new_id
        self.maintenance_margin_rate = maintenance_margin_rate
        self.margin_step = margin_step

    def leverage(self, account: Account, instrument: Instrument) -> Decimal:
        chosen = account.symbol_leverage.get(instrument.symbol, account.leverage)
        return min(chosen, instrument.max_leverage)

    def margin(
        self, account: Account, instrument: Instrument, amount: Decimal, price: Decimal
    ) -> Decimal:
        """``notional / leverage``, rounded up to the margin step."""
        notional = instrument.notional(amount, price)
        return div_ceil(notional, self.leverage(account, instrument), self.margin_step)

    def to_reserve(
        self, account: Account, instrument: Instrument, order: Order, price: Decimal
    ) -> Decimal:
        """Margin plus taker fee for the part of ``order`` that would open (netting mode: what
        is beyond the opposite position)."""
        opening = order.remaining
        position = account.netted(order.symbol) if account.mode is PositionMode.NETTING else None
        if position is not None and position.side is not order.side:
            opening -= position.amount
        if opening <= 0:
            return ZERO
        fee = instrument.notional(opening, price) * instrument.taker_fee
        return self.margin(account, instrument, opening, price) + fee

    def reduced(self, account: Account, order: Order) -> Position | None:
        """The open position ``order`` would reduce: its ``position_id``, else (netting) the
        symbol's position, if it is on the other side."""
        if order.position_id is not None:
            position = account.positions.get(order.position_id)
        elif account.mode is PositionMode.NETTING:
            position = account.netted(order.symbol)
        else:
            position = None
        if position is None or not position.is_open or position.symbol != order.symbol:
            return None
        return position if position.side is order.side.opposite else None

    def liquidation(self, instrument: Instrument, position: Position) -> Decimal | None:
        """Where the loss reaches the margin less the maintenance margin at that price."""
        size = position.amount * instrument.contract_size
        rate = self.maintenance_margin_rate
        if position.side is Side.BUY:
            price = (position.entry_price * size - position.margin) / (size * (1 - rate))
            return ceil_to(price, instrument.tick_size) if price > 0 else None
        price = (position.entry_price * size + position.margin) / (size * (1 + rate))
        return floor_to(price, instrument.tick_size)

    def settle(
        self, account: Account, instrument: Instrument, order: Order, fill: Fill
    ) -> tuple[Fill, list[Event]]:
        """Apply ``fill``: reduce, close, flip, increase or open. Checks everything first, so a
        refusal (``InsufficientFunds``, ``InvalidOrder``) changes nothing."""
        closing = order.reduce_only or order.position_id is not None
        if order.position_id is not None:
            position = self.reduced(account, order)
        elif account.mode is PositionMode.NETTING:
            position = account.netted(order.symbol)
        else:
            position = None
        reduce = ZERO
        if position is not None and position.side is not fill.side:
            reduce = min(fill.amount, position.amount)
        if closing and (position is None or reduce < fill.amount):
            raise InvalidOrder("a reduce-only fill may not exceed its position", "amount")
        opening = fill.amount - reduce
        fee_close = fill.fee if not opening else fill.fee * reduce / fill.amount
        fee_open = fill.fee - fee_close
        released = pnl = ZERO
        if position is not None and reduce:
            released = position.margin
            if reduce < position.amount:
                released = div_floor(position.margin * reduce, position.amount, self.margin_step)
            pnl = (fill.price - position.entry_price) * reduce * instrument.contract_size
            pnl *= position.side.sign
            if fee_close - pnl > released:  # bankrupt: it never costs more than the margin it frees
                fee_close = min(fee_close, released)
                pnl = fee_close - released
        margin = self.margin(account, instrument, opening, fill.price) if opening else ZERO
        fee = fee_close + fee_open
        use = min(order.reserved, margin + fee_open)
        unused = order.reserved - use if fill.amount >= order.remaining else ZERO
        asset = instrument.settle
        if account.free(asset) + use + unused + released + pnl - fee - margin < 0:
            raise InsufficientFunds("Insufficient margin")
        # Nothing below can fail.
        order.reserved -= use + unused
        account.lock(asset, margin - use - unused - released)
        events: list[Event] = []
        if position is not None and reduce:
            position.margin -= released
            position.realized_pnl += pnl
            position.fees += fee_close
            position.updated_ms = fill.ts_ms
            if reduce == position.amount:  # a closed position keeps the amount it last had
                position.closed_ms, position.close_price = fill.ts_ms, fill.price
                position.liquidation_price = None
                account.netting.pop(position.symbol, None)
                events.append(PositionClosed(snapshot(position)))
            else:
                position.amount -= reduce
                position.liquidation_price = self.liquidation(instrument, position)
                events.append(PositionChanged(snapshot(position)))
            account.entry(self._new_id, asset, pnl, "realized_pnl", fill.id, fill.ts_ms)
        target = position
        if opening:
            target = self._add(account, instrument, position, fill, opening, margin, fee_open)
            changed = target is position
            events.append((PositionChanged if changed else PositionOpened)(snapshot(target)))
        account.entry(self._new_id, asset, -fee, "fee", fill.id, fill.ts_ms)
        events.append(account.balance_event(asset))
        assert target is not None
        return dataclasses.replace(fill, fee=fee, realized_pnl=pnl, position_id=target.id), events

    def _add(
        self,
        account: Account,
        instrument: Instrument,
        position: Position | None,
        fill: Fill,
        amount: Decimal,
        margin: Decimal,
        fee: Decimal,
    ) -> Position:
        """Increase ``position`` (same side; the entry is the weighted average, to a millionth
        of a tick) or open a new one."""
        if position is not None and position.is_open and position.side is fill.side:
            total = position.amount + amount
            average = (position.entry_price * position.amount + fill.price * amount) / total
            position.entry_price = average.quantize(instrument.tick_size.scaleb(-6))
            position.amount, position.margin = total, position.margin + margin
            position.fees += fee
            position.updated_ms = fill.ts_ms
        else:
            position = Position(
                id=PositionId(self._new_id(PREFIX_POSITION)), account_id=account.id,
                symbol=fill.symbol, side=fill.side, amount=amount, entry_price=fill.price,
                leverage=self.leverage(account, instrument), margin=margin,
                opened_ms=fill.ts_ms, updated_ms=fill.ts_ms, fees=fee,
            )  # fmt: skip
            account.positions[position.id] = position
            if account.mode is PositionMode.NETTING:
                account.netting[position.symbol] = position.id
        position.liquidation_price = self.liquidation(instrument, position)
        return position
