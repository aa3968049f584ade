"""The route registry: every route flagged public or internal, and the public OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.routing import APIRoute, iter_route_contexts
from openapi_spec_validator import validate
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from typer.testing import CliRunner

from tests.conftest import Harness
from tradewind.api.app import create_app
from tradewind.api.registry import (
    INTERNAL_EXTENSION,
    Audience,
    audience_of,
    flag,
    internal_router,
    openapi_document,
    public_router,
    unflagged_routes,
)
from tradewind.cli import app as cli_app

INTERNAL_PATHS = {"/healthz", "/readyz"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


class TestEveryRouteIsFlagged:
    def test_every_route_of_the_app_has_a_flag(self, app: FastAPI) -> None:
        assert unflagged_routes(app) == []

    def test_the_check_reports_a_route_declared_without_a_flag(self) -> None:
        app = create_app()
        before = set(unflagged_routes(app))
        plain = APIRouter(prefix="/api/v1/plain")

        @plain.get("/things")
        async def things() -> dict[str, str]:
            return {}

        @plain.websocket("/stream")
        async def stream(websocket: WebSocket) -> None:
            await websocket.close()

        app.include_router(plain)

        @app.get("/straight-on-the-app")
        async def straight() -> dict[str, str]:
            return {}

        reported = set(unflagged_routes(app)) - before

        assert len(reported) == 3
        assert any(r.startswith("GET /api/v1/plain/things ") for r in reported)
        assert any(r.startswith("WEBSOCKET /api/v1/plain/stream ") for r in reported)
        assert any(r.startswith("GET /straight-on-the-app ") for r in reported)

    def test_a_plain_router_inside_a_flagged_one_is_still_reported(self) -> None:
        app = FastAPI(openapi_url=None)  # no document routes: only the one under test
        outer, inner = public_router(prefix="/outer"), APIRouter()

        @inner.get("/inner")
        async def inner_route() -> None: ...

        outer.include_router(inner)
        app.include_router(outer)

        reported = unflagged_routes(app)

        assert len(reported) == 1 and reported[0].startswith("GET /outer/inner ")

    def test_a_router_flags_every_kind_of_route_it_declares(self) -> None:
        router = internal_router(prefix="/ops")

        @router.get("/a")
        async def a() -> None: ...

        @router.api_route("/b", methods=["POST", "PUT"])
        async def b() -> None: ...

        @router.websocket("/c")
        async def c(websocket: WebSocket) -> None: ...

        async def d(request: Request) -> PlainTextResponse:
            return PlainTextResponse("d")

        router.add_route("/d", d)

        assert [audience_of(route) for route in router.routes] == [Audience.INTERNAL] * 4

    def test_a_flag_once_set_does_not_change(self) -> None:
        router = public_router()

        @router.get("/x")
        async def x() -> None: ...

        with pytest.raises(ValueError, match="already flagged public"):
            flag(router.routes[0], Audience.INTERNAL)


class TestOpenapiDocument:
    def test_the_public_document_holds_exactly_the_public_operations(self, app: FastAPI) -> None:
        expected = {
            context.path_format
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            and context.include_in_schema
            and audience_of(context.original_route) is Audience.PUBLIC
        }

        document = openapi_document(app, public=True)

        assert set(document["paths"]) == expected
        assert {"/api/v1/bots", "/compat/haas/bots/list", "/compat/anny/v1/signal"} <= expected
        assert not INTERNAL_PATHS & set(document["paths"])
        assert not any(INTERNAL_EXTENSION in op for _, _, op in _operations(document))
        validate(document)

    def test_the_full_document_marks_the_internal_operations(self, app: FastAPI) -> None:
        document = openapi_document(app, public=False)

        internal = {p for p, _, op in _operations(document) if op.get(INTERNAL_EXTENSION)}
        assert internal == INTERNAL_PATHS
        assert set(document["paths"]) - INTERNAL_PATHS == set(
            openapi_document(app, public=True)["paths"]
        )
        validate(document)

    def test_the_app_serves_the_public_document(self, app: FastAPI) -> None:
        assert app.openapi() == openapi_document(app, public=True)


class TestServedReference:
    async def test_internal_routes_work_but_are_not_in_the_served_document(
        self, client: httpx.AsyncClient
    ) -> None:
        spec = (await client.get("/openapi.json")).json()

        assert not INTERNAL_PATHS & set(spec["paths"])
        for path in INTERNAL_PATHS:
            r = await client.get(path)
            assert r.status_code == 200, (path, r.text)

    async def test_the_served_document_is_the_cli_output(self, tw: Harness) -> None:
        printed = CliRunner().invoke(cli_app, ["openapi", "--public"])
        assert printed.exit_code == 0, printed.output

        served = await tw.client.get("/openapi.json")

        assert served.status_code == 200
        assert served.json() == json.loads(printed.stdout)

    async def test_the_docs_page_renders_the_served_document(
        self, client: httpx.AsyncClient
    ) -> None:
        page = await client.get("/docs")

        assert page.status_code == 200 and "/openapi.json" in page.text
