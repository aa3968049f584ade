"""The `tradewind` command, in-process for the admin commands and as a real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from tradewind.cli import app
from tradewind.store.migrate import alembic_config

runner = CliRunner()


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {"TRADEWIND_DATABASE_URL": database_url, "TRADEWIND_DATA_DIR": str(data_dir)}


class TestAdminCommands:
    def test_db_upgrade(self, database_url: str, tmp_path: Path) -> None:
        r = runner.invoke(app, ["db", "upgrade"], env=_env(database_url, tmp_path))
        assert r.exit_code == 0, r.output
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert r.output.strip() == f"schema at revision {head}"

    def test_users_and_keys_create(self, database_url: str, tmp_path: Path) -> None:
        env = _env(database_url, tmp_path)
        r = runner.invoke(
            app,
            [
                "users",
                "create",
                "--email",
                "P@Example.com",
                "--password",
                "pw-long-enough",
                "--partner",
            ],
            env=env,
        )
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["role"] == "partner"
        r = runner.invoke(
            app, ["keys", "create", "--email", "p@example.com", "--scope", "read"], env=env
        )
        assert r.exit_code == 0, r.output
        key = json.loads(r.stdout)
        assert (
            key["api_key"].startswith("pk_")
            and key["api_secret"].startswith("sk_")
            and key["scope"] == "read"
        )

    def test_refusals_exit_non_zero_with_a_message(self, database_url: str, tmp_path: Path) -> None:
        env = _env(database_url, tmp_path)
        r = runner.invoke(
            app, ["users", "create", "--email", "w@example.com", "--password", "short"], env=env
        )
        assert r.exit_code == 1 and "too weak" in r.output
        r = runner.invoke(app, ["keys", "create", "--email", "nobody@example.com"], env=env)
        assert r.exit_code == 1 and "no user" in r.output

    def test_openapi_prints_the_document(self) -> None:
        r = runner.invoke(app, ["openapi"])
        assert r.exit_code == 0
        paths = json.loads(r.stdout)["paths"]
        assert "/api/v1/api-keys" in paths
        assert paths["/readyz"]["get"]["x-internal"] is True  # every route, internal ones marked
        assert "x-internal" not in paths["/api/v1/api-keys"]["get"]

    def test_openapi_public_prints_the_public_reference(self) -> None:
        from openapi_spec_validator import validate

        r = runner.invoke(app, ["openapi", "--public"])

        assert r.exit_code == 0, r.output
        document = json.loads(r.stdout)
        validate(document)
        assert {"/api/v1/bots", "/compat/tradyn/v1/api/orders", "/compat/anny/v1/signal"} <= set(
            document["paths"]
        )
        assert not {"/healthz", "/readyz"} & set(document["paths"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradewind",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("server did not become ready")


def test_two_servers_side_by_side_on_their_own_data(tmp_path: Path) -> None:
    ports = [_free_port(), _free_port()]
    dirs = [tmp_path / "one", tmp_path / "two"]
    procs = [_start(d, p) for d, p in zip(dirs, ports, strict=True)]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait_ready(port, proc)
        body = {"email": "same@example.com", "password": "pw-long-enough"}
        for port in ports:  # the same email registers on both: they share nothing
            assert (
                httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/register", json=body).status_code
                == 201
            )
        for d in dirs:
            assert (d / "tradewind.db").exists() and (d / "jwt.key").exists()
    finally:
        for proc in procs:
            proc.terminate()
        output = [proc.communicate(timeout=10)[0] for proc in procs]
    assert "/docs" in output[0]  # it says where the docs are
    assert "pw-long-enough" not in "".join(output)  # no secrets in logs
