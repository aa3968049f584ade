"""Small helpers the API tests share."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

_counter = itertools.count()
PASSWORD = "correct-horse-battery"


def unique_email(prefix: str = "trader") -> str:
    return f"{prefix}{next(_counter)}@example.com"


async def register(
    client: httpx.AsyncClient, email: str | None = None, **extra: object
) -> dict[str, str]:
    email = email or unique_email()
    r = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, **extra}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def login_headers(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def new_user(client: httpx.AsyncClient) -> dict[str, str]:
    """Register and log in; returns the user plus ``headers`` for its login token."""
    user = await register(client)
    headers = await login_headers(client, user["email"])
    return {**user, "auth": headers["Authorization"]}


async def new_key(
    client: httpx.AsyncClient, auth: str, scope: str = "full", **extra: object
) -> dict[str, str]:
    r = await client.post(
        "/api/v1/api-keys",
        json={"name": f"{scope} key", "scope": scope, **extra},
        headers={"Authorization": auth},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def key_auth(key: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['api_key']}:{key['api_secret']}"}


def ended_within(process: Any, seconds: float) -> bool:
    """Whether a job's process has ended within ``seconds`` from now (for a cancel: counted
    from its answer; the process is signalled before the answer is sent). Its exit code is
    what says so: ``is_alive`` can read True for a moment while another thread reaps it."""
    deadline = time.monotonic() + seconds
    while True:
        process.join(timeout=0.05)
        if process.exitcode is not None:
            return True
        if time.monotonic() >= deadline:
            return False
