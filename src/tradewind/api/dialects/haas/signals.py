"""HaasOnline's signals: send one to every webhook bot of the partner's users listening on its
``signalToken``, and read back the last one sent on a token. The signal belongs to the partner
(its owner), so repeats are recognised per partner and another partner's token is unknown.

The document gives the send's answer only as ``data: true``. Here: a signal refused before it
reaches a bot is ``isSuccess: false`` (400 naming the field for bad input or a stale signal,
404 when no bot of the partner's users listens on the token); once delivered, ``data`` says
whether a bot acted on it (``false`` with the reason in ``message`` when none did: stopped
bots, nothing to sell, an order the venue refused). A repeat delivery answers the first one's
outcome and executes nothing."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tradewind.api.deps import RuntimeDep, SessionDep
from tradewind.api.dialects.haas.envelope import ok
from tradewind.api.dialects.haas.routes import Body, Partner
from tradewind.api.registry import public_router
from tradewind.domain.errors import NotFound, ValidationFailed
from tradewind.services import accounts, signals
from tradewind.store.tables import SignalRow
from tradewind.strategies.base import SignalAction

router = public_router(tags=["dialect: haas"])

SOURCE = "haas"
ACTIONS = tuple(a for a in SignalAction if a is not SignalAction.CLOSE)
"""The document's valid actions (it has no ``close``)."""
SHOWN = frozenset({"signalToken", "action", "price", "amount", "timestamp"})
"""What the get answers by name; everything else sent is its ``metadata``."""


class SignalSend(Body):
    signal: Any = Field(
        default=None,
        description="{signalToken, action (lowercase), amount, timestamp (unix s), price?, "
        "investmentType?, maxLag?, …metadata}",
    )


class SignalGet(Body):
    signal_token: Any = Field(default=None, alias="signalToken")


def _token(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise signals.bad("signalToken", "required: the token the webhook bots listen on")
    return value.strip()


def _required(signal: dict[str, Any], name: str) -> Any:
    value = signal.get(name)
    if value is None or value == "":
        raise signals.bad(name, "required")
    return value


def _timestamp(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise signals.bad("timestamp", f"{value!r} is not a unix time in seconds (an integer)")
    return signals.parse_timestamp(value)


def _parse(partner_id: str, users: list[str], signal: Any) -> signals.Incoming:
    if not isinstance(signal, dict):
        raise signals.bad(
            "signal", "required: an object with signalToken, action, amount, timestamp"
        )
    token = _token(signal.get("signalToken"))
    action = signals.parse_action(_required(signal, "action"), lowercase_only=True)
    if action not in ACTIONS:
        raise signals.bad("action", f"{action.value!r} is not one of " + ", ".join(ACTIONS))
    investment_type = signal.get("investmentType")
    if investment_type is not None and not isinstance(investment_type, str):
        raise signals.bad("investmentType", "must be a string")
    return signals.Incoming(
        source=SOURCE, owner_id=partner_id, users=users, token=token, action=action,
        amount=signals.parse_decimal(_required(signal, "amount"), "amount"),
        ts_ms=_timestamp(_required(signal, "timestamp")),
        price=signals.parse_decimal(signal.get("price"), "price"),
        investment_type=investment_type or None,
        max_lag=signals.parse_max_lag(signal.get("maxLag")), body=signal,
    )  # fmt: skip


@router.post("/signals/send", summary="Send a signal to every webhook bot listening on its token")
async def send_signal(
    body: SignalSend, principal: Partner, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    partner_id = principal.user_id
    incoming = _parse(partner_id, await accounts.managed_user_ids(session, partner_id), body.signal)
    settings = runtime.settings
    outcome = await signals.submit(
        session, runtime.venues, runtime.clock, incoming,
        dedup_seconds=settings.signal_dedup_seconds, wait_seconds=settings.signal_wait_seconds,
    )  # fmt: skip
    if outcome.reason is not None:
        # refused before reaching a bot: too late, or nobody listens
        if outcome.reason == "stale":
            raise ValidationFailed(
                outcome.message, details=[{"field": "maxLag", "message": outcome.message}]
            )
        raise NotFound(outcome.message)
    acted = outcome.status in ("executed", "accepted")
    message = "" if outcome.executed and not outcome.duplicate else outcome.message
    return {**ok(acted), "message": message}


@router.post("/signals/get", summary="The last signal sent on a token")
async def get_signal(body: SignalGet, principal: Partner, session: SessionDep) -> dict[str, Any]:
    token = _token(body.signal_token)
    row = await signals.last_for_token(session, principal.user_id, token)
    if row is None:
        raise NotFound(f"no signal has been sent on token {token!r}")
    return ok(view(row, token))


def view(row: SignalRow, token: str) -> dict[str, Any]:
    extra = {k: v for k, v in (row.body or {}).items() if k not in SHOWN}
    nested = extra.pop("metadata", None)
    if isinstance(nested, dict):
        extra = {**nested, **extra}
    elif nested is not None:
        extra["metadata"] = nested
    return {
        "signalToken": token, "action": row.action,
        "price": None if row.price is None else float(row.price),
        "amount": None if row.amount is None else float(row.amount),
        "timestamp": int(row.signal_ts.timestamp()) if row.signal_ts else None,
        "metadata": extra,
    }  # fmt: skip
