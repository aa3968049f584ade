"""The registry of bot scripts: what each does and the settings it takes (JSON Schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tradewind.api.deps import ReadScope
from tradewind.api.registry import public_router
from tradewind.api.v1.schemas import errors
from tradewind.strategies.registry import SCRIPTS, TRYNQUANT_ALIASES, Script, get_script

router = public_router(prefix="/scripts", tags=["bots"])


class ScriptRead(BaseModel):
    type: str
    name: str
    description: str
    previewable: bool
    editable_while_running: list[str]
    aliases: list[str]
    settings_schema: dict[str, Any]

    @classmethod
    def of(cls, script: Script) -> ScriptRead:
        return cls(
            type=script.id, name=script.name, description=script.description, previewable=script.previewable,
            editable_while_running=sorted(script.editable),
            aliases=sorted(a for a, s in TRYNQUANT_ALIASES.items() if s == script.id and a != script.id),
            settings_schema=script.json_schema(),
        )  # fmt: skip


@router.get("", response_model=list[ScriptRead], responses=errors(401), summary="Every bot script")
async def list_scripts(principal: ReadScope) -> list[ScriptRead]:
    return [ScriptRead.of(s) for s in SCRIPTS.values()]


@router.get(
    "/{script_type}",
    response_model=ScriptRead,
    responses=errors(401, 404),
    summary="One bot script",
)
async def get_one(script_type: str, principal: ReadScope) -> ScriptRead:
    return ScriptRead.of(get_script(script_type))
