"""The bot engine on a live exchange: a spot grid bot trading on FakeBinance through the CCXT
venue and CCXT's own client. The ladder is placed, fills re-arm the opposite orders (the venue
runs the re-arm program: the exchange does not know it), a 429 storm loses nothing, and a
restart after fills that happened while the process was down applies each of them once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import select

from tests.fakes.binance import FakeBinance, OrderStatus
from tests.venues.ccxt.world import BTC, World, new_world
from tradewind.domain.bots import BotStatus
from tradewind.domain.clock import ManualClock
from tradewind.domain.ids import new_id
from tradewind.engine import live
from tradewind.engine.bots import BotEngine, BotSpec
from tradewind.store.tables import BotLogRow, BotRow
from tradewind.strategies.registry import get_script
from tradewind.venues.ccxt.client_ids import exchange_client_id
from tradewind.venues.ccxt.venue import CcxtVenue

GRID = {
    "symbol": BTC, "lowerLimit": 49000, "upperLimit": 51000, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip
# at 50,200: buys at 49,000, 49,500 and 50,000; a sell at 51,000, after a market buy for it
MINUTE = 60_000
AMOUNTS = {D(49000): D("0.0051"), D(49500): D("0.00505"), D(50000): D("0.005"), D(51000): D("0.00495")}  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    with FakeBinance() as fake:
        fake.set_price(BTC, 50_200)
        yield fake


@pytest.fixture
async def world(fake: FakeBinance, database_url: str, clock: ManualClock) -> AsyncIterator[World]:
    world = await new_world(fake, database_url, clock)
    try:
        yield world
    finally:
        await world.close()


class Trading:
    """A venue and its engine started as the service starts them (``engine.live``); moved by
    hand: prices and orders polled, cycles settled."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.lives: list[live.LiveTrading] = []

    @property
    def now(self) -> live.LiveTrading:
        return self.lives[-1]

    @property
    def venue(self) -> CcxtVenue:
        return self.now.venue

    @property
    def bots(self) -> BotEngine:
        return self.now.bots

    async def start(self) -> live.LiveTrading:
        venue = await self.world.venue()
        self.lives.append(await live.start(venue, self.world.writer, poll_seconds=None))
        await self.bots.settle()
        return self.now

    async def stop(self) -> None:
        await self.now.close()

    async def poll(self, rounds: int = 3) -> None:
        for _ in range(rounds):
            await self.venue.refresh_prices()
            await self.venue.sync()
            await self.bots.settle()

    async def move(self, price: int) -> None:
        self.world.fake.set_price(BTC, price)
        await self.poll()

    async def new_grid(self) -> BotSpec:
        return await self.new_bot("spot_grid", GRID)

    async def new_bot(self, script_id: str, settings: dict[str, Any]) -> BotSpec:
        script = get_script(script_id)
        parsed = script.parse(settings, self.venue.instrument(BTC))
        now = datetime.now(UTC)
        bot_id = new_id("bot")
        row = BotRow(
            id=bot_id, user_id=self.world.user_id, account_id=self.world.account_id, name="bot",
            script=script.id, symbol=BTC, settings=parsed.to_wire(), status=BotStatus.STOPPED.value,
            status_reason=None, master_bot_id=None, follow_updates=False, cloned=0,
            investment=None, leverage=D(1), stop_loss_pct=None, extra={}, state={}, order_seq=0,
            pending=[], log_seq=0, stop_exit=False, realized_pnl=D(0), created_at=now,
            updated_at=now, deleted_at=None,
        )  # fmt: skip
        await self.world.writer.run(lambda session: session.add(row))
        return BotSpec.new(bot_id, self.world.user_id, self.world.account_id, script.id, BTC,
                           parsed.to_wire(), parsed)  # fmt: skip

    async def start_bot(self, spec: BotSpec) -> None:
        self.venue.watch(BTC)  # (the bots service asks for a price before a start, as here)
        await self.venue.refresh_prices()
        started = asyncio.create_task(self.bots.start(spec))
        while not started.done():
            await self.bots.settle()
            await asyncio.sleep(0)
        await started
        await self.poll(1)

    async def logs(self, bot_id: str) -> list[str]:
        async with self.world.writer.sessions() as session:
            rows = await session.scalars(
                select(BotLogRow).where(BotLogRow.bot_id == bot_id).order_by(BotLogRow.line)
            )
            return [r.message for r in rows]


