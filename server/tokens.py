"""Random secrets handed to a client once and stored only as their SHA-256 digest (refresh
tokens, invitation tokens)."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ("digest", "new_secret")


def new_secret() -> tuple[str, str]:
    """A fresh random token for a client and the SHA-256 hex digest we store instead of it."""
    raw = secrets.token_urlsafe(32)
    return raw, digest(raw)


def digest(raw: str) -> str:
    """SHA-256 hex digest; enough for high-entropy random tokens."""
    return hashlib.sha256(raw.encode()).hexdigest()
