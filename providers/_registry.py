"""Building the chat providers and embedders config.json names, from config and environment."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._local import LocalChat
from ._minilm import MINILM_DIMENSIONS, MINILM_MODEL, MiniLMEmbedder
from ._types import ProviderError
from ._wordllama import WORDLLAMA_DIMENSIONS, WORDLLAMA_MODEL, WordLlamaEmbedder
from .adapters import (
    AnthropicChat,
    GeminiChat,
    GeminiEmbedder,
    OpenAIChat,
    OpenAIEmbedder,
    anthropic_client,
    gemini_client,
    openai_client,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._config import EmbeddingSettings, ProviderConfig, ProvidersConfig
    from ._types import ChatProvider, Embedder


LOCAL_EMBEDDERS: dict[str, tuple[int, Callable[[], Embedder]]] = {
    WORDLLAMA_MODEL: (WORDLLAMA_DIMENSIONS, WordLlamaEmbedder),
    MINILM_MODEL: (MINILM_DIMENSIONS, MiniLMEmbedder),
}
"""The offline embedders by model name: their dimensions and how to make one."""


class Registry:
    """The providers that can be called now, and the ones skipped with the reason why."""

    def __init__(
        self,
        config: ProvidersConfig,
        chat: dict[str, ChatProvider],
        skipped: dict[str, str],
        clients: dict[str, Any],
    ) -> None:
        self.config = config
        self.chat: Mapping[str, ChatProvider] = chat
        """Callable chat providers by name; ``local`` is always here."""
        self.skipped: Mapping[str, str] = skipped
        """Providers left out, by name, with the reason (``API key OPENAI_API_KEY not set``)."""
        self._clients = clients

    def embedder(self, settings: EmbeddingSettings | None = None) -> Embedder:
        """The embedder for ``settings`` (default: config.json's ``embeddings``).

        Raises ``ProviderError(kind="not_configured")`` when its provider was skipped, and
        ``ConfigError`` when it names no known provider.
        """
        settings = settings or self.config.embeddings
        kind = self.config.provider_type(settings.provider)
        if kind == "local":
            known = LOCAL_EMBEDDERS.get(settings.model)
            if known is None or known[0] != settings.dimensions:
                offered = ", ".join(f"{m} ({d})" for m, (d, _) in LOCAL_EMBEDDERS.items())
                raise ProviderError(
                    "local",
                    "not_configured",
                    f"the local embedders are {offered}, "
                    f"not {settings.model} with {settings.dimensions} dimensions",
                )
            return known[1]()
        client = self._clients.get(settings.provider)
        if client is None:
            reason = self.skipped.get(settings.provider, "not available")
            raise ProviderError(settings.provider, "not_configured", reason)
        if kind == "gemini":
            return GeminiEmbedder(settings.provider, client, settings.model, settings.dimensions)
        if kind in {"openai", "openai_compatible"}:
            return OpenAIEmbedder(
                settings.provider,
                client,
                settings.model,
                settings.dimensions,
                # Only OpenAI's own text-embedding-3 models accept a dimensions parameter.
                send_dimensions=kind == "openai" and "embedding-3" in settings.model,
            )
        raise ProviderError(settings.provider, "not_configured", f"{kind} has no embeddings")

    async def aclose(self) -> None:
        """Close the SDK clients' connection pools."""
        for client in self._clients.values():
            aio = getattr(client, "aio", None)
            await (aio.aclose() if aio is not None else client.close())


def build_registry(config: ProvidersConfig, environ: Mapping[str, str] | None = None) -> Registry:
    """Build every provider config.json names whose API key is set in ``environ``.

    ``environ`` defaults to ``os.environ``. A provider without ``api_key_env`` needs no key.
    """
    env = os.environ if environ is None else environ
    chat: dict[str, ChatProvider] = {"local": LocalChat()}
    skipped: dict[str, str] = {}
    clients: dict[str, Any] = {}
    for name, provider in config.providers.items():
        if provider.type == "local":
            continue
        api_key: str | None = None
        if provider.api_key_env:
            api_key = env.get(provider.api_key_env) or None
            if api_key is None:
                skipped[name] = f"API key {provider.api_key_env} not set"
                continue
        clients[name] = client = _client(provider, api_key)
        chat[name] = _chat(name, provider, client)
    return Registry(config, chat, skipped, clients)


def _client(provider: ProviderConfig, api_key: str | None) -> Any:
    if provider.type == "anthropic":
        return anthropic_client(provider, api_key)
    if provider.type == "gemini":
        return gemini_client(provider, api_key)
    return openai_client(provider, api_key)


def _chat(name: str, provider: ProviderConfig, client: Any) -> ChatProvider:
    if provider.type == "anthropic":
        return AnthropicChat(name, client)
    if provider.type == "gemini":
        return GeminiChat(name, client)
    return OpenAIChat(name, client, compatible=provider.type == "openai_compatible")
