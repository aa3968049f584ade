"""A real ``tradewind serve`` process to kill: started on a given store and data directory with
a fast replay (the price crosses grid levels every few hundred milliseconds), then SIGKILLed or
stopped, and started again on the same store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import select

from tests.helpers import PASSWORD, unique_email
from tradewind.store.db import create_engine
from tradewind.store.tables import (
    BalanceRow,
    BotLogRow,
    BotRow,
    FillRow,
    LedgerEntryRow,
    OrderRow,
)
from tradewind.strategies.accounting import Inventory
from tradewind.strategies.commands import OrderLeg, parse_client_order_id

FAST_REPLAY = {
    "TRADEWIND_PRICE_SOURCE": "replay",
    # one 1h bar of the bundled BTC series per 50 ms: a day of market in 1.2 s
    "TRADEWIND_REPLAY_BAR_SECONDS": "0.05",
    "TRADEWIND_PAPER_TICK_SECONDS": "0.05",
    "TRADEWIND_LOG_LEVEL": "INFO",  # uvicorn says when a shutdown completed
    # one client polls hard from 127.0.0.1 for the whole test
    "TRADEWIND_RATE_LIMIT_PER_IP": "10000",
    "TRADEWIND_RATE_LIMIT_PER_KEY": "10000",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One ``tradewind serve`` on ``database_url`` and ``data_dir``; start it, kill it, start
    it again: every life gets its own log file (read them when a test fails)."""

    database_url: str
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    lives: int = 0
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, life: int) -> Path:
        return self.data_dir.parent / f"server-{life}.log"

    def start(self, timeout: float = 60.0, *, wait: bool = True) -> None:
        """Start a new life; with ``wait``, return once it answers ``/readyz`` (its lifespan
        has run: the store migrated, the venue and the bots loaded and resumed)."""
        assert self.proc is None, "already running"
        self.lives += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
        env |= FAST_REPLAY | self.extra_env
        env |= {
            "TRADEWIND_DATABASE_URL": self.database_url,
            "TRADEWIND_DATA_DIR": str(self.data_dir),
            "TRADEWIND_JWT_SECRET": "crash-test-secret-" + "x" * 32,
        }
        self._log = self.log_path(self.lives).open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradewind", "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited at start ({self.proc.returncode}):\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"server did not become ready:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no lifespan shutdown, no flush, whatever was in flight is cut off."""
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            self._end(signal.SIGKILL)
            pytest.fail(f"the server died by itself ({code}) before the kill:\n{self.output()}")
        self._end(signal.SIGKILL)

    def cleanup(self) -> None:
        """Whatever state it is in: gone."""
        if self.proc is not None:
            self._end(signal.SIGKILL)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM: the clean shutdown (uvicorn runs the lifespan's end, then dies of the
        signal it caught, so the exit code is -SIGTERM either way: its log tells)."""
        self._end(signal.SIGTERM, timeout)
        output = self.output()
        assert "Application shutdown complete" in output, f"no clean shutdown:\n{output}"

    def _end(self, sig: signal.Signals, timeout: float = 20.0) -> int:
        proc = self.proc
        if proc is None:
            return 0
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            code = proc.wait(timeout=10)
            pytest.fail(f"server ignored {sig.name}:\n{self.output()}")
        finally:
            self.proc = None
            if self._log is not None:
                self._log.close()
                self._log = None
        return code

    def output(self, life: int | None = None) -> str:
        path = self.log_path(self.lives if life is None else life)
        if self._log is not None:
            self._log.flush()
        return path.read_text(errors="replace") if path.exists() else ""

    def stacks(self) -> str:
        """Where the running server is: its asyncio tasks and threads (``tradewind.diagnostics``),
        read from its log; for a failure's message."""
        if self.proc is None or self.proc.poll() is not None:
            return "(no running server)"
        before = len(self.output())
        self.proc.send_signal(signal.SIGUSR1)  # the tasks (needs a free event loop)
        time.sleep(1.0)
        self.proc.send_signal(signal.SIGUSR2)  # every thread, even with the loop blocked
        time.sleep(0.5)
        return self.output()[before:]

    def all_output(self) -> str:
        return "\n".join(f"---- life {n} ----\n{self.output(n)}" for n in range(1, self.lives + 1))


