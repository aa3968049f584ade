"""Signals: TradingView alerts through HTTP, and one signal fanned out to many bots.

Part 1 starts `tradewind serve` (SQLite, fresh data directory), makes ``--bots`` webhook bots
(10 per trader) and their webhook URLs, and posts, round robin over the bots, TradingView-style alerts (`{"action": "buy", "quantity": 0.002}`,
each with its own idempotency key) at a fixed rate from one client, open loop:
each request's time counts from the moment it was due, so a server that falls behind shows
it (one asyncio client on keep-alive connections, light enough not to starve the server
of this machine's second core). It does this twice, side by side: with `TRADEWIND_SIGNAL_WAIT_SECONDS=0` the answer comes
as soon as the signal and its delivery are durable (the acknowledgement); with the default
the answer also waits for the bot's market order (acknowledgement plus execution).

Part 2 builds the service's parts in this process (SQLite file store, paper venue, bot
engine), starts ``--subscribers`` webhook bots listening on one signal token (10 per paper
account, as a partner's users would be), and times one signal from submission until every
bot's order has been placed (`services.signals.submit`, the path every dialect uses).

    .venv/bin/python bench/signals.py [--rate 200] [--seconds 10] [--rounds 3] [--subscribers 10000]

Targets (issue 5): p99 acknowledgement under 50 ms at 200 signals/s; 10,000 subscribers
executed within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx
import uvloop
from bots import start_all  # bench/bots.py: starting many bots through the engine
from orders import free_port, percentile, start_server
from rich.console import Console
from sqlalchemy import insert

from tradewind.api.app import tune_garbage_collector
from tradewind.domain.bots import BotStatus
from tradewind.domain.clock import ManualClock
from tradewind.domain.events import OrderAccepted, OrderFilled
from tradewind.domain.ids import new_id
from tradewind.domain.orders import PositionMode
from tradewind.engine.bots import BotEngine, BotSpec
from tradewind.engine.bus import EventBus
from tradewind.marketdata.feeds import ManualFeed
from tradewind.services import signals
from tradewind.store.db import StoreRunner, create_engine, session_factory
from tradewind.store.migrate import upgrade
from tradewind.store.tables import BotRow, UserRow
from tradewind.strategies.base import SignalAction
from tradewind.venues.paper.catalog import paper_instruments
from tradewind.venues.paper.venue import PaperVenue

console = Console(stderr=True)

# ---- part 1: HTTP ------------------------------------------------------------------------------


def hook_urls(base: str, bots: int) -> list[str]:
    """``bots`` webhook bots (10 traders with ``bots / 10`` each) and their webhook URLs."""
    urls = []
    for trader in range(max(1, bots // 10)):
        email, password = f"tv{trader}@example.com", "alerts all day long"
        httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": password})
        login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for n in range(min(10, bots)):
            bot = httpx.post(f"{base}/api/v1/bots", headers=auth, json={
                "type": "webhook", "name": "tv", "settings": {"symbol": "BTC/USDT", "signalToken": f"tv{n}"},
            }).json()  # fmt: skip
            httpx.post(f"{base}/api/v1/bots/{bot['bot_id']}/start", headers=auth).raise_for_status()
            # a stock of BTC, so sells never wait for buys
            httpx.post(f"{base}/api/v1/signals", headers=auth, json={
                "bot_id": bot["bot_id"], "action": "buy", "amount": "0.02",
            }).raise_for_status()  # fmt: skip
            hook = httpx.post(f"{base}/api/v1/bots/{bot['bot_id']}/hook", headers=auth).json()
            urls.append(str(hook["url"]))
    return urls


def blast(
    urls: list[str], rate: float, seconds: float, first: int = 0
) -> tuple[list[float], list[str]]:
    """Open loop: request i is due at start + i / rate; its time counts from then. One
    asyncio client on keep-alive connections (as many as requests in flight), HTTP/1.1 by
    h11: it costs about a tenth of a core at 200/s, where sixteen threads of httpx clients
    took a third of one of this machine's two cores from the server they measured. Its
    cyclic garbage collector is off meanwhile (a full collection paused it for about 80 ms)."""
    gc.collect()
    gc.disable()
    try:
        return uvloop.run(_blast(urls, rate, seconds, first))
    finally:
        gc.enable()


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole response."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.h11 = h11.Connection(h11.CLIENT)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.h11.our_state is not h11.IDLE:
            if self.writer is not None:
                self.writer.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.h11 = h11.Connection(h11.CLIENT)
        assert self.reader is not None
        h = self.h11
        headers = [("Host", self.host), ("Content-Type", "application/json"),
                   ("Content-Length", str(len(body)))]  # fmt: skip
        self.writer.write(
            h.send(h11.Request(method="POST", target=path, headers=headers))
            + h.send(h11.Data(data=body)) + h.send(h11.EndOfMessage())
        )  # fmt: skip
        status, chunks = 0, []
        while True:
            event = h.next_event()
            if event is h11.NEED_DATA:
                h.receive_data(await self.reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                h.start_next_cycle()
                return status, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection")


async def _blast(
    urls: list[str], rate: float, seconds: float, first: int
) -> tuple[list[float], list[str]]:
    parts = [urlsplit(u) for u in urls]
    host, port = parts[0].hostname or "127.0.0.1", parts[0].port or 80
    idle: list[_Connection] = []
    latencies: list[float] = []
    statuses: list[str] = []
    # perf_counter, not loop.time(): uvloop's clock has millisecond steps and is read once per
    # loop iteration, which would round every latency and hide part of each
    start = time.perf_counter() + 0.5

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        alert = json.dumps({"action": "buy" if i % 2 else "sell", "quantity": 0.002,
                            "idempotency_key": f"alert-{first + i}"}).encode()  # fmt: skip
        connection = idle.pop() if idle else _Connection(host, port)
        try:
            status, body = await connection.post(parts[i % len(parts)].path, alert)
        except (h11.ProtocolError, OSError):  # a kept-alive connection the server closed
            connection = _Connection(host, port)  # (the idempotency key makes a resend safe)
            status, body = await connection.post(parts[i % len(parts)].path, alert)
        latencies.append((time.perf_counter() - due) * 1000)
        idle.append(connection)
        try:
            statuses.append(str(json.loads(body).get("status", status)))
        except ValueError:
            statuses.append(str(status))

    await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    return latencies, statuses


def part_one(
    rate: float, seconds: float, bots: int, rounds: int
) -> list[tuple[str, list[float], list[str], list[float]]]:
    """Per mode: every round's latencies pooled, the statuses, and each round's p99 (this
    machine's neighbours make one round's tail vary by 2x: the rounds show the spread)."""
    results = []
    for label, wait in (("acknowledgement (wait 0)", "0"), ("ack + execution (default)", None)):
        with tempfile.TemporaryDirectory(prefix="tw-bench-signals-") as tmp:
            port = free_port()
            extra = {} if wait is None else {"TRADEWIND_SIGNAL_WAIT_SECONDS": wait}
            proc = start_server(Path(tmp) / "data", port, **extra)
            try:
                urls = hook_urls(f"http://127.0.0.1:{port}", bots)
                # a second of warm-up, not counted: connections opened, routes and
                # statements compiled on first use
                blast(urls, rate, 1, first=10**6)
                latencies, statuses, p99s = [], [], []
                for n in range(rounds):
                    console.print(f"{label}, round {n + 1}: {int(rate * seconds)} alerts at "
                                  f"{rate:.0f}/s ...")  # fmt: skip
                    lat, st = blast(urls, rate, seconds, first=n * 10**5)
                    latencies += lat
                    statuses += st
                    p99s.append(percentile(lat, 0.99))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        results.append((label, latencies, statuses, p99s))
    return results


# ---- part 2: one signal, many bots -------------------------------------------------------------


async def part_two(subscribers: int, per_account: int) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory(prefix="tw-bench-fanout-") as tmp:
        db = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(db)
        store = StoreRunner(db)
        clock = ManualClock(datetime(2026, 11, 1, tzinfo=UTC))
        feed = ManualFeed("BTC/USDT")
        feed.push("BTC/USDT", 6400.0, int(clock.now().timestamp() * 1000))
        sessions = session_factory(db)
        venue = PaperVenue(instruments=paper_instruments(), feeds={"BTC/USDT": feed},
                           sessions=sessions, clock=clock, bus=EventBus(), writer=store)  # fmt: skip
        await venue.load()
        tune_garbage_collector()  # as `tradewind serve` does once started
        now = datetime.now(UTC)
        users = [new_id("usr") for _ in range((subscribers + per_account - 1) // per_account)]
        await store.run(lambda s: s.execute(insert(UserRow), [
            {"id": u, "email": f"{u}@bench.test", "password_hash": "-", "plan": "free", "role": "user",
             "public_profile_enabled": False, "created_at": now, "updated_at": now} for u in users
        ]))  # fmt: skip
        accounts = []
        for user in users:
            info = await venue.open_account(
                user_id=user, name="bench", mode=PositionMode.NETTING, leverage=Decimal(1),
                currency="USDT", balances={"USDT": Decimal(per_account * 100)}, is_default=True,
            )  # fmt: skip
            accounts.append(info.account_id)
        settings = {"symbol": "BTC/USDT", "signalToken": "partner-channel"}
        rows = [{
            "id": new_id("bot"), "user_id": users[i // per_account], "account_id": accounts[i // per_account],
            "name": f"follower {i}", "script": "webhook", "symbol": "BTC/USDT", "settings": settings,
            "status": BotStatus.STOPPED.value, "status_reason": None, "master_bot_id": None,
            "follow_updates": False, "cloned": 0, "investment": None, "leverage": Decimal(1),
            "stop_loss_pct": None, "extra": {}, "state": {}, "order_seq": 0, "pending": [],
            "fill_cursor": None, "log_seq": 0, "stop_exit": False, "realized_pnl": Decimal(0),
            "created_at": now, "updated_at": now, "deleted_at": None,
        } for i in range(subscribers)]  # fmt: skip
        await store.run(lambda s: s.execute(insert(BotRow), rows))
        engine = BotEngine(venue=venue, writer=store)
        specs = [
            BotSpec.new(r["id"], r["user_id"], r["account_id"], "webhook", "BTC/USDT", settings)
            for r in rows
        ]
        console.print(f"starting {subscribers} webhook bots ...")
        await start_all(engine, specs)
        loop = asyncio.create_task(engine.run())
        incoming = signals.Incoming(
            source="bench", owner_id=users[0], users=users, action=SignalAction.BUY,
            amount=Decimal("0.002"), token="partner-channel", body={"n": 1},
        )  # fmt: skip
        placed: set[str] = set()  # orders committed by the venue (its listeners hear them after)
        all_placed: list[float] = []

        def on_events(events: list[Any]) -> None:
            placed.update(e.order.id for e in events if isinstance(e, (OrderAccepted, OrderFilled)))
            if len(placed) >= subscribers and not all_placed:
                all_placed.append(time.perf_counter())

        venue.listeners.append(on_events)
        began = time.perf_counter()
        async with sessions() as session:
            outcome = await signals.submit(
                session, engine, clock, incoming, dedup_seconds=60, wait_seconds=120
            )
        took = time.perf_counter() - began
        durable = (all_placed[0] if all_placed else float("nan")) - began
        loop.cancel()
        executed = sum(1 for d in outcome.deliveries if d.status == "executed")
        orders = len(outcome.order_ids)
        store.close()
        await db.dispose()
        return durable, took, executed, orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--bots", type=int, default=100, help="webhook bots the alerts go to")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per mode")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if not args.skip_http:
        print(f"TradingView alerts through {args.bots} bots' webhook URLs, {args.rate:.0f}/s for "
              f"{args.seconds:.0f} s, open loop (one asyncio client):")  # fmt: skip
        print(f"{'':30}{'p50':>10}{'p99':>10}{'max':>10}{'mean':>10}  statuses")
        rows: list[Any] = part_one(args.rate, args.seconds, args.bots, args.rounds)
        for label, lat, statuses, p99s in rows:
            counts = {s: statuses.count(s) for s in sorted(set(statuses))}
            print(f"{label:30}{percentile(lat, 0.5):>8.1f}ms{percentile(lat, 0.99):>8.1f}ms"
                  f"{max(lat):>8.1f}ms{statistics.fmean(lat):>8.1f}ms  {counts}")  # fmt: skip
            print(f"{'':30}p99 of each round: {', '.join(f'{p:.1f}ms' for p in p99s)}")
        ack, full = rows[0][1], rows[1][1]
        print(f"ratio ack+execution / ack (p50): "
              f"{percentile(full, 0.5) / percentile(ack, 0.5):.1f}x")  # fmt: skip
    durable, took, executed, orders = asyncio.run(part_two(args.subscribers, args.per_account))
    print(f"one signal to {args.subscribers} webhook bots: every order placed (committed by the "
          f"venue) after {durable:.2f} s ({args.subscribers / durable:,.0f} bots/s); the signal's "
          f"outcome answered after {took:.2f} s ({executed} deliveries executed, {orders} orders)")  # fmt: skip


if __name__ == "__main__":
    main()
