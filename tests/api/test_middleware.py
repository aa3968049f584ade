"""Request ids, body cap, rate limits and the last-resort error through the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user
from tradewind.api.app import create_app
from tradewind.settings import Settings


class TestRequestId:
    async def test_every_response_carries_one(self, client: httpx.AsyncClient) -> None:
        ok = await client.get("/healthz")
        missing = await client.get("/api/v1/me")
        assert ok.headers["x-request-id"].startswith("req_")
        assert missing.headers["x-request-id"].startswith("req_")
        assert ok.headers["x-request-id"] != missing.headers["x-request-id"]

    async def test_a_sane_inbound_id_is_kept(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/healthz", headers={"X-Request-ID": "tv-alert-42"})
        assert r.headers["x-request-id"] == "tv-alert-42"
        r = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
        assert r.headers["x-request-id"].startswith("req_")


class TestBodyCap:
    async def test_declared_oversized_body_is_413(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/api/v1/auth/register",
            content=b"{" + b" " * 2_000_000 + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"

    async def test_streamed_oversized_body_is_413(self, client: httpx.AsyncClient) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 65_536

        r = await client.post(
            "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413


@pytest.mark.parametrize(
    "settings_overrides", [{"rate_limit_per_key": 0.5, "rate_limit_burst_seconds": 10.0}]
)
class TestKeyRateLimit:
    async def test_over_the_limit_is_429_with_retry_after_per_key(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        a = await new_key(tw.client, user["auth"], "read")
        b = await new_key(tw.client, user["auth"], "read")
        codes = [
            (await tw.client.get("/api/v1/me", headers=key_auth(a))).status_code for _ in range(8)
        ]
        assert codes[:5] == [200] * 5 and 429 in codes[5:]
        limited = await tw.client.get("/api/v1/me", headers=key_auth(a))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert (await tw.client.get("/api/v1/me", headers=key_auth(b))).status_code == 200


def test_default_key_limit_is_the_documented_100_per_second() -> None:
    assert Settings().rate_limit_per_key == 100.0


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_ip": 3.0}])
class TestIpRateLimit:
    async def test_per_ip_limit_applies_before_auth_but_not_to_health(self, tw: Harness) -> None:
        codes = [(await tw.client.get("/api/v1/me")).status_code for _ in range(5)]
        assert codes[:3] == [401] * 3 and codes[3:] == [429, 429]
        assert (await tw.client.get("/healthz")).status_code == 200


class TestUnexpectedError:
    async def test_is_500_in_the_error_shape_without_the_exception_text(
        self, settings: Settings
    ) -> None:
        app = create_app(settings)

        async def boom() -> None:
            raise RuntimeError("secret internals sk_abc")

        app.add_api_route("/api/v1/boom", boom)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                r = await c.get("/api/v1/boom")
        assert r.status_code == 500
        assert r.json()["error"]["code"] == "internal_error"
        assert "sk_abc" not in r.text and r.headers["x-request-id"].startswith("req_")


class TestNotFound:
    async def test_unknown_route_uses_the_error_shape(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/api/v1/nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_an_unhandled_errors_log_holds_no_secret(
    tw: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """The traceback is logged without the frames' variables: the middleware's hold every
    header, an API key's secret among them."""

    async def boom(request: Request) -> None:
        secret = request.headers["authorization"]
        raise RuntimeError(f"failed after reading {len(secret)} characters")

    tw.app.add_api_route("/boom-for-a-test", boom, methods=["GET"])
    capsys.readouterr()
    r = await tw.client.get("/boom-for-a-test", headers={"Authorization": "Bearer sk_topsecret_42"})
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    logged = capsys.readouterr().err
    assert (
        "unhandled error" in logged and "RuntimeError: failed after reading 22 characters" in logged
    )
    assert "sk_topsecret_42" not in logged
