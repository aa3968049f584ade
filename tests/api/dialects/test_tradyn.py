"""The Tradyn dialect: the document's own example, its 17 endpoints and its refusals."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import uvicorn

from tests.conftest import Harness
from tests.helpers import PASSWORD, new_key, new_user, unique_email
from tradewind.api.app import create_app
from tradewind.settings import Settings

BASE = "/compat/tradyn/v1"
EXAMPLE = Path(__file__).with_name("tradyn_example.py").read_text()


def bearer(key: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['token']}"}


async def trader(tw: Harness, scope: str = "trade") -> dict[str, str]:
    user = await new_user(tw.client)
    return bearer(await new_key(tw.client, user["auth"], scope))


def data(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is True
    return body["data"]


def error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and set(body) == {"success", "error"}
    return str(body["error"])


# ---- the document's example, unchanged but for its key and base URL ---------------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        Settings(data_dir=tmp_path / "data", price_source="manual", paper_tick_seconds=0)
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=10)


def test_document_python_example_runs_unchanged(live_server: tuple[str, Any]) -> None:
    base, app = live_server
    venue = app.state.runtime.venues.paper
    venue.feeds["EURUSD"].push("EURUSD", 1.0850, venue.now_ms())
    email = unique_email()
    requests.post(
        f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=10
    )
    login = requests.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    ).json()
    key = requests.post(f"{base}/api/v1/api-keys", json={"name": "tradyn", "scope": "trade"},
                        headers={"Authorization": f"Bearer {login['access_token']}"}, timeout=10).json()  # fmt: skip
    code = EXAMPLE.replace('"tk_live_a1b2c3d4e5f6"', repr(key["token"])).replace(
        '"http://127.0.0.1:8080/v1"', repr(f"{base}/compat/tradyn/v1")
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "tradyn_example.py", "exec"), {"__name__": "example"})  # noqa: S102
    printed = out.getvalue().splitlines()
    assert printed[0] == "Balance: 10000.0" and printed[1] == "Equity: 10000.0"
    ticket_line = printed[-1]
    assert ticket_line.startswith("Filled ticket #") and ticket_line.endswith(
        "@ 1.08505"
    )  # the ask
    positions = requests.get(f"{base}/compat/tradyn/v1/api/positions",
                             headers={"Authorization": f"Bearer {key['token']}"}, timeout=10).json()["data"]  # fmt: skip
    assert positions[0]["symbol"] == "EURUSD" and positions[0]["volume"] == 0.1
    assert (positions[0]["sl"], positions[0]["tp"]) == (1.08, 1.095)


# ---- endpoints --------------------------------------------------------------------------------------


class TestAccount:
    async def test_account_fields(self, tw: Harness) -> None:
        h = await trader(tw)
        acc = data(await tw.client.get(BASE + "/api/account", headers=h))
        for field in (
            "balance",
            "equity",
            "margin",
            "free_margin",
            "margin_level",
            "profit",
            "currency",
            "leverage",
        ):
            assert field in acc
        assert (acc["balance"], acc["currency"], acc["margin"]) == (10000.0, "USD", 0.0)

    async def test_history_lists_closed_deals(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("EURUSD", 1.1)
        opened = data(
            await tw.client.post(
                BASE + "/api/trade",
                json={"symbol": "EURUSD", "action": "buy", "volume": 0.1},
                headers=h,
            )
        )
        await tw.move("EURUSD", 1.102)
        data(await tw.client.post(BASE + f"/api/positions/{opened['ticket']}/close", headers=h))
        deals = data(await tw.client.get(BASE + "/api/account/history?from=0", headers=h))
        assert [d["entry"] for d in deals] == ["in", "out"]
        assert deals[1]["profit"] == pytest.approx((1.10195 - 1.10005) * 10000)


class TestTrading:
    async def test_trade_check_then_trade(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("EURUSD", 1.1)
        check = data(
            await tw.client.post(
                BASE + "/api/trade/check",
                json={"symbol": "EURUSD", "action": "buy", "volume": 0.5},
                headers=h,
            )
        )
        assert check["valid"] is True and check["required_margin"] == pytest.approx(
            1.10005 * 50000 / 10
        )
        assert (
            data(await tw.client.get(BASE + "/api/positions", headers=h)) == []
        )  # check placed nothing
        big = data(
            await tw.client.post(
                BASE + "/api/trade/check",
                json={"symbol": "EURUSD", "action": "buy", "volume": 10},
                headers=h,
            )
        )
        assert big["valid"] is False and big["error"] == "Insufficient margin"

    async def test_insufficient_margin_uses_the_documents_text(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("EURUSD", 1.1)
        r = await tw.client.post(
            BASE + "/api/trade", json={"symbol": "EURUSD", "action": "buy", "volume": 10}, headers=h
        )
        assert error(r, 400) == "Insufficient margin"

    async def test_bad_volume_step_unknown_symbol_bad_stops(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("EURUSD", 1.1)
        r = await tw.client.post(
            BASE + "/api/trade",
            json={"symbol": "EURUSD", "action": "buy", "volume": 0.015},
            headers=h,
        )
        assert "step" in error(r, 400)
        r = await tw.client.post(
            BASE + "/api/trade",
            json={"symbol": "XAUUSD", "action": "buy", "volume": 0.1},
            headers=h,
        )
        error(r, 404)
        r = await tw.client.post(
            BASE + "/api/trade",
            json={"symbol": "EURUSD", "action": "buy", "volume": 0.1, "sl": 1.2},
            headers=h,
        )
        assert "Invalid stops" in error(r, 400)
        r = await tw.client.post(
            BASE + "/api/trade",
            json={"symbol": "EURUSD", "action": "hold", "volume": 0.1},
            headers=h,
        )
        assert "action" in error(r, 400)
        assert data(await tw.client.get(BASE + "/api/positions", headers=h)) == []


class TestPositions:
    async def test_get_modify_partial_close_close_all(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("EURUSD", 1.1)
        await tw.move("BTC/USDT:USDT", 7000)
        t1 = data(
            await tw.client.post(
                BASE + "/api/trade",
                json={"symbol": "EURUSD", "action": "buy", "volume": 0.2},
                headers=h,
            )
        )["ticket"]
        data(
            await tw.client.post(
                BASE + "/api/trade",
                json={"symbol": "BTCUSDT.P", "action": "sell", "volume": 0.01},
                headers=h,
            )
        )
        one = data(await tw.client.get(BASE + f"/api/positions/{t1}", headers=h))
        assert (one["symbol"], one["type"], one["volume"]) == ("EURUSD", "buy", 0.2)
        mod = data(
            await tw.client.put(
                BASE + f"/api/positions/{t1}", json={"sl": 1.09, "tp": 1.12}, headers=h
            )
        )
        assert (mod["sl"], mod["tp"]) == (1.09, 1.12)
        data(
            await tw.client.post(
                BASE + f"/api/positions/{t1}/close", json={"volume": 0.05}, headers=h
            )
        )
        assert data(await tw.client.get(BASE + f"/api/positions/{t1}", headers=h))["volume"] == 0.15
        closed = data(
            await tw.client.post(
                BASE + "/api/positions/close-all", json={"symbol": "BTCUSDT.P"}, headers=h
            )
        )
        assert closed["closed"] == 1
        assert [
            p["symbol"] for p in data(await tw.client.get(BASE + "/api/positions", headers=h))
        ] == ["EURUSD"]
        data(await tw.client.post(BASE + "/api/positions/close-all", headers=h))
        assert data(await tw.client.get(BASE + "/api/positions", headers=h)) == []
        error(await tw.client.get(BASE + f"/api/positions/{t1}", headers=h), 404)


class TestOrders:
    async def test_pending_order_lifecycle(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("EURUSD", 1.1)
        placed = data(
            await tw.client.post(
                BASE + "/api/orders",
                json={
                    "symbol": "EURUSD",
                    "type": 2,
                    "volume": 0.1,
                    "price": 1.09,
                    "sl": 1.08,
                    "tp": 1.11,
                },
                headers=h,
            )
        )
        assert (placed["type"], placed["price"], placed["sl"]) == (2, 1.09, 1.08)
        ticket = placed["ticket"]
        assert [
            o["ticket"] for o in data(await tw.client.get(BASE + "/api/orders", headers=h))
        ] == [ticket]
        moved = data(
            await tw.client.put(BASE + f"/api/orders/{ticket}", json={"price": 1.095}, headers=h)
        )
        assert moved["price"] == 1.095
        data(await tw.client.delete(BASE + f"/api/orders/{ticket}", headers=h))
        assert data(await tw.client.get(BASE + "/api/orders", headers=h)) == []
        error(await tw.client.delete(BASE + f"/api/orders/{ticket}", headers=h), 404)

    async def test_buy_stop_triggers_and_type_0_executes(self, tw: Harness) -> None:
        h = await trader(tw)
        await tw.move("EURUSD", 1.1)
        data(
            await tw.client.post(
                BASE + "/api/orders",
                json={"symbol": "EURUSD", "type": 4, "volume": 0.1, "price": 1.105},
                headers=h,
            )
        )
        await tw.move("EURUSD", 1.106)
        assert data(await tw.client.get(BASE + "/api/orders", headers=h)) == []
        assert len(data(await tw.client.get(BASE + "/api/positions", headers=h))) == 1
        data(
            await tw.client.post(
                BASE + "/api/orders", json={"symbol": "EURUSD", "type": 0, "volume": 0.1}, headers=h
            )
        )
        assert data(await tw.client.get(BASE + "/api/positions", headers=h))[0]["volume"] == 0.2


class TestMarketData:
    async def test_symbols_tick_candles(self, tw: Harness) -> None:
        h = await trader(tw, "read")
        names = {s["symbol"] for s in data(await tw.client.get(BASE + "/api/symbols", headers=h))}
        assert {"EURUSD", "BTCUSDT", "ETHUSDT", "BTCUSDT.P"} <= names
        eur = data(await tw.client.get(BASE + "/api/symbols/EURUSD", headers=h))
        assert (eur["digits"], eur["contract_size"], eur["volume_step"]) == (5, 100000.0, 0.01)
        await tw.move("EURUSD", 1.1)
        tick = data(await tw.client.get(BASE + "/api/tick/EURUSD", headers=h))
        assert (tick["bid"], tick["ask"]) == (1.09995, 1.10005)
        bars = data(
            await tw.client.get(BASE + "/api/candles/EURUSD?timeframe=H4&count=10", headers=h)
        )
        assert len(bars) == 10 and {"time", "open", "high", "low", "close", "volume"} == set(
            bars[0]
        )
        error(await tw.client.get(BASE + "/api/symbols/NOPE", headers=h), 404)
        error(await tw.client.get(BASE + "/api/candles/EURUSD?timeframe=W1", headers=h), 400)


class TestAuthAndAvailability:
    async def test_missing_header_401_invalid_key_403_read_only_403(self, tw: Harness) -> None:
        assert (
            error(await tw.client.get(BASE + "/api/account"), 401) == "Missing authorization header"
        )
        bad = {"Authorization": "Bearer tk_live_" + "x" * 67}
        assert (
            error(await tw.client.get(BASE + "/api/account", headers=bad), 403) == "Invalid API key"
        )
        h = await trader(tw, "read")
        await tw.move("EURUSD", 1.1)
        r = await tw.client.post(
            BASE + "/api/trade",
            json={"symbol": "EURUSD", "action": "buy", "volume": 0.1},
            headers=h,
        )
        error(r, 403)

    async def test_venue_down_is_503(self, tw: Harness) -> None:
        h = await trader(tw)
        tw.venue.connected = False
        r = await tw.client.post(
            BASE + "/api/trade",
            json={"symbol": "EURUSD", "action": "buy", "volume": 0.1},
            headers=h,
        )
        assert error(r, 503) == "Not connected to trading server"
        error(await tw.client.get(BASE + "/api/tick/EURUSD", headers=h), 503)

    async def test_key_bound_to_an_account_trades_there(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        uh = {"Authorization": user["auth"]}
        acc = (
            await tw.client.post(
                "/api/v1/accounts", json={"name": "fx", "balances": {"USD": 2500}}, headers=uh
            )
        ).json()
        key = await new_key(tw.client, user["auth"], "trade", account_id=acc["account_id"])
        assert (
            data(await tw.client.get(BASE + "/api/account", headers=bearer(key)))["balance"]
            == 2500.0
        )
