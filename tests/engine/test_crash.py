"""The bot engine survives SIGKILL: a real ``tradewind serve`` runs spot grid bots on a fast
replay (grid orders fill and re-arm several times a second), is killed with SIGKILL again and
again in the middle of that (once before it is even ready, once while bots are starting) and
started again on the same store. After every kill the store must show no order placed twice
and no fill lost or counted twice; after the last restart has caught up, every bot is still
active, has been given every fill of its orders and has nothing pending. On SQLite, and on
PostgreSQL when ``TRADEWIND_TEST_POSTGRES_URL`` is set.

What the checks rest on (``crash_helpers.problems``): the engine writes a bot's book (bought,
sold, fees) and its fill cursor in one transaction, so at any moment, killed or not, the book
must equal the sum of the bot's fills up to its cursor. A fill given twice (a restart's
catch-up meeting the live fill) adds to the book and not to the fills; a fill skipped (the
cursor moved past it) adds to the fills and not to the book. A placement made twice either
takes a new seq (more placements than a grid makes, two open orders at one grid level) or the
same client id (two rows of one seq). At the end the same checks are run on copies of the
final store corrupted in each of these ways, and must report each of them.

Where a kill lands is random on SQLite (the seed is printed; ``TRADEWIND_CRASH_SEED`` replays
it). On PostgreSQL two kills are placed: one while a lock on ``bots`` keeps the engine from
acknowledging fills the venue has committed (the restart must catch them up), one while a
lock on ``orders`` keeps the engine from running placements it has written as pending (the
restart must run them, once; for this kill the engine runs with
``TRADEWIND_ENGINE_JOIN_WRITES=false``, as for a venue that cannot take the bots' writes into
its own transaction; everywhere else a bot's state and its orders commit together). A third placed kill, inside a bot's stop, checks that the stop
under way is finished after the restart (``test_a_stop_cut_off_by_a_kill_...``; it found that
a stop in progress was not written with the bot, and came back as an idle "active" grid).
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import re
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.crash_helpers import (
    OPEN,
    Api,
    Server,
    Store,
    TableLock,
    bot_fills,
    problems,
    read_store,
    sqlite_pending,
    sqlite_unacknowledged,
)

SYMBOL = "BTC/USDT"
GRID_COUNT = 6
PLACEMENTS = GRID_COUNT + 1  # a limit order per grid, and the market buy for the sell grids
RESUMED = re.compile(r"Resumed after a restart \((\d+) pending operations, (\d+) fills")


def _wait(what: str, ready: Callable[[], bool], server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if server.proc is not None and server.proc.poll() is not None:
            pytest.fail(f"the server died waiting for {what}\n{server.all_output()[-6000:]}")
        if time.monotonic() > deadline:
            stacks = server.stacks()  # before the log tail: the dump is appended to the log
            pytest.fail(
                f"timed out waiting for {what}\n{server.all_output()[-6000:]}\n"
                f"---- the server's stacks ----\n{stacks[-20000:]}"
            )
        time.sleep(0.1)


def _problems(store: Store, *, settled: bool) -> list[str]:
    return problems(store, settled=settled, max_placements=dict.fromkeys(store.bots, PLACEMENTS))


def _assert_sound(store: Store, *, settled: bool, when: str, server: Server) -> None:
    found = _problems(store, settled=settled)
    assert not found, f"{when}:\n" + "\n".join(found) + "\n" + server.all_output()[-6000:]


def _fills(store: Store) -> int:
    return sum(len(bot_fills(store, b)) for b in store.bots)


def _unacknowledged(store: Store) -> int:
    """Fills of the bots' orders committed after their cursors."""
    return sum(
        sum(
            1
            for f in bot_fills(store, b)
            if bot["fill_cursor"] is None or f["id"] > bot["fill_cursor"]
        )
        for b, bot in store.bots.items()
    )


def _create_bots(api: Api, widths: tuple[Decimal, ...]) -> list[str]:
    price = Decimal(api.call("GET", f"/markets/paper/{SYMBOL}/ticker")["last"])
    ids = []
    for width in widths:
        settings = {
            "symbol": SYMBOL,
            "lowerLimit": str((price * (1 - width)).quantize(Decimal("0.01"))),
            "upperLimit": str((price * (1 + width)).quantize(Decimal("0.01"))),
            "gridCount": GRID_COUNT,
            "investmentAsset": "Quote",
            "investmentAmount": 500,
            "tradeToFillGrid": True,
        }
        body = {"type": "spot_grid", "name": f"grid ±{width:.0%}", "settings": settings}
        ids.append(api.call("POST", "/bots", 201, json=body)["bot_id"])
    return ids


