"""Every fallback rule, against the real SDKs and the fake server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from providers import (
    CONTINUE_INSTRUCTION,
    ChatRequest,
    Completion,
    Message,
    ProvidersUnavailable,
    ReplyContext,
    Router,
    TextDelta,
)

if TYPE_CHECKING:
    from tests.fakes import FakeProviders

REQUEST = ChatRequest(messages=(Message("user", "Tell me about the market."),))
CHAIN = [
    {"provider": "openai", "model": "gpt-4o"},
    {"provider": "anthropic", "model": "claude-sonnet-4-6"},
    {"provider": "local"},
]
PRICES = {"prices": {"gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0}}}


async def run(router: Any, request: ChatRequest = REQUEST) -> tuple[str, Completion]:
    text, done = [], None
    async for event in router.stream(request):
        if isinstance(event, TextDelta):
            text.append(event.text)
        else:
            done = event
    assert done is not None
    return "".join(text), done


async def test_first_provider_answers_with_usage_and_cost(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_stream(
        "The market is large.", prompt_tokens=1000, completion_tokens=4000
    )
    text, done = await run(router_for(CHAIN, **PRICES))
    assert text == "The market is large."
    assert (done.provider, done.model, done.finish_reason) == ("openai", "gpt-4o", "stop")
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (1000, 4000)
    assert done.cost_usd == pytest.approx(0.0025 + 0.04)
    assert [h.provider for h in done.hops] == ["openai"]
    sent = fake_providers.openai.requests[-1].json
    assert (sent["temperature"], sent["max_completion_tokens"]) == (0.3, 256)


async def test_request_parameters_win_over_the_profile(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    await run(
        router_for(CHAIN), ChatRequest(messages=REQUEST.messages, temperature=0.9, max_tokens=10)
    )
    sent = fake_providers.openai.requests[-1].json
    assert (sent["temperature"], sent["max_completion_tokens"]) == (0.9, 10)


async def test_unset_key_is_skipped(registry_for: Any, fake_providers: FakeProviders) -> None:
    config, registry = registry_for(CHAIN, env={"ANTHROPIC_API_KEY": "k"})
    assert registry.skipped["openai"] == "API key OPENAI_API_KEY not set"
    assert "ollama" in registry.chat  # no api_key_env: no key needed
    _, done = await run(Router(config, registry))
    assert done.provider == "anthropic"
    assert fake_providers.openai.requests == []


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"status": 429}, "rate_limited"),
        ({"status": 500}, "server"),
        ({"status": 529}, "overloaded"),
    ],
)
async def test_falls_back_before_first_token(
    router_for: Any, fake_providers: FakeProviders, clock: Any, fault: dict, kind: str
) -> None:
    fake_providers.openai.queue_error(fault["status"]).queue_error(fault["status"])
    fake_providers.anthropic.queue_stream("Anthropic answers.")
    text, done = await run(router_for(CHAIN))
    assert text == "Anthropic answers."
    assert done.provider == "anthropic"
    first = done.hops[0]
    assert (first.ok, first.error_kind, first.attempts) == (False, kind, 2)
    assert len(clock.slept) == 1  # one backoff between the two attempts


async def test_timeout_and_connection_errors_fall_back(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_stream("late", first_byte_delay=1.0).queue_stream(
        "late", first_byte_delay=1.0
    )
    fake_providers.anthropic.queue_stream("x", drop_after=0).queue_stream("x", drop_after=0)
    text, done = await run(router_for(CHAIN, timeout_s=0.2))
    assert [h.error_kind for h in done.hops[:2]] == ["timeout", "connection"]
    assert done.provider == "local"
    assert "Offline provider" in text


async def test_retry_inside_a_provider_honours_retry_after(
    router_for: Any, fake_providers: FakeProviders, clock: Any
) -> None:
    fake_providers.openai.queue_error(429, retry_after=0.04).queue_stream("second try")
    text, done = await run(router_for(CHAIN))
    assert text == "second try"
    assert clock.slept == [0.04]
    assert (done.hops[0].ok, done.hops[0].attempts) == (True, 2)


async def test_long_retry_after_cools_the_provider_down(
    router_for: Any, fake_providers: FakeProviders, clock: Any
) -> None:
    router = router_for(CHAIN)
    fake_providers.openai.queue_error(429, retry_after=120)
    _, done = await run(router)
    assert done.provider == "anthropic"
    assert clock.slept == []
    assert router.cooldowns()["openai"] == pytest.approx(120)


async def test_cool_down_is_shared_and_expires(
    router_for: Any, fake_providers: FakeProviders, clock: Any
) -> None:
    router = router_for(CHAIN, routing={"attempts": 1, "cooldown_after": 2, "cooldown_s": 30})
    fake_providers.openai.queue_error(500).queue_error(500)
    await run(router)
    await run(router)
    assert router.cooldowns() == {"openai": 30}
    calls = len(fake_providers.openai.requests)
    _, done = await run(router)
    assert len(fake_providers.openai.requests) == calls  # not called while cooling down
    assert done.hops[0].error == "cooling down, 30s left"
    clock.now += 31
    _, done = await run(router)
    assert done.provider == "openai"
    assert router.cooldowns() == {}


async def test_bad_request_falls_back_without_retry(
    router_for: Any, fake_providers: FakeProviders, clock: Any
) -> None:
    fake_providers.openai.queue_error(400)
    _, done = await run(router_for(CHAIN))
    assert (done.hops[0].error_kind, done.hops[0].attempts) == ("bad_request", 1)
    assert clock.slept == []


async def test_mid_stream_failure_is_continued_by_the_next_provider(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_stream("The market grew by twelve percent", drop_after=3)
    fake_providers.anthropic.queue_stream(" twelve percent in 2025.")
    text, done = await run(router_for(CHAIN))
    assert text == "The market grew  twelve percent in 2025."
    assert [(h.provider, h.ok, h.chars_streamed) for h in done.hops] == [
        ("openai", False, len("The market grew ")),
        ("anthropic", True, len(" twelve percent in 2025.")),
    ]
    assert done.hops[0].attempts == 1  # never retried once text went out
    assert done.hops[0].completion_tokens > 0  # estimated: the provider billed what it sent
    sent = fake_providers.anthropic.requests[-1].json["messages"]
    assert sent[-2] == {"role": "assistant", "content": "The market grew "}
    assert sent[-1] == {"role": "user", "content": CONTINUE_INSTRUCTION}


async def test_local_finishes_a_reply_cut_off_mid_stream(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_stream("Partial words here", drop_after=2)
    fake_providers.anthropic.queue_error(529).queue_error(529)
    request = ChatRequest(
        messages=REQUEST.messages, context=ReplyContext(intent="chat", user_message="market")
    )
    text, done = await run(router_for(CHAIN), request)
    assert text.startswith("Partial words \n\n---\n\n*Offline provider")
    assert [h.provider for h in done.hops] == ["openai", "anthropic", "local"]


async def test_everything_failing_names_each_provider(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_error(500).queue_error(500)
    fake_providers.anthropic.queue_error(401)
    router = router_for(CHAIN[:2])
    with pytest.raises(ProvidersUnavailable) as caught:
        await run(router)
    assert caught.value.code == "provider_unavailable"
    assert [h.error_kind for h in caught.value.hops] == ["server", "auth"]
    assert "openai/gpt-4o" in str(caught.value)
    assert "anthropic/claude-sonnet-4-6" in str(caught.value)


async def test_cancelling_the_consumer_closes_the_upstream_request(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_stream(" ".join(["word"] * 400), chunk_delay=0.005)
    stream = router_for(CHAIN).stream(REQUEST)
    assert isinstance(await anext(stream), TextDelta)
    await stream.aclose()
    request = fake_providers.openai.requests[-1]
    assert fake_providers.openai.wait_settled(request)
    assert request.disconnected
