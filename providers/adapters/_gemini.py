"""Google Gemini through google-genai: streamed generation and embeddings."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from google import genai
from google.genai import errors, types

from .._prompt import request_messages, split_system
from .._structured import RawOutput
from .._types import ProviderError, StreamEnd, TextDelta, Usage
from ._errors import from_status, from_transport
from ._vectors import unit_vectors

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from .._config import ProviderConfig
    from .._types import ChatRequest, Message, Output


def gemini_client(config: ProviderConfig, api_key: str | None) -> genai.Client:
    """An SDK client for ``config``; the SDK makes no retries unless asked to."""
    return genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(
            base_url=config.base_url,
            timeout=int(config.timeout_s * 1000),  # google-genai counts milliseconds
            headers=config.headers or None,
        ),
    )


def map_gemini_error(provider: str, exc: BaseException) -> ProviderError:
    """Translate an exception raised by google-genai (or the transport under it)."""
    if isinstance(exc, errors.APIError):
        response = exc.response
        headers = getattr(response, "headers", None)
        return from_status(
            provider,
            exc.code,
            exc.message or str(exc),
            headers=dict(headers) if headers is not None else None,
            body=exc.details if isinstance(exc.details, dict) else None,
        )
    mapped = from_transport(provider, exc)
    if mapped is not None:
        return mapped
    return ProviderError(provider, "malformed", f"{type(exc).__name__}: {exc}")


def _contents(messages: list[Message]) -> list[types.Content]:
    return [
        types.Content(
            role="model" if m.role == "assistant" else "user", parts=[types.Part(text=m.content)]
        )
        for m in messages
    ]


class GeminiChat:
    """Streams replies from Gemini's ``streamGenerateContent``."""

    def __init__(self, name: str, client: genai.Client) -> None:
        self.name = name
        self._client = client

    async def stream(
        self, request: ChatRequest, model: str
    ) -> AsyncIterator[TextDelta | StreamEnd]:
        """Stream one reply; see ``ChatProvider.stream``."""
        system, messages = split_system(request_messages(request))
        contents = _contents(messages)
        config = types.GenerateContentConfig(
            system_instruction=system,
            temperature=request.temperature,
            max_output_tokens=request.max_tokens,
        )
        chunks: asyncio.Queue[types.GenerateContentResponse | Exception | None] = asyncio.Queue()
        pump = asyncio.create_task(self._pump(model, contents, config, chunks))
        usage = Usage()
        finish_reason = "stop"
        try:
            while (chunk := await chunks.get()) is not None:
                if isinstance(chunk, Exception):
                    raise map_gemini_error(self.name, chunk) from chunk
                _raise_if_blocked(self.name, chunk)
                for candidate in chunk.candidates or ():
                    for part in candidate.content.parts or () if candidate.content else ():
                        if part.text and not part.thought:
                            yield TextDelta(text=part.text, provider=self.name)
                    if candidate.finish_reason is not None:
                        finish_reason = candidate.finish_reason.value.lower()
                meta = chunk.usage_metadata
                if meta is not None:
                    usage = Usage(
                        meta.prompt_token_count or 0,
                        (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0),
                    )
        finally:
            if not pump.done():
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
        yield StreamEnd(usage=usage, finish_reason=finish_reason)

    async def structured(self, request: ChatRequest, model: str, output: Output) -> RawOutput:
        """The answer as JSON of ``output``'s schema (``response_mime_type`` JSON with
        ``response_json_schema``, which takes a JSON schema as msgspec writes it)."""
        system, messages = split_system(request_messages(request))
        config = types.GenerateContentConfig(
            system_instruction=system,
            temperature=request.temperature,
            max_output_tokens=request.max_tokens,
            response_mime_type="application/json",
            response_json_schema=output.schema(),
        )
        try:
            response = await self._client.aio.models.generate_content(
                model=model, contents=_contents(messages), config=config
            )
        except Exception as exc:
            raise map_gemini_error(self.name, exc) from exc
        _raise_if_blocked(self.name, response)
        meta = response.usage_metadata
        usage = Usage(
            (meta.prompt_token_count or 0) if meta else 0,
            ((meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)) if meta else 0,
        )
        candidate = response.candidates[0] if response.candidates else None
        parts = candidate.content.parts if candidate and candidate.content else None
        text = "".join(p.text for p in parts or () if p.text and not p.thought)
        reason = candidate.finish_reason if candidate else None
        return RawOutput(
            text=text, usage=usage, finish_reason=reason.value.lower() if reason else "stop"
        )

    async def _pump(
        self,
        model: str,
        contents: list[types.Content],
        config: types.GenerateContentConfig,
        chunks: asyncio.Queue[types.GenerateContentResponse | Exception | None],
    ) -> None:
        """Read the SDK's stream into ``chunks`` from a task of its own.

        google-genai nests several async generators over the HTTP response and closing the
        outer one leaves the response open. Cancelling this task instead raises inside the
        innermost read, so every layer unwinds and the connection is closed. The queue is
        unbounded on purpose: the task must only ever wait inside the SDK.
        """
        try:
            stream = await self._client.aio.models.generate_content_stream(
                model=model, contents=contents, config=config
            )
            async for chunk in stream:
                chunks.put_nowait(chunk)
        except Exception as exc:  # handed to the consumer, which maps it
            chunks.put_nowait(exc)
        else:
            chunks.put_nowait(None)


def _raise_if_blocked(provider: str, chunk: types.GenerateContentResponse) -> None:
    feedback = chunk.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise ProviderError(
            provider, "bad_request", f"prompt blocked: {feedback.block_reason.value}"
        )


class GeminiEmbedder:
    """Gemini embeddings, normalised to unit length (reduced dimensions are not)."""

    max_batch = 100

    def __init__(self, provider: str, client: genai.Client, model: str, dimensions: int) -> None:
        self.provider = provider
        self.model = model
        self.dimensions = dimensions
        self._client = client

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        vectors: list[list[float]] = []
        config = types.EmbedContentConfig(output_dimensionality=self.dimensions)
        for start in range(0, len(texts), self.max_batch):
            batch = list(texts[start : start + self.max_batch])
            try:
                result = await self._client.aio.models.embed_content(
                    model=self.model,
                    contents=batch,  # type: ignore[arg-type]
                    config=config,
                )
            except Exception as exc:
                raise map_gemini_error(self.provider, exc) from exc
            values = [e.values or [] for e in result.embeddings or ()]
            if len(values) != len(batch):
                raise ProviderError(
                    self.provider, "malformed", f"{len(values)} vectors for {len(batch)} texts"
                )
            vectors.extend(unit_vectors(self.provider, values, self.dimensions))
        return vectors