@pytest.fixture
async def trading(world: World) -> AsyncIterator[Trading]:
    trading = Trading(world)
    await trading.start()
    try:
        yield trading
    finally:
        await trading.stop()


def resting(fake: FakeBinance) -> list[tuple[str, D, D]]:
    return sorted((o.side.value, o.price, o.orig_qty) for o in fake.orders if o.is_open)


def named(fake: FakeBinance, name: str, account_id: str) -> Any:
    cid = exchange_client_id(name, account_id=account_id)
    (found,) = [o for o in fake.orders if o.client_order_id == cid]
    return found


LADDER = [
    ("BUY", D(49000), AMOUNTS[D(49000)]), ("BUY", D(49500), AMOUNTS[D(49500)]),
    ("BUY", D(50000), AMOUNTS[D(50000)]), ("SELL", D(51000), AMOUNTS[D(51000)]),
]  # fmt: skip


class TestAGridOnTheExchange:
    async def test_places_its_ladder_fills_re_arm_and_balances_agree(
        self, trading: Trading, fake: FakeBinance
    ) -> None:
        spec = await trading.new_grid()
        await trading.start_bot(spec)

        assert resting(fake) == LADDER
        market = [o for o in fake.orders if o.type.value == "MARKET"]
        assert [(o.side.value, o.executed_qty) for o in market] == [("BUY", AMOUNTS[D(51000)])]
        # the bot's client ids, as the exchange knows them: one order each, no more
        assert len({o.client_order_id for o in fake.orders}) == len(fake.orders) == 5
        # seq 1 the market buy, 2-4 the buys, 5 the sell
        buy = named(fake, f"{spec.id}:4", spec.account_id)
        assert (buy.side.value, buy.price) == ("BUY", D(50000))

        await trading.move(49_900)  # the 50,000 buy fills; the venue re-arms a sell at 50,500
        rearmed = named(fake, f"{spec.id}:4:r1", spec.account_id)
        assert (rearmed.side.value, rearmed.price, rearmed.orig_qty, rearmed.is_open) == (
            "SELL", D(50500), D("0.005"), True,
        )  # fmt: skip
        await trading.move(50_600)  # ... which fills; re-armed back as a buy at 50,000
        again = named(fake, f"{spec.id}:4:r2", spec.account_id)
        assert (again.side.value, again.price, again.is_open) == ("BUY", D(50000), True)
        assert resting(fake) == LADDER

        runner = trading.bots.runner(spec.id)
        assert runner is not None and runner.status is BotStatus.ACTIVE
        state = runner.strategy.state
        assert state.round_trips == 1 and state.grid_profit > 0
        logs = await trading.logs(spec.id)
        assert sum("round trip" in line for line in logs) == 1
        # the venue's balances are the exchange's; the bot's book is its fills
        venue_balances = trading.venue.balances(trading.world.account_id)
        for asset in ("BTC", "USDT"):
            held = fake.balance(asset)
            assert (venue_balances[asset].free, venue_balances[asset].locked) == (
                held.free, held.locked,
            )  # fmt: skip
        assert fake.balance("USDT").locked == sum(
            o.price * o.orig_qty for o in fake.orders if o.is_open and o.side.value == "BUY"
        )
        fills = await trading.world.fill_rows()
        bought = sum(f.amount for f in fills if f.side == "buy")
        sold = sum(f.amount for f in fills if f.side == "sell")
        assert runner.book.amount == bought - sold == AMOUNTS[D(51000)]
        assert fake.balance("BTC").free + fake.balance("BTC").locked == (
            1
            + bought
            - sold
            - sum(t.commission for t in fake.trades if t.commission_asset == "BTC")
        )

    async def test_a_429_storm_slows_the_bot_and_loses_nothing(
        self, trading: Trading, fake: FakeBinance
    ) -> None:
        spec = await trading.new_grid()
        fake.rate_limit(5, retry_after=1, method="POST", path="/api/v3/order")

        await trading.start_bot(spec)

        assert trading.world.sleeps.waits == [1.0] * 5  # as long as the exchange asked
        assert resting(fake) == LADDER
        assert len(fake.orders) == 5 and len({o.client_order_id for o in fake.orders}) == 5
        assert len(fake.requests_to("POST", "/api/v3/order")) == 5 + 5
        runner = trading.bots.runner(spec.id)
        assert runner is not None and runner.status is BotStatus.ACTIVE

    async def test_stopping_cancels_its_orders_there_and_sells_what_it_bought(
        self, trading: Trading, fake: FakeBinance
    ) -> None:
        spec = await trading.new_grid()
        await trading.start_bot(spec)

        stopped = asyncio.create_task(trading.bots.stop(spec.id, close_positions=True, reason="x"))
        while not stopped.done():
            await trading.bots.settle()
            await asyncio.sleep(0)
        await stopped

        assert [o for o in fake.orders if o.is_open] == []
        sold = [o for o in fake.orders if o.type.value == "MARKET" and o.side.value == "SELL"]
        assert [o.executed_qty for o in sold] == [AMOUNTS[D(51000)]]  # the stop exit
        assert trading.venue.open_orders(trading.world.account_id) == []
        assert not trading.bots.is_running(spec.id)
        logs = await trading.logs(spec.id)
        assert any(line.startswith("Bot stopped") for line in logs)


