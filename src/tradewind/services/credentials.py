"""Exchange credentials at rest: the master key, encryption, and the decrypted value object.

Secrets are encrypted with Fernet (AES-128-CBC with an HMAC-SHA256 tag, random IV) under a
master key that never enters the store: ``TRADEWIND_MASTER_KEY`` or, when unset, a
``master.key`` file in the data directory made with owner-only permissions on first start.
``TRADEWIND_MASTER_KEY`` may list several keys, comma-separated (``MultiFernet``): the first
encrypts, every one decrypts, so a key is rotated by putting the new one first and running
``Vault.rotate`` over the stored values (``tradewind master-key rotate``, ``services.key_rotation``)
before the old one is dropped.

Nothing here logs, and no object holding a plaintext secret shows it in its ``repr``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tradewind.venues.ccxt.clients import Credentials

__all__ = ["Credentials", "MasterKeyError", "Vault", "load_vault", "mask"]

KEY_FILE = "master.key"


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or is not the one the stored secrets were
    encrypted with: the operator's to fix (a 500 to a client, and a refused start)."""


def mask(value: str) -> str:
    """What may be shown of an API key: its first and last four characters when it is long
    enough that eight shown still leave most of it hidden, else its last two."""
    if len(value) >= 16:
        return f"{value[:4]}…{value[-4:]}"
    if len(value) >= 8:
        return f"…{value[-2:]}"
    return "…"


class Vault:
    """Encrypts and decrypts credential values under the master key(s)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise MasterKeyError("no master key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as e:
            raise MasterKeyError(
                "a master key must be 32 url-safe base64-encoded bytes (Fernet.generate_key())"
            ) from e

    def __repr__(self) -> str:
        return "Vault(<master key hidden>)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken:
            raise MasterKeyError(
                "a stored exchange credential cannot be decrypted with the configured master "
                "key (was TRADEWIND_MASTER_KEY or master.key changed without the old key?)"
            ) from None

    def rotate(self, token: str) -> str:
        """The value re-encrypted under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise MasterKeyError("a stored exchange credential cannot be decrypted") from None


def load_vault(master_key: str | None, data_dir: Path) -> Vault:
    """The vault of ``TRADEWIND_MASTER_KEY`` (comma-separated keys, newest first), else of the
    key file in ``data_dir``, created on first start."""
    if master_key:
        return Vault([k.strip().encode() for k in master_key.split(",") if k.strip()])
    return Vault([load_or_create_key_file(data_dir / KEY_FILE)])


def load_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``; a new one, written with mode 0600, if the file does not exist.
    ``O_EXCL``: two processes starting at once cannot both write one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key() + b"\n")
    return path.read_bytes().strip()
