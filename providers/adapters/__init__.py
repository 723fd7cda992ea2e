"""One adapter per SDK: OpenAI (and compatible endpoints), Anthropic, Gemini.

Named so that no module shadows the SDK packages it wraps.
"""

from __future__ import annotations

from ._anthropic import AnthropicChat, anthropic_client, map_anthropic_error
from ._errors import kind_for_status, retry_after
from ._gemini import GeminiChat, GeminiEmbedder, gemini_client, map_gemini_error
from ._openai import OpenAIChat, OpenAIEmbedder, map_openai_error, openai_client

__all__ = [
    "AnthropicChat",
    "GeminiChat",
    "GeminiEmbedder",
    "OpenAIChat",
    "OpenAIEmbedder",
    "anthropic_client",
    "gemini_client",
    "kind_for_status",
    "map_anthropic_error",
    "map_gemini_error",
    "map_openai_error",
    "openai_client",
    "retry_after",
]
