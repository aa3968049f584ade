"""Venue operations a bot has decided on, as JSON: the bot engine writes them with the bot's
state before running them, and runs them again after a crash (each is idempotent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.domain.orders import (
    Bracket,
    OrderRole,
    OrderType,
    PositionId,
    Rearm,
    Side,
    Trailing,
)
from tradewind.venues.ops import AmendOp, CancelOp, LeverageOp, Op, OrderRequest, PlaceOp


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def dump(op: Op) -> dict[str, Any]:
    if isinstance(op, PlaceOp):
        r = op.request
        return {
            "op": "place", "account_id": op.account_id, "symbol": r.symbol, "side": r.side.value,
            "type": r.type.value, "amount": str(r.amount), "price": _text(r.price),
            "stop_price": _text(r.stop_price), "client_order_id": r.client_order_id,
            "reduce_only": r.reduce_only, "position_id": r.position_id, "role": r.role.value,
            "oco_group": r.oco_group,
            "rearm": None if r.rearm is None else {"price": str(r.rearm.price), "flip": r.rearm.flip},
            "bracket": None if r.bracket is None else {
                "stop_loss": _text(r.bracket.stop_loss), "take_profit": _text(r.bracket.take_profit),
            },
            "trailing": None if r.trailing is None else {
                "callback": str(r.trailing.callback),
                "activation_price": _text(r.trailing.activation_price),
            },
        }  # fmt: skip
    if isinstance(op, CancelOp):
        return {"op": "cancel", "account_id": op.account_id, "order_id": op.order_id,
                "reason": op.reason}  # fmt: skip
    if isinstance(op, AmendOp):
        return {"op": "amend", "account_id": op.account_id, "order_id": op.order_id,
                "price": _text(op.price), "stop_price": _text(op.stop_price),
                "amount": _text(op.amount)}  # fmt: skip
    return {"op": "leverage", "account_id": op.account_id, "symbol": op.symbol,
            "leverage": str(op.leverage)}  # fmt: skip


def load(data: dict[str, Any]) -> Op:
    kind = data["op"]
    if kind == "place":
        rearm, bracket, trailing = data.get("rearm"), data.get("bracket"), data.get("trailing")
        request = OrderRequest(
            symbol=data["symbol"], side=Side(data["side"]), type=OrderType(data["type"]),
            amount=Decimal(data["amount"]), price=_dec(data.get("price")),
            stop_price=_dec(data.get("stop_price")), client_order_id=data.get("client_order_id"),
            reduce_only=bool(data.get("reduce_only")),
            position_id=PositionId(data["position_id"]) if data.get("position_id") else None,
            role=OrderRole(data.get("role", OrderRole.ENTRY.value)), oco_group=data.get("oco_group"),
            rearm=None if rearm is None else Rearm(Decimal(rearm["price"]), bool(rearm["flip"])),
            bracket=None if bracket is None else Bracket(
                _dec(bracket.get("stop_loss")), _dec(bracket.get("take_profit"))
            ),
            trailing=None if trailing is None else Trailing(
                Decimal(trailing["callback"]), _dec(trailing.get("activation_price"))
            ),
        )  # fmt: skip
        return PlaceOp(data["account_id"], request)
    if kind == "cancel":
        return CancelOp(data["account_id"], data["order_id"], data.get("reason", "cancelled"))
    if kind == "amend":
        return AmendOp(
            data["account_id"], data["order_id"], price=_dec(data.get("price")),
            stop_price=_dec(data.get("stop_price")), amount=_dec(data.get("amount")),
        )  # fmt: skip
    if kind == "leverage":
        return LeverageOp(data["account_id"], data["symbol"], Decimal(data["leverage"]))
    raise ValueError(f"unknown pending operation {kind!r}")
