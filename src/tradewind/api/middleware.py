"""Pure-ASGI middleware: request ids, access log, body-size cap, per-IP rate limit, and the
last-resort 500 (so even that answer carries its request id and its API's envelope)."""

from __future__ import annotations

import math
import re
import time
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind.api.errors import ApiError, ErrorMappers, internal_error
from tradewind.api.ratelimit import TokenBuckets
from tradewind.domain.ids import PREFIX_REQUEST, new_id
from tradewind.logs import get_logger

log = get_logger("tradewind.access")
_INBOUND_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
UNLIMITED_PATHS = ("/healthz", "/readyz")


class RequestContext:
    def __init__(
        self,
        app: ASGIApp,
        *,
        mappers: ErrorMappers,
        ip_limits: TokenBuckets,
        max_body_bytes: int,
        trust_forwarded_for: bool,
    ) -> None:
        self.app = app
        self.mappers = mappers
        self.ip_limits = ip_limits
        self.max_body = max_body_bytes
        self.trust_xff = trust_forwarded_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        inbound = headers.get("x-request-id", "")
        request_id = inbound if _INBOUND_ID.match(inbound) else new_id(PREFIX_REQUEST)
        scope.setdefault("state", {})["request_id"] = request_id
        ip = self._client_ip(scope, headers)
        scope["state"]["client_ip"] = ip
        structlog.contextvars.bind_contextvars(request_id=request_id)
        path = scope["path"]
        started = time.perf_counter()
        status_holder = [0]
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if scope["type"] == "http":
                if not path.startswith(UNLIMITED_PATHS):
                    wait = self.ip_limits.hit(ip)
                    if wait > 0:
                        await self._reply(
                            scope,
                            send_with_id,
                            ApiError(
                                429,
                                "rate_limited",
                                "too many requests from this address",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))},
                            ),
                        )
                        return
                length = headers.get("content-length")
                if length and length.isdigit() and int(length) > self.max_body:
                    await self._reply(scope, send_with_id, self._too_large())
                    return
                receive = self._capped(receive)
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", path=path)
            if not response_started and scope["type"] == "http":
                await self._reply(scope, send_with_id, internal_error())
            else:
                raise
        finally:
            if scope["type"] == "http":
                log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status_holder[0],
                    ms=round((time.perf_counter() - started) * 1000, 2),
                    ip=ip,
                )
            structlog.contextvars.unbind_contextvars("request_id")

    def _too_large(self) -> ApiError:
        return ApiError(413, "payload_too_large", f"request body exceeds {self.max_body} bytes")

    def _capped(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"request body exceeds {limit} bytes")
            return message

        return capped

    async def _reply(self, scope: Scope, send: Send, err: ApiError) -> None:
        response = self.mappers.envelope_for(scope["path"])(err, Request(scope))
        await response(scope, _no_body, send)

    def _client_ip(self, scope: Scope, headers: dict[str, str]) -> str:
        if self.trust_xff and headers.get("x-forwarded-for"):
            return headers["x-forwarded-for"].split(",")[0].strip()
        client: Any = scope.get("client")
        return str(client[0]) if client else "unknown"


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
