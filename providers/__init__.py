"""AI provider layer: one streaming interface over OpenAI, Anthropic, Gemini, OpenAI-compatible
endpoints and the offline `local` provider; the fallback router, profiles and prices from
config.json, and usage/cost records. A library: it never imports `server` or `tasks`."""

from __future__ import annotations

from ._citations import MARKER, QUOTED, CitationKeeper, normalise, quote_holds
from ._config import (
    LOCAL_MODEL,
    ChainStep,
    ConfigError,
    EmbeddingSettings,
    Price,
    Profile,
    ProviderConfig,
    ProvidersConfig,
    ProviderType,
    RoutingSettings,
    parse_config,
)
from ._embedding import embedding_space
from ._local import LocalChat
from ._local_draft import change_report
from ._local_reply import OFFLINE_NOTICE, compose_reply
from ._local_text import terms as content_terms
from ._minilm import MINILM_DIMENSIONS, MINILM_MODEL, MiniLMEmbedder
from ._prompt import CONTINUE_INSTRUCTION, request_messages
from ._registry import Registry, build_registry
from ._router import Router
from ._structured import RawOutput, Structured, StructuredProvider, decode_output
from ._types import (
    Answer,
    ChatProvider,
    ChatRequest,
    Completion,
    Embedder,
    ErrorKind,
    Hop,
    Intent,
    Message,
    Output,
    Passage,
    ProviderError,
    ProvidersUnavailable,
    ReplyContext,
    Role,
    StreamEnd,
    TextDelta,
    TextKeeper,
    TokenIdEmbedder,
    Usage,
)
from ._usage import cost_usd, estimate_tokens
from ._wordllama import WORDLLAMA_DIMENSIONS, WORDLLAMA_MODEL, WordLlamaEmbedder

__all__ = [
    "CONTINUE_INSTRUCTION",
    "LOCAL_MODEL",
    "MARKER",
    "MINILM_DIMENSIONS",
    "MINILM_MODEL",
    "OFFLINE_NOTICE",
    "QUOTED",
    "WORDLLAMA_DIMENSIONS",
    "WORDLLAMA_MODEL",
    "Answer",
    "ChainStep",
    "ChatProvider",
    "ChatRequest",
    "CitationKeeper",
    "Completion",
    "ConfigError",
    "Embedder",
    "EmbeddingSettings",
    "ErrorKind",
    "Hop",
    "Intent",
    "LocalChat",
    "Message",
    "MiniLMEmbedder",
    "Output",
    "Passage",
    "Price",
    "Profile",
    "ProviderConfig",
    "ProviderError",
    "ProviderType",
    "ProvidersConfig",
    "ProvidersUnavailable",
    "RawOutput",
    "Registry",
    "ReplyContext",
    "Role",
    "Router",
    "RoutingSettings",
    "StreamEnd",
    "Structured",
    "StructuredProvider",
    "TextDelta",
    "TextKeeper",
    "TokenIdEmbedder",
    "Usage",
    "WordLlamaEmbedder",
    "build_registry",
    "change_report",
    "compose_reply",
    "content_terms",
    "cost_usd",
    "decode_output",
    "embedding_space",
    "estimate_tokens",
    "normalise",
    "parse_config",
    "quote_holds",
    "request_messages",
]
