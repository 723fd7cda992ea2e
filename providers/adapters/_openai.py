"""OpenAI chat completions and embeddings, also for any OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)

from .._prompt import request_messages
from .._structured import RawOutput
from .._types import ProviderError, StreamEnd, TextDelta, Usage
from .._usage import estimate_prompt_tokens, estimate_tokens
from ._errors import from_status, from_transport
from ._vectors import unit_vectors

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from .._config import ProviderConfig
    from .._types import ChatRequest, Message, Output


def openai_client(config: ProviderConfig, api_key: str | None) -> openai.AsyncOpenAI:
    """An SDK client for ``config``; retries are the router's job, so the SDK makes none."""
    return openai.AsyncOpenAI(
        # Keyless endpoints (Ollama, vLLM) still need a non-empty key for the SDK.
        api_key=api_key or "unused",
        base_url=config.base_url,
        timeout=config.timeout_s,
        max_retries=0,
        default_headers=config.headers or None,
        default_query=config.query or None,
    )


def map_openai_error(provider: str, exc: BaseException) -> ProviderError:
    """Translate an exception raised by the OpenAI SDK (or the transport under it)."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(provider, "timeout", "request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(provider, "connection", str(exc.__cause__ or exc))
    if isinstance(exc, openai.APIStatusError):
        return from_status(
            provider,
            exc.status_code,
            exc.message,
            headers=exc.response.headers,
            body=exc.body if isinstance(exc.body, dict) else None,
        )
    if isinstance(exc, openai.APIError):
        # An error event inside a 200 stream carries the error object but no status.
        body = exc.body if isinstance(exc.body, dict) else {}
        kind_hint = " ".join(str(body.get(k, "")) for k in ("type", "code")).lower()
        if "overloaded" in kind_hint:
            return ProviderError(provider, "overloaded", exc.message)
        if "rate_limit" in kind_hint:
            return ProviderError(provider, "rate_limited", exc.message)
        return ProviderError(provider, "server", exc.message)
    mapped = from_transport(provider, exc)
    if mapped is not None:
        return mapped
    return ProviderError(provider, "malformed", f"{type(exc).__name__}: {exc}")


def _message_param(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return ChatCompletionSystemMessageParam(role="system", content=message.content)
    if message.role == "assistant":
        return ChatCompletionAssistantMessageParam(role="assistant", content=message.content)
    return ChatCompletionUserMessageParam(role="user", content=message.content)


class OpenAIChat:
    """Streams chat completions from OpenAI or an OpenAI-compatible server."""

    def __init__(self, name: str, client: openai.AsyncOpenAI, *, compatible: bool) -> None:
        self.name = name
        self._client = client
        self._compatible = compatible

    async def stream(
        self, request: ChatRequest, model: str
    ) -> AsyncIterator[TextDelta | StreamEnd]:
        """Stream one completion; see ``ChatProvider.stream``."""
        messages = request_messages(request)
        max_tokens = request.max_tokens if request.max_tokens is not None else openai.omit
        try:
            stream = await self._client.chat.completions.create(
                model=model,
                messages=[_message_param(m) for m in messages],
                stream=True,
                stream_options={"include_usage": True},
                temperature=request.temperature if request.temperature is not None else openai.omit,
                # OpenAI's reasoning models refuse max_tokens; most compatible servers only know it.
                max_tokens=max_tokens if self._compatible else openai.omit,
                max_completion_tokens=openai.omit if self._compatible else max_tokens,
            )
        except Exception as exc:
            raise map_openai_error(self.name, exc) from exc
        usage: Usage | None = None
        finish_reason = "stop"
        streamed: list[str] = []
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    text = choice.delta.content or choice.delta.refusal
                    if text:
                        streamed.append(text)
                        yield TextDelta(text=text, provider=self.name)
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        except Exception as exc:
            raise map_openai_error(self.name, exc) from exc
        finally:
            await stream.close()
        if usage is None:
            # Some compatible servers ignore stream_options; estimate rather than bill nothing.
            usage = Usage(estimate_prompt_tokens(messages), estimate_tokens("".join(streamed)))
        yield StreamEnd(usage=usage, finish_reason=finish_reason)

    async def structured(self, request: ChatRequest, model: str, output: Output) -> RawOutput:
        """The answer as JSON of ``output``'s schema, through ``response_format``."""
        messages = request_messages(request)
        max_tokens = request.max_tokens if request.max_tokens is not None else openai.omit
        try:
            completion = await self._client.chat.completions.create(
                model=model,
                messages=[_message_param(m) for m in messages],
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": output.name,
                        "description": output.description,
                        "schema": output.schema(),
                        "strict": True,
                    },
                },
                temperature=request.temperature if request.temperature is not None else openai.omit,
                max_tokens=max_tokens if self._compatible else openai.omit,
                max_completion_tokens=openai.omit if self._compatible else max_tokens,
            )
        except Exception as exc:
            raise map_openai_error(self.name, exc) from exc
        if not completion.choices:
            raise ProviderError(self.name, "malformed", "the answer has no choices")
        choice = completion.choices[0]
        if choice.message.refusal:
            raise ProviderError(self.name, "invalid_output", f"refused: {choice.message.refusal}")
        text = choice.message.content or ""
        if completion.usage is not None:
            usage = Usage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        else:
            usage = Usage(estimate_prompt_tokens(messages), estimate_tokens(text))
        return RawOutput(text=text, usage=usage, finish_reason=choice.finish_reason or "stop")


class OpenAIEmbedder:
    """Embeddings from OpenAI or an OpenAI-compatible server, normalised to unit length."""

    max_batch = 512

    def __init__(
        self,
        provider: str,
        client: openai.AsyncOpenAI,
        model: str,
        dimensions: int,
        *,
        send_dimensions: bool,
    ) -> None:
        self.provider = provider
        self.model = model
        self.dimensions = dimensions
        self._client = client
        self._send_dimensions = send_dimensions

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.max_batch):
            batch = list(texts[start : start + self.max_batch])
            extra: dict[str, Any] = {"dimensions": self.dimensions} if self._send_dimensions else {}
            try:
                result = await self._client.embeddings.create(
                    model=self.model, input=batch, encoding_format="float", **extra
                )
            except Exception as exc:
                raise map_openai_error(self.provider, exc) from exc
            ordered = sorted(result.data, key=lambda item: item.index)
            vectors.extend(
                unit_vectors(self.provider, [d.embedding for d in ordered], self.dimensions)
            )
        return vectors
