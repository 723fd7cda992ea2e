"""Structured output through the router: each real SDK against the fake server, fallback on an
answer that does not fit its schema, usage counted, and the offline provider as the last resort."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import pytest

from providers import (
    ChatRequest,
    CitationKeeper,
    Completion,
    Message,
    Output,
    Passage,
    ProvidersUnavailable,
    ReplyContext,
    TextDelta,
)

if TYPE_CHECKING:
    from tests.fakes import FakeProviders, StructuredCall


class Verdict(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["answer", "question"]
    question: int | None


class Section(msgspec.Struct, forbid_unknown_fields=True):
    heading: str
    text: str


class Sections(msgspec.Struct, forbid_unknown_fields=True):
    sections: list[Section]


VERDICT = Output(Verdict, "turn_reading", "What the user's turn is.")
REQUEST = ChatRequest(
    messages=(Message("system", "Classify the turn."), Message("user", "Forty euros a month?"))
)
MODELS = {
    "openai": "gpt-4o",
    "anthropic": "claude-sonnet-4-6",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3",
}


def test_the_schema_is_self_contained_and_closed() -> None:
    schema = Output(Sections, "draft").schema()
    assert "$ref" not in json.dumps(schema)
    assert schema["type"] == "object"
    assert schema["required"] == ["sections"]
    assert schema["additionalProperties"] is False
    section = schema["properties"]["sections"]["items"]
    assert section["required"] == ["heading", "text"]
    assert section["additionalProperties"] is False


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini", "ollama"])
async def test_each_sdk_asks_for_the_schema_and_the_answer_is_decoded(
    router_for: Any, fake_providers: FakeProviders, name: str
) -> None:
    script = fake_providers.endpoint(name) if name == "ollama" else getattr(fake_providers, name)
    script.queue_json({"kind": "answer", "question": 2})
    router = router_for([{"provider": name, "model": MODELS[name]}])
    answer = await router.structured(REQUEST, VERDICT)
    assert answer.value == Verdict("answer", 2)
    assert answer.completion.provider == name
    assert answer.completion.usage.prompt_tokens > 0
    assert answer.completion.usage.completion_tokens > 0
    sent = script.requests[-1].json
    if name in {"openai", "ollama"}:
        spec = sent["response_format"]
        assert spec["type"] == "json_schema"
        assert spec["json_schema"]["name"] == "turn_reading"
        assert spec["json_schema"]["strict"] is True
        assert spec["json_schema"]["schema"]["required"] == ["kind", "question"]
        assert not sent.get("stream")
    elif name == "anthropic":
        assert sent["tool_choice"] == {"type": "tool", "name": "turn_reading"}
        assert sent["tools"][0]["input_schema"]["properties"]["kind"]["enum"] == [
            "answer",
            "question",
        ]
        assert sent["system"] == "Classify the turn."
    else:
        config = sent["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        assert config["responseJsonSchema"]["title"] == "Verdict"


async def test_an_answer_that_does_not_fit_falls_back_with_a_clear_error(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_json({"kind": "answer", "question": "two"})
    fake_providers.anthropic.queue_json({"kind": "answer", "question": 2})
    router = router_for(
        [
            {"provider": "openai", "model": "gpt-4o"},
            {"provider": "anthropic", "model": "claude-sonnet-4-6"},
        ],
        prices={"gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0}},
    )
    answer = await router.structured(REQUEST, VERDICT)
    assert answer.value == Verdict("answer", 2)
    failed, succeeded = answer.completion.hops
    assert failed.error_kind == "invalid_output"
    assert "turn_reading schema" in (failed.error or "")
    assert "$.question" in (failed.error or "")
    # The answer that did not fit was still generated and billed: it is counted.
    assert failed.completion_tokens > 0
    assert failed.cost_usd > 0
    assert answer.completion.usage.completion_tokens == (
        failed.completion_tokens + succeeded.completion_tokens
    )


async def test_garbage_and_errors_on_every_provider_end_in_provider_unavailable(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    fake_providers.openai.queue_json(raw="{not json")
    fake_providers.gemini.queue_json_error(400, message="schema too deep")
    router = router_for(
        [
            {"provider": "openai", "model": "gpt-4o"},
            {"provider": "gemini", "model": "gemini-2.5-flash"},
            {"provider": "local"},
        ]
    )
    with pytest.raises(ProvidersUnavailable) as caught:
        await router.structured(REQUEST, VERDICT)
    kinds = {h.provider: h.error_kind for h in caught.value.hops}
    assert kinds == {"openai": "invalid_output", "gemini": "bad_request", "local": "not_configured"}
    assert "gives no structured output" in str(caught.value)


async def test_only_the_offline_provider_means_no_model(router_for: Any) -> None:
    assert not router_for([{"provider": "local"}]).has_model()
    assert router_for([{"provider": "anthropic", "model": "m"}, {"provider": "local"}]).has_model()
    # A provider whose key is not set is not a model that can answer.
    assert not router_for([{"provider": "openai", "model": "m"}], env={}).has_model()


def _render(value: Sections) -> str:
    return "\n\n".join(f"### {s.heading}\n\n{s.text}" for s in value.sections)


async def test_a_streamed_structured_reply_is_rendered_and_falls_back_to_the_offline_composer(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    output = Output(Sections, "draft", render=_render)
    router = router_for([{"provider": "anthropic", "model": "m"}, {"provider": "local"}])

    def answer(call: StructuredCall) -> Any:
        assert call.name == "draft"
        return {"sections": [{"heading": "Market", "text": "About 1,200 bakeries."}]}

    fake_providers.anthropic.answer_json = answer
    request = msgspec.structs.replace(REQUEST, output=output)
    text, done = await _run(router.stream(request))
    assert text == "### Market\n\nAbout 1,200 bakeries."
    assert done.provider == "anthropic"

    fake_providers.anthropic.queue_json_error(500)
    fake_providers.anthropic.queue_json_error(500)
    context = ReplyContext(intent="chat", user_message="Hello")
    text, done = await _run(
        router.stream(msgspec.structs.replace(request, context=context, output=output))
    )
    assert done.provider == "local"
    assert text


async def _run(events: Any) -> tuple[str, Completion]:
    parts: list[str] = []
    done = None
    async for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        else:
            done = event
    assert done is not None
    return "".join(parts), done


PASSAGES = [
    Passage(ref="S1", text="Lyon has about 1,200 independent bakeries.", source="a.md"),
    Passage(ref="S2", text="Bread runs out before noon.", source="a.md"),
    Passage(ref="S3", text="Owners bake at four in the morning.", source="b.md"),
]


async def test_citations_are_renumbered_in_order_of_first_use_while_streaming(
    router_for: Any, fake_providers: FakeProviders
) -> None:
    reply = (
        'Bread "runs out before noon" [S2]. Owners start early [S3], and "Lyon has '
        'about 2,000 bakeries" [S1]. Again [S2]; and a made-up one [S9].\nNew line [S3].'
    )
    fake_providers.openai.queue_stream(reply, chunk_size=1)
    router = router_for([{"provider": "openai", "model": "gpt-4o"}])
    passages = list(PASSAGES)
    keeper = CitationKeeper(passages)
    text, _ = await _run(router.stream(msgspec.structs.replace(REQUEST, citations=keeper)))
    assert text == (
        'Bread "runs out before noon" [S1]. Owners start early [S2], and "Lyon has '
        'about 2,000 bakeries". Again [S1]; and a made-up one.\nNew line [S2].'
    )
    # The passages follow: cited ones first, in order of first use; the quote that was not in
    # S1 lost its marker, so S1 is not cited and goes after them.
    assert [(p.ref, p.source, p.text[:5]) for p in passages] == [
        ("S1", "a.md", "Bread"),
        ("S2", "b.md", "Owner"),
        ("S3", "a.md", "Lyon "),
    ]
    assert keeper.renumbered == {"S2": "S1", "S3": "S2"}
