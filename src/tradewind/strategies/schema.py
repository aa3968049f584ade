"""Settings models: one frozen pydantic model per script, the only source of its schemas.

Every field is declared with ``setting(...)``, which puts the display metadata in the field
itself: the title (HaasOnline's ``name``), the description, and in the JSON Schema the
extensions ``x-group`` (HaasOnline's ``group``) and ``x-editable`` (``canBeEdited``: may be
changed while the bot runs). The native JSON Schema and the HaasOnline ``settings`` list are
both derived from the model (``registry``), so nothing is written twice.

Keys are camelCase on the wire (``lowerLimit``), snake_case in Python (``lower_limit``); both
are accepted on input. Unknown keys are refused, so a typo is an error naming the key.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticUndefined

from tradewind.domain.errors import ValidationFailed
from tradewind.domain.instruments import Instrument

Interval = Literal["1m", "5m", "15m", "1h", "4h", "1d"]
"""A bar length (the values of ``marketdata.Timeframe``, which strategies may not import)."""

INTERVAL_MS: Mapping[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


class InvalidSettings(ValidationFailed):
    """Settings break a rule. ``details`` is ``[{"field": <wire key>, "message": ...}, ...]``
    and ``field`` is the first field named."""

    code = "invalid_settings"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        message = "; ".join(f"{field}: {text}" for field, text in problems)
        super().__init__(message, details=[{"field": f, "message": m} for f, m in problems])
        self.field = problems[0][0] if problems else ""


def setting(
    default: Any = PydanticUndefined,
    *,
    title: str,
    description: str = "",
    group: str = "",
    editable: bool = False,
    **constraints: Any,
) -> Any:
    """A settings field with its display metadata (see the module docstring)."""
    extra: dict[str, Any] = {"x-group": group, "x-editable": editable}
    return Field(
        default, title=title, description=description, json_schema_extra=extra, **constraints
    )


class SettingsModel(BaseModel):
    """Base of every script's settings: frozen, camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid"
    )

    symbol: str = setting(
        title="Symbol", description="The symbol of the market the bot will run on", min_length=1
    )

    def validate_for(self, instrument: Instrument) -> None:
        """The rules that need the instrument (minimums, market kind); ``InvalidSettings``."""
        if instrument.symbol != self.symbol:
            fail("symbol", f"the instrument is {instrument.symbol}, not {self.symbol}")

    def to_wire(self) -> dict[str, Any]:
        """The stored and shown form: camelCase keys, JSON values (decimals as strings)."""
        return self.model_dump(mode="json", by_alias=True)


def fail(field: str, message: str) -> typing.NoReturn:
    raise InvalidSettings([(wire_key(field), message)])


def wire_key(field: str) -> str:
    return to_camel(field)


M = TypeVar("M", bound=SettingsModel)


def parse_settings(model: type[M], data: Mapping[str, Any]) -> M:
    """Validate ``data`` into ``model``; every problem is reported, each naming its field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as e:
        problems = []
        for error in e.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            text = error["msg"].removeprefix("Value error, ")
            problems.append((field, text))
        raise InvalidSettings(problems) from None


def editable_fields(model: type[SettingsModel]) -> frozenset[str]:
    """Wire keys of the fields marked editable while the bot runs."""
    return frozenset(
        info.alias or name
        for name, info in model.model_fields.items()
        if _extra(info.json_schema_extra).get("x-editable")
    )


def apply_edit(current: M, changes: Mapping[str, Any], *, running: bool) -> M:
    """``current`` with ``changes`` merged in and validated. While the bot runs only editable
    fields may change; a change to another is refused, naming it."""
    merged = current.to_wire()
    aliases = {name: info.alias or name for name, info in type(current).model_fields.items()}
    for key, value in changes.items():
        merged[aliases.get(key, key)] = value
    updated = parse_settings(type(current), merged)
    if running:
        allowed = editable_fields(type(current))
        locked = [
            (info.alias or name, "cannot be changed while the bot is running")
            for name, info in type(current).model_fields.items()
            if getattr(updated, name) != getattr(current, name)
            and (info.alias or name) not in allowed
        ]
        if locked:
            raise InvalidSettings(locked)
    return updated


def haas_settings(model: type[SettingsModel]) -> list[dict[str, Any]]:
    """HaasOnline's ``settings`` list: key, group, name, description, type, value (the
    default), canBeEdited, options, one entry per field in declaration order."""
    entries = []
    for name, info in model.model_fields.items():
        extra = _extra(info.json_schema_extra)
        kind, options = _haas_type(info.annotation)
        entries.append(
            {
                "key": info.alias or name,
                "group": extra.get("x-group", ""),
                "name": info.title or name,
                "description": info.description or "",
                "type": kind,
                "value": _haas_value(info.default, kind, options),
                "canBeEdited": bool(extra.get("x-editable", False)),
                "options": options,
            }
        )
    return entries


def _extra(extra: Any) -> dict[str, Any]:
    return extra if isinstance(extra, dict) else {}


def _haas_type(annotation: Any) -> tuple[str, list[str]]:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "option", [str(member.value) for member in annotation]
    if typing.get_origin(annotation) is Literal:
        return "option", [str(value) for value in typing.get_args(annotation)]
    if annotation is bool:
        return "boolean", []
    if annotation in (int, float, Decimal):
        return "number", []
    return "string", []


def _haas_value(default: Any, kind: str, options: list[str]) -> Any:
    if default is PydanticUndefined or default is None:
        return {"string": "", "number": 0, "boolean": False}.get(
            kind, options[0] if options else ""
        )
    if isinstance(default, enum.Enum):
        return default.value
    if isinstance(default, Decimal):
        return int(default) if default == default.to_integral_value() else float(default)
    return default
