"""``PaperLedger``: the accounts of a paper venue. The rules are in the package docstring."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_DOWN, Decimal, localcontext

from tradewind.domain.errors import Conflict, InsufficientFunds, NotFound
from tradewind.domain.events import Event, MarginCall, StopOut
from tradewind.domain.ids import new_id as default_new_id
from tradewind.domain.instruments import Instrument, InvalidOrder
from tradewind.domain.orders import (
    AccountId,
    Fill,
    Order,
    Position,
    PositionId,
    PositionMode,
    Side,
)
from tradewind.venues.matching.rules import EXACT
from tradewind.venues.paper.ledger.accounts import (
    ZERO,
    Account,
    AccountSummary,
    Balance,
    LedgerEntry,
    unrealised,
)
from tradewind.venues.paper.ledger.contracts import Contracts
from tradewind.venues.requests import spot_requirement


def spot_flows(instrument: Instrument, fills: Sequence[Fill]) -> list[tuple[Decimal, Decimal]]:
    """What each spot fill moves, exactly: the base it brings in (negative for a sell) and
    the quote it pays out (negative for a sell: received), its fee aside (in the quote
    asset, ``Fill.fee``)."""
    flows = []
    with localcontext(EXACT):
        for fill in fills:
            cost = instrument.notional(fill.amount, fill.price)
            flows.append((fill.amount, cost) if fill.side is Side.BUY else (-fill.amount, -cost))
    return flows


class PaperLedger:
    """Balances, reservations, positions and margin of paper accounts; the engine's book.

    Positions it returns are its own objects: a caller may set ``stop_loss``, ``take_profit``
    and ``extra`` on them (annotations it keeps), nothing else.
    """

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        *,
        new_id: Callable[[str], str] = default_new_id,
        margin_call_level: Decimal = Decimal(100),
        stop_out_level: Decimal = Decimal(50),
        maintenance_margin_rate: Decimal = Decimal("0.005"),
        margin_step: Decimal = Decimal("0.00000001"),
    ) -> None:
        self._instruments = dict(instruments)
        self._new_id = new_id
        self.margin_call_level = margin_call_level
        self.stop_out_level = stop_out_level
        self.contracts = Contracts(
            new_id=new_id, maintenance_margin_rate=maintenance_margin_rate, margin_step=margin_step
        )
        self._accounts: dict[AccountId, Account] = {}

    # ---- accounts --------------------------------------------------------------------------

    def open_account(
        self,
        account_id: AccountId,
        *,
        mode: PositionMode,
        leverage: Decimal,
        currency: str,
        balances: Mapping[str, Decimal],
        now_ms: int,
    ) -> list[LedgerEntry]:
        """A new account funded with ``balances``: one deposit entry per non-zero asset."""
        if account_id in self._accounts:
            raise Conflict(f"account {account_id} already exists")
        if leverage < 1:
            raise InvalidOrder("leverage must be at least 1", "leverage")
        for asset, amount in balances.items():
            if amount < 0:
                raise InvalidOrder(f"balance of {asset} must not be negative", f"balances.{asset}")
        account = Account(account_id, mode, leverage, currency, totals={currency: ZERO})
        with localcontext(EXACT):
            found = [
                self._record(account, a, v, "deposit", None, now_ms) for a, v in balances.items()
            ]
        self._accounts[account_id] = account
        return [e for e in found if e is not None]

    def restore_account(
        self,
        account_id: AccountId,
        *,
        mode: PositionMode,
        leverage: Decimal,
        currency: str,
        balances: Mapping[str, Balance | tuple[Decimal, Decimal]],
        positions: Iterable[Position] = (),
        entries: Iterable[LedgerEntry] = (),
        orders: Iterable[Order] | None = None,
        margin_call: bool = False,
        symbol_leverage: Mapping[str, Decimal] | None = None,
    ) -> None:
        """Rebuild an account from stored rows after a restart.

        ``balances`` as ``Balance`` or ``(free, locked)`` per asset; ``positions`` (open ones
        at least); optionally its ``entries`` (each asset's total must then equal their sum,
        and ``entries()`` continues from them) and its open ``orders`` (each asset's locked
        must then equal their reservations plus the open positions' margin). Raises
        ``Conflict`` when the rows do not agree, or leave a free balance negative.
        """
        account = Account(account_id, mode, leverage, currency, entries=list(entries))
        account.margin_call = margin_call
        account.symbol_leverage = dict(symbol_leverage or {})
        for asset, value in balances.items():
            free, locked = (value.free, value.locked) if isinstance(value, Balance) else value
            account.totals[asset], account.locked[asset] = free + locked, locked
        for position in positions:
            account.positions[position.id] = position
            if position.is_open and mode is PositionMode.NETTING:
                if position.symbol in account.netting:
                    raise Conflict(f"{account_id}: two open netting positions on {position.symbol}")
                account.netting[position.symbol] = position.id
        with localcontext(EXACT):
            self._check_restored(account, None if orders is None else list(orders))
        self._accounts[account_id] = account

    def _check_restored(self, account: Account, orders: list[Order] | None) -> None:
        if account.entries:
            sums: dict[str, Decimal] = {}
            for entry in account.entries:
                sums[entry.asset] = sums.get(entry.asset, ZERO) + entry.delta
            for asset in sorted(set(sums) | set(account.totals)):
                if sums.get(asset, ZERO) != account.totals.get(asset, ZERO):
                    raise Conflict(f"{account.id} {asset}: the balance differs from its entries")
        held = dict.fromkeys(account.locked, ZERO)
        for order in orders or ():
            if order.account_id == account.id and order.reserved and order.reserved_asset:
                held[order.reserved_asset] = held.get(order.reserved_asset, ZERO) + order.reserved
        for position in account.open_positions():
            asset = self._instrument(position.symbol).settle
            held[asset] = held.get(asset, ZERO) + position.margin
        for asset, amount in held.items():
            if orders is not None and amount != account.locked.get(asset, ZERO):
                raise Conflict(f"{account.id} {asset}: locked differs from what is held")
            if account.free(asset) < 0 or account.locked.get(asset, ZERO) < 0:
                raise Conflict(f"{account.id} {asset}: a negative balance")

    def deposit(
        self,
        account_id: AccountId,
        asset: str,
        amount: Decimal,
        now_ms: int,
        ref: str | None = None,
    ) -> LedgerEntry:
        return self._transfer(account_id, asset, amount, now_ms, "deposit", ref)

    def withdraw(
        self,
        account_id: AccountId,
        asset: str,
        amount: Decimal,
        now_ms: int,
        ref: str | None = None,
    ) -> LedgerEntry:
        """Take ``amount`` out of the free balance ("Insufficient funds" when it is not there)."""
        if amount > 0 and self._account(account_id).free(asset) < amount:
            raise InsufficientFunds("Insufficient funds")
        return self._transfer(account_id, asset, amount, now_ms, "withdrawal", ref)

    def set_leverage(self, account_id: AccountId, symbol: str, leverage: Decimal) -> None:
        """Trade ``symbol`` at ``leverage`` from now on (1 to the instrument's maximum). Refused
        while the account holds a position in it at another leverage: its margin is set."""
        account = self._account(account_id)
        instrument = self._instruments[symbol]
        if not instrument.is_derivative:
            raise InvalidOrder(f"{symbol} is not traded with leverage", "leverage")
        if not 1 <= leverage <= instrument.max_leverage:
            raise InvalidOrder(
                f"leverage must be between 1 and {instrument.max_leverage} for {symbol}",
                "leverage",
            )
        current = account.symbol_leverage.get(symbol, account.leverage)
        if leverage == current:
            return
        if any(p.is_open and p.symbol == symbol for p in account.positions.values()):
            raise Conflict(f"{symbol}: leverage cannot change while a position is open")
        account.symbol_leverage[symbol] = leverage

    def symbol_leverage(self, account_id: AccountId) -> dict[str, Decimal]:
        return dict(self._account(account_id).symbol_leverage)

    def reset(
        self, account_id: AccountId, balances: Mapping[str, Decimal], now_ms: int
    ) -> list[LedgerEntry]:
        """Set the balances to ``balances`` (every other asset to zero) with "reset" entries.
        Only with nothing locked: cancel the open orders and close the positions first."""
        account = self._account(account_id)
        if any(account.locked.values()) or account.open_positions():
            raise Conflict("close the positions and cancel the orders before a reset")
        with localcontext(EXACT):
            targets = {a: balances.get(a, ZERO) for a in [*account.totals, *balances]}
            found = [
                self._record(account, a, v - account.totals.get(a, ZERO), "reset", None, now_ms)
                for a, v in targets.items()
            ]
        return [e for e in found if e is not None]

    # ---- reading ---------------------------------------------------------------------------

    def balances(self, account_id: AccountId) -> dict[str, Balance]:
        account = self._account(account_id)
        return {asset: account.balance(asset) for asset in account.totals}

    def positions(self, account_id: AccountId, *, open_only: bool = True) -> list[Position]:
        """Positions in opening order."""
        account = self._account(account_id)
        return account.open_positions() if open_only else list(account.positions.values())

    def position(self, account_id: AccountId, position_id: PositionId) -> Position:
        found = self._account(account_id).positions.get(position_id)
        if found is None:
            raise NotFound("position not found")
        return found

    def entries(self, account_id: AccountId, start: int = 0) -> list[LedgerEntry]:
        """Every change to every balance of the account, in order (from index ``start``)."""
        return self._account(account_id).entries[start:]

    def summary(
        self, account_id: AccountId, marks: Mapping[str, Decimal], currency: str | None = None
    ) -> AccountSummary:
        """Balance, equity, margin and margin level at ``marks`` (symbol -> price), in
        ``currency`` (the account's by default): its balance, and the positions settled in it.
        An account may hold positions settled in several assets (USDT perpetuals beside USD
        CFDs); each asset's margin stands on its own."""
        account = self._account(account_id)
        currency = currency or account.currency
        with localcontext(EXACT):
            positions = [p for p in account.open_positions() if self._settle(p) == currency]
            balance = account.totals.get(currency, ZERO)
            profit = sum((self._profit(p, marks) for p in positions), ZERO)
            margin = sum((p.margin for p in positions), ZERO)
            equity = balance + profit
            level = None
            if margin > 0:
                level = (equity / margin * 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            return AccountSummary(
                balance=balance, equity=equity, margin=margin,
                free_margin=equity - account.locked.get(currency, ZERO),
                margin_level=level, profit=profit, currency=currency,
                leverage=account.leverage,
            )  # fmt: skip

    def _settle(self, position: Position) -> str:
        return self._instrument(position.symbol).settle

    def check_margin(
        self, account_id: AccountId, marks: Mapping[str, Decimal], now_ms: int
    ) -> tuple[list[Event], list[tuple[Position, str]]]:
        """Margin events, and the positions the venue must close now, with the reason.
        Margin level is judged per settle asset (see ``summary``)."""
        account = self._account(account_id)
        due: list[tuple[Position, str]] = []
        for p in account.open_positions():
            mark, liquidation = marks.get(p.symbol), p.liquidation_price
            if mark is None or liquidation is None:
                continue
            if (mark <= liquidation) if p.side is Side.BUY else (mark >= liquidation):
                due.append((p, "liquidation"))
        if due:
            return [], due
        levels = {
            c: self.summary(account_id, marks, c).margin_level
            for c in sorted({self._settle(p) for p in account.open_positions()})
        }
        below = {
            c: lv for c, lv in levels.items() if lv is not None and lv < self.margin_call_level
        }
        if not below:
            account.margin_call = False
            return [], []
        currency, level = min(below.items(), key=lambda item: item[1])
        events: list[Event] = []
        if not account.margin_call:
            account.margin_call = True
            events.append(MarginCall(account_id, level))
        if level <= self.stop_out_level:
            with localcontext(EXACT):
                worst = min(
                    (p for p in account.open_positions() if self._settle(p) == currency),
                    key=lambda p: self._profit(p, marks),
                )
            events.append(StopOut(account_id, level, worst.id))
            due.append((worst, "stop_out"))
        return events, due

    # ---- the AccountBook protocol ----------------------------------------------------------

    def requirement(self, order: Order, reference_price: Decimal) -> tuple[str, Decimal, str]:
        """What ``reserve`` would hold for ``order``: (asset, amount, the refusal message when
        free balance is short). Changes nothing; a trade check asks this, so it can never
        disagree with the trade."""
        account = self._account(order.account_id)
        instrument = self._instrument(order.symbol)
        with localcontext(EXACT):
            if instrument.is_derivative:
                need = self.contracts.to_reserve(account, instrument, order, reference_price)
                return instrument.settle, need, "Insufficient margin"
            asset, need = spot_requirement(instrument, order.side, order.remaining, reference_price)
            return asset, need, "Insufficient funds"

    def reserve(self, order: Order, reference_price: Decimal) -> list[Event]:
        account = self._account(order.account_id)
        instrument = self._instrument(order.symbol)
        if order.reserved:
            raise Conflict(f"order {order.id} already holds funds")
        with localcontext(EXACT):
            if order.reduce_only or order.position_id is not None:
                self._check_reducing(account, instrument, order)
                return []
            asset, need, message = self.requirement(order, reference_price)
            if need <= 0:
                return []
            if account.free(asset) < need:
                raise InsufficientFunds(message)
            order.reserved, order.reserved_asset = need, asset
            account.lock(asset, need)
            return [account.balance_event(asset)]

    def release(self, order: Order) -> list[Event]:
        asset = order.reserved_asset
        if not order.reserved or asset is None:
            return []
        account = self._account(order.account_id)
        with localcontext(EXACT):
            account.lock(asset, -order.reserved)
            order.reserved = ZERO
        return [account.balance_event(asset)]

    def settle(self, order: Order, fill: Fill) -> tuple[Fill, list[Event]]:
        account = self._account(order.account_id)
        instrument = self._instrument(order.symbol)
        with localcontext(EXACT):
            if instrument.is_derivative:
                return self.contracts.settle(account, instrument, order, fill)
            return self._settle_spot(account, instrument, order, fill)

    def settle_batch(self, fills: Sequence[Fill]) -> list[Event]:
        """Spot fills of one account and symbol settled at once (``AccountBook``): the base
        bought less sold, the quote paid less received, the fees; one ledger entry each, at
        the last fill's time (``settle`` records three a fill). Nothing is checked: the
        caller released the orders' holds and made sure the account can pay."""
        if not fills:
            return []
        first = fills[0]
        account = self._account(first.account_id)
        instrument = self._instrument(first.symbol)
        if instrument.is_derivative:
            raise InvalidOrder("a batch settles spot fills only", "symbol")
        base = quote = fee = ZERO
        with localcontext(EXACT):
            for fill, (got, paid) in zip(fills, spot_flows(instrument, fills), strict=True):
                base, quote, fee = base + got, quote - paid, fee + fill.fee
            ts = fills[-1].ts_ms
            self._record(account, instrument.base, base, "trade", None, ts)
            self._record(account, instrument.quote, quote, "trade", None, ts)
            self._record(account, first.fee_asset, -fee, "fee", None, ts)
        assets = dict.fromkeys([instrument.base, instrument.quote, first.fee_asset])
        return [account.balance_event(asset) for asset in assets]

    def reducible(self, order: Order) -> Decimal:
        account = self._account(order.account_id)
        instrument = self._instrument(order.symbol)
        if not instrument.is_derivative:
            return account.free(instrument.base) if order.side is Side.SELL else ZERO
        position = self.contracts.reduced(account, order)
        return ZERO if position is None else position.amount

    # ---- spot, and small things ------------------------------------------------------------

    def _settle_spot(
        self, account: Account, instrument: Instrument, order: Order, fill: Fill
    ) -> tuple[Fill, list[Event]]:
        """Move base and quote exactly; the fee in the quote asset. Checks first."""
        cost = instrument.notional(fill.amount, fill.price)
        buying = fill.side is Side.BUY
        held = instrument.quote if buying else instrument.base
        pay = cost + fill.fee if buying else fill.amount
        use = min(order.reserved, pay)
        unused = order.reserved - use if fill.amount >= order.remaining else ZERO
        if account.free(held) + use + unused - pay < 0:
            raise InsufficientFunds("Insufficient funds")
        order.reserved -= use + unused
        account.lock(held, -(use + unused))
        sign = 1 if buying else -1
        self._record(account, instrument.base, sign * fill.amount, "trade", fill.id, fill.ts_ms)
        self._record(account, instrument.quote, -sign * cost, "trade", fill.id, fill.ts_ms)
        self._record(account, fill.fee_asset, -fill.fee, "fee", fill.id, fill.ts_ms)
        assets = dict.fromkeys([instrument.base, instrument.quote, fill.fee_asset])
        return fill, [account.balance_event(asset) for asset in assets]

    def _check_reducing(self, account: Account, instrument: Instrument, order: Order) -> None:
        """Reduce-only orders hold nothing, but may not exceed what they reduce."""
        if (
            instrument.is_derivative
            and order.position_id is None
            and account.mode is PositionMode.HEDGING
        ):
            raise InvalidOrder(
                "in hedging mode a reduce-only order names its position", "position_id"
            )
        allowed = self.reducible(order)
        if allowed <= 0:
            raise InvalidOrder("there is no position for this order to reduce", "reduce_only")
        if order.remaining > allowed:
            raise InvalidOrder(
                f"reduce-only amount {order.remaining} exceeds the position's {allowed}", "amount"
            )

    def _transfer(
        self,
        account_id: AccountId,
        asset: str,
        amount: Decimal,
        now_ms: int,
        kind: str,
        ref: str | None,
    ) -> LedgerEntry:
        account = self._account(account_id)
        if amount <= 0:
            raise InvalidOrder("amount must be positive", "amount")
        with localcontext(EXACT):
            delta = amount if kind == "deposit" else -amount
            entry = self._record(account, asset, delta, kind, ref, now_ms)
        assert entry is not None
        return entry

    def _record(
        self, account: Account, asset: str, delta: Decimal, kind: str, ref: str | None, ts_ms: int
    ) -> LedgerEntry | None:
        return account.entry(self._new_id, asset, delta, kind, ref, ts_ms)

    def _profit(self, position: Position, marks: Mapping[str, Decimal]) -> Decimal:
        mark = marks.get(position.symbol)
        if mark is None:
            return ZERO
        return unrealised(position, mark, self._instrument(position.symbol).contract_size)

    def _account(self, account_id: AccountId) -> Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise NotFound("account not found") from None

    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self._instruments[symbol]
        except KeyError:
            raise InvalidOrder(f"unknown symbol {symbol}", "symbol") from None
