"""Liveness and readiness."""

from __future__ import annotations

import dataclasses

from fastapi.responses import JSONResponse
from sqlalchemy import text

from tradewind.api.deps import RuntimeDep
from tradewind.api.registry import internal_router

router = internal_router(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", summary="The store is reachable (and how live prices and exchanges are doing)"
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as e:
        return JSONResponse({"status": "unavailable", "store": type(e).__name__}, status_code=503)
    body: dict[str, object] = {"status": "ready", "store": runtime.engine.dialect.name}
    if live := runtime.market.live_status():  # served, with their age, even when stale
        body["live_prices"] = [dataclasses.asdict(status) for status in live]
    if exchanges := runtime.live.status():  # live venues: ready even when one is not connected
        body["exchanges"] = [dataclasses.asdict(status) for status in exchanges]
    return JSONResponse(body)
