"""Password hashing (argon2id) and the JWT access tokens."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.security.jwt import Token

from server.access import ALGORITHM
from server.tokens import digest, new_secret

if TYPE_CHECKING:
    from uuid import UUID

__all__ = (
    "decode_access_token",
    "digest",
    "encode_access_token",
    "hash_password",
    "new_secret",
    "verify_password",
)

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, still spends the same time, then fails."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def encode_access_token(
    user_id: UUID, family_id: UUID, org_id: UUID, ttl_s: int, secret: str
) -> str:
    """A signed access token naming the user, the refresh family it was issued from and the
    organisation it works in (``org``)."""
    now = datetime.now(UTC)
    token = Token(
        sub=str(user_id),
        exp=now + timedelta(seconds=ttl_s),
        iat=now,
        jti=secrets.token_hex(8),
        extras={"fam": str(family_id), "org": str(org_id), "typ": "access"},
    )
    return token.encode(secret, ALGORITHM)


def decode_access_token(encoded: str, secret: str) -> Token:
    """Verify signature, algorithm and expiry; raises ``NotAuthorizedException`` if any fails."""
    return Token.decode(encoded, secret, ALGORITHM)