class TestARestart:
    async def test_fills_while_down_are_applied_once_and_the_differences_logged(
        self, trading: Trading, fake: FakeBinance, world: World
    ) -> None:
        spec = await trading.new_grid()
        await trading.start_bot(spec)
        await trading.stop()  # the process stops

        fake.set_price(BTC, 49_400)  # while down: the 50,000 and 49,500 buys fill
        stray = named(fake, f"{spec.id}:2", spec.account_id)  # the 49,000 buy, cancelled by hand
        assert stray.price == D(49000)
        await cancel_by_hand(fake, stray.client_order_id)

        resumed = await trading.start()
        assert resumed.resumed == 1
        await trading.poll()

        fills = await world.fill_rows()
        assert sorted((f.side, f.price) for f in fills) == [
            ("buy", D(49500)),
            ("buy", D(50000)),
            ("buy", D(50200)),
        ]  # the market buy, and each fill of the time away once
        logs = await trading.logs(spec.id)
        assert logs.count("Bought 0.005 BTC at 50000 (grid:2)") == 1
        assert logs.count("Bought 0.00505 BTC at 49500 (grid:1)") == 1
        notes = [line for line in logs if "while Tradewind was not watching" in line]
        assert len(notes) == 2
        assert any(f"Order {spec.id}:2 was canceled on binance, not by Tradewind" in line
                   for line in logs)  # fmt: skip
        assert any(line.startswith("Resumed after a restart") for line in logs)
        # each fill re-armed once: a sell one level above each buy
        assert named(fake, f"{spec.id}:4:r1", spec.account_id).price == D(50500)
        assert named(fake, f"{spec.id}:3:r1", spec.account_id).price == D(50000)
        assert resting(fake) == [
            ("SELL", D(50000), AMOUNTS[D(49500)]), ("SELL", D(50500), AMOUNTS[D(50000)]),
            ("SELL", D(51000), AMOUNTS[D(51000)]),
        ]  # fmt: skip

        # and once more: nothing is applied or placed twice
        orders_before = len(fake.orders)
        await trading.stop()
        await trading.start()
        await trading.poll()
        assert len(await world.fill_rows()) == 3
        assert len(fake.orders) == orders_before
        logs = await trading.logs(spec.id)
        assert sum(line.startswith("Bought") for line in logs) == 3
        runner = trading.bots.runner(spec.id)
        assert runner is not None and runner.status is BotStatus.ACTIVE
        assert runner.book.amount == sum(AMOUNTS[p] for p in (D(49500), D(50000), D(51000)))