class Api:
    """A logged-in user of a running :class:`Server` (the token outlives restarts: the JWT
    secret is fixed)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.client = httpx.Client(base_url=server.base_url, timeout=10)
        email = unique_email("crash")
        r = self.client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = self.client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        r = self.client.request(method, f"/api/v1{path}", **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def close(self) -> None:
        self.client.close()


class TableLock:
    """PostgreSQL only: hold ``LOCK TABLE <table> IN <mode> MODE`` from outside the server, so
    its writes to that table wait (its reads and everyone else's do not). It puts the server in
    a chosen place for the kill: with ``bots`` locked the venue keeps committing fills the
    engine cannot acknowledge; with ``orders`` locked the engine has written a bot's pending
    placements and cannot run them."""

    def __init__(self, database_url: str, table: str, mode: str = "EXCLUSIVE") -> None:
        import asyncpg

        dsn = "postgresql://" + database_url.split("://", 1)[1]
        self._loop = asyncio.new_event_loop()
        self._conn = self._loop.run_until_complete(asyncpg.connect(dsn))
        self._loop.run_until_complete(
            self._conn.execute(f"BEGIN; LOCK TABLE {table} IN {mode} MODE")
        )

    def release(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(self._conn.close())
        finally:
            self._loop.close()


# ---- what the store says, read after the server (or while it runs) ---------------------------


@dataclass
class Store:
    """The rows the checks need, as plain values (read in one go, then the engine is gone)."""

    bots: dict[str, dict[str, Any]]
    orders: list[dict[str, Any]]
    fills: list[dict[str, Any]]
    balances: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    logs: dict[str, list[str]]


def read_store(database_url: str) -> Store:
    """Every bot, order, fill, balance, ledger entry and bot log line of the store (the test's
    store holds only what the test made)."""

    async def read() -> Store:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:

                async def rows(table: Any, *order: Any) -> list[dict[str, Any]]:
                    result = await conn.execute(select(table).order_by(*order))
                    return [dict(r._mapping) for r in result]

                bots = await rows(BotRow.__table__, BotRow.id)
                logs: dict[str, list[str]] = {}
                for line in await rows(BotLogRow.__table__, BotLogRow.bot_id, BotLogRow.line):
                    logs.setdefault(line["bot_id"], []).append(line["message"])
                return Store(
                    bots={b["id"]: b for b in bots},
                    orders=await rows(OrderRow.__table__, OrderRow.id),
                    fills=await rows(FillRow.__table__, FillRow.id),
                    balances=await rows(BalanceRow.__table__, BalanceRow.account_id),
                    entries=await rows(LedgerEntryRow.__table__, LedgerEntryRow.id),
                    logs=logs,
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def bot_fills(store: Store, bot_id: str) -> list[dict[str, Any]]:
    """The fills of the bot's orders (its placements, their re-arms and bracket legs), in id
    order: the order the engine gives them to the bot."""
    account = store.bots[bot_id]["account_id"]
    mine = {
        o["id"]
        for o in store.orders
        if o["account_id"] == account
        and (key := parse_client_order_id(o["client_order_id"])) is not None
        and key.bot_id == bot_id
    }
    return sorted((f for f in store.fills if f["order_id"] in mine), key=lambda f: f["id"])


OPEN = ("open", "partially_filled")


def problems(store: Store, *, settled: bool, max_placements: dict[str, int]) -> list[str]:
    """What is wrong with the store, as sentences (empty: nothing).

    At any moment, even just after a SIGKILL: no order placed twice, every placement the bot
    counted is in the book or still pending, the bot's own book is exactly the fills up to its
    cursor, every order's fills add up, every balance is its ledger. Once ``settled`` (the
    engine caught up and ran what was pending): the cursor is the bot's last fill and nothing
    is pending.

    ``max_placements``: how many placements of its own each bot may ever make (a spot grid:
    its ``gridCount`` limits and the one market buy that fills the sell grids; the re-arms are
    the venue's)."""
    found: list[str] = []
    fills_of_order: dict[str, list[dict[str, Any]]] = {}
    for f in store.fills:
        fills_of_order.setdefault(f["order_id"], []).append(f)

    for bot_id, bot in store.bots.items():
        where = f"bot {bot_id} ({bot['name']})"
        account = bot["account_id"]
        seq = int(bot["order_seq"])
        pending = list(bot["pending"] or [])
        pending_ids = {p.get("client_order_id") for p in pending if p.get("op") == "place"}
        # a start cut off before the engine wrote anything was never acknowledged: the bot is
        # still stopped, untouched; anything else but active is a failure
        never_started = bot["status"] == "stopped" and seq == 0 and not bot["state"]
        if bot["status"] != "active" and (settled or not never_started):
            found.append(f"{where} is {bot['status']}: {bot['status_reason']}")
        if settled and pending:
            found.append(f"{where} still has {len(pending)} pending operations: {pending}")

        orders = []
        for o in store.orders:
            key = parse_client_order_id(o["client_order_id"])
            if o["account_id"] == account and key is not None and key.bot_id == bot_id:
                orders.append((key, o))

        # -- placed once: the bot's own placements are <bot>:1..order_seq, each at most once;
        # a placement made again (a start re-run after a restart, a lost seq) shows here
        roots = [key.seq for key, _ in orders if key.leg is OrderLeg.ORDER]
        if len(roots) != len(set(roots)):
            found.append(f"{where}: a placement seq appears twice: {sorted(roots)}")
        if any(s < 1 or s > seq for s in roots):
            found.append(f"{where}: placement seqs {sorted(roots)} beyond order_seq {seq}")
        if seq > max_placements[bot_id]:
            found.append(
                f"{where}: order_seq {seq} > the {max_placements[bot_id]} placements it makes"
            )
        for n in set(range(1, seq + 1)) - set(roots):
            if f"{bot_id}:{n}" not in pending_ids or settled:
                found.append(f"{where}: placement {bot_id}:{n} is neither in the book nor pending")
        # each grid level's chain (<bot>:<n>, :r1, :r2, ...) has one order per generation and
        # at most one of them open: a re-arm made twice would be a second open order
        chains: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for key, o in orders:
            if key.leg in (OrderLeg.ORDER, OrderLeg.REARM):
                chains.setdefault(key.seq, []).append((key.generation, o))
        for root, chain in chains.items():
            generations = sorted(g for g, _ in chain)
            if generations != list(range(len(generations))):
                found.append(f"{where}: chain {root} has generations {generations}")
            open_in_chain = [o["client_order_id"] for _, o in chain if o["status"] in OPEN]
            if len(open_in_chain) > 1:
                found.append(f"{where}: chain {root} has several open orders: {open_in_chain}")
        # a grid buys at a level only for the grid below it and sells only for the grid above
        # it: two open orders at one price and side are one grid's order placed twice
        open_orders = [o for _, o in orders if o["status"] in OPEN]
        levels = [(o["side"], Decimal(o["price"])) for o in open_orders]
        if len(levels) != len(set(levels)):
            found.append(f"{where}: two open orders at one price and side: {sorted(levels)}")

        # -- nothing lost, nothing counted twice: the bot's book is the sum of the fills it
        # was given, which are exactly its fills up to its cursor (one transaction writes both)
        fills = bot_fills(store, bot_id)
        cursor = bot["fill_cursor"]
        ids = [f["id"] for f in fills]
        if cursor is not None and cursor not in ids:
            found.append(f"{where}: fill cursor {cursor} is not one of its fills")
        given = [f for f in fills if cursor is not None and f["id"] <= cursor]
        if settled and ids and cursor != ids[-1]:
            found.append(
                f"{where}: settled, but its cursor {cursor} is not its last fill {ids[-1]} "
                f"({len(fills) - len(given)} fills never given to it)"
            )
        book = Inventory.model_validate((bot["state"] or {}).get("book", {}))
        bought = sum((f["amount"] for f in given if f["side"] == "buy"), Decimal(0))
        sold = sum((f["amount"] for f in given if f["side"] == "sell"), Decimal(0))
        fees = sum((f["fee"] for f in given), Decimal(0))
        if (book.bought, book.sold) != (bought, sold):
            found.append(
                f"{where}: its book bought {book.bought} sold {book.sold}, but the "
                f"{len(given)} fills up to its cursor bought {bought} sold {sold}"
            )
        if abs(book.fees - fees) > Decimal("1e-12"):
            found.append(f"{where}: its book paid {book.fees} in fees, its fills {fees}")
        if book.amount != bought - sold:
            found.append(f"{where}: its book holds {book.amount}, its fills {bought - sold}")

    # -- the venue's own books: every order's fills add up, every balance is its ledger
    for o in store.orders:
        filled = sum((f["amount"] for f in fills_of_order.get(o["id"], [])), Decimal(0))
        if filled != o["filled"]:
            found.append(f"order {o['client_order_id']}: filled {o['filled']}, fills {filled}")
        if o["status"] == "filled" and o["filled"] != o["amount"]:
            found.append(f"order {o['client_order_id']}: filled but {o['filled']}/{o['amount']}")
    ledger: dict[tuple[str, str], Decimal] = {}
    for e in store.entries:
        key2 = (e["account_id"], e["asset"])
        ledger[key2] = ledger.get(key2, Decimal(0)) + e["delta"]
    held: dict[tuple[str, str], Decimal] = {}
    for o in store.orders:
        if o["status"] in OPEN and o["reserved_asset"]:
            key2 = (o["account_id"], o["reserved_asset"])
            held[key2] = held.get(key2, Decimal(0)) + o["reserved"]
    for b in store.balances:
        key2 = (b["account_id"], b["asset"])
        if b["free"] + b["locked"] != ledger.get(key2, Decimal(0)):
            found.append(
                f"balance {key2}: {b['free']} free + {b['locked']} locked, but its ledger "
                f"entries add up to {ledger.get(key2)}"
            )
        if b["locked"] != held.get(key2, Decimal(0)):
            found.append(
                f"balance {key2}: {b['locked']} locked, but its open orders hold {held.get(key2)}"
            )
        if b["free"] < 0:
            found.append(f"balance {key2}: {b['free']} free")
    return found


def sqlite_unacknowledged(database_url: str) -> int:
    """SQLite only, and fast (one query, no engine): how many fills of the bots' orders lie
    after their cursors right now (committed by the venue, not yet given to the bot)."""
    import sqlite3

    path = database_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM fills f JOIN orders o ON f.order_id = o.id"
            " JOIN bots b ON o.account_id = b.account_id"
            " AND substr(o.client_order_id, 1, length(b.id) + 1) = b.id || ':'"
            " WHERE b.status = 'active' AND (b.fill_cursor IS NULL OR f.id > b.fill_cursor)"
        ).fetchone()
    return int(count)


def sqlite_pending(database_url: str, bot_ids: list[str]) -> int:
    """SQLite only, and fast: how many of these bots have operations written as pending."""
    import sqlite3

    path = database_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        rows = conn.execute("SELECT id, pending FROM bots").fetchall()
    return sum(1 for bot_id, pending in rows if bot_id in bot_ids and json.loads(pending or "[]"))
