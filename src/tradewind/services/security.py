"""Password hashing (argon2), API-secret hashing, and login tokens (JWT)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tradewind.domain.errors import Unauthenticated

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("tradewind-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-shape check: an unknown user (``None``) costs as much as a wrong password."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_api_secret(secret: str) -> str:
    """API secrets carry 256 random bits, so one SHA-256 is enough and costs microseconds.

    (A slow password hash here would cap every key at a few requests per second.)
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_secret(secret), stored_hash)


_KEY_ALPHABET = string.ascii_lowercase + string.digits
PUBLIC_KEY_BODY = 24
SECRET_BODY = 43


def random_token(length: int) -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class KeyMaterial:
    """A freshly made key pair; the secret exists only here and in the one response."""

    public_key: str
    secret: str

    @property
    def token(self) -> str:
        """One opaque string for clients that take a single bearer token."""
        return f"tk_live_{self.public_key[3:]}{self.secret[3:]}"


def new_key_material() -> KeyMaterial:
    return KeyMaterial(
        public_key="pk_" + random_token(PUBLIC_KEY_BODY), secret="sk_" + random_token(SECRET_BODY)
    )


def split_credentials(raw: str) -> tuple[str, str] | None:
    """``pk_…:sk_…`` or ``tk_live_…`` → (public key, secret); None when it is neither."""
    if raw.startswith("pk_") and ":" in raw:
        public, _, secret = raw.partition(":")
        if secret.startswith("sk_"):
            return public, secret
        return None
    if raw.startswith("tk_live_"):
        body = raw[len("tk_live_") :]
        if len(body) == PUBLIC_KEY_BODY + SECRET_BODY:
            return "pk_" + body[:PUBLIC_KEY_BODY], "sk_" + body[PUBLIC_KEY_BODY:]
    return None


class TokenSigner:
    """Issues and checks the login JWTs (HS256)."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, now: datetime) -> str:
        claims = {
            "sub": user_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
            "typ": "access",
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str, now: datetime) -> str:
        """The user id in a valid token; Unauthenticated otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={
                    "require": ["sub", "exp", "iat"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as e:
            raise Unauthenticated("invalid token") from e
        if claims.get("typ") != "access" or int(claims["exp"]) <= int(now.timestamp()):
            raise Unauthenticated("token expired")
        return str(claims["sub"])


def load_or_create_secret(path: Path) -> str:
    """A server secret kept in a file only its owner can read, made on first start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
