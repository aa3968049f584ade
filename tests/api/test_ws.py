"""The WebSocket streams, native and Tradyn, through the real app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import anyio
import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.fakes.binance import FakeBinance, FakeClients
from tests.helpers import PASSWORD, unique_email
from tradewind.api.app import create_app
from tradewind.domain.clock import ManualClock
from tradewind.domain.numbers import decimal_text
from tradewind.settings import Settings


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"ws_queue_size": 20, "exchange_poll_seconds": 0.05}


class Live:
    def __init__(self, client: TestClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock
        self.venue = client.app.state.runtime.venues.paper  # type: ignore[attr-defined]

    def key(self, scope: str = "trade", exchange: FakeBinance | None = None) -> str:
        """A new user's key: on their default paper account, or bound to the trading account
        that came with ``exchange``'s keys."""
        email = unique_email()
        self.client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        token = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        bound = {}
        if exchange is not None:
            r = self.client.post("/api/v1/exchange-accounts", headers=auth, json={
                "exchange": "binance", "api_key": exchange.api_key, "secret": exchange.secret,
            })  # fmt: skip
            assert r.status_code == 201 and r.json()["status"] == "verified", r.text
            accounts = self.client.get("/api/v1/accounts", headers=auth).json()
            (account_id,) = [a["account_id"] for a in accounts if a["venue"] == "binance"]
            bound = {"account_id": account_id}
        key = self.client.post(
            "/api/v1/api-keys", json={"name": "ws", "scope": scope, **bound}, headers=auth,
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


def within(ws: WebSocketTestSession, seconds: float = 5.0) -> dict[str, Any]:
    """``ws.receive_json()``, failing after ``seconds`` rather than waiting for ever."""

    async def receive() -> Any:
        with anyio.fail_after(seconds):
            return await ws._send_rx.receive()

    try:
        message = ws.portal.call(receive)
    except TimeoutError:
        raise AssertionError(f"nothing arrived within {seconds} s") from None
    ws._raise_on_close(message)
    received: dict[str, Any] = json.loads(message["text"])
    return received


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

    def test_balances_a_trade_moved_arrive(self, live: Live) -> None:
        """The paper venue's ``balance_changed`` (an exchange account's are alike)."""
        headers = {"Authorization": f"Bearer {live.key()}"}
        live.move("BTC/USDT:USDT", 7000)
        with live.client.websocket_connect("/api/v1/ws", headers=headers) as ws:
            acc = ws.receive_json()["account_id"]
            live.client.post(f"/api/v1/accounts/{acc}/orders", headers=headers,
                             json={"symbol": "BTC/USDT:USDT", "side": "buy", "amount": "0.01"})  # fmt: skip
            until(ws, "order_filled")
            moved = until(ws, "balance_changed")
            assert set(moved) == {"type", "account_id", "asset", "free", "locked"}
            assert moved["account_id"] == acc

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


@pytest.fixture
def live_exchange(settings: Settings, clock: ManualClock, fake: FakeBinance) -> Iterator[Live]:
    """The app with its CCXT clients pointed at the fake exchange."""
    app = create_app(settings, clock=clock, exchange_clients=FakeClients(fake))
    with TestClient(app) as client:
        yield Live(client, clock)


class TestTradynOnAnExchangeAccount:
    """A Tradyn key bound to an exchange account streams that account on its venue: the
    exchange's prices (not the paper market's) and the orders the terminal sends there."""

    def test_ticks_are_the_exchanges_and_orders_come_from_the_exchange_account(
        self, live_exchange: Live, fake: FakeBinance
    ) -> None:
        live = live_exchange
        token = live.key(exchange=fake)
        headers = {"Authorization": f"Bearer {token}"}
        with live.client.websocket_connect("/compat/tradyn/v1/ws", headers=headers) as ws:
            login = within(ws)["data"]["login"]
            account = live.client.get("/compat/tradyn/v1/api/account", headers=headers).json()
            assert login == account["data"]["login"]
            ws.send_json({"action": "subscribe", "symbols": ["BTCUSDT"]})
            assert within(ws) == {"type": "subscribed", "data": {"symbols": ["BTCUSDT"]}}
            live.move("BTC/USDT", 7000)  # the paper market's BTC/USDT: not this account's

            tick = within(ws)
            assert tick["type"] == "tick"
            assert {k: tick["data"][k] for k in ("symbol", "bid", "ask", "last")} == {
                "symbol": "BTCUSDT", "bid": 50200.0, "ask": 50200.0, "last": 50200.0,
            }  # fmt: skip
            ws.send_json({"action": "unsubscribe", "symbols": ["BTCUSDT"]})
            while within(ws)["type"] != "unsubscribed":  # ticks sent before it
                pass

            bought = live.client.post("/compat/tradyn/v1/api/trade", headers=headers, json={
                "symbol": "BTCUSDT", "action": "buy", "volume": 0.01,
            }).json()["data"]  # fmt: skip

            events = [within(ws)]
            while events[-1]["data"].get("event") != "order_filled":
                events.append(within(ws))
            assert {e["type"] for e in events} == {"order"}
            filled = events[-1]["data"]
            assert filled == {
                "ticket": bought["order"], "symbol": "BTCUSDT", "type": "buy", "state": "filled",
                "volume": 0.01, "price": 50200.0, "event": "order_filled",
            }  # fmt: skip
            assert filled["ticket"] < 0  # an exchange order's ticket
            assert [(t.side.value, t.qty) for t in fake.trades] == [("BUY", D("0.01"))]

    def test_a_spot_account_streams_no_positions(
        self, live_exchange: Live, fake: FakeBinance
    ) -> None:
        live = live_exchange
        headers = {"Authorization": f"Bearer {live.key(exchange=fake)}"}
        with live.client.websocket_connect("/compat/tradyn/v1/ws", headers=headers) as ws:
            assert within(ws)["type"] == "connected"
            live.client.post("/compat/tradyn/v1/api/trade", headers=headers,
                             json={"symbol": "BTCUSDT", "action": "buy", "volume": 0.01})  # fmt: skip
            live.client.post("/compat/tradyn/v1/api/trade", headers=headers,
                             json={"symbol": "BTCUSDT", "action": "sell", "volume": 0.01})  # fmt: skip
            received = []
            while sum(m["data"].get("event") == "order_filled" for m in received) < 2:
                received.append(within(ws))
            ws.send_json({"action": "subscribe", "symbols": ["BTCUSDT.P"]})
            ws.send_json({"action": "ping"})
            while (received[-1])["type"] != "pong":
                received.append(within(ws))

            assert {m["type"] for m in received} == {"order", "error", "pong"}  # no position
            assert [m for m in received if m["type"] == "error"] == [{
                "type": "error", "error": "binance is traded on spot markets only: no perpetual BTCUSDT.P",
            }]  # fmt: skip


class TestTheNativeStreamOnAnExchangeAccount:
    def test_ticks_are_the_exchanges_and_orders_come_from_the_exchange_account(
        self, live_exchange: Live, fake: FakeBinance
    ) -> None:
        """A key bound to an exchange account streams that account on its venue, as the
        native terminal trades it: the exchange's polled prices (the paper market's BTC/USDT
        moves apart) and the orders sent there."""
        live = live_exchange
        headers = {"Authorization": f"Bearer {live.key(exchange=fake)}"}
        with live.client.websocket_connect("/api/v1/ws", headers=headers) as ws:
            welcome = within(ws)
            assert welcome["type"] == "welcome"
            ws.send_json({"op": "subscribe", "channel": "ticks", "symbols": ["BTC/USDT"]})
            assert within(ws) == {"type": "subscribed", "channel": "ticks", "symbols": ["BTC/USDT"]}
            live.move("BTC/USDT", 7000)  # the paper market's BTC/USDT: not this account's
            tick = within(ws)
            assert (tick["type"], tick["symbol"], tick["last"]) == ("tick", "BTC/USDT", "50200")
            ws.send_json({"op": "unsubscribe", "channel": "ticks", "symbols": ["BTC/USDT"]})
            while within(ws)["type"] != "unsubscribed":  # ticks sent before it
                pass

            placed = live.client.post(
                f"/api/v1/accounts/{welcome['account_id']}/orders", headers=headers,
                json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"},
            )  # fmt: skip
            assert placed.status_code == 201, placed.text
            while (event := within(ws))["type"] != "order_filled":
                pass
            assert (event["order"]["order_id"], event["order"]["status"]) == (
                placed.json()["order_id"], "filled",
            )  # fmt: skip
            assert [(t.side.value, t.qty) for t in fake.trades] == [("BUY", D("0.01"))]

    def test_balances_moved_by_a_trade_arrive_as_on_paper(
        self, live_exchange: Live, fake: FakeBinance
    ) -> None:
        """Each asset a trade moved: a ``balance_changed`` with its new free and locked amounts
        on the exchange, after the order's fill (the paper venue's message)."""
        live = live_exchange
        headers = {"Authorization": f"Bearer {live.key(exchange=fake)}"}
        with live.client.websocket_connect("/api/v1/ws", headers=headers) as ws:
            account_id = within(ws)["account_id"]
            placed = live.client.post(
                f"/api/v1/accounts/{account_id}/orders", headers=headers,
                json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"},
            )  # fmt: skip
            assert placed.status_code == 201, placed.text
            while within(ws)["type"] != "order_filled":
                pass
            moved = [within(ws), within(ws)]

            assert moved == [
                {"type": "balance_changed", "account_id": account_id, "asset": asset,
                 "free": decimal_text(fake.balance(asset).free), "locked": "0"}
                for asset in ("BTC", "USDT")
            ]  # fmt: skip
            assert moved[1]["free"] == "9498"  # 10,000 less 0.01 at 50,200


def polled(live: Live, fake: FakeBinance) -> set[str]:
    """The symbols the exchange's venue asks the price of in a round of its polling."""
    venue = live.client.app.state.runtime.venues.get("binance")  # type: ignore[attr-defined]
    fake.clear_requests()
    assert live.client.portal is not None
    live.client.portal.call(venue.refresh_prices)
    return {r.params["symbol"] for r in fake.requests_to("GET", "/api/v3/ticker/24hr")}


class TestWatchingOnAnExchangeAccount:
    """A stream has its exchange's venue poll the symbols it is subscribed to, and no longer."""

    def test_a_symbol_is_no_longer_polled_once_its_socket_closes(
        self, live_exchange: Live, fake: FakeBinance
    ) -> None:
        live = live_exchange
        headers = {"Authorization": f"Bearer {live.key(exchange=fake)}"}
        with live.client.websocket_connect("/api/v1/ws", headers=headers) as ws:
            assert within(ws)["type"] == "welcome"
            ws.send_json({"op": "subscribe", "channel": "ticks", "symbols": ["BTC/USDT"]})
            assert within(ws)["type"] == "subscribed"
            assert within(ws)["type"] == "tick"
            assert polled(live, fake) == {"BTCUSDT"}

        assert polled(live, fake) == set()

    def test_a_bots_symbol_stays_polled_after_a_socket_on_it_closes(
        self, live_exchange: Live, fake: FakeBinance
    ) -> None:
        live = live_exchange
        headers = {"Authorization": f"Bearer {live.key(exchange=fake)}"}
        with live.client.websocket_connect("/api/v1/ws", headers=headers) as ws:
            account_id = within(ws)["account_id"]
            ws.send_json({"op": "subscribe", "channel": "ticks", "symbols": ["BTC/USDT"]})
            assert within(ws)["type"] == "subscribed"
            assert within(ws)["type"] == "tick"  # the price is there when the bot starts
            r = live.client.post("/api/v1/bots", headers=headers, json={
                "type": "webhook", "name": "alerts", "account_id": account_id,
                "settings": {"symbol": "BTC/USDT", "signalToken": "live-token"},
            })  # fmt: skip
            assert r.status_code == 201, r.text
            started = live.client.post(f"/api/v1/bots/{r.json()['bot_id']}/start", headers=headers)
            assert started.status_code == 200, started.text

        assert polled(live, fake) == {"BTCUSDT"}
