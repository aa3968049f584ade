"""TrynQuant's platform endpoints: key issuance, supported exchanges, pairs and platform IPs
here, the bots from ``bots``; signals join with their issue. Every path answers with and
without the trailing slash, as the document writes them with one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request, status
from pydantic import BaseModel, ConfigDict

from tradewind.api.deps import RuntimeDep, SessionDep, password_login
from tradewind.api.dialects.trynquant import bots, signals
from tradewind.api.dialects.trynquant.paths import PREFIX, both
from tradewind.api.registry import public_router
from tradewind.domain.accounts import Scope
from tradewind.services import api_keys, exchanges

router = public_router(prefix=PREFIX, tags=["dialect: trynquant"])


class AuthRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str
    password: str


class AuthResponse(BaseModel):
    api_key: str
    api_secret: str
    expires_at: datetime
    plan: str


async def create_platform_key(
    body: AuthRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> AuthResponse:
    """Email and password → a 90-day key with trade scope; the secret is shown only now."""
    user = await password_login(request, session, runtime, body.email, body.password)
    issued = await api_keys.create_key(
        session, runtime.clock, user.id, "TrynQuant", Scope.TRADE, 90,
        default_days=runtime.settings.api_key_default_days, max_days=runtime.settings.api_key_max_days,
    )  # fmt: skip
    return AuthResponse(
        api_key=issued.material.public_key, api_secret=issued.material.secret,
        expires_at=issued.row.expires_at, plan=user.plan,
    )  # fmt: skip


async def supported_exchanges() -> list[dict[str, Any]]:
    return [e.trynquant() for e in exchanges.supported()]


async def exchange_pairs(exchange: str, runtime: RuntimeDep) -> dict[str, Any]:
    """The exchange's active markets from the markets cache (refreshed when old; the cached
    copy while the exchange cannot be reached; 503 with none)."""
    snapshot = await runtime.exchange_markets.get(exchange)
    pairs = snapshot.symbols
    return {"exchange": snapshot.exchange, "pairs": pairs, "count": len(pairs)}


async def platform_ips(runtime: RuntimeDep) -> dict[str, list[str]]:
    # the one setting GET /api/v1/platform-ips reads too
    return {"ips": list(runtime.settings.platform_ips)}


for path in both("/auth/"):
    router.add_api_route(path, create_platform_key, methods=["POST"], status_code=status.HTTP_201_CREATED,
                         response_model=AuthResponse, summary="Generate a platform API key", include_in_schema=path.endswith("/"))  # fmt: skip
for path in both("/exchanges/supported/"):
    router.add_api_route(path, supported_exchanges, methods=["GET"], summary="Supported exchanges with metadata",
                         include_in_schema=path.endswith("/"))  # fmt: skip
for path in both("/exchanges/{exchange}/pairs/"):
    router.add_api_route(path, exchange_pairs, methods=["GET"], summary="Tradable pairs of an exchange",
                         include_in_schema=path.endswith("/"))  # fmt: skip
for path in both("/platform-ips/"):
    router.add_api_route(path, platform_ips, methods=["GET"], summary="Static egress IPs of the platform",
                         include_in_schema=path.endswith("/"))  # fmt: skip

router.include_router(bots.router)
router.include_router(signals.router)
