"""Limits and memory budget of the chat, read from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

from server.settings import SettingsError


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name) or None
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class ChatSettings:
    """Defaults suit one widget per user; every value has an environment variable."""

    max_message_bytes: int = 32 * 1024
    """``CHAT_MAX_MESSAGE_BYTES``: a larger frame (or REST body) is refused as ``too_large``."""
    messages_per_minute: int = 30
    """``CHAT_MESSAGES_PER_MINUTE``: messages one user may send per minute, all sessions."""
    max_connections_per_user: int = 20
    """``CHAT_MAX_CONNECTIONS``: open WebSockets per user on one server instance."""
    idle_timeout_s: int = 300
    """``CHAT_IDLE_TIMEOUT``: a connection with no frame either way for this long is closed."""
    context_tokens: int = 6000
    """``CHAT_CONTEXT_TOKENS``: the prompt's budget in estimated tokens (a profile's
    ``max_tokens`` bounds the reply, and config.json has no context size)."""
    recent_messages: int = 20
    """``CHAT_RECENT_MESSAGES``: the recent window sent verbatim (within the budget)."""
    recall_limit: int = 4
    """``CHAT_RECALL``: older messages recalled by meaning into the prompt."""

    @classmethod
    def from_env(cls) -> ChatSettings:
        """Read every value from its environment variable, or take the default."""
        return cls(
            max_message_bytes=_int("CHAT_MAX_MESSAGE_BYTES", cls.max_message_bytes),
            messages_per_minute=_int("CHAT_MESSAGES_PER_MINUTE", cls.messages_per_minute),
            max_connections_per_user=_int("CHAT_MAX_CONNECTIONS", cls.max_connections_per_user),
            idle_timeout_s=_int("CHAT_IDLE_TIMEOUT", cls.idle_timeout_s),
            context_tokens=_int("CHAT_CONTEXT_TOKENS", cls.context_tokens, minimum=256),
            recent_messages=_int("CHAT_RECENT_MESSAGES", cls.recent_messages),
            recall_limit=_int("CHAT_RECALL", cls.recall_limit, minimum=0),
        )
