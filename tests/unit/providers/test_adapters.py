"""The real SDKs, through our adapters, against the fake server and verbatim provider streams."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from providers import (
    ChatRequest,
    EmbeddingSettings,
    Message,
    ProviderError,
    StreamEnd,
    TextDelta,
    embedding_space,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fakes import FakeProviders

REQUEST = ChatRequest(
    messages=(Message("system", "Be brief."), Message("user", "What is the capital of Wyoming?")),
    temperature=0.2,
    max_tokens=64,
)
MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-6", "gemini": "gemini-2.0-flash"}


async def collect(
    registry: Any, name: str, request: ChatRequest = REQUEST
) -> tuple[str, StreamEnd]:
    text, end = [], None
    async for event in registry.chat[name].stream(request, MODELS.get(name, "llama3")):
        if isinstance(event, TextDelta):
            text.append(event.text)
        else:
            end = event
    assert end is not None
    return "".join(text), end


async def drain(stream: Any, seen: list[str]) -> None:
    async for event in stream:
        if isinstance(event, TextDelta):
            seen.append(event.text)  # noqa: PERF401 - kept as each arrives, before the failure


async def failure(registry: Any, name: str) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await collect(registry, name)
    return caught.value


@pytest.fixture
def registry(registry_for: Any) -> Any:
    return registry_for([{"provider": "local"}])[1]


async def test_anthropic_verbatim_stream(
    registry: Any, fake_providers: FakeProviders, wire: Path
) -> None:
    fake_providers.anthropic.queue_replay(wire / "anthropic_messages_stream_basic.sse")
    text, end = await collect(registry, "anthropic")
    assert text == "Hello there!"
    assert end.usage.prompt_tokens == 11
    assert end.usage.completion_tokens == 6
    assert end.finish_reason == "end_turn"
    sent = fake_providers.anthropic.requests[-1]
    assert sent.json["system"] == "Be brief."
    assert [m["role"] for m in sent.json["messages"]] == ["user"]
    assert sent.json["max_tokens"] == 64
    assert "ak-test" in (sent.headers.get("x-api-key", "") + sent.headers.get("authorization", ""))


async def test_gemini_verbatim_crlf_stream(
    registry: Any, fake_providers: FakeProviders, wire: Path
) -> None:
    fake_providers.gemini.queue_replay(wire / "gemini_stream_basic.sse")
    text, end = await collect(registry, "gemini")
    assert text == "The capital of Wyoming is **Cheyenne**.\n"
    assert (end.usage.prompt_tokens, end.usage.completion_tokens) == (7, 10)
    assert end.finish_reason == "stop"
    sent = fake_providers.gemini.requests[-1]
    assert sent.json["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert sent.json["generationConfig"]["maxOutputTokens"] == 64
    assert sent.query["alt"] == ["sse"]


async def test_openai_verbatim_stream_with_usage(
    registry: Any, fake_providers: FakeProviders, wire: Path
) -> None:
    fake_providers.openai.queue_replay(wire / "openai_chat_stream_text.sse")
    text, end = await collect(registry, "openai")
    assert text.startswith("I'm unable to provide")
    assert (end.usage.prompt_tokens, end.usage.completion_tokens) == (14, 30)
    sent = fake_providers.openai.requests[-1].json
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["max_completion_tokens"] == 64
    assert "max_tokens" not in sent


async def test_openai_finish_length(
    registry: Any, fake_providers: FakeProviders, wire: Path
) -> None:
    fake_providers.openai.queue_replay(wire / "openai_chat_stream_finish_length.sse")
    _, end = await collect(registry, "openai")
    assert end.finish_reason == "length"


async def test_compatible_endpoint_without_key_or_usage(
    registry: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.endpoint("ollama").queue_stream("one two three")
    text, end = await collect(registry, "ollama")
    sent = fake_providers.endpoint("ollama").requests[-1].json
    assert text == "one two three"
    assert sent["max_tokens"] == 64
    assert end.usage.completion_tokens == 3


async def test_gemini_error_mid_stream(
    registry: Any, fake_providers: FakeProviders, wire: Path
) -> None:
    fake_providers.gemini.queue_replay(wire / "gemini_stream_error_mid_stream.sse")
    seen: list[str] = []
    with pytest.raises(ProviderError) as caught:
        await drain(registry.chat["gemini"].stream(REQUEST, "gemini-2.0-flash"), seen)
    assert seen == ["First ", "Second "]
    assert caught.value.kind == "server"
    assert caught.value.retryable


async def test_gemini_prompt_blocked(
    registry: Any, fake_providers: FakeProviders, wire: Path
) -> None:
    fake_providers.gemini.queue_replay(wire / "gemini_stream_prompt_blocked.sse")
    error = await failure(registry, "gemini")
    assert error.kind == "bad_request"
    assert "SAFETY" in error.message


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [
        ("openai", 429, "rate_limited"),
        ("openai", 500, "server"),
        ("openai", 401, "auth"),
        ("anthropic", 529, "overloaded"),
        ("anthropic", 500, "server"),
        ("anthropic", 429, "rate_limited"),
        ("gemini", 500, "server"),
        ("gemini", 503, "overloaded"),
        ("gemini", 400, "bad_request"),
    ],
)
async def test_http_errors(
    registry: Any, fake_providers: FakeProviders, name: str, status: int, kind: str
) -> None:
    getattr(fake_providers, name).queue_error(status, retry_after=3)
    error = await failure(registry, name)
    assert (error.kind, error.status) == (kind, status)
    assert error.retry_after == 3


async def test_gemini_verbatim_quota_body(
    registry: Any, fake_providers: FakeProviders, wire: Path
) -> None:
    body = json.loads((wire / "gemini_error_429_vertex_quota.json").read_text())
    fake_providers.gemini.queue_error(429, body=body)
    error = await failure(registry, "gemini")
    assert error.kind == "rate_limited"
    assert "Quota exceeded" in error.message


async def test_gemini_retry_info_delay(registry: Any, fake_providers: FakeProviders) -> None:
    body = {
        "error": {
            "code": 429,
            "message": "quota",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "53s"}],
        }
    }
    fake_providers.gemini.queue_error(429, body=body)
    assert (await failure(registry, "gemini")).retry_after == 53


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"drop_after": 2}, "connection"),
        ({"malformed_after": 2}, "malformed"),
        ({"error_after": 2}, "overloaded"),
    ],
)
@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
async def test_mid_stream_faults(
    registry: Any, fake_providers: FakeProviders, name: str, fault: dict, kind: str
) -> None:
    if name == "openai" and "error_after" in fault:
        kind = (
            "server"  # OpenAI's in-stream errors carry no status; the fake's type is server_error
        )
    getattr(fake_providers, name).queue_stream("alpha beta gamma delta", **fault)
    seen: list[str] = []
    with pytest.raises(ProviderError) as caught:
        await drain(registry.chat[name].stream(REQUEST, MODELS[name]), seen)
    assert "".join(seen) == "alpha beta "
    assert caught.value.kind == kind


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
async def test_slow_first_byte_times_out(
    registry_for: Any, fake_providers: FakeProviders, name: str
) -> None:
    registry = registry_for([{"provider": "local"}], timeout_s=0.2)[1]
    getattr(fake_providers, name).queue_stream("late", first_byte_delay=1.0)
    assert (await failure(registry, name)).kind == "timeout"


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
async def test_closing_the_stream_closes_the_upstream_request(
    registry: Any, fake_providers: FakeProviders, name: str
) -> None:
    script = getattr(fake_providers, name)
    script.queue_stream(" ".join(["word"] * 400), chunk_delay=0.005)
    stream = registry.chat[name].stream(REQUEST, MODELS[name])
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()
    request = script.requests[-1]
    assert script.wait_settled(request)
    assert request.disconnected
    assert not request.completed


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "text-embedding-3-small"),
        ("gemini", "gemini-embedding-001"),
        ("ollama", "nomic-embed-text"),
    ],
)
async def test_remote_embedders(
    registry: Any, fake_providers: FakeProviders, provider: str, model: str
) -> None:
    dims = 8 if provider == "ollama" else 16
    embedder = registry.embedder(EmbeddingSettings(provider=provider, model=model, dimensions=dims))
    vectors = await embedder.embed(["alpha", "beta", "gamma"])
    assert embedding_space(embedder) == f"{provider}/{model}/{dims}"
    assert [len(v) for v in vectors] == [dims] * 3
    assert all(abs(sum(x * x for x in v) - 1) < 1e-6 for v in vectors)


async def test_embedder_refuses_vectors_of_the_wrong_size(registry: Any) -> None:
    embedder = registry.embedder(EmbeddingSettings(provider="ollama", model="m", dimensions=32))
    with pytest.raises(ProviderError, match="expected 32-dimensional vectors, got 8"):
        await embedder.embed(["alpha"])


async def test_embedding_errors_are_mapped(registry: Any, fake_providers: FakeProviders) -> None:
    fake_providers.openai.queue_embed_error(429, retry_after=2)
    embedder = registry.embedder(
        EmbeddingSettings(provider="openai", model="text-embedding-3-small", dimensions=8)
    )
    with pytest.raises(ProviderError) as caught:
        await embedder.embed(["alpha"])
    assert (caught.value.kind, caught.value.retry_after) == ("rate_limited", 2)
