from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradewind.domain.errors import Unauthenticated
from tradewind.services.security import (
    TokenSigner,
    load_or_create_secret,
    new_key_material,
    split_credentials,
)


def test_token_and_pair_split_to_the_same_credentials() -> None:
    m = new_key_material()
    assert split_credentials(f"{m.public_key}:{m.secret}") == (m.public_key, m.secret)
    assert split_credentials(m.token) == (m.public_key, m.secret)


@pytest.mark.parametrize("raw", ["", "pk_abc", "pk_abc:nope", "tk_live_short", "Basic xyz"])
def test_malformed_credentials_do_not_split(raw: str) -> None:
    assert split_credentials(raw) is None


def test_jwt_round_trip_and_expiry() -> None:
    signer = TokenSigner("k" * 32, ttl_seconds=60)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    token = signer.issue("usr_1", t0)
    assert signer.verify(token, t0 + timedelta(seconds=59)) == "usr_1"
    with pytest.raises(Unauthenticated):
        signer.verify(token, t0 + timedelta(seconds=60))
    with pytest.raises(Unauthenticated):
        TokenSigner("other" * 8, 60).verify(token, t0)


def test_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "jwt.key"
    first = load_or_create_secret(path)
    assert load_or_create_secret(path) == first and len(first) > 40
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
