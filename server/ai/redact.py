"""Secrets out of config.json before it leaves the server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"

_SECRET_KEY_RE = re.compile(
    r"(?:^|[-_])(?:api[-_]?key|key|token|secret|password|passwd|authorization|auth|cookie"
    r"|credentials?)(?:$|[-_])",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a secret.

    Names ending in ``_env`` hold the name of an environment variable, not its value, and
    stay visible: an admin needs them to know what to set.
    """
    return not key.lower().endswith("_env") and bool(_SECRET_KEY_RE.search(key))


def _without_password(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking settings and URL passwords replaced by ``***``."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_key(str(key)) and item not in (None, "") else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and "@" in value and "://" in value:
        return _without_password(value)
    return value
