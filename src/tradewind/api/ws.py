"""WebSocket streams fed by the event bus: the native one at /api/v1/ws and Tradyn's at
/compat/tradyn/v1/ws. Same mechanics, two wire formats.

Authentication: ``Authorization: Bearer …`` (API key, single token or login JWT), or for
clients that cannot set headers, ``?token=…``. A read scope is enough.

A client that falls ``ws_queue_size`` messages behind is disconnected with close code 4008
("too slow"); the venue never waits for a client.

Both streams follow the key's account on its own venue (``for_account``), as the terminals
do, through the bus, where both venues publish: ``account:<id>`` for the account's events
(an exchange's spot account has no positions), and ticks on the venue's topic (``tick_topic``:
an exchange's are its polled prices, bid = ask = last). An exchange's ``CcxtVenue`` polls a
symbol while a stream is subscribed to it (``watch``; released on unsubscribing or closing).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from tradewind.api.deps import resolve_principal
from tradewind.api.registry import public_router
from tradewind.api.runtime import Runtime
from tradewind.domain.errors import DomainError, NotFound, VenueUnavailable
from tradewind.engine.bus import Message, Subscription
from tradewind.services import trading
from tradewind.services.api_keys import Principal
from tradewind.venues.ccxt.venue import CcxtVenue

CLOSE_UNAUTHORIZED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_TOO_SLOW = 4008
CLOSE_TRY_AGAIN = 1013

router = public_router()


@dataclass
class Stream:
    websocket: WebSocket
    runtime: Runtime
    principal: Principal
    account_id: str
    sub: Subscription
    venue: trading.TradingVenue
    """The venue the stream's symbols, ticks and events are of."""
    watched: set[str] = field(default_factory=set)
    """The symbols the stream has its live venue poll: one ``CcxtVenue.watch`` each, released
    when it unsubscribes or ends."""

    def tick_topic(self, symbol: str) -> str:
        """The subscription's topic for ``symbol``'s ticks: the paper venue's bus topic; a
        live venue's own (its prices are not the paper market's)."""
        if isinstance(self.venue, CcxtVenue):
            return self.venue.tick_topic(symbol)
        return f"tick:{symbol}"


async def _authenticate(websocket: WebSocket, runtime: Runtime) -> Principal | None:
    header = websocket.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else ""
    token = (
        token
        or websocket.query_params.get("token", "")
        or websocket.query_params.get("api_key", "")
    )
    if not token:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="missing credentials")
        return None
    async with runtime.sessions() as session:
        try:
            principal = await resolve_principal(runtime, session, token)
            await session.commit()
        except DomainError as e:
            await websocket.close(code=CLOSE_FORBIDDEN, reason=e.message[:120])
            return None
    return principal


