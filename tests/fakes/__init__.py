"""Fakes for tests: a provider server speaking OpenAI, Anthropic and Gemini wire formats."""

from __future__ import annotations

from .provider_server import ErrorReply, FakeProviders, RecordedRequest, Replay, Reply, Script

__all__ = ["ErrorReply", "FakeProviders", "RecordedRequest", "Replay", "Reply", "Script"]
