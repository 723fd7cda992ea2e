from __future__ import annotations

from providers import (
    OFFLINE_NOTICE,
    Answer,
    ChatRequest,
    LocalChat,
    Message,
    Passage,
    ReplyContext,
    StreamEnd,
    TextDelta,
    WordLlamaEmbedder,
    compose_reply,
    embedding_space,
)

PASSAGES = (
    Passage(
        "S1",
        "The bakery market in Lyon counts 1,200 shops. Most sell online since 2021.",
        "plan.pdf, p. 3",
    ),
    Passage("S2", "Competitors include BakeSoft and PainPro. Both target chains.", "notes.md"),
)
DRAFT = ReplyContext(
    intent="draft",
    phase_number=3,
    phase_title="Market Analysis",
    phase_goal="Size the market.",
    answers=(
        Answer("Who are your target customers?", "small bakeries in Lyon"),
        Answer("Who are your main competitors?", ""),
    ),
    dependencies=(("Executive Summary", "We sell ordering software to bakeries."),),
    passages=PASSAGES,
    gaps=("Financial Plan",),
)


def test_draft_is_structured_cited_and_names_gaps() -> None:
    text = compose_reply(DRAFT)
    assert text.startswith(OFFLINE_NOTICE)
    assert "## Phase 3: Market Analysis" in text
    assert "### Target customers\n\nSmall bakeries in Lyon." in text
    assert "> The bakery market in Lyon counts 1,200 shops. [S1]" in text
    assert "- **Executive Summary**: We sell ordering software to bakeries." in text
    assert "Phase *Financial Plan* has no content yet" in text
    assert "Not answered yet: Who are your main competitors?" in text
    assert "[S2] notes.md" in text
    assert compose_reply(DRAFT) == text


def test_question_quotes_the_best_passage() -> None:
    text = compose_reply(
        ReplyContext(intent="question", user_message="Who are the competitors?", passages=PASSAGES)
    )
    assert "> Competitors include BakeSoft and PainPro. [S2]\n> — notes.md" in text
    assert "[S1]" not in text


def test_question_without_matching_passage_says_so() -> None:
    text = compose_reply(
        ReplyContext(intent="question", user_message="Pricing of flour?", passages=())
    )
    assert "found nothing in your documents" in text


def test_ask_and_chat() -> None:
    ask = compose_reply(
        ReplyContext(
            intent="ask",
            user_message="ok",
            phase_number=2,
            phase_title="Team",
            next_question="Who founded the company?",
        )
    )
    assert "Next, for **Phase 2: Team**: Who founded the company?" in ask
    chat = compose_reply(
        ReplyContext(intent="chat", user_message="how big is the bakery market", passages=PASSAGES)
    )
    assert "[S1]" in chat
    assert "offline" in chat.lower()


async def test_local_streams_words_and_reports_usage() -> None:
    request = ChatRequest(messages=(Message("user", "draft it"),), context=DRAFT)
    events = [e async for e in LocalChat().stream(request, "offline")]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert "".join(d.text for d in deltas) == compose_reply(DRAFT)
    assert len(deltas) > 50
    assert end.usage.completion_tokens > len(deltas) // 2
    assert end.usage.prompt_tokens > 0


async def test_wordllama_embeds_offline_unit_vectors() -> None:
    embedder = WordLlamaEmbedder()
    vectors = await embedder.embed(
        ["bakery market size", "size of the bakery market", "quantum chromodynamics"]
    )
    assert embedding_space(embedder) == "local/wordllama-l2_supercat/256"
    assert all(len(v) == 256 for v in vectors)
    assert all(abs(sum(x * x for x in v) - 1) < 1e-6 for v in vectors)
    near = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    far = sum(a * b for a, b in zip(vectors[0], vectors[2], strict=True))
    assert near > far
