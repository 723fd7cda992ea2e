"""Structured output: asking a model for JSON shaped like a msgspec Struct, and checking it.

Each adapter asks its API the native way (OpenAI and compatible servers: ``response_format``
with a JSON schema; Anthropic: one forced tool call whose input is the answer; Gemini:
``response_mime_type`` with the JSON schema), and hands back the raw JSON. The router decodes
it into the Struct; an answer that does not validate is a ``ProviderError`` of kind
``invalid_output`` naming the field at fault, and the router moves on to the next provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

from ._types import Completion, ProviderError, Usage

if TYPE_CHECKING:
    from ._types import ChatRequest, Output


class RawOutput(msgspec.Struct, frozen=True):
    """An adapter's structured answer before it is decoded."""

    text: str
    usage: Usage
    finish_reason: str


class Structured(msgspec.Struct, frozen=True):
    """A decoded structured answer and the completion (provider, usage, cost) behind it."""

    value: Any
    completion: Completion


@runtime_checkable
class StructuredProvider(Protocol):
    """A chat provider that can answer with JSON of a given schema."""

    name: str

    async def structured(self, request: ChatRequest, model: str, output: Output) -> RawOutput:
        """The raw JSON answer to ``request``; raises ``ProviderError`` on failure."""
        ...


def decode_output(provider: str, output: Output, raw: str) -> Any:
    """``raw`` decoded into ``output.type``; ``invalid_output`` when it does not fit."""
    try:
        return msgspec.json.decode(raw, type=output.type)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise ProviderError(
            provider,
            "invalid_output",
            f"the answer does not match the {output.name} schema: {error}",
        ) from error
