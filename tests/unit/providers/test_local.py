from __future__ import annotations

import msgspec
import numpy as np

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
    change_report,
    compose_reply,
    embedding_space,
)
from providers._wordllama import _embed_sync, _model

PASSAGES = (
    Passage(
        "S1",
        "The bakery market in Lyon counts 1,200 shops. Small bakeries in Lyon mostly sell "
        "online since 2021.",
        "plan.pdf, p. 3",
        document_id="d1",
    ),
    Passage("S2", "Competitors include BakeSoft and PainPro. Both target chains.", "notes.md"),
    Passage(
        "S3",
        "Our target customers are small bakeries in Lyon, we said.",
        "conversation, 2026-03-02",
    ),
)
DRAFT = ReplyContext(
    intent="draft",
    phase_number=3,
    phase_title="Market Analysis",
    phase_goal="Size the market.",
    answers=(
        Answer("Who are your target customers?", "small **bakeries** in Lyon that sell online"),
        Answer("Who are your main competitors?", ""),
        Answer("What do you sell?", "> ## Ordering software\n- with delivery slots"),
    ),
    dependencies=(("Executive Summary", "We sell ordering software to bakeries."),),
    passages=PASSAGES,
    gaps=("Financial Plan",),
)


def test_draft_is_prose_from_the_answers_with_no_scaffolding() -> None:
    text = compose_reply(DRAFT)
    assert text.startswith("## Market Analysis\n\nSmall bakeries in Lyon that sell online.")
    assert OFFLINE_NOTICE not in text
    # Only a document passage that bears on an answer is quoted, once, inline, and cited.
    assert "“Small bakeries in Lyon mostly sell online since 2021” [S1]" in text
    assert "[S2]" not in text
    assert "[S3]" not in text  # never the conversation
    # No Markdown leaking from answers, no questions as headings, no open-question lists.
    assert "Ordering software with delivery slots." in text
    for scaffolding in ("###", "> ", "**", "Not answered", "Still open", "Goal:", "Sources:"):
        assert scaffolding not in text
    assert compose_reply(DRAFT) == text


def test_changes_requested_offline_are_made_and_the_rest_named() -> None:
    previous = (
        "## Market Analysis\n\n### Customers\n\nSmall bakeries in Lyon. They sell online. "
        "They're busy.\n\n### Pricing\n\nIt's 30 euros a month! As plan.pdf puts it: "
        "“The bakery market in Lyon counts 1,200 shops” [S1].\n\n### Risks\n\nFlour prices."
    )
    revised = compose_reply(
        msgspec.structs.replace(
            DRAFT,
            previous=previous,
            feedback="Make it shorter, drop the quotes, rename Pricing to Prices, remove the "
            "Risks section. Put Prices first and make it more formal and more persuasive.",
        )
    )
    assert "[S1]" not in revised
    assert "“" not in revised
    assert "### Risks" not in revised
    assert "Flour" not in revised
    assert revised.startswith("## Market Analysis\n\n### Prices")
    assert revised.index("### Prices") < revised.index("### Customers")
    assert "Small bakeries in Lyon. They sell online." in revised
    assert "They are busy" not in revised  # shorter: the last sentence went
    assert "It is 30 euros a month." in revised
    made, needs = change_report("Make it shorter and more persuasive")
    assert made == ["made it shorter"]
    assert needs == ["a different tone (more persuasive)"]


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


def test_ask_says_which_question_and_the_notice_only_when_asked_to() -> None:
    context = ReplyContext(
        intent="ask",
        user_message="ok",
        phase_number=2,
        phase_title="Team",
        phase_goal="Show who does the work.",
        next_question="Who founded the company?",
        question_number=2,
        question_count=4,
        noted=1,
    )
    ask = compose_reply(context)
    assert ask.startswith(OFFLINE_NOTICE)
    assert "Noted as your answer to question 1 of 4." in ask
    assert "Question 2 of 4: Who founded the company?" in ask
    assert "Show who does the work" not in ask  # the goal is said with question 1 only
    quiet = compose_reply(msgspec.structs.replace(context, notice=False))
    assert OFFLINE_NOTICE not in quiet
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
    assert len(deltas) > 20
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


def test_wordllama_vectors_are_the_librarys_own() -> None:
    texts = [
        "bakery market size",
        "",
        "?!",
        "A longer passage about harbour tide gauges, moorings and the storm season " * 20,
        "ünïcödé wörds and 数字 1234",
    ]
    ours = np.array(_embed_sync(texts))
    with np.errstate(invalid="ignore"):  # the library divides the empty text's zero by zero
        theirs = np.nan_to_num(_model().embed(texts, norm=True, return_np=True))
    assert ours.shape == (len(texts), 256)
    assert np.allclose(ours, theirs, atol=1e-5)
    assert not ours[1].any()
