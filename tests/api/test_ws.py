"""The WebSocket streams, native and Tradyn, through the real app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.helpers import PASSWORD, unique_email
from tradewind.api.app import create_app
from tradewind.domain.clock import ManualClock
from tradewind.settings import Settings


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"ws_queue_size": 20}


class Live:
    def __init__(self, client: TestClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock
        self.venue = client.app.state.runtime.venues.paper  # type: ignore[attr-defined]

    def key(self, scope: str = "trade") -> str:
        email = unique_email()
        self.client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        token = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()
        key = self.client.post(
            "/api/v1/api-keys", json={"name": "ws", "scope": scope},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).json()  # fmt: skip
        return str(key["token"])

    def move(self, symbol: str, price: float) -> None:
        self.clock.advance(1)
        self.venue.feeds[symbol].push(symbol, price, self.venue.now_ms())
        assert self.client.portal is not None
        self.client.portal.call(self.venue.tick)


@pytest.fixture
def live(settings: Settings, clock: ManualClock) -> Iterator[Live]:
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Live(client, clock)


def until(ws: Any, kind: str, limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        if message.get("type") == kind:
            return message
    raise AssertionError(f"no {kind} message")


class TestNative:
    def test_ticks_orders_and_notifications(self, live: Live) -> None:
        token = live.key()
        headers = {"Authorization": f"Bearer {token}"}
        live.move("BTC/USDT:USDT", 7000)
        with live.client.websocket_connect("/api/v1/ws", headers=headers) as ws:
            welcome = ws.receive_json()
            assert welcome["type"] == "welcome" and welcome["account_id"].startswith("acc_")
            ws.send_json({"op": "subscribe", "channel": "ticks", "symbols": ["BTC/USDT:USDT"]})
            assert ws.receive_json() == {
                "type": "subscribed",
                "channel": "ticks",
                "symbols": ["BTC/USDT:USDT"],
            }
            live.move("BTC/USDT:USDT", 7010)
            tick = until(ws, "tick")
            assert (tick["symbol"], tick["last"]) == ("BTC/USDT:USDT", "7010")
            acc = welcome["account_id"]
            live.client.post(f"/api/v1/accounts/{acc}/orders", headers=headers,
                             json={"symbol": "BTC/USDT:USDT", "side": "buy", "amount": "0.01"})  # fmt: skip
            filled = until(ws, "order_filled")
            assert filled["order"]["status"] == "filled" and filled["fill"]["liquidity"] == "taker"
            position = until(ws, "position_opened")["position"]
            live.client.patch(f"/api/v1/accounts/{acc}/positions/{position['position_id']}", headers=headers,
                              json={"stop_loss": "6900"})  # fmt: skip
            live.move("BTC/USDT:USDT", 6850)
            hit = until(ws, "order_filled")
            while hit.get("notification") is None:
                hit = until(ws, "order_filled")
            assert hit["notification"] == "sl_hit"
            ws.send_json({"op": "ping"})
            assert until(ws, "pong") == {"type": "pong"}

    def test_token_in_query_and_refusals(self, live: Live) -> None:
        token = live.key("read")
        with live.client.websocket_connect(f"/api/v1/ws?token={token}") as ws:
            assert ws.receive_json()["type"] == "welcome"
            ws.send_json({"op": "subscribe", "channel": "ticks", "symbols": ["NOPE"]})
            assert ws.receive_json()["type"] == "error"
        with (
            pytest.raises(WebSocketDisconnect) as missing,
            live.client.websocket_connect("/api/v1/ws") as ws,
        ):
            ws.receive_json()
        assert missing.value.code == 4001
        with (
            pytest.raises(WebSocketDisconnect) as bad,
            live.client.websocket_connect("/api/v1/ws?token=tk_live_nope") as ws,
        ):
            ws.receive_json()
        assert bad.value.code == 4003

    def test_a_client_that_falls_behind_is_dropped_with_4008(self, live: Live) -> None:
        token = live.key("read")
        bus = live.client.app.state.runtime.bus  # type: ignore[attr-defined]
        with live.client.websocket_connect(f"/api/v1/ws?token={token}") as ws:
            welcome = ws.receive_json()
            topic = f"account:{welcome['account_id']}"

            async def burst() -> None:  # more than the queue holds, before the pump can run
                for n in range(100):
                    bus.publish(topic, {"type": "burst", "n": n})

            assert live.client.portal is not None
            live.client.portal.call(burst)
            closed = None
            for _ in range(200):
                try:
                    ws.receive_json()
                except WebSocketDisconnect as e:
                    closed = e
                    break
            assert closed is not None and closed.code == 4008


class TestTradyn:
    def test_ticks_positions_and_notifications_in_tradyn_shapes(self, live: Live) -> None:
        token = live.key()
        headers = {"Authorization": f"Bearer {token}"}
        live.move("EURUSD", 1.1)
        with live.client.websocket_connect("/compat/tradyn/v1/ws", headers=headers) as ws:
            assert ws.receive_json()["type"] == "connected"
            ws.send_json({"action": "subscribe", "symbols": ["EURUSD"]})
            assert ws.receive_json()["type"] == "subscribed"
            live.move("EURUSD", 1.1002)
            tick = until(ws, "tick")["data"]
            assert (tick["symbol"], tick["bid"], tick["ask"]) == ("EURUSD", 1.10015, 1.10025)
            live.client.post("/compat/tradyn/v1/api/trade", headers=headers,
                             json={"symbol": "EURUSD", "action": "buy", "volume": 0.1, "tp": 1.102})  # fmt: skip
            opened = until(ws, "position")["data"]
            assert (opened["symbol"], opened["type"], opened["volume"]) == ("EURUSD", "buy", 0.1)
            live.move("EURUSD", 1.103)
            note = until(ws, "notification")["data"]
            assert note["event"] == "tp_hit"
