"""Signals, natively: send one with an API key, list them with their outcomes, and per-bot
webhook URLs for tools that can set neither a header nor a secret in the body."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Request, Response, status
from pydantic import BaseModel, Field

from tradewind.api.deps import ReadScope, RuntimeDep, SessionDep, TradeScope
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import DEFAULT_PAGE, CursorQuery, LimitQuery, Model, PageOf, errors
from tradewind.api.v1.trading_schemas import OptDec
from tradewind.domain.errors import ValidationFailed
from tradewind.services import bots, signals
from tradewind.store.tables import SignalRow

router = public_router(tags=["signals"])
hooks_router = public_router(tags=["signals"])
"""The webhook URL alone, included ahead of every other route: it is the hot path of
TradingView alerts, and routing walks the routes in order (behind the others, finding this
one took 0.64 ms of CPU per request; first, 25 µs)."""


class SignalCreate(Model):
    action: str = Field(
        description="buy, sell, close, enter_long, exit_long, enter_short or exit_short."
    )
    symbol: str | None = Field(
        default=None,
        description="BTCUSDT, BTC/USDT, BINANCE:BTCUSDT (TradingView's {{ticker}}), "
        "BINANCE_BTC_USDT_; reaches your active bots on it (unless bot_id or token is given).",
    )
    amount: OptDec = Field(
        default=None, description="In the market's amount unit (base asset or contracts)."
    )
    investment_type: str | None = Field(
        default=None, description="quote: the amount is in the quote asset (USDT)."
    )
    price: OptDec = Field(default=None, description="A limit price; market without.")
    timestamp: int | float | str | None = Field(
        default=None, description="When the signal was made: unix seconds or ms, or ISO 8601."
    )
    max_lag: int | None = Field(
        default=None, gt=0, description="Refuse the signal when it is older than this (s)."
    )
    bot_id: str | None = Field(default=None, description="Only this bot of yours.")
    token: str | None = Field(default=None, description="Your webhook bots with this signalToken.")
    idempotency_key: str | None = Field(
        default=None, max_length=120, description="A repeat with the same key executes nothing."
    )


class DeliveryRead(BaseModel):
    bot_id: str
    status: str = Field(description="pending, handled, executed or rejected.")
    message: str | None
    order_ids: list[str]


class SignalRead(BaseModel):
    signal_id: str
    status: str = Field(description="accepted (executing), executed or rejected.")
    executed: bool
    duplicate: bool = Field(description="A repeat delivery: this is the first one's outcome.")
    message: str
    deliveries: list[DeliveryRead]
    created_at: datetime | None

    @classmethod
    def of(cls, outcome: signals.Outcome) -> SignalRead:
        return cls(
            signal_id=outcome.signal_id, status=outcome.status, executed=outcome.executed,
            duplicate=outcome.duplicate, message=outcome.message, created_at=outcome.created_at,
            deliveries=[DeliveryRead(bot_id=d.bot_id, status=d.status, message=d.message,
                                     order_ids=d.order_ids) for d in outcome.deliveries],
        )  # fmt: skip


class SignalSummary(BaseModel):
    signal_id: str
    source: str
    action: str
    symbol: str | None
    amount: OptDec
    price: OptDec
    bot_id: str | None
    status: str
    message: str
    created_at: datetime

    @classmethod
    def of(cls, row: SignalRow) -> SignalSummary:
        return cls(
            signal_id=row.id, source=row.source, action=row.action, symbol=row.symbol,
            amount=row.amount, price=row.price, bot_id=row.bot_id, status=row.status,
            message=row.message, created_at=row.created_at,
        )  # fmt: skip


def incoming(
    runtime: Any, source: str, owner_id: str, body: dict[str, Any], *, bot_id: str | None = None,
    idempotency_key: str | None = None,
) -> signals.Incoming:  # fmt: skip
    """A native or webhook body as a signal (names as the native API spells them, and the
    TradingView habits ``quantity``/``contracts`` and ``maxLag``)."""
    catalogs = runtime.venues.catalogs()
    symbol = body.get("symbol")
    amount = next(
        (body[k] for k in ("amount", "quantity", "contracts") if body.get(k) not in (None, "")),
        None,
    )
    return signals.Incoming(
        source=source, owner_id=owner_id, action=signals.parse_action(body.get("action")),
        symbol=signals.normalise_symbol(symbol, catalogs) if symbol else None,
        amount=signals.parse_decimal(amount, "amount"),
        price=signals.parse_decimal(body.get("price"), "price"),
        investment_type=body.get("investment_type") or body.get("investmentType"),
        ts_ms=signals.parse_timestamp(body.get("timestamp")),
        max_lag=signals.parse_max_lag(body.get("max_lag", body.get("maxLag")), "max_lag"),
        bot_id=bot_id or body.get("bot_id"), token=body.get("token"),
        idempotency_key=idempotency_key or body.get("idempotency_key"), body=body,
    )  # fmt: skip


async def _submit(runtime: Any, session: Any, signal: signals.Incoming) -> signals.Outcome:
    settings = runtime.settings
    return await signals.submit(
        session, runtime.venues, runtime.clock, signal,
        dedup_seconds=settings.signal_dedup_seconds, wait_seconds=settings.signal_wait_seconds,
    )  # fmt: skip


@router.post("/signals", status_code=status.HTTP_201_CREATED, response_model=SignalRead,
             responses=errors(401, 403, 422),
             summary="Send a signal to your bots (a repeat answers 200 with the first outcome)")  # fmt: skip
async def send_signal(
    body: SignalCreate, principal: TradeScope, session: SessionDep, runtime: RuntimeDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=120)] = None,
) -> SignalRead:  # fmt: skip
    data = body.model_dump(mode="json", exclude_none=True)
    signal = incoming(runtime, "native", principal.user_id, data, idempotency_key=idempotency_key)
    outcome = await _submit(runtime, session, signal)
    if outcome.duplicate:
        response.status_code = status.HTTP_200_OK
    return SignalRead.of(outcome)


@router.get("/signals", response_model=PageOf[SignalSummary], responses=errors(401, 422),
            summary="Your signals, newest first, from every source")  # fmt: skip
async def list_signals(
    principal: ReadScope, session: SessionDep, limit: LimitQuery = DEFAULT_PAGE,
    cursor: CursorQuery = None,
) -> PageOf[SignalSummary]:  # fmt: skip
    page = await signals.list_signals(session, principal.user_id, limit=limit, cursor=cursor)
    return PageOf[SignalSummary](
        data=[SignalSummary.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/signals/{signal_id}", response_model=SignalRead, responses=errors(401, 404),
            summary="One signal and what each bot did with it")  # fmt: skip
async def get_signal(signal_id: str, principal: ReadScope, session: SessionDep) -> SignalRead:
    return SignalRead.of(await signals.get_signal(session, principal.user_id, signal_id))


class HookRead(BaseModel):
    token: str = Field(description="Shown once; only its hash is kept. A new one replaces it.")
    url: str = Field(description="POST a TradingView alert here: no header, no secret in the body.")


@router.post("/bots/{bot_id}/hook", response_model=HookRead, responses=errors(401, 403, 404),
             summary="A new webhook URL for this bot (the previous one stops working)")  # fmt: skip
async def new_hook(
    bot_id: str, request: Request, principal: TradeScope, session: SessionDep
) -> HookRead:
    row = await bots.get(session, principal.user_id, bot_id)
    token = "wh_" + secrets.token_urlsafe(32)
    signals.forget_hook(row.hook_token_hash)
    row.hook_token_hash = signals.hook_hash(token)
    await session.flush()
    return HookRead(token=token, url=str(request.url_for("hook", token=token)))


@hooks_router.post("/hooks/{token}", name="hook", response_model=SignalRead, responses=errors(404, 422),
             summary="A signal for the bot this unguessable URL belongs to (TradingView alerts)")  # fmt: skip
async def hook(token: str, request: Request, runtime: RuntimeDep) -> Response:
    """The hot path of TradingView alerts: no request session (the signal is written by the
    store's writer; a repeat opens one to read the first outcome), and the answer returned
    as the response itself (FastAPI would validate the model a second time)."""
    bot_id, owner_id = await signals.bot_for_hook(runtime.store, token)
    raw = (await request.body()).decode("utf-8", "replace").strip()
    try:
        body = json.loads(raw) if raw.startswith("{") else {"action": raw}
    except json.JSONDecodeError:
        raise ValidationFailed(
            "the body is neither JSON nor an action word",
            details=[{"field": "body", "message": "send JSON or one word such as buy"}],
        ) from None
    if not isinstance(body, dict):
        raise ValidationFailed(
            "the body must be a JSON object", details=[{"field": "body", "message": "an object"}]
        )
    signal = incoming(runtime, "hook", owner_id, body, bot_id=bot_id)
    outcome = await _submit(runtime, None, signal)
    return Response(
        SignalRead.of(outcome).model_dump_json(), media_type="application/json",
        status_code=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED,
    )  # fmt: skip
