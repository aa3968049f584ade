"""Anny's Signal API routes: parse, authenticate the partner's API key, translate the body
into a smart-trade plan (or a change of it), call ``services.channels``, answer in the
envelope. Duplicates (the same ``Idempotency-Key``, or the same body within 60 s) get the
first answer and execute nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from tradewind.api.deps import BearerDoc, RuntimeDep, SessionDep, bearer_token, resolve_principal
from tradewind.api.dialects.anny.envelope import PREFIX, ok
from tradewind.api.registry import public_router
from tradewind.domain.errors import Forbidden, ValidationFailed
from tradewind.services import channels
from tradewind.services.api_keys import Principal

router = public_router(prefix=PREFIX, tags=["anny"])

Price = Annotated[Decimal, Field(gt=0)]
Share = Annotated[Decimal, Field(gt=0, le=100)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


async def _partner(
    request: Request, runtime: RuntimeDep, session: SessionDep, _doc: BearerDoc
) -> Principal:
    """A partner's API key (``pk_…:sk_…``); anything else is UNAUTHORIZED. (``_doc`` puts the
    bearer scheme in the OpenAPI document.)"""
    principal = await resolve_principal(
        runtime, session, bearer_token(request), allow_keys=True, allow_jwt=False
    )
    if not principal.is_partner:
        raise Forbidden("only a partner's API key sends signals")
    return principal


PartnerKey = Annotated[Principal, Depends(_partner)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TargetIn(_In):
    price: Price
    share: Share = Field(description="Percent of the position this target sells.")


class EntryIn(_In):
    price: Price
    share: Share = Field(description="Percent of the amount this entry buys.")


class SignalV1(_In):
    channel_id: str | None = None
    symbol: str = Field(min_length=1)
    side: Literal["buy", "sell"]
    entry_low: Price
    entry_high: Price
    take_profits: list[TargetIn] = Field(default_factory=list, max_length=6)
    stop_loss: Price | None = None


class SignalV2(SignalV1):
    leverage: Decimal = Field(default=Decimal(1), ge=1)
    margin_type: Literal["isolated", "cross"] = "isolated"
    entries: list[EntryIn] | None = Field(default=None, min_length=1, max_length=10)
    entry_mid_price: Price | None = None


class TakeProfitCall(_In):
    price: Price
    share: Share


class TrailingStopCall(_In):
    callback_pct: Decimal = Field(gt=0, lt=100)
    activation_price: Price | None = None
    activation_pct: Decimal | None = Field(default=None, gt=0)


class RebuyCall(_In):
    entry_low: Price
    entry_high: Price
    share: Share = Field(description="Percent of the signal's amount this zone adds.")


class DcaCall(_In):
    price: Price
    share: Share


class UpdatePrice(_In):
    entry_low: Price | None = None
    entry_high: Price | None = None
    entries: list[EntryIn] | None = Field(default=None, min_length=1)
    take_profits: list[TargetIn] | None = Field(default=None, max_length=6)
    stop_loss: Price | None = None


def _edge(side: str, low: Decimal, high: Decimal) -> Decimal:
    """A zone's near edge: a buy enters as soon as the price comes down into it."""
    return high if side == "buy" else low


def _levels(items: list[TargetIn] | list[EntryIn]) -> list[dict[str, str]]:
    return [{"price": str(i.price), "share": str(i.share)} for i in items]


def _plan(body: SignalV1) -> dict[str, Any]:
    entries: list[dict[str, str]]
    if isinstance(body, SignalV2) and body.entries:
        entries = _levels(body.entries)
    elif isinstance(body, SignalV2) and body.entry_mid_price is not None:
        entries = [{"price": str(body.entry_mid_price), "share": "100"}]
    else:
        entries = [
            {"price": str(_edge(body.side, body.entry_low, body.entry_high)), "share": "100"}
        ]
    plan: dict[str, Any] = {
        "symbol": body.symbol, "side": body.side, "entries": entries,
        "entryLow": str(body.entry_low), "entryHigh": str(body.entry_high),
        "takeProfits": _levels(body.take_profits),
        "stopLoss": None if body.stop_loss is None else str(body.stop_loss),
    }  # fmt: skip
    if isinstance(body, SignalV2):
        plan |= {"leverage": str(body.leverage), "marginType": body.margin_type}
    return plan


async def _once(
    request: Request, runtime: RuntimeDep, session: SessionDep, partner: Principal,
    key: str | None, run: Callable[[], Awaitable[channels.Outcome]],
) -> dict[str, Any]:  # fmt: skip
    body = await request.json() if await request.body() else None
    dedup, keyed = channels.dedup_key(request.method, request.url.path, body, key)
    first = await channels.answered(session, runtime.clock, partner.user_id, dedup, keyed)
    if first is not None:
        return first
    outcome = await run()
    answer = ok(
        {
            "parent_signal_id": outcome.signal_id, "result": outcome.result,
            "subscribers": outcome.subscribers, "failed": outcome.failed,
        }
    )  # fmt: skip
    await channels.remember(session, runtime.clock, partner.user_id, dedup, keyed, answer)
    return answer


def _deps(runtime: RuntimeDep) -> channels.Deps:
    return channels.Deps(runtime.venues, runtime.clock)


async def _open(
    body: SignalV1, request: Request, partner: Principal, runtime: RuntimeDep,
    session: SessionDep, key: str | None,
) -> dict[str, Any]:  # fmt: skip
    async def run() -> channels.Outcome:
        return await channels.open_signal(
            session, _deps(runtime), partner.user_id, body.channel_id, _plan(body),
            body.model_dump(mode="json"),
        )  # fmt: skip

    return await _once(request, runtime, session, partner, key, run)


