"""Binance's spot REST API over the fake's state: routing, signatures, parameters and faults.

Every request is recorded; an armed fault that matches it applies before (rate limit, server
error, timeout before execution) or after (timeout after execution, lost answer) the handler.
Refusals are Binance's ``{"code": .., "msg": ..}`` with its HTTP status, so that CCXT's own
error mapping runs on them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.fakes.binance import wire
from tests.fakes.binance.exchange import ExchangeState
from tests.fakes.binance.faults import FaultKind, Faults
from tests.fakes.binance.model import FEE_RATE, BinanceError, OrderType, Side, TimeInForce, now_ms
from tests.fakes.binance.parsing import (
    Params,
    enum_value,
    illegal,
    integer,
    mandatory,
    not_required,
    number,
    order_ref,
    page_limit,
    required,
    required_integer,
    required_number,
    take,
    text,
    within,
)

Handler = Callable[["BinanceApi", Params], Any]

_ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {}
_API_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{64}")
_CLIENT_ID_SHAPE = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_TOO_MANY = (
    "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
_BACKEND_TIMEOUT = (
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown."
)


@dataclass(frozen=True)
class RecordedRequest:
    """A request that reached the fake, and the fault that met it, if any."""

    method: str
    path: str
    params: Mapping[str, str]
    fault: FaultKind | None

    @property
    def client_order_id(self) -> str | None:
        return self.params.get("newClientOrderId") or self.params.get("origClientOrderId")


def _route(method: str, path: str, *, signed: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES[method, path] = (handler, signed)
        return handler

    return register


class _NoAnswer(Response):
    """Sends nothing: the connection was closed under the request."""

    def __init__(self) -> None:
        super().__init__(status_code=HTTPStatus.BAD_GATEWAY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.01)  # lets the server see the connection gone, so it sends no 500


class BinanceApi:
    """The ASGI app (``.app``) and what it needs beyond the state: credentials, faults, a log."""

    def __init__(
        self,
        state: ExchangeState,
        *,
        api_key: str,
        secret: str,
        close_connection: Callable[[tuple[str, int]], bool],
        stopping: threading.Event,
    ) -> None:
        self.state = state
        self.api_key = api_key
        self.secret = secret
        self.faults = Faults()
        self._close_connection = close_connection
        self._stopping = stopping
        self._log_lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        methods = ["GET", "POST", "PUT", "DELETE"]
        self.app = Starlette(routes=[Route("/{path:path}", self._dispatch, methods=methods)])

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    async def _dispatch(self, request: Request) -> Response:
        method, path, query = request.method, request.url.path, request.url.query
        body = (await request.body()).decode()
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        fault = self.faults.take(method, path)
        with self._log_lock:
            self._log.append(RecordedRequest(method, path, params, fault.kind if fault else None))
        if fault is None:
            return self._handle(method, path, request.headers, query, body, params)
        if fault.kind is FaultKind.RATE_LIMIT:
            error = {"code": -1003, "msg": _TOO_MANY}
            return JSONResponse(error, 429, headers={"Retry-After": str(fault.retry_after)})
        if fault.kind is FaultKind.SERVER_ERROR:
            return _html_error(fault.status or HTTPStatus.SERVICE_UNAVAILABLE)
        if fault.kind is FaultKind.TIMEOUT and not fault.executed:
            await self._pause(fault.seconds)
            return _error(BinanceError(503, -1007, _BACKEND_TIMEOUT))
        response = self._handle(method, path, request.headers, query, body, params)
        if fault.kind is FaultKind.TIMEOUT:
            await self._pause(fault.seconds)
            return response
        if fault.status is not None:
            return _html_error(fault.status)
        client = request.client
        if client is not None and self._close_connection((client.host, client.port)):
            return _NoAnswer()
        return _html_error(HTTPStatus.BAD_GATEWAY)

    def _handle(
        self, method: str, path: str, headers: Headers, query: str, body: str, params: Params
    ) -> Response:
        route = _ROUTES.get((method, path))
        if route is None:
            return PlainTextResponse(f"FakeBinance does not serve {method} {path}", 404)
        handler, signed = route
        try:
            if signed:
                self._authenticate(headers, query, body, params)
            return JSONResponse(handler(self, params))
        except BinanceError as e:
            return _error(e)

    def _authenticate(self, headers: Headers, query: str, body: str, params: Params) -> None:
        key = headers.get("X-MBX-APIKEY")
        if key != self.api_key:
            if key and _API_KEY_SHAPE.fullmatch(key):
                raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
            raise BinanceError(401, -2014, "API-key format invalid.")
        # Binance signs the query string followed by the body, each without its signature.
        signed_query, query_signature = _split_signature(query)
        signed_body, body_signature = _split_signature(body)
        signature = query_signature or body_signature
        if not signature:
            raise mandatory("signature")
        payload = (signed_query + signed_body).encode()
        expected = hmac.new(self.secret.encode(), payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        timestamp = required_integer(params, "timestamp")
        recv_window = integer(params, "recvWindow") or 5000
        if recv_window > 60_000:
            raise BinanceError(400, -1131, "recvWindow must be less than 60000")
        now = now_ms()
        if timestamp > now + 1000:
            msg = "Timestamp for this request was 1000ms ahead of the server's time."
            raise BinanceError(400, -1021, msg)
        if now - timestamp > recv_window:
            raise BinanceError(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )

    async def _pause(self, seconds: float) -> None:
        # Waits on the event that stopping the server sets, so that a stop ends the pause.
        await asyncio.to_thread(self._stopping.wait, seconds)

    def _per_symbol(self, params: Params, build: Callable[[str], Any]) -> Any:
        """One answer per symbol asked: an object for ``symbol``, a list for ``symbols`` or none."""
        single, many = text(params, "symbol"), text(params, "symbols")
        if single and many:
            raise BinanceError(400, -1128, "Combination of optional parameters invalid.")
        if single:
            return build(self.state.market(single).symbol)
        if many:
            try:
                names = json.loads(many)
            except ValueError:
                raise illegal("symbols") from None
            return [build(self.state.market(n).symbol) for n in names]
        return [build(m.symbol) for m in self.state.markets]

    # -- public ----------------------------------------------------------------------------------

    @_route("GET", "/api/v3/ping")
    def _ping(self, params: Params) -> Any:
        return {}

    @_route("GET", "/api/v3/time")
    def _time(self, params: Params) -> Any:
        return {"serverTime": now_ms()}

    @_route("GET", "/api/v3/exchangeInfo")
    def _exchange_info(self, params: Params) -> Any:
        return wire.exchange_info(self.state.markets)

    # CCXT's load_markets also asks the futures APIs for their markets: there are none here.
    @_route("GET", "/fapi/v1/exchangeInfo")
    @_route("GET", "/dapi/v1/exchangeInfo")
    def _futures_exchange_info(self, params: Params) -> Any:
        return wire.empty_exchange_info()

    @_route("GET", "/sapi/v1/system/status")
    def _system_status(self, params: Params) -> Any:
        return {"status": 0, "msg": "normal"}

    @_route("GET", "/api/v3/ticker/24hr")
    def _ticker_24hr(self, params: Params) -> Any:
        state = self.state
        return self._per_symbol(
            params, lambda s: wire.ticker_24hr(s, state.price(s), state.stats(s))
        )

    @_route("GET", "/api/v3/ticker/price")
    def _ticker_price(self, params: Params) -> Any:
        return self._per_symbol(
            params, lambda s: {"symbol": s, "price": wire.fmt(self.state.price(s))}
        )

    @_route("GET", "/api/v3/ticker/bookTicker")
    def _book_ticker(self, params: Params) -> Any:
        return self._per_symbol(params, lambda s: wire.book_ticker(s, self.state.price(s)))

    @_route("GET", "/api/v3/depth")
    def _depth(self, params: Params) -> Any:
        last = wire.fmt(self.state.price(required(params, "symbol")))
        level = [[last, "10.00000000"]]
        return {"lastUpdateId": next(self.state.update_id), "bids": level, "asks": level}

    @_route("GET", "/api/v3/klines")
    @_route("GET", "/api/v3/uiKlines")
    def _klines(self, params: Params) -> Any:
        width, candles = self.state.klines(
            required(params, "symbol"),
            required(params, "interval"),
            integer(params, "startTime"),
            integer(params, "endTime"),
            page_limit(params),
        )
        return [wire.kline(c, width) for c in candles]

    # -- account and orders ----------------------------------------------------------------------

    @_route("GET", "/api/v3/account", signed=True)
    def _account(self, params: Params) -> Any:
        balances = self.state.balances()
        if params.get("omitZeroBalances") == "true":
            balances = {a: b for a, b in balances.items() if b.free or b.locked}
        return wire.account(balances)

    @_route("POST", "/api/v3/order", signed=True)
    def _new_order(self, params: Params) -> Any:
        symbol = required(params, "symbol")
        side = enum_value(Side, required(params, "side"), -1117, "Invalid side.")
        type_ = enum_value(OrderType, required(params, "type"), -1116, "Invalid orderType.")
        price, quantity = number(params, "price"), number(params, "quantity")
        quote_qty = number(params, "quoteOrderQty")
        time_in_force = TimeInForce.GTC
        if type_ is OrderType.MARKET:
            not_required(params, "price", "timeInForce")
            if quantity is None and quote_qty is None:
                msg = "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
                raise BinanceError(400, -1102, msg)
            if quantity is not None:
                not_required(params, "quoteOrderQty")
        else:
            not_required(params, "quoteOrderQty")
            price, quantity = (
                required_number(params, "price"),
                required_number(params, "quantity"),
            )
            if type_ is OrderType.LIMIT:
                raw = required(params, "timeInForce")
                time_in_force = enum_value(TimeInForce, raw, -1115, "Invalid timeInForce.")
            else:
                not_required(params, "timeInForce")
        client_order_id = text(params, "newClientOrderId") or _random_client_id()
        if not _CLIENT_ID_SHAPE.fullmatch(client_order_id):
            raise illegal("newClientOrderId", r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
        resp_type = text(params, "newOrderRespType") or "FULL"
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise BinanceError(400, -1100, "Invalid newOrderRespType.")
        order, fills = self.state.place(
            symbol=symbol, side=side, type=type_, time_in_force=time_in_force, quantity=quantity,
            quote_qty=quote_qty, price=price, client_order_id=client_order_id,
        )  # fmt: skip
        return wire.new_order(order, fills, resp_type)

    @_route("GET", "/api/v3/order", signed=True)
    def _query_order(self, params: Params) -> Any:
        return wire.order(self.state.find(required(params, "symbol"), *order_ref(params)))

    @_route("DELETE", "/api/v3/order", signed=True)
    def _cancel_order(self, params: Params) -> Any:
        order = self.state.cancel(required(params, "symbol"), *order_ref(params))
        return wire.cancelled(order, text(params, "newClientOrderId") or _random_client_id())

    @_route("DELETE", "/api/v3/openOrders", signed=True)
    def _cancel_open_orders(self, params: Params) -> Any:
        cancelled = self.state.cancel_all(required(params, "symbol"))
        return [wire.cancelled(o, _random_client_id()) for o in cancelled]

    @_route("GET", "/api/v3/openOrders", signed=True)
    def _open_orders(self, params: Params) -> Any:
        return [wire.order(o) for o in self.state.orders(text(params, "symbol")) if o.is_open]

    @_route("GET", "/api/v3/allOrders", signed=True)
    def _all_orders(self, params: Params) -> Any:
        from_id = integer(params, "orderId")
        start, end = integer(params, "startTime"), integer(params, "endTime")
        rows = [
            o
            for o in self.state.orders(required(params, "symbol"))
            if (from_id is None or o.order_id >= from_id) and within(o.time, start, end)
        ]
        oldest_first = from_id is not None or start is not None
        return [wire.order(o) for o in take(rows, page_limit(params), oldest_first=oldest_first)]

    @_route("GET", "/api/v3/myTrades", signed=True)
    def _my_trades(self, params: Params) -> Any:
        order_id, from_id = integer(params, "orderId"), integer(params, "fromId")
        start, end = integer(params, "startTime"), integer(params, "endTime")
        rows = [
            t
            for t in self.state.trades(required(params, "symbol"))
            if order_id in (None, t.order_id)
            and (from_id is None or t.trade_id >= from_id)
            and within(t.time, start, end)
        ]
        oldest_first = from_id is not None or start is not None
        return [wire.my_trade(t) for t in take(rows, page_limit(params), oldest_first=oldest_first)]

    # -- wallet (CCXT's load_markets asks for these when it has keys) ----------------------------

    @_route("GET", "/sapi/v1/capital/config/getall", signed=True)
    def _coins(self, params: Params) -> Any:
        return wire.coins(self.state.assets, self.state.balances())

    @_route("GET", "/sapi/v1/margin/allPairs", signed=True)
    @_route("GET", "/sapi/v1/margin/isolated/allPairs", signed=True)
    def _margin_pairs(self, params: Params) -> Any:
        return []

    @_route("GET", "/sapi/v1/asset/tradeFee", signed=True)
    def _trade_fees(self, params: Params) -> Any:
        rate = wire.fmt(FEE_RATE)
        return [
            {"symbol": m.symbol, "makerCommission": rate, "takerCommission": rate}
            for m in self.state.markets
        ]


def _error(e: BinanceError) -> Response:
    return JSONResponse({"code": e.code, "msg": e.msg}, e.status)


def _html_error(status: int) -> Response:
    # What a load balancer in front of Binance answers: not JSON, so CCXT goes by the status.
    title = f"{status} {HTTPStatus(status).phrase}"
    page = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
    return HTMLResponse(page, status)


def _split_signature(raw: str) -> tuple[str, str | None]:
    kept, signature = [], None
    for part in raw.split("&"):
        if part.startswith("signature="):
            signature = part.removeprefix("signature=")
        elif part:
            kept.append(part)
    return "&".join(kept), signature


def _random_client_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))
