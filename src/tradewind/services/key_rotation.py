"""Re-encrypting the stored secrets under the newest master key (``tradewind master-key rotate``).

The encrypted columns are the exchange credentials' (``exchange_accounts``: ``api_key_enc``,
``secret_enc``, ``passphrase_enc``); nothing else in the store is encrypted with the vault.
Every value is re-encrypted before any is written: when one cannot be decrypted with the
configured keys, nothing is changed and the error names the accounts (never a value).
Re-encrypting again is harmless (a value already under the first key gets a fresh IV).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.logs import get_logger
from tradewind.services.credentials import KEY_FILE, MasterKeyError, Vault, load_vault
from tradewind.store.tables import ExchangeAccountRow

__all__ = [
    "ENCRYPTED_COLUMNS",
    "Rotated",
    "UndecryptableSecrets",
    "existing_vault",
    "rotate_secrets",
]

log = get_logger("tradewind.key_rotation")

ENCRYPTED_COLUMNS = ("api_key_enc", "secret_enc", "passphrase_enc")
"""The ``ExchangeAccountRow`` columns holding Fernet tokens (``passphrase_enc`` may be None)."""


@dataclass(frozen=True, slots=True)
class Rotated:
    accounts: int
    values: int


class UndecryptableSecrets(MasterKeyError):
    """Stored values none of the configured keys decrypts; ``where`` names them as
    ``<account id>.<column>``."""

    def __init__(self, where: list[str]) -> None:
        self.where = where
        shown = ", ".join(where[:10]) + (f" and {len(where) - 10} more" if len(where) > 10 else "")
        super().__init__(
            f"{len(where)} stored value(s) cannot be decrypted with any configured master key "
            f"({shown}); nothing was changed. Add the key they were encrypted with to "
            "TRADEWIND_MASTER_KEY (after the new one) and run this again."
        )


def existing_vault(master_key: str | None, data_dir: Path) -> Vault:
    """The vault the server loads (``load_vault``: ``TRADEWIND_MASTER_KEY``, else the key file
    in ``data_dir``), but never a new key file: a new key decrypts nothing already stored."""
    if not master_key and not (data_dir / KEY_FILE).exists():
        raise MasterKeyError(
            f"no master key: TRADEWIND_MASTER_KEY is unset and there is no {KEY_FILE} in "
            f"{data_dir.resolve()}"
        )
    return load_vault(master_key, data_dir)


async def rotate_secrets(session: AsyncSession, vault: Vault) -> Rotated:
    """Re-encrypt every stored secret under the vault's first key, in the session's
    transaction (the caller commits). UndecryptableSecrets, with nothing changed, when any
    value cannot be decrypted."""
    rows = (
        await session.scalars(
            select(ExchangeAccountRow).order_by(ExchangeAccountRow.id).with_for_update()
        )
    ).all()
    rotated: list[tuple[ExchangeAccountRow, str, str]] = []
    failed: list[str] = []
    for row in rows:
        for column in ENCRYPTED_COLUMNS:
            token: str | None = getattr(row, column)
            if token is None:
                continue
            try:
                rotated.append((row, column, vault.rotate(token)))
            except MasterKeyError:
                failed.append(f"{row.id}.{column}")
    if failed:
        raise UndecryptableSecrets(failed)
    for row, column, token in rotated:
        setattr(row, column, token)
    await session.flush()
    log.info("stored secrets re-encrypted", accounts=len(rows), values=len(rotated))
    return Rotated(accounts=len(rows), values=len(rotated))
