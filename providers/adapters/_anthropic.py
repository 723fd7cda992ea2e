"""Anthropic messages, streamed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import anthropic
from anthropic.types import (
    AssistantMessageParam,
    MessageParam,
    RawContentBlockDeltaEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    ToolUseBlock,
    UserMessageParam,
)
from anthropic.types import TextDelta as TextDeltaBlock

from .._prompt import request_messages, split_system
from .._structured import RawOutput
from .._types import ProviderError, StreamEnd, TextDelta, Usage
from ._errors import from_status, from_transport

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .._config import ProviderConfig
    from .._types import ChatRequest, Message, Output

DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires ``max_tokens``; used when neither the request nor the profile sets it."""


def anthropic_client(config: ProviderConfig, api_key: str | None) -> anthropic.AsyncAnthropic:
    """An SDK client for ``config``; retries are the router's job, so the SDK makes none."""
    return anthropic.AsyncAnthropic(
        api_key=api_key,
        base_url=config.base_url,
        timeout=config.timeout_s,
        max_retries=0,
        default_headers=config.headers or None,
        default_query=config.query or None,
    )


def map_anthropic_error(provider: str, exc: BaseException) -> ProviderError:
    """Translate an exception raised by the Anthropic SDK (or the transport under it)."""
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderError(provider, "timeout", "request timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderError(provider, "connection", str(exc.__cause__ or exc))
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else None
        return from_status(
            provider, exc.status_code, exc.message, headers=exc.response.headers, body=body
        )
    if isinstance(exc, anthropic.APIError):
        return ProviderError(provider, "server", exc.message)
    mapped = from_transport(provider, exc)
    if mapped is not None:
        return mapped
    return ProviderError(provider, "malformed", f"{type(exc).__name__}: {exc}")


def _message_param(message: Message) -> MessageParam:
    if message.role == "assistant":
        return AssistantMessageParam(role="assistant", content=message.content)
    return UserMessageParam(role="user", content=message.content)


class AnthropicChat:
    """Streams replies from Anthropic's messages API."""

    def __init__(self, name: str, client: anthropic.AsyncAnthropic) -> None:
        self.name = name
        self._client = client

    async def stream(
        self, request: ChatRequest, model: str
    ) -> AsyncIterator[TextDelta | StreamEnd]:
        """Stream one reply; see ``ChatProvider.stream``."""
        system, messages = split_system(request_messages(request))
        try:
            stream = await self._client.messages.create(
                model=model,
                max_tokens=request.max_tokens or DEFAULT_MAX_TOKENS,
                messages=[_message_param(m) for m in messages],
                system=system if system is not None else anthropic.omit,
                # The Messages API no longer takes a temperature; the profile's is not sent.
                stream=True,
            )
        except Exception as exc:
            raise map_anthropic_error(self.name, exc) from exc
        prompt_tokens = completion_tokens = 0
        finish_reason = "end_turn"
        try:
            async for event in stream:
                if isinstance(event, RawContentBlockDeltaEvent):
                    if isinstance(event.delta, TextDeltaBlock) and event.delta.text:
                        yield TextDelta(text=event.delta.text, provider=self.name)
                elif isinstance(event, RawMessageStartEvent):
                    prompt_tokens = event.message.usage.input_tokens
                    completion_tokens = event.message.usage.output_tokens
                elif isinstance(event, RawMessageDeltaEvent):
                    completion_tokens = event.usage.output_tokens
                    finish_reason = event.delta.stop_reason or finish_reason
        except Exception as exc:
            raise map_anthropic_error(self.name, exc) from exc
        finally:
            await stream.close()
        yield StreamEnd(usage=Usage(prompt_tokens, completion_tokens), finish_reason=finish_reason)

    async def structured(self, request: ChatRequest, model: str, output: Output) -> RawOutput:
        """The answer as JSON of ``output``'s schema: the input of one forced tool call."""
        system, messages = split_system(request_messages(request))
        try:
            message = await self._client.messages.create(
                model=model,
                max_tokens=request.max_tokens or DEFAULT_MAX_TOKENS,
                messages=[_message_param(m) for m in messages],
                system=system if system is not None else anthropic.omit,
                tools=[
                    {
                        "name": output.name,
                        "description": output.description or f"Give the {output.name}.",
                        "input_schema": output.schema(),
                    }
                ],
                tool_choice={"type": "tool", "name": output.name},
            )
        except Exception as exc:
            raise map_anthropic_error(self.name, exc) from exc
        usage = Usage(message.usage.input_tokens, message.usage.output_tokens)
        for block in message.content:
            if isinstance(block, ToolUseBlock) and block.name == output.name:
                return RawOutput(
                    text=json.dumps(block.input),
                    usage=usage,
                    finish_reason=message.stop_reason or "tool_use",
                )
        raise ProviderError(
            self.name,
            "invalid_output",
            f"the answer has no {output.name} tool call",
            usage=usage,
        )
