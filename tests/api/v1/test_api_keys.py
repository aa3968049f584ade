"""API keys through the HTTP API: create, use, list, revoke, rotate, expire, scope."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user
from tradewind.store.tables import ApiKeyRow


class TestCreate:
    async def test_returns_secret_once_and_stores_only_a_hash(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        key = await new_key(tw.client, user["auth"], "trade")
        assert key["key_id"].startswith("key_")
        assert key["api_key"].startswith("pk_") and key["api_secret"].startswith("sk_")
        assert key["token"].startswith("tk_live_")
        assert key["scope"] == "trade"
        assert key["expires_at"] == "2027-02-20T12:00:00Z"  # 90 days from the test clock
        async with tw.runtime.sessions() as s:
            row = await s.scalar(select(ApiKeyRow).where(ApiKeyRow.id == key["key_id"]))
        assert row is not None and key["api_secret"] not in row.secret_hash
        listed = (
            await tw.client.get("/api/v1/api-keys", headers={"Authorization": user["auth"]})
        ).json()
        assert "api_secret" not in listed["data"][0] and "token" not in listed["data"][0]
        assert key["api_secret"] not in str(listed)

    async def test_expiry_in_days_is_bounded(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        h = {"Authorization": user["auth"]}
        ok = await client.post(
            "/api/v1/api-keys",
            json={"name": "k", "scope": "read", "expires_in_days": 365},
            headers=h,
        )
        assert ok.status_code == 201 and ok.json()["expires_at"].startswith("2027-11-22")
        for days in (0, 366):
            r = await client.post(
                "/api/v1/api-keys",
                json={"name": "k", "scope": "read", "expires_in_days": days},
                headers=h,
            )
            assert r.status_code == 422
            assert r.json()["error"]["details"][0]["field"] == "expires_in_days"

    async def test_unknown_scope_is_422(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        r = await client.post(
            "/api/v1/api-keys",
            json={"name": "k", "scope": "admin"},
            headers={"Authorization": user["auth"]},
        )
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "scope"


class TestUse:
    @pytest.mark.parametrize("form", ["pair", "token"])
    async def test_key_authenticates_in_both_forms(
        self, client: httpx.AsyncClient, form: str
    ) -> None:
        user = await new_user(client)
        key = await new_key(client, user["auth"], "read")
        value = f"{key['api_key']}:{key['api_secret']}" if form == "pair" else key["token"]
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
        assert r.status_code == 200 and r.json()["user_id"] == user["user_id"]

    async def test_wrong_secret_is_401(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        key = await new_key(client, user["auth"])
        r = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {key['api_key']}:sk_wrong"}
        )
        assert r.status_code == 401

    async def test_last_used_at_is_recorded(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        key = await new_key(tw.client, user["auth"], "read")
        await tw.client.get("/api/v1/me", headers=key_auth(key))
        listed = (
            await tw.client.get("/api/v1/api-keys", headers={"Authorization": user["auth"]})
        ).json()
        assert listed["data"][0]["last_used_at"] == "2026-11-22T12:00:00Z"

    async def test_expired_key_is_401(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        key = await new_key(tw.client, user["auth"], "read", expires_in_days=1)
        assert (await tw.client.get("/api/v1/me", headers=key_auth(key))).status_code == 200
        tw.clock.advance(86_401)
        r = await tw.client.get("/api/v1/me", headers=key_auth(key))
        assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


class TestScopes:
    async def test_read_key_cannot_write(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        key = await new_key(client, user["auth"], "read")
        r = await client.post(
            "/api/v1/api-keys", json={"name": "x", "scope": "read"}, headers=key_auth(key)
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await client.patch("/api/v1/me", json={"bio": "x"}, headers=key_auth(key))
        assert r.status_code == 403

    async def test_trade_key_cannot_manage_keys(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        key = await new_key(client, user["auth"], "trade")
        assert (await client.get("/api/v1/api-keys", headers=key_auth(key))).status_code == 403

    async def test_full_key_manages_keys(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        key = await new_key(client, user["auth"], "full")
        r = await client.post(
            "/api/v1/api-keys", json={"name": "child", "scope": "read"}, headers=key_auth(key)
        )
        assert r.status_code == 201

    def test_every_endpoint_declares_its_auth_in_one_dependency(self) -> None:
        from tradewind.api.app import create_app
        from tradewind.api.registry import openapi_document

        public = {"/healthz", "/readyz", "/api/v1/auth/register", "/api/v1/auth/login"}
        public |= {  # TrynQuant's document: these take no Authorization header
            "/compat/trynquant/api/v1/auth/",
            "/compat/trynquant/api/v1/exchanges/supported/",
            "/compat/trynquant/api/v1/exchanges/{exchange}/pairs/",
            "/compat/trynquant/api/v1/platform-ips/",
        }
        public.add("/api/v1/hooks/{token}")  # the unguessable token in the URL is the credential
        public.add("/compat/trynquant/api/v1/signals/")  # TradingView: the key is in the body
        # public journals, readable by anyone (404 unless their owner shares them)
        public |= {"/api/v1/profiles/{user_name}", "/compat/quantarya/profiles/{user_name}"}
        spec = openapi_document(create_app(), public=False)  # internal routes too
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                secured = bool(op.get("security"))
                assert secured == (path not in public), f"{method.upper()} {path}"


class TestRevoke:
    async def test_revoked_key_is_401_and_listed_only_on_request(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await new_user(client)
        h = {"Authorization": user["auth"]}
        key = await new_key(client, user["auth"], "read")
        r = await client.delete(f"/api/v1/api-keys/{key['key_id']}", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "revoked"
        assert (await client.get("/api/v1/me", headers=key_auth(key))).status_code == 401
        assert (await client.get("/api/v1/api-keys", headers=h)).json()["data"] == []
        all_keys = (await client.get("/api/v1/api-keys?include_revoked=true", headers=h)).json()[
            "data"
        ]
        assert [k["key_id"] for k in all_keys] == [key["key_id"]]

    async def test_another_users_key_is_404(self, client: httpx.AsyncClient) -> None:
        alice, bob = await new_user(client), await new_user(client)
        key = await new_key(client, alice["auth"])
        bob_h = {"Authorization": bob["auth"]}
        assert (
            await client.delete(f"/api/v1/api-keys/{key['key_id']}", headers=bob_h)
        ).status_code == 404
        assert (
            await client.post(f"/api/v1/api-keys/{key['key_id']}/rotate", headers=bob_h)
        ).status_code == 404
        assert (
            await client.get("/api/v1/me", headers=key_auth(key))
        ).status_code == 200  # untouched


class TestRotate:
    async def test_old_secret_stops_at_once_and_new_one_works(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await new_user(client)
        old = await new_key(client, user["auth"], "trade")
        r = await client.post(
            f"/api/v1/api-keys/{old['key_id']}/rotate", headers={"Authorization": user["auth"]}
        )
        assert r.status_code == 201
        new = r.json()
        assert new["key_id"] == old["key_id"] and new["api_key"] == old["api_key"]
        assert new["api_secret"] != old["api_secret"] and new["scope"] == "trade"
        assert (await client.get("/api/v1/me", headers=key_auth(old))).status_code == 401
        assert (
            await client.get("/api/v1/me", headers={"Authorization": f"Bearer {old['token']}"})
        ).status_code == 401
        assert (await client.get("/api/v1/me", headers=key_auth(new))).status_code == 200
        assert (
            await client.get("/api/v1/me", headers={"Authorization": f"Bearer {new['token']}"})
        ).status_code == 200

    async def test_revoked_key_cannot_be_rotated(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        h = {"Authorization": user["auth"]}
        key = await new_key(client, user["auth"])
        await client.delete(f"/api/v1/api-keys/{key['key_id']}", headers=h)
        assert (
            await client.post(f"/api/v1/api-keys/{key['key_id']}/rotate", headers=h)
        ).status_code == 404


class TestPagination:
    async def test_cursor_walks_all_keys_newest_first(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        h = {"Authorization": user["auth"]}
        ids = [(await new_key(client, user["auth"], "read"))["key_id"] for _ in range(5)]
        seen, cursor = [], None
        while True:
            q = "/api/v1/api-keys?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await client.get(q, headers=h)).json()
            seen += [k["key_id"] for k in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))

    async def test_bad_cursor_and_limit_are_422(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        h = {"Authorization": user["auth"]}
        assert (await client.get("/api/v1/api-keys?cursor=%%%", headers=h)).status_code == 422
        r = await client.get("/api/v1/api-keys?limit=0", headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "limit"