class TestEmulatedStops:
    async def test_a_bracket_stop_loss_is_emulated_and_the_bot_says_so(
        self, trading: Trading, fake: FakeBinance, clock: ManualClock
    ) -> None:
        """An RSI bot's entry carries a bracket: the venue rests the take-profit on the exchange
        and keeps the stop-loss, which it sends as a market order when the price reaches it."""
        settings = {
            "symbol": BTC, "rsiPeriod": 2, "timeframe": "1m", "oversold": 30, "overbought": 70,
            "orderSize": 200, "stopLoss": 1, "takeProfit": 2,
        }  # fmt: skip

        async def minute(price: int) -> None:
            clock.advance(60)
            await trading.move(price)

        spec = await trading.new_bot("rsi_bot", settings)
        await trading.start_bot(spec)
        for price in (50_100, 50_000, 49_900, 49_800, 49_950, 49_960):  # down, then up: a buy
            await minute(price)

        logs = await trading.logs(spec.id)
        assert any("crossed up through 30" in line for line in logs), logs
        assert any(line.startswith("Stop-loss (and its take-profit, one cancels the other) "
                                   "emulated: binance has no native one") for line in logs)  # fmt: skip
        (tp,) = [o for o in fake.orders if o.is_open]
        assert (tp.side.value, tp.type.value) == ("SELL", "LIMIT")  # only the take-profit rests

        await minute(49_000)  # through the stop-loss 1% under the entry

        stop_loss = [
            o
            for o in fake.orders
            if o.client_order_id
            == exchange_client_id(f"{spec.id}:1:sl", account_id=spec.account_id)
        ]
        assert [(o.type.value, o.status) for o in stop_loss] == [("MARKET", OrderStatus.FILLED)]
        assert fake.order(tp.order_id).status is OrderStatus.CANCELED
        logs = await trading.logs(spec.id)
        assert any(line.startswith("Emulated stop triggered at 49460.4") for line in logs), logs
        assert any(line.startswith("Stop-loss filled at 49000") for line in logs), logs
        runner = trading.bots.runner(spec.id)
        assert runner is not None and runner.strategy.state.inventory.amount == 0


class TestBotsOnBars:
    async def test_an_sma_cross_is_seeded_from_klines_and_buys_on_polled_bars(
        self, trading: Trading, fake: FakeBinance, clock: ManualClock
    ) -> None:
        """History from the exchange's one-minute klines at start, then bars closed from the
        polled prices: the fast average crosses above the slow one, a market buy is sent."""
        start = trading.venue.now_ms()
        # falling: fast below slow; the candle in progress is not history
        fake.set_candles(BTC, [
            (start - 4 * MINUTE, 50_600, 50_700, 50_500, 50_600, 1),
            (start - 3 * MINUTE, 50_600, 50_600, 50_400, 50_500, 1),
            (start - 2 * MINUTE, 50_500, 50_500, 50_300, 50_400, 1),
            (start - MINUTE, 50_400, 50_400, 50_300, 50_300, 1),
            (start, 50_300, 60_000, 40_000, 60_000, 1),
        ])  # fmt: skip
        settings = {"symbol": BTC, "fastPeriod": 2, "slowPeriod": 3, "timeframe": "1m",
                    "orderSize": 100}  # fmt: skip
        spec = await trading.new_bot("sma_cross", settings)
        fake.set_price(BTC, 50_200)

        await trading.start_bot(spec)

        klines = fake.requests_to("GET", "/api/v3/klines")
        assert [(k.params["interval"], k.params["limit"]) for k in klines] == [("1m", "1000")]
        runner = trading.bots.runner(spec.id)
        assert runner is not None
        assert runner.strategy.state.closes == [5_050_000, 5_040_000, 5_030_000]  # in ticks
        assert "SMA(2) / SMA(3), 1m: fast below slow" in await trading.logs(spec.id)

        clock.advance(60)
        await trading.move(50_600)  # closes the minute at 50,200: still below
        assert fake.orders == []
        clock.advance(60)
        await trading.move(50_600)  # closes the next at 50,600: 50,400 above 50,366.67

        (bought,) = fake.orders
        assert (bought.side.value, bought.type.value, bought.status) == (
            "BUY", "MARKET", OrderStatus.FILLED,
        )  # fmt: skip
        assert bought.client_order_id == exchange_client_id(
            f"{spec.id}:1", account_id=spec.account_id
        )
        logs = await trading.logs(spec.id)
        assert any("SMA(2) crossed up through SMA(3)" in line for line in logs), logs
        assert runner.strategy.state.inventory.amount > 0


async def cancel_by_hand(fake: FakeBinance, client_id: str) -> None:
    """As a user would on the exchange's website."""
    from tests.fakes.binance import ccxt_binance

    client = ccxt_binance(fake)
    try:
        await client.cancel_order("", BTC, {"clientOrderId": client_id})
    finally:
        await client.close()
    assert fake.order(client_id).status is OrderStatus.CANCELED