@router.post("/v1/signal")
async def signal_v1(
    body: SignalV1, request: Request, partner: PartnerKey, runtime: RuntimeDep,
    session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    return await _open(body, request, partner, runtime, session, idempotency_key)


@router.post("/v2/signal")
async def signal_v2(
    body: SignalV2, request: Request, partner: PartnerKey, runtime: RuntimeDep,
    session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    return await _open(body, request, partner, runtime, session, idempotency_key)


async def _call(
    request: Request, partner: Principal, runtime: RuntimeDep, session: SessionDep,
    key: str | None, signal_id: str, kind: str,
    changes: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    async def run() -> channels.Outcome:
        return await channels.call(
            session, _deps(runtime), partner.user_id, signal_id, changes, kind=kind
        )

    return await _once(request, runtime, session, partner, key, run)


@router.post("/v1/signal/{parent_signal_id}/call/takeprofit")
async def call_takeprofit(
    parent_signal_id: str, body: TakeProfitCall, request: Request, partner: PartnerKey,
    runtime: RuntimeDep, session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    def changes(plan: dict[str, Any]) -> dict[str, Any]:
        return {
            "takeProfits": [
                *plan.get("takeProfits", []),
                *_levels([TargetIn(price=body.price, share=body.share)]),
            ]
        }

    return await _call(request, partner, runtime, session, idempotency_key, parent_signal_id,
                       "takeprofit", changes)  # fmt: skip


@router.post("/v1/signal/{parent_signal_id}/call/trailingstop")
async def call_trailingstop(
    parent_signal_id: str, body: TrailingStopCall, request: Request, partner: PartnerKey,
    runtime: RuntimeDep, session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    def changes(plan: dict[str, Any]) -> dict[str, Any]:
        return {
            "trailingCallback": str(body.callback_pct),
            "trailingActivation": _text(body.activation_price),
            "trailingActivationPct": _text(body.activation_pct),
        }

    return await _call(request, partner, runtime, session, idempotency_key, parent_signal_id,
                       "trailing", changes)  # fmt: skip


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _added_entry(plan: dict[str, Any], price: Decimal, share: Decimal, kind: str) -> dict[str, Any]:
    entry = {"price": str(price), "share": str(share), "kind": kind}
    return {"entries": [*plan.get("entries", []), entry]}


@router.post("/v1/signal/{parent_signal_id}/call/rebuy")
async def call_rebuy(
    parent_signal_id: str, body: RebuyCall, request: Request, partner: PartnerKey,
    runtime: RuntimeDep, session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    def changes(plan: dict[str, Any]) -> dict[str, Any]:
        price = _edge(plan.get("side", "buy"), body.entry_low, body.entry_high)
        return _added_entry(plan, price, body.share, "rebuy")

    return await _call(request, partner, runtime, session, idempotency_key, parent_signal_id,
                       "rebuy", changes)  # fmt: skip


@router.post("/v1/signal/{parent_signal_id}/call/dca")
async def call_dca(
    parent_signal_id: str, body: DcaCall, request: Request, partner: PartnerKey,
    runtime: RuntimeDep, session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    def changes(plan: dict[str, Any]) -> dict[str, Any]:
        return _added_entry(plan, body.price, body.share, "dca")

    return await _call(request, partner, runtime, session, idempotency_key, parent_signal_id,
                       "dca", changes)  # fmt: skip


@router.put("/v1/signal/{parent_signal_id}/updateprice")
async def update_price(
    parent_signal_id: str, body: UpdatePrice, request: Request, partner: PartnerKey,
    runtime: RuntimeDep, session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    def changes(plan: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        entries = list(plan.get("entries", []))
        main = [i for i, e in enumerate(entries) if e.get("kind", "entry") == "entry"]
        if body.entries is not None:
            if len(body.entries) != len(main):
                raise ValidationFailed(
                    f"the signal has {len(main)} entries",
                    details=[{"field": "entries", "message": f"give {len(main)} entries"}],
                )
            else:
                for i, new in zip(main, body.entries, strict=True):
                    entries[i] = {**entries[i], "price": str(new.price), "share": str(new.share)}
                out["entries"] = entries
        elif body.entry_low is not None or body.entry_high is not None:
            low = body.entry_low or Decimal(str(plan.get("entryLow")))
            high = body.entry_high or Decimal(str(plan.get("entryHigh")))
            out |= {"entryLow": str(low), "entryHigh": str(high)}
            if len(main) == 1:
                entries[main[0]] = {
                    **entries[main[0]],
                    "price": str(_edge(plan["side"], low, high)),
                }
                out["entries"] = entries
        if body.take_profits is not None:
            out["takeProfits"] = _levels(body.take_profits)
        if body.stop_loss is not None:
            out["stopLoss"] = str(body.stop_loss)
        return out

    return await _call(request, partner, runtime, session, idempotency_key, parent_signal_id,
                       "updateprice", changes)  # fmt: skip


@router.delete("/v1/signal/{parent_signal_id}/cancel")
async def cancel_signal(
    parent_signal_id: str, request: Request, partner: PartnerKey, runtime: RuntimeDep,
    session: SessionDep, idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:  # fmt: skip
    async def run() -> channels.Outcome:
        return await channels.cancel(session, _deps(runtime), partner.user_id, parent_signal_id)

    return await _once(request, runtime, session, partner, idempotency_key, run)
