"""Re-encrypting the stored secrets: the vault it loads and how a refusal reads (the rotation
itself runs on a real store in tests/cli/test_keys.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tradewind.services.credentials import KEY_FILE, MasterKeyError
from tradewind.services.key_rotation import UndecryptableSecrets, existing_vault


class TestExistingVault:
    def test_the_variable_first_newest_key_encrypts(self, tmp_path: Path) -> None:
        new, old = Fernet.generate_key(), Fernet.generate_key()
        vault = existing_vault(f"{new.decode()}, {old.decode()}", tmp_path)
        token = vault.rotate(Fernet(old).encrypt(b"v").decode())
        assert Fernet(new).decrypt(token.encode()) == b"v"
        assert not (tmp_path / KEY_FILE).exists()

    def test_the_key_file_when_the_variable_is_unset(self, tmp_path: Path) -> None:
        key = Fernet.generate_key()
        (tmp_path / KEY_FILE).write_bytes(key + b"\n")
        assert existing_vault(None, tmp_path).decrypt(Fernet(key).encrypt(b"v").decode()) == "v"

    def test_no_key_at_all_is_refused_and_no_file_is_made(self, tmp_path: Path) -> None:
        with pytest.raises(MasterKeyError, match="no master key"):
            existing_vault("", tmp_path)
        assert not (tmp_path / KEY_FILE).exists()


def test_a_refusal_names_where_not_what() -> None:
    where = [f"xa_{i}.secret_enc" for i in range(12)]
    error = UndecryptableSecrets(where)
    assert isinstance(error, MasterKeyError) and error.where == where
    assert str(error).startswith("12 stored value(s) cannot be decrypted")
    assert "xa_9.secret_enc" in str(error) and "xa_10" not in str(error)
    assert "and 2 more" in str(error) and "nothing was changed" in str(error)
