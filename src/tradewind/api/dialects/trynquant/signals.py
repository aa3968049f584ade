"""TrynQuant's signal webhook, ``POST /signals/``: a TradingView alert with the key pair in its
JSON body (TradingView can set no header), matched to the caller's bot ``bot_id`` or else to
the caller's active bots on ``symbol``, executed once through the signals service.

The body is read whatever its Content-Type: TradingView sends ``text/plain`` when it cannot
tell the message is JSON. A repeat delivery (TradingView retries) answers the first outcome;
an optional ``timestamp`` with ``maxLag`` (seconds) refuses a late alert. Wrong or missing
credentials are 401, bad fields 400 naming the field, another user's ``bot_id`` 404."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, Field

from tradewind.api.deps import RuntimeDep, SessionDep, check_scope, resolve_principal
from tradewind.api.dialects.trynquant.paths import both
from tradewind.api.registry import public_router
from tradewind.domain.accounts import Scope
from tradewind.domain.errors import MissingCredentials, Unauthenticated
from tradewind.services import bots, signals
from tradewind.services.api_keys import Principal
from tradewind.strategies.base import SignalAction

router = public_router()

SOURCE = "trynquant"
ACTIONS = (SignalAction.BUY, SignalAction.SELL, SignalAction.CLOSE)
"""The document's actions; TradingView's ``{{strategy.order.action}}`` renders buy or sell."""


class SignalRequest(BaseModel):
    """The document's body (for the OpenAPI: the endpoint reads the raw body)."""

    api_key: str = Field(description="Your platform API key (pk_…)")
    secret: str = Field(description="Your platform API secret (sk_…)")
    symbol: str = Field(description="Trading pair: BTCUSDT ({{ticker}}), BTC/USDT, BINANCE:BTCUSDT")
    action: Literal["buy", "sell", "close"] = Field(description="{{strategy.order.action}}")
    quantity: float | None = Field(
        default=None, description="Optional trade quantity ({{strategy.order.contracts}})"
    )
    bot_id: str | None = Field(default=None, description="Target this bot; omit to match by symbol")
    timestamp: int | str | None = Field(
        default=None, description="Tradewind: when the alert fired ({{timenow}}, or unix s / ms)"
    )
    maxLag: int | None = Field(  # the wire name, as HaasOnline spells it
        default=None, description="Tradewind: refuse the alert when older than this (seconds)"
    )


class SignalAnswer(BaseModel):
    executed: bool
    order_id: str | None = Field(default=None, description="The first order placed; absent if none")
    signal_id: str
    message: str


async def _body(request: Request) -> dict[str, Any]:
    raw = (await request.body()).decode("utf-8", "replace")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        raise signals.bad("body", "send the alert as a JSON object") from None
    if not isinstance(body, dict):
        raise signals.bad("body", "send the alert as a JSON object")
    return body


async def _caller(runtime: Any, session: Any, body: dict[str, Any]) -> Principal:
    """The key pair in the body, as the Authorization header would carry it elsewhere."""
    api_key, secret = body.get("api_key"), body.get("secret")
    if not api_key or not secret:
        raise MissingCredentials("api_key and secret are required in the body")
    if not isinstance(api_key, str) or not isinstance(secret, str) or ":" in api_key:
        raise Unauthenticated("invalid api key")
    principal = await resolve_principal(
        runtime, session, f"{api_key.strip()}:{secret.strip()}", allow_jwt=False
    )
    check_scope(principal, Scope.TRADE)
    return principal


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise signals.bad(name, "must be a string")
    return value.strip()


async def _incoming(
    runtime: Any, session: SessionDep, user_id: str, body: dict[str, Any]
) -> signals.Incoming:
    venues = runtime.venues
    symbol = signals.normalise_symbol(body.get("symbol"), venues.catalogs())
    action = signals.parse_action(body.get("action"))
    if action not in ACTIONS:
        raise signals.bad("action", f"{body.get('action')!r} is not one of buy, sell, close")
    bot_id = _optional_str(body, "bot_id")
    if bot_id:
        row = await bots.get(session, user_id, bot_id)  # another user's: 404
        mine, theirs = venues.known(symbol), venues.known(row.symbol)
        if mine is None or theirs is None or (theirs.base, theirs.quote) != (mine.base, mine.quote):
            raise signals.bad("symbol", f"bot {bot_id} trades {row.symbol}, not {body['symbol']}")
    return signals.Incoming(
        source=SOURCE, owner_id=user_id, action=action, symbol=symbol, bot_id=bot_id,
        amount=signals.parse_decimal(body.get("quantity"), "quantity"),
        ts_ms=signals.parse_timestamp(body.get("timestamp")),
        max_lag=signals.parse_max_lag(body.get("maxLag", body.get("max_lag")), "maxLag"),
        body=body,
    )  # fmt: skip


async def send_signal(request: Request, session: SessionDep, runtime: RuntimeDep) -> SignalAnswer:
    """Execute a TradingView alert on your bot for its symbol (or ``bot_id``)."""
    body = await _body(request)
    principal = await _caller(runtime, session, body)
    request.state.principal = principal
    incoming = await _incoming(runtime, session, principal.user_id, body)
    settings = runtime.settings
    outcome = await signals.submit(
        session, runtime.venues, runtime.clock, incoming,
        dedup_seconds=settings.signal_dedup_seconds, wait_seconds=settings.signal_wait_seconds,
    )  # fmt: skip
    orders = outcome.order_ids
    return SignalAnswer(
        executed=outcome.executed, order_id=orders[0] if orders else None,
        signal_id=outcome.signal_id, message=outcome.message,
    )  # fmt: skip


_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": SignalRequest.model_json_schema()}},
    }
}

for path in both("/signals/"):
    router.add_api_route(path, send_signal, methods=["POST"], response_model=SignalAnswer,
                         response_model_exclude_none=True, responses={400: {}, 401: {}, 404: {}},
                         openapi_extra=_BODY, include_in_schema=path.endswith("/"),
                         summary="TradingView webhook: trigger a trade signal")  # fmt: skip
