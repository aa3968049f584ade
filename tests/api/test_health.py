from __future__ import annotations

import httpx

from tests.conftest import Harness


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_reports_the_store(tw: Harness) -> None:
    r = await tw.client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["store"] == tw.runtime.engine.dialect.name


async def test_readyz_is_503_when_the_store_is_unreachable(tw: Harness) -> None:
    from tradewind.store.db import create_engine

    await tw.runtime.engine.dispose()
    tw.runtime.engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/gone")
    r = await tw.client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable"


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/api-keys/{key_id}/rotate" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_openapi_document_is_valid() -> None:
    from openapi_spec_validator import validate

    from tradewind.api.app import create_app

    validate(create_app().openapi())  # raises on any schema error
