"""The route registry: every route is declared public or internal where its router is made.

Public routes are the API clients integrate against: the native ``/api/v1``, each dialect under
``/compat/…`` (each is a seed's documented API) and the WebSocket streams. Internal routes (the
probes an operator points a load balancer at) are served all the same but left out of the public
OpenAPI document, which is what ``/openapi.json``, ``/docs`` and ``tradewind openapi --public``
give. A route declared without a flag is never public; `unflagged_routes` names it, and a test
keeps that list empty.

    router = public_router(prefix="/bots", tags=["bots"])
    probes = internal_router(tags=["health"])

A module that needs both declares two routers. FastAPI 0.137.2+ keeps each declared route object
when a router is included (`iter_route_contexts` reaches it), so the flag set here is the one
the app sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum, StrEnum
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

INTERNAL_EXTENSION = "x-internal"
"""Marks internal operations in the full document (the extension Redocly's bundler strips)."""

_FLAG = "tradewind_audience"


class Audience(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


def flag(route: BaseRoute, audience: Audience) -> None:
    """Flag one route; a flag, once set, does not change."""
    current = audience_of(route)
    if current is not None and current is not audience:
        raise ValueError(f"{describe(route)} is already flagged {current}")
    setattr(route, _FLAG, audience)


def audience_of(route: BaseRoute) -> Audience | None:
    """The route's flag, or None for a route declared outside the registry."""
    audience = getattr(route, _FLAG, None)
    return audience if isinstance(audience, Audience) else None


class Router(APIRouter):
    """An ``APIRouter`` that flags every route added to it, HTTP or WebSocket, with its audience."""

    def __init__(
        self,
        *,
        audience: Audience,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(prefix=prefix, tags=tags, **options)
        self.audience = audience

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        before = len(self.routes)
        super().add_api_route(path, endpoint, **kwargs)
        self._flag_from(before)

    def add_api_websocket_route(
        self, path: str, endpoint: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        before = len(self.routes)
        super().add_api_websocket_route(path, endpoint, *args, **kwargs)
        self._flag_from(before)

    def add_route(self, path: str, endpoint: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        before = len(self.routes)
        super().add_route(path, endpoint, *args, **kwargs)
        self._flag_from(before)

    def add_websocket_route(
        self, path: str, endpoint: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        before = len(self.routes)
        super().add_websocket_route(path, endpoint, *args, **kwargs)
        self._flag_from(before)

    def _flag_from(self, before: int) -> None:
        for route in self.routes[before:]:
            flag(route, self.audience)


def public_router(*, prefix: str = "", tags: list[str | Enum] | None = None) -> Router:
    """A router whose routes are part of the public API reference."""
    return Router(audience=Audience.PUBLIC, prefix=prefix, tags=tags)


def internal_router(*, prefix: str = "", tags: list[str | Enum] | None = None) -> Router:
    """A router whose routes are served but left out of the public API reference."""
    return Router(audience=Audience.INTERNAL, prefix=prefix, tags=tags)


def describe(route: BaseRoute | RouteContext) -> str:
    """``"GET /path (module.function)"``, for messages about a route."""
    methods = ",".join(sorted(getattr(route, "methods", None) or [])) or "WEBSOCKET"
    endpoint = getattr(route, "endpoint", None)
    where = f"{endpoint.__module__}.{endpoint.__qualname__}" if endpoint is not None else "?"
    return f"{methods} {getattr(route, 'path', '?')} ({where})"


def unflagged_routes(app: FastAPI) -> list[str]:
    """Every route of ``app`` declared without a public/internal flag (described); keep it empty."""
    return [
        describe(context)
        for context in iter_route_contexts(app.routes)
        if audience_of(context.original_route) is None
    ]


def _is_public(context: RouteContext) -> bool:
    return audience_of(context.original_route) is Audience.PUBLIC


def openapi_document(app: FastAPI, *, public: bool) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s routes.

    ``public=True``: only the routes flagged public (the reference clients get). Otherwise every
    route, and the operations that are not public carry ``x-internal: true``.
    """
    contexts = list(iter_route_contexts(app.routes))
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        terms_of_service=app.terms_of_service,
        contact=app.contact,
        license_info=app.license_info,
        routes=[c for c in contexts if _is_public(c)] if public else contexts,
        webhooks=app.webhooks.routes,
        tags=app.openapi_tags,
        servers=app.servers,
        separate_input_output_schemas=app.separate_input_output_schemas,
        external_docs=app.openapi_external_docs,
    )
    if not public:
        _mark_internal(document, (c for c in contexts if not _is_public(c)))
    return document


def _mark_internal(document: dict[str, Any], contexts: Iterable[RouteContext]) -> None:
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    for context in contexts:
        if not isinstance(context.original_route, APIRoute):
            continue
        operations = paths.get(context.path_format or "", {})
        for method in context.methods or ():
            if method.lower() in operations:
                operations[method.lower()][INTERNAL_EXTENSION] = True


def serve_public_document(app: FastAPI) -> None:
    """Make ``app``'s own ``/openapi.json`` (and so ``/docs`` and ``/redoc``) the public document.

    The routes FastAPI adds to serve it are flagged public here: they are documentation, not
    operations, so they appear in neither document.
    """

    def public_openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = openapi_document(app, public=True)
        return app.openapi_schema

    # FastAPI's documented hook for a custom document: replace the app's ``openapi`` method.
    app.openapi = public_openapi  # type: ignore[method-assign]
    served = {app.openapi_url, app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url}
    for context in iter_route_contexts(app.routes):
        if context.path in served - {None} and audience_of(context.original_route) is None:
            flag(context.original_route, Audience.PUBLIC)
