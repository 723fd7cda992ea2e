"""What a turn means while a question is pending or a draft waits: answers by default."""

from __future__ import annotations

import pytest

from server.phases.understanding import classify, is_approval, is_free_question


@pytest.mark.parametrize(
    "text",
    [
        "Independent bakeries in Lyon - is that the kind of thing you mean?",
        "Bakeries?",
        "We sell to cafés. Do you need more detail?",
        "Mostly owners of 1-3 shops, maybe also small chains? Not sure yet.",
        "Why not both: bakeries and cafés?",
    ],
)
def test_an_answer_stays_an_answer_whatever_its_punctuation(text: str) -> None:
    assert classify(text, question_pending=True, draft_waiting=False) == "answer"


@pytest.mark.parametrize(
    "text",
    [
        "What price per shop did we decide on?",
        "How much will Patrick gain?",
        "Can you remind me what I said about pricing?",
        "Did we mention delivery anywhere?",
    ],
)
def test_a_question_to_the_assistant_is_a_free_question(text: str) -> None:
    assert is_free_question(text)
    assert classify(text, question_pending=True, draft_waiting=False) == "question"


def test_while_a_draft_waits_a_turn_approves_or_asks_for_changes() -> None:
    assert classify("Looks good, approve!", question_pending=False, draft_waiting=True) == (
        "approve"
    )
    assert is_approval("approve")
    change = "Please make it shorter and drop the quotes from our chat"
    assert classify(change, question_pending=False, draft_waiting=True) == "change"
    asked = "What did we say about pricing?"
    assert classify(asked, question_pending=False, draft_waiting=True) == "question"


def test_that_was_an_answer_moves_a_misfiled_turn() -> None:
    for text in ("That was an answer", "no, that was my answer.", "Record that as my answer"):
        assert classify(text, question_pending=True, draft_waiting=False) == "was_answer"
