"""HaasOnline's scripts endpoints: the list, and one script's settings."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tradewind.api.dialects.haas.envelope import ok
from tradewind.api.dialects.haas.routes import Body, Partner
from tradewind.api.registry import public_router
from tradewind.domain.errors import NotFound
from tradewind.strategies.registry import HAAS_SCRIPT_IDS, SCRIPTS

router = public_router(prefix="/compat/haas", tags=["dialect: haas"])


class ScriptRef(Body):
    type: str = Field(min_length=1)


@router.get("/scripts", summary="Every bot script with its settings")
async def scripts(principal: Partner) -> dict[str, Any]:
    return ok([SCRIPTS[s].haas() for s in HAAS_SCRIPT_IDS])


@router.post("/scripts/script", summary="One script's settings")
async def script(body: ScriptRef, principal: Partner) -> dict[str, Any]:
    if body.type not in HAAS_SCRIPT_IDS:
        raise NotFound(f"unknown script type {body.type}")
    return ok(SCRIPTS[body.type].haas())