async def _serve(
    websocket: WebSocket,
    handle: Callable[[Stream, dict[str, Any]], Any],
    render: Callable[[Stream, Message], dict[str, Any] | None],
    hello: Callable[[Stream], dict[str, Any]],
) -> None:
    runtime: Runtime = websocket.app.state.runtime
    principal = await _authenticate(websocket, runtime)
    if principal is None:
        return
    async with runtime.sessions() as session:
        account_id = await trading.resolve_account(
            session, runtime.venues, principal.user_id, key_account_id=principal.account_id
        )
        try:
            venue = await runtime.venues.for_account(session, principal.user_id, account_id)
        except DomainError as e:  # not connected yet: try again; keys deleted: refused
            code = CLOSE_TRY_AGAIN if isinstance(e, VenueUnavailable) else CLOSE_FORBIDDEN
            await websocket.close(code=code, reason=e.message[:120])
            return
    await websocket.accept()
    sub = runtime.bus.subscribe(f"account:{account_id}", maxsize=runtime.settings.ws_queue_size)
    stream = Stream(websocket, runtime, principal, account_id, sub, venue)
    await websocket.send_json(hello(stream))

    async def pump() -> None:
        while True:
            message = await sub.queue.get()
            out = render(stream, message)
            if out is not None:
                await websocket.send_json(out)

    async def watch() -> None:
        await sub.overflowed.wait()

    async def listen() -> None:
        while True:
            request = await websocket.receive_json()
            if isinstance(request, dict):
                reply = await handle(stream, request)
                if reply is not None:
                    await websocket.send_json(reply)

    tasks = [asyncio.create_task(c()) for c in (pump, watch, listen)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[1] in done:
            with contextlib.suppress(Exception):
                await websocket.close(
                    code=CLOSE_TOO_SLOW, reason="client too slow; messages were dropped"
                )
        for task in done:
            if task.exception() and not isinstance(task.exception(), WebSocketDisconnect):
                with contextlib.suppress(Exception):
                    await websocket.close(code=1011)
    finally:
        for task in tasks:
            task.cancel()
        sub.close()
        _follow_ticks(stream, sorted(stream.watched), subscribe=False)


def _symbols(stream: Stream, names: Any, resolve: Callable[[str], str]) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise NotFound("symbols must be a list of symbol names")
    return [resolve(n) for n in names]


def _follow_ticks(stream: Stream, symbols: list[str], subscribe: bool) -> None:
    """(Un)subscribe the stream to ``symbols``' ticks on its venue; a live venue polls a
    symbol while the stream is subscribed to it (its ticks come with each poll)."""
    venue = stream.venue
    if isinstance(venue, CcxtVenue):
        for symbol in symbols:
            if subscribe and symbol not in stream.watched:
                venue.watch(symbol)
                stream.watched.add(symbol)
            elif not subscribe and symbol in stream.watched:
                venue.unwatch(symbol)
                stream.watched.discard(symbol)
    topics = [stream.tick_topic(s) for s in symbols]
    (stream.sub.add if subscribe else stream.sub.remove)(*topics)


# ---- native ------------------------------------------------------------------------------------

NOTIFY = {"stop_loss": "sl_hit", "take_profit": "tp_hit", "liquidation": "liquidation"}


def _native_render(stream: Stream, message: Message) -> dict[str, Any] | None:
    if message.get("type") == "order_filled":
        role = message["order"].get("role")
        if role in NOTIFY:
            return {**message, "notification": NOTIFY[role]}
    return message


async def _native_handle(stream: Stream, request: dict[str, Any]) -> dict[str, Any] | None:
    op = request.get("op")
    venue = stream.venue
    try:
        if op == "ping":
            return {"type": "pong"}
        if op in ("subscribe", "unsubscribe") and request.get("channel") == "ticks":
            symbols = _symbols(stream, request.get("symbols"), lambda s: venue.instrument(s).symbol)
            _follow_ticks(stream, symbols, op == "subscribe")
            return {"type": f"{op}d", "channel": "ticks", "symbols": symbols}
    except DomainError as e:
        return {"type": "error", "message": e.message}
    return {
        "type": "error",
        "message": "expected {op: subscribe|unsubscribe, channel: ticks, symbols: [...]} or {op: ping}",
    }


@router.websocket("/api/v1/ws")
async def native_ws(websocket: WebSocket) -> None:
    await _serve(
        websocket, _native_handle, _native_render,
        lambda s: {"type": "welcome", "account_id": s.account_id, "user_id": s.principal.user_id},
    )  # fmt: skip


# ---- Tradyn ------------------------------------------------------------------------------------


def _tradyn_render(stream: Stream, message: Message) -> dict[str, Any] | None:
    from tradewind.api.dialects.tradyn.views import tradyn_name

    venue = stream.venue
    kind = message.get("type", "")
    if kind == "tick":
        symbol = message["symbol"]
        return {"type": "tick", "data": {
            "symbol": tradyn_name(venue.instrument(symbol)), "bid": float(message["bid"]),
            "ask": float(message["ask"]), "last": float(message["last"]), "time": message["ts"] // 1000,
            "time_msc": message["ts"],
        }}  # fmt: skip
    if kind.startswith("order_"):
        order = message["order"]
        data = {"ticket": order["ticket"], "symbol": tradyn_name(venue.instrument(order["symbol"])),
                "type": order["side"], "state": order["status"], "volume": float(order["amount"]),
                "price": float(order["average_price"] or order["price"] or 0), "event": kind}  # fmt: skip
        out: dict[str, Any] = {"type": "order", "data": data}
        if kind == "order_filled" and order.get("role") in NOTIFY:
            return {"type": "notification", "data": {**data, "event": NOTIFY[order["role"]]}}
        return out
    if kind.startswith("position_"):
        p = message["position"]
        return {"type": "position", "data": {
            "ticket": p["ticket"], "symbol": tradyn_name(venue.instrument(p["symbol"])),
            "type": p["side"], "volume": float(p["amount"]), "open_price": float(p["entry_price"]),
            "sl": None if p["stop_loss"] is None else float(p["stop_loss"]),
            "tp": None if p["take_profit"] is None else float(p["take_profit"]),
            "closed": p["closed"], "event": kind.removeprefix("position_"),
        }}  # fmt: skip
    if kind in ("margin_call", "stop_out", "liquidated"):
        return {
            "type": "notification",
            "data": {"event": kind, "margin_level": message.get("margin_level")},
        }
    return None


async def _tradyn_handle(stream: Stream, request: dict[str, Any]) -> dict[str, Any] | None:
    from tradewind.api.dialects.tradyn.views import native_symbol

    action = request.get("action")
    venue = stream.venue
    try:
        if action == "ping":
            return {"type": "pong"}
        if action in ("subscribe", "unsubscribe"):
            symbols = _symbols(stream, request.get("symbols"), lambda s: native_symbol(venue, s))
            _follow_ticks(stream, symbols, action == "subscribe")
            return {"type": action + "d", "data": {"symbols": request.get("symbols")}}
    except DomainError as e:
        return {"type": "error", "error": e.message}
    return {
        "type": "error",
        "error": "expected {action: subscribe|unsubscribe, symbols: [...]} or {action: ping}",
    }


@router.websocket("/compat/tradyn/v1/ws")
async def tradyn_ws(websocket: WebSocket) -> None:
    await _serve(
        websocket, _tradyn_handle, _tradyn_render,
        lambda s: {"type": "connected", "data": {"login": s.account_id}},
    )  # fmt: skip
