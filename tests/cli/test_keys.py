"""`tradewind master-key generate` and `tradewind master-key rotate`: the master key, and the stored
exchange credentials re-encrypted under its newest key, on a real store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from typer.testing import CliRunner

from tradewind.cli import app
from tradewind.domain.clock import SystemClock
from tradewind.services import accounts, exchange_accounts, exchanges
from tradewind.services.credentials import KEY_FILE, Credentials, MasterKeyError, Vault
from tradewind.store.db import create_engine, session_factory
from tradewind.store.tables import ExchangeAccountRow
from tradewind.venues.ccxt.clients import CheckOutcome, CredentialCheck

runner = CliRunner()

KEY_A, KEY_B, KEY_C = (Fernet.generate_key() for _ in range(3))
OKX = Credentials(
    api_key="AKIA-okx-key-1234567890", secret="okx-s3cret-value", passphrase="okx-pass-phrase"
)
BINANCE = Credentials(api_key="AKIA-binance-key-0987654321", secret="binance-s3cret-value")
SECRETS = [OKX.api_key, OKX.secret, OKX.passphrase, BINANCE.api_key, BINANCE.secret]
KEYS = [k.decode() for k in (KEY_A, KEY_B, KEY_C)]


def _env(database_url: str, data_dir: Path, master_key: str = "") -> dict[str, str]:
    return {
        "TRADEWIND_DATABASE_URL": database_url,
        "TRADEWIND_DATA_DIR": str(data_dir),
        "TRADEWIND_MASTER_KEY": master_key,
    }


def _store(database_url: str, stored: list[tuple[str, Credentials, bytes]]) -> list[str]:
    """One user with an exchange account per (exchange, credentials, key), each encrypted
    under its key the way the API stores them; their ids."""

    async def run() -> list[str]:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                user = await accounts.create_user(
                    session,
                    SystemClock(),
                    accounts.NewUser(email="owner@example.com", password="pw-long-enough"),
                )
                ids = []
                for exchange, credentials, key in stored:
                    row = await exchange_accounts.add(
                        session,
                        Vault([key]),
                        SystemClock(),
                        user.id,
                        exchanges.get(exchange),
                        credentials,
                        CredentialCheck(CheckOutcome.UNCHECKED, "not reached"),
                    )
                    ids.append(row.id)
                await session.commit()
                return ids
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tokens(database_url: str) -> dict[str, tuple[str, str, str | None]]:
    """Each stored account's ciphertexts: api key, secret, passphrase."""

    async def run() -> dict[str, tuple[str, str, str | None]]:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                rows = (await session.scalars(select(ExchangeAccountRow))).all()
                return {r.id: (r.api_key_enc, r.secret_enc, r.passphrase_enc) for r in rows}
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _decrypted(vault: Vault, tokens: tuple[str, str, str | None]) -> Credentials:
    api_key, secret, passphrase = tokens
    return Credentials(
        api_key=vault.decrypt(api_key),
        secret=vault.decrypt(secret),
        passphrase=vault.decrypt(passphrase) if passphrase else None,
    )


def _shows_nothing_secret(output: str) -> bool:
    return not any(s and s in output for s in [*SECRETS, *KEYS])


class TestGenerate:
    def test_prints_a_fresh_fernet_key_each_time(self) -> None:
        first, second = (runner.invoke(app, ["master-key", "generate"]) for _ in range(2))
        assert first.exit_code == 0 and second.exit_code == 0, first.output
        keys = [first.stdout.strip(), second.stdout.strip()]
        assert keys[0] != keys[1]
        token = Vault([keys[0].encode()]).encrypt("v")  # a valid Fernet key
        assert Vault([keys[0].encode()]).decrypt(token) == "v"


class TestRotate:
    def test_re_encrypts_every_value_under_the_first_key(
        self, database_url: str, tmp_path: Path
    ) -> None:
        okx, binance = _store(database_url, [("okx", OKX, KEY_A), ("binance", BINANCE, KEY_A)])
        before = _tokens(database_url)

        r = runner.invoke(
            app, ["master-key", "rotate"], env=_env(database_url, tmp_path, f"{KEYS[1]},{KEYS[0]}")
        )

        assert r.exit_code == 0, r.output
        assert "re-encrypted 5 stored value(s) of 2 exchange account(s)" in r.output
        assert _shows_nothing_secret(r.output)
        after = _tokens(database_url)
        for account in (okx, binance):
            assert all(
                old != new for old, new in zip(before[account], after[account], strict=True) if old
            )
        assert after[binance][2] is None  # no passphrase stays none
        only_b = Vault([KEY_B])
        assert _decrypted(only_b, after[okx]) == OKX
        assert _decrypted(only_b, after[binance]) == BINANCE
        with pytest.raises(MasterKeyError):
            Vault([KEY_A]).decrypt(after[okx][1])  # the old key no longer needed

    def test_running_it_twice_is_fine(self, database_url: str, tmp_path: Path) -> None:
        (okx,) = _store(database_url, [("okx", OKX, KEY_A)])
        env = _env(database_url, tmp_path, f"{KEYS[1]},{KEYS[0]}")

        first = runner.invoke(app, ["master-key", "rotate"], env=env)
        second = runner.invoke(app, ["master-key", "rotate"], env=env)

        assert first.exit_code == 0 and second.exit_code == 0, second.output
        assert "re-encrypted 3 stored value(s)" in second.output
        assert _decrypted(Vault([KEY_B]), _tokens(database_url)[okx]) == OKX

    def test_a_value_no_configured_key_decrypts_fails_and_changes_nothing(
        self, database_url: str, tmp_path: Path
    ) -> None:
        good, bad = _store(database_url, [("okx", OKX, KEY_A), ("binance", BINANCE, KEY_C)])
        before = _tokens(database_url)

        r = runner.invoke(
            app, ["master-key", "rotate"], env=_env(database_url, tmp_path, f"{KEYS[1]},{KEYS[0]}")
        )

        assert r.exit_code == 1
        assert "cannot be decrypted" in r.output and "nothing was changed" in r.output
        assert f"{bad}.api_key_enc" in r.output and good not in r.output
        assert _shows_nothing_secret(r.output)
        assert _tokens(database_url) == before
        assert _decrypted(Vault([KEY_A]), before[good]) == OKX

    def test_uses_the_key_file_when_the_variable_is_unset(
        self, database_url: str, tmp_path: Path
    ) -> None:
        (tmp_path / KEY_FILE).write_bytes(KEY_A + b"\n")
        (okx,) = _store(database_url, [("okx", OKX, KEY_A)])

        r = runner.invoke(app, ["master-key", "rotate"], env=_env(database_url, tmp_path))

        assert r.exit_code == 0, r.output
        assert _decrypted(Vault([KEY_A]), _tokens(database_url)[okx]) == OKX

    def test_with_no_master_key_at_all_it_refuses_and_makes_none(
        self, database_url: str, tmp_path: Path
    ) -> None:
        r = runner.invoke(app, ["master-key", "rotate"], env=_env(database_url, tmp_path))

        assert r.exit_code == 1 and "no master key" in r.output
        assert not (tmp_path / KEY_FILE).exists()

    def test_a_malformed_key_is_refused(self, database_url: str, tmp_path: Path) -> None:
        r = runner.invoke(
            app, ["master-key", "rotate"], env=_env(database_url, tmp_path, "not-a-fernet-key")
        )

        assert r.exit_code == 1 and "32 url-safe base64" in r.output
        assert "not-a-fernet-key" not in r.output
