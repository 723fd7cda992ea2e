"""Fakes for tests: a provider server speaking OpenAI, Anthropic and Gemini wire formats."""

from __future__ import annotations

from .provider_server import (
    ErrorReply,
    FakeProviders,
    JsonReply,
    RecordedRequest,
    Replay,
    Reply,
    Script,
    StructuredCall,
)

__all__ = [
    "ErrorReply",
    "FakeProviders",
    "JsonReply",
    "RecordedRequest",
    "Replay",
    "Reply",
    "Script",
    "StructuredCall",
]
