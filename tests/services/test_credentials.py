"""The master key, encryption at rest and the decrypted credentials' manners."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tradewind.services.credentials import (
    KEY_FILE,
    Credentials,
    MasterKeyError,
    Vault,
    load_vault,
    mask,
)


class TestVault:
    def test_round_trip_and_the_ciphertext_shows_nothing(self) -> None:
        vault = Vault([Fernet.generate_key()])
        token = vault.encrypt("s3cret-value")
        assert "s3cret" not in token and vault.decrypt(token) == "s3cret-value"
        assert vault.encrypt("s3cret-value") != token  # a fresh IV each time

    def test_another_key_cannot_decrypt(self) -> None:
        token = Vault([Fernet.generate_key()]).encrypt("s3cret-value")
        with pytest.raises(MasterKeyError, match="cannot be decrypted"):
            Vault([Fernet.generate_key()]).decrypt(token)

    def test_a_malformed_key_is_refused(self) -> None:
        with pytest.raises(MasterKeyError, match="32 url-safe base64"):
            Vault([b"not-a-fernet-key"])

    def test_rotation_new_key_first_old_still_decrypts(self) -> None:
        old, new = Fernet.generate_key(), Fernet.generate_key()
        token = Vault([old]).encrypt("s3cret-value")
        both = load_vault(f"{new.decode()},{old.decode()}", Path("/nonexistent"))
        assert both.decrypt(token) == "s3cret-value"
        rotated = both.rotate(token)
        assert Vault([new]).decrypt(rotated) == "s3cret-value"
        with pytest.raises(MasterKeyError):
            Vault([old]).decrypt(rotated)

    def test_repr_hides_the_key(self) -> None:
        key = Fernet.generate_key()
        assert key.decode() not in repr(Vault([key]))


class TestKeyFile:
    def test_made_owner_only_on_first_start_and_reused(self, tmp_path: Path) -> None:
        first = load_vault(None, tmp_path / "data")
        path = tmp_path / "data" / KEY_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        token = first.encrypt("s3cret-value")
        key = path.read_bytes()

        second = load_vault(None, tmp_path / "data")

        assert path.read_bytes() == key and second.decrypt(token) == "s3cret-value"

    def test_the_environment_key_wins_and_no_file_is_made(self, tmp_path: Path) -> None:
        key = Fernet.generate_key()
        token = load_vault(key.decode(), tmp_path).encrypt("v")
        assert Vault([key]).decrypt(token) == "v"
        assert not (tmp_path / KEY_FILE).exists()


class TestCredentials:
    def test_repr_shows_no_credential(self) -> None:
        c = Credentials(
            api_key="AKIA-visible-key-123", secret="s3cret-value", passphrase="pass-phrase"
        )
        for value in ("AKIA-visible-key-123", "s3cret-value", "pass-phrase"):
            assert value not in repr(c) and value not in str(c)
        assert "testnet=False" in repr(c)

    @pytest.mark.parametrize(
        ("key", "shown"),
        [("abcdefgh12345678wxyz", "abcd…wxyz"), ("abcdefghij", "…ij"), ("abc", "…")],
    )
    def test_mask(self, key: str, shown: str) -> None:
        assert mask(key) == shown
