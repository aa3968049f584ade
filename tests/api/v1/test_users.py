"""Sign-up, login, profile, and partner-managed users through the HTTP API."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Harness
from tests.helpers import PASSWORD, login_headers, new_key, new_user, register, unique_email
from tradewind.domain.accounts import Role
from tradewind.services import accounts
from tradewind.store.tables import UserRow


class TestRegister:
    async def test_creates_user_with_prefixed_id(self, client: httpx.AsyncClient) -> None:
        email = unique_email()
        r = await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "user_name": "Ada_1"},
        )
        assert r.status_code == 201
        body = r.json()
        assert body["user_id"].startswith("usr_") and len(body["user_id"]) == 30
        assert body == {"user_id": body["user_id"], "email": email, "user_name": "ada_1"}

    async def test_password_is_stored_as_argon2_hash(self, tw: Harness) -> None:
        user = await register(tw.client)
        async with tw.runtime.sessions() as s:
            row = await s.scalar(select(UserRow).where(UserRow.id == user["user_id"]))
        assert row is not None and row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash

    async def test_duplicate_email_is_409_case_insensitively(
        self, client: httpx.AsyncClient
    ) -> None:
        email = unique_email()
        await register(client, email)
        r = await client.post(
            "/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD}
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "conflict"

    async def test_duplicate_user_name_is_409(self, client: httpx.AsyncClient) -> None:
        await register(client, user_name="sameName")
        r = await client.post(
            "/api/v1/auth/register",
            json={"email": unique_email(), "password": PASSWORD, "user_name": "samename"},
        )
        assert r.status_code == 409

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"email": "not-an-email", "password": PASSWORD}, "email"),
            ({"email": "a@example.com", "password": "short"}, "password"),
            ({"email": "b@example.com", "password": "password123"}, "password"),
            ({"email": "c@example.com", "password": "aaaaaaaaaaaa"}, "password"),
            ({"password": PASSWORD}, "email"),
            ({"email": "d@example.com", "password": PASSWORD, "user_name": "x"}, "user_name"),
            ({"email": "e@example.com", "password": PASSWORD, "admin": True}, "admin"),
        ],
    )
    async def test_bad_input_is_422_naming_the_field(
        self, tw: Harness, body: dict[str, object], field: str
    ) -> None:
        r = await tw.client.post("/api/v1/auth/register", json=body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert field in {d["field"] for d in error["details"]}
        async with tw.runtime.sessions() as s:
            assert await accounts.count_users(s) == 0  # nothing changed


class TestLogin:
    async def test_returns_a_bearer_token_that_works(self, client: httpx.AsyncClient) -> None:
        user = await register(client)
        r = await client.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 3600
        me = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.status_code == 200 and me.json()["user_id"] == user["user_id"]

    async def test_wrong_password_and_unknown_email_look_the_same(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await register(client)
        wrong = await client.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": "nope-nope-nope"}
        )
        unknown = await client.post(
            "/api/v1/auth/login", json={"email": unique_email(), "password": PASSWORD}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]

    async def test_expired_login_token_is_401(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        tw.clock.advance(3601)
        r = await tw.client.get("/api/v1/me", headers={"Authorization": user["auth"]})
        assert r.status_code == 401

    async def test_forged_token_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get(
            "/api/v1/me", headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"}
        )
        assert r.status_code == 401

    async def test_repeated_failures_are_throttled(self, client: httpx.AsyncClient) -> None:
        user = await register(client)
        for _ in range(5):
            r = await client.post(
                "/api/v1/auth/login", json={"email": user["email"], "password": "wrong-wrong-1"}
            )
            assert r.status_code == 401
        r = await client.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0


class TestMe:
    async def test_missing_header_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/api/v1/me")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "missing_credentials"

    async def test_profile_fields(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        r = await client.get("/api/v1/me", headers={"Authorization": user["auth"]})
        body = r.json()
        assert body["role"] == "user" and body["plan"] == "free"
        assert body["public_profile_enabled"] is False
        assert body["created_at"].endswith("Z")

    async def test_patch_updates_profile(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        h = {"Authorization": user["auth"]}
        r = await client.patch(
            "/api/v1/me",
            json={
                "user_name": "Trader_Joe",
                "display_name": "Joe",
                "bio": "grids",
                "public_profile_enabled": True,
            },
            headers=h,
        )
        assert r.status_code == 200, r.text
        got = (await client.get("/api/v1/me", headers=h)).json()
        assert (
            got["user_name"],
            got["display_name"],
            got["bio"],
            got["public_profile_enabled"],
        ) == (
            "trader_joe",
            "Joe",
            "grids",
            True,
        )

    async def test_public_profile_needs_a_user_name(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        r = await client.patch(
            "/api/v1/me",
            json={"public_profile_enabled": True},
            headers={"Authorization": user["auth"]},
        )
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["field"] == "public_profile_enabled"

    async def test_patch_refuses_fields_that_are_not_profile(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await new_user(client)
        r = await client.patch(
            "/api/v1/me", json={"role": "partner"}, headers={"Authorization": user["auth"]}
        )
        assert r.status_code == 422
        me = await client.get("/api/v1/me", headers={"Authorization": user["auth"]})
        assert me.json()["role"] == "user"

    async def test_trade_key_cannot_change_account_settings(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await new_user(client)
        key = await new_key(client, user["auth"], "trade")
        h = {"Authorization": f"Bearer {key['api_key']}:{key['api_secret']}"}
        assert (await client.get("/api/v1/me", headers=h)).status_code == 200
        r = await client.patch("/api/v1/me", json={"bio": "x"}, headers=h)
        assert r.status_code == 403


async def make_partner(tw: Harness) -> dict[str, str]:
    email = unique_email("partner")
    async with tw.runtime.sessions() as s:
        await accounts.create_user(
            s, tw.clock, accounts.NewUser(email=email, password=PASSWORD, role=Role.PARTNER)
        )
        await s.commit()
    headers = await login_headers(tw.client, email)
    return {"email": email, "auth": headers["Authorization"]}


class TestPartnerUsers:
    async def test_partner_creates_lists_gets_and_deletes_its_users(self, tw: Harness) -> None:
        partner = await make_partner(tw)
        h = {"Authorization": partner["auth"]}
        created = []
        for _ in range(3):
            r = await tw.client.post(
                "/api/v1/users", json={"email": unique_email(), "password": PASSWORD}, headers=h
            )
            assert r.status_code == 201, r.text
            created.append(r.json()["user_id"])
        page1 = (await tw.client.get("/api/v1/users?limit=2", headers=h)).json()
        page2 = (
            await tw.client.get(f"/api/v1/users?limit=2&cursor={page1['next_cursor']}", headers=h)
        ).json()
        listed = [u["user_id"] for u in page1["data"] + page2["data"]]
        assert listed == list(reversed(created)) and page2["next_cursor"] is None
        one = await tw.client.get(f"/api/v1/users/{created[0]}", headers=h)
        assert one.json()["partner_id"] is not None
        assert (await tw.client.delete(f"/api/v1/users/{created[0]}", headers=h)).status_code == 204
        assert (await tw.client.get(f"/api/v1/users/{created[0]}", headers=h)).status_code == 404

    async def test_a_user_whose_bots_run_is_not_deleted(self, tw: Harness) -> None:
        partner = await make_partner(tw)
        h = {"Authorization": partner["auth"]}
        email = unique_email()
        r = await tw.client.post(
            "/api/v1/users", json={"email": email, "password": PASSWORD}, headers=h
        )
        uid = r.json()["user_id"]
        user = await login_headers(tw.client, email)
        await tw.move("BTC/USDT", 6400)
        bot = await tw.client.post("/api/v1/bots", headers=user, json={
            "type": "webhook", "name": "w", "settings": {"symbol": "BTC/USDT", "signalToken": "t"},
        })  # fmt: skip
        bot_id = bot.json()["bot_id"]
        assert (
            await tw.client.post(f"/api/v1/bots/{bot_id}/start", headers=user)
        ).status_code == 200
        r = await tw.client.delete(f"/api/v1/users/{uid}", headers=h)
        assert r.status_code == 409 and "bot" in r.json()["error"]["message"]
        assert (
            await tw.client.post(f"/api/v1/bots/{bot_id}/stop", headers=user)
        ).status_code == 200
        assert (await tw.client.delete(f"/api/v1/users/{uid}", headers=h)).status_code == 204

    async def test_another_partners_user_is_404(self, tw: Harness) -> None:
        a, b = await make_partner(tw), await make_partner(tw)
        r = await tw.client.post(
            "/api/v1/users",
            json={"email": unique_email(), "password": PASSWORD},
            headers={"Authorization": a["auth"]},
        )
        uid = r.json()["user_id"]
        other = {"Authorization": b["auth"]}
        assert (await tw.client.get(f"/api/v1/users/{uid}", headers=other)).status_code == 404
        assert (await tw.client.delete(f"/api/v1/users/{uid}", headers=other)).status_code == 404

    async def test_a_plain_user_cannot_manage_users(self, client: httpx.AsyncClient) -> None:
        user = await new_user(client)
        r = await client.get("/api/v1/users", headers={"Authorization": user["auth"]})
        assert r.status_code == 403