def _start_in_background(api: Api, bot_ids: list[str]) -> Callable[[], None]:
    """Start the bots without waiting for the answers (the kill may cut them off); returns
    what to call after the kill: it waits for the requests and checks each was answered with
    the started bot, or cut off."""
    answers: list[str] = []

    def start(bot_id: str) -> None:
        try:
            r = api.client.post(f"/api/v1/bots/{bot_id}/start")
        except httpx.TransportError:
            answers.append("cut off")  # never acknowledged
        else:
            answers.append(r.json()["status"] if r.status_code == 200 else r.text)

    threads = [threading.Thread(target=start, args=(b,), daemon=True) for b in bot_ids]
    for t in threads:
        t.start()

    def done() -> None:
        for t in threads:
            t.join(timeout=30)
        assert len(answers) == len(bot_ids), answers
        assert set(answers) <= {"cut off", "active"}, answers

    return done


def test_bots_survive_sigkill_with_no_lost_fill_and_no_order_placed_twice(
    database_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("TRADEWIND_CRASH_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    postgres = database_url.startswith("postgresql")
    server = Server(database_url, tmp_path / "data")
    kills = 0

    def kill(lock: TableLock | None = None) -> None:
        nonlocal kills
        try:
            server.kill()
        finally:  # the server's transactions wait on the test's lock: release it after the kill
            if lock is not None:
                lock.release()
        kills += 1
        when = f"after kill {kills} (seed {seed})"
        _assert_sound(read_store(database_url), settled=False, when=when, server=server)

    def fresh_bots(*widths: str) -> list[str]:
        """Bots with ranges of these half-widths around the price of now: the replay wanders
        several per cent in a few seconds, the narrow grids trade at once, the wide ones
        still trade when the price has left the narrow ones (and the older bots' ranges)."""
        ids = _create_bots(api, tuple(Decimal(w) for w in widths))
        bot_ids.extend(ids)
        return ids

    bot_ids: list[str] = []
    locks: list[TableLock] = []

    def hold(table: str, mode: str) -> TableLock:
        locks.append(TableLock(database_url, table, mode))
        return locks[-1]

    try:
        # life 1: create and start the bots, let them trade, kill mid-activity
        server.start()
        api = Api(server)
        for bot_id in fresh_bots("0.01", "0.02", "0.04", "0.08"):
            assert api.call("POST", f"/bots/{bot_id}/start")["status"] == "active"
        _wait("the bots' first fills", lambda: _fills(read_store(database_url)) >= 8, server)
        time.sleep(rng.uniform(0.1, 1.0))
        kill()

        # life 2: killed at a random moment of its start: migrating, loading the venue,
        # resuming the bots (re-running what was pending), or trading already
        server.start(wait=False)
        time.sleep(rng.uniform(0.5, 4.0))
        kill()

        # life 3: killed while the venue commits fills the engine has not acknowledged
        server.start()
        for bot_id in fresh_bots("0.01", "0.03"):
            assert api.call("POST", f"/bots/{bot_id}/start")["status"] == "active"
        if postgres:
            lock = hold("bots", "EXCLUSIVE")
            _wait(
                "fills the engine cannot acknowledge",
                lambda: _unacknowledged(read_store(database_url)) >= 2,
                server,
            )
            kill(lock)
        else:  # no table locks here: kill the moment the store shows such a fill (the
            # engine may still be faster: the summary tells whether the restart caught up any)
            deadline = time.monotonic() + rng.uniform(2, 6)
            while time.monotonic() < deadline and not sqlite_unacknowledged(database_url):
                time.sleep(0.001)
            kill()

        # life 4: two more bots are started and the server is killed as they start. On
        # PostgreSQL with the engine writing placements as pending first (as for a venue that
        # cannot share its transaction), so the kill lands between written and run
        if postgres:
            server.extra_env["TRADEWIND_ENGINE_JOIN_WRITES"] = "false"
        server.start()
        server.extra_env.pop("TRADEWIND_ENGINE_JOIN_WRITES", None)
        new_ids = fresh_bots("0.015", "0.03")
        if postgres:
            lock = hold("orders", "SHARE ROW EXCLUSIVE")
            started = _start_in_background(api, new_ids)

            def written() -> bool:  # (the first start blocks the engine: one at most)
                bots = read_store(database_url).bots
                return any(bots[b]["pending"] for b in new_ids)

            _wait("the new bots' pending placements", written, server)
            kill(lock)
        else:  # kill the moment the store shows them pending (they may have run by then)
            started = _start_in_background(api, new_ids)
            deadline = time.monotonic() + rng.uniform(0.05, 0.5)
            while time.monotonic() < deadline and not sqlite_pending(database_url, new_ids):
                time.sleep(0.001)
            kill()
        started()

        # life 5, without the ticker (the market stands still): the engine resumes every bot,
        # runs what was pending and gives each the fills it had not seen; then all is done. A
        # start the kill cut off before the engine took it was never acknowledged: the user
        # starts that bot again.
        server.extra_env["TRADEWIND_PAPER_TICK_SECONDS"] = "0"
        server.start()
        store = read_store(database_url)
        for bot_id in new_ids:
            if store.bots[bot_id]["status"] == "stopped":
                assert api.call("POST", f"/bots/{bot_id}/start")["status"] == "active"
        _wait(
            "the engine to catch up",
            lambda: not _problems(read_store(database_url), settled=True),
            server,
        )
        server.stop()
        api.close()
    finally:
        server.cleanup()
        for held in locks:
            held.release()

    store = read_store(database_url)
    _assert_sound(store, settled=True, when=f"after {kills} kills (seed {seed})", server=server)
    assert set(store.bots) == set(bot_ids)
    resumed = [
        (bot_id, int(m[1]), int(m[2]))
        for bot_id, lines in store.logs.items()
        for line in lines
        if (m := RESUMED.match(line))
    ]
    pending_rerun = sum(p for _, p, _ in resumed)
    caught_up = sum(f for _, _, f in resumed)
    if postgres:  # the two placed kills took these paths
        assert caught_up >= 2, resumed
        assert pending_rerun >= 1, resumed
    print(
        f"[{'postgres' if postgres else 'sqlite'} seed {seed}] {kills} kills; {_fills(store)} "
        f"fills of {len(store.orders)} orders; on resuming, {pending_rerun} pending operations "
        f"re-run and {caught_up} fills caught up"
    )
    _the_checks_catch_what_they_look_for(store)


def _the_checks_catch_what_they_look_for(store: Store) -> None:
    """Each corruption a crash could cause, made by hand in a copy of the final store, is
    reported: the checks above cannot pass by checking nothing."""
    bot_id = max(store.bots, key=lambda b: len(bot_fills(store, b)))
    fills = bot_fills(store, bot_id)
    assert len(fills) >= 2
    last = fills[-1]

    def corrupt(change: Callable[[Store, dict[str, Any]], None]) -> list[str]:
        broken = copy.deepcopy(store)
        change(broken, broken.bots[bot_id])
        return _problems(broken, settled=True)

    def rebook(bot: dict[str, Any], fill: dict[str, Any], times: int) -> None:
        """Count ``fill`` ``times`` more (or, negative, fewer) times in the bot's book."""
        book, n = bot["state"]["book"], Decimal(times)
        side, sign = ("bought", 1) if fill["side"] == "buy" else ("sold", -1)
        book[side] = str(Decimal(book[side]) + n * fill["amount"])
        book["amount"] = str(Decimal(book["amount"]) + sign * n * fill["amount"])
        book["fees"] = str(Decimal(book["fees"]) + n * fill["fee"])

    def placed_again(s: Store, bot: dict[str, Any]) -> None:
        """The grid placed its orders again after a restart (its start re-run: new seqs)."""
        seq = bot["order_seq"]
        for o in list(s.orders):
            if o["client_order_id"].startswith(f"{bot_id}:") and o["status"] == "open":
                seq += 1
                s.orders.append({**o, "id": o["id"] + "x", "client_order_id": f"{bot_id}:{seq}"})
        assert seq > bot["order_seq"]
        bot["order_seq"] = seq

    def rearmed_twice(s: Store, bot: dict[str, Any]) -> None:
        """A fill's re-arm made twice: the chain's next generation, a second open order at
        one grid level."""
        o = next(
            o
            for o in s.orders
            if o["client_order_id"].startswith(f"{bot_id}:") and o["status"] == "open"
        )
        root = o["client_order_id"].split(":r")[0]
        chain = [x for x in s.orders if x["client_order_id"].split(":r")[0] == root]
        s.orders.append({**o, "id": o["id"] + "x", "client_order_id": f"{root}:r{len(chain)}"})

    def same_seq_twice(s: Store, bot: dict[str, Any]) -> None:
        o = next(o for o in s.orders if o["client_order_id"] == f"{bot_id}:1")
        s.orders.append({**o, "id": o["id"] + "x"})

    def given_twice(s: Store, bot: dict[str, Any]) -> None:
        rebook(bot, last, 1)

    def skipped(s: Store, bot: dict[str, Any]) -> None:
        """The cursor moved past a fill the bot never got."""
        rebook(bot, fills[0], -1)

    def not_caught_up(s: Store, bot: dict[str, Any]) -> None:
        """The restart did not give the bot its last fill (book and cursor agree on that)."""
        bot["fill_cursor"] = fills[-2]["id"]
        rebook(bot, last, -1)

    def placement_lost(s: Store, bot: dict[str, Any]) -> None:
        """A placement counted (its seq written) but neither run nor pending."""
        bot["order_seq"] += 1

    def ledger_off(s: Store, bot: dict[str, Any]) -> None:
        s.entries.pop()

    for change, reported in [
        (placed_again, "two open orders at one price and side"),
        (placed_again, "placements it makes"),
        (rearmed_twice, "two open orders at one price and side"),
        (rearmed_twice, "has several open orders"),
        (same_seq_twice, "appears twice"),
        (given_twice, "its book bought"),
        (skipped, "its book bought"),
        (not_caught_up, "is not its last fill"),
        (placement_lost, "neither in the book nor pending"),
        (ledger_off, "ledger entries add up"),
    ]:
        found = corrupt(change)
        assert any(reported in line for line in found), (change.__name__, reported, found)


def test_a_stop_cut_off_by_a_kill_is_finished_after_the_restart(
    database_url: str, tmp_path: Path
) -> None:
    """A stop takes two cycles: the bot's open orders are cancelled (written as pending, then
    run), then ``on_stop`` runs (with ``close_positions`` it sells what the grid bought) and
    the bot is marked stopped. Killed between the two, the restarted engine must finish the
    stop it had decided and begun, not resume a grid whose orders it has cancelled."""
    if not database_url.startswith("postgresql"):
        pytest.skip("placing the kill inside a stop needs a table lock (PostgreSQL)")
    server = Server(database_url, tmp_path / "data")
    # placements written as pending first: the lock on orders then holds the stop between its
    # cycles (with joined writes it would hold the whole stop back, and nothing would be cut)
    server.extra_env["TRADEWIND_ENGINE_JOIN_WRITES"] = "false"
    locks: list[TableLock] = []
    try:
        server.start()
        server.extra_env.pop("TRADEWIND_ENGINE_JOIN_WRITES")
        api = Api(server)
        (bot_id,) = _create_bots(api, (Decimal("0.02"),))
        assert api.call("POST", f"/bots/{bot_id}/start")["status"] == "active"

        def placed() -> bool:  # a limit order per grid (the sells follow the market buy)
            store = read_store(database_url)
            limits = [
                o
                for o in store.orders
                if re.fullmatch(f"{bot_id}:[0-9]+", o["client_order_id"]) and o["type"] == "limit"
            ]
            return len(limits) == GRID_COUNT and not store.bots[bot_id]["pending"]

        _wait("the grid placed", placed, server)
        # the engine writes the stop's cancels as pending, then waits to run them
        locks.append(TableLock(database_url, "orders", "SHARE ROW EXCLUSIVE"))
        answers: list[int] = []

        def stop() -> None:
            with contextlib.suppress(httpx.TransportError):
                r = api.client.post(f"/api/v1/bots/{bot_id}/stop", json={"close_positions": True})
                answers.append(r.status_code)

        thread = threading.Thread(target=stop, daemon=True)
        thread.start()
        _wait(
            "the stop's cancels written as pending",
            lambda: bool(read_store(database_url).bots[bot_id]["pending"]),
            server,
        )
        server.kill()
        locks.pop().release()
        thread.join(timeout=30)
        pending = read_store(database_url).bots[bot_id]["pending"]
        if answers or not all(p["op"] == "cancel" for p in pending):
            pytest.fail(f"not killed inside the stop: {answers} {pending}")

        server.extra_env["TRADEWIND_PAPER_TICK_SECONDS"] = "0"
        server.start()

        def finished() -> bool:
            bot = read_store(database_url).bots[bot_id]
            return bot["status"] != "active" and not bot["pending"]

        deadline = time.monotonic() + 30  # a wait for the engine, not a timing
        while time.monotonic() < deadline and not finished():
            time.sleep(0.1)
        server.stop()
        api.close()
    finally:
        server.cleanup()
        for held in locks:
            held.release()

    store = read_store(database_url)
    bot = store.bots[bot_id]
    still_open = [
        o["client_order_id"]
        for o in store.orders
        if o["client_order_id"].startswith(f"{bot_id}:") and o["status"] in OPEN
    ]
    assert still_open == []  # the cancels ran again after the restart: no order is left...
    # ...so the bot must have stopped; found: 'active', a grid with no orders, the stop lost
    assert (bot["status"], bot["pending"]) == ("stopped", []), (
        bot["status"],
        store.logs[bot_id][-4:],
    )
    # the stop's market sell (close_positions) is one placement more than the grid makes
    found = problems(store, settled=True, max_placements={bot_id: PLACEMENTS + 1})
    assert [p for p in found if "is stopped: stopped by the user" not in p] == []
    assert any("Bot stopped" in line for line in store.logs[bot_id]), store.logs[bot_id][-4:]
