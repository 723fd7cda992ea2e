"""What a user's turn means, read by an AI model with structured output.

When the project's profile has a model provider, each turn said while a phase is in progress is
read by it: an answer (to which question), a change request for the draft awaiting approval, a
free question, or a command (approve the draft; "that was an answer"). The offline rules of
:mod:`server.phases.understanding` decide when no model answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from providers import ChatRequest, Message, Output

if TYPE_CHECKING:
    from .templates import PhaseTemplate
    from .understanding import TurnKind

READING_PROMPT = (
    "You read one message a user wrote in a conversation that walks them through writing their "
    "{document}, section by section. It is section {number}, '{title}'. Decide what the message "
    "is:\n"
    "- answer: it answers one of the section's questions (the pending one unless it plainly "
    "answers another); people often end answers with a question such as 'is that what you "
    "mean?', which keeps them answers. Give the question's number.\n"
    "- change_request: it asks for changes to the draft awaiting approval.\n"
    "- free_question: it asks you something (about the project, what was decided earlier, "
    "the documents) instead of answering.\n"
    "- command: it approves the draft ('approve', 'looks good') or says its previous message "
    "was an answer; say which.\n"
    "Give question only for an answer and command only for a command (null otherwise)."
)


class TurnReading(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A model's reading of one turn."""

    kind: Literal["answer", "change_request", "free_question", "command"]
    question: int | None
    """For an answer: the number (from 1) of the question it answers."""
    command: Literal["approve", "that_was_an_answer"] | None


READING = Output(TurnReading, "turn_reading", "What the user's message is.")


def reading_request(
    text: str,
    *,
    document: str,
    number: int,
    title: str,
    spec: PhaseTemplate | None,
    answered: set[int],
    pending: int | None,
    draft_waiting: bool,
) -> ChatRequest:
    """The request asking a model to read ``text``."""
    lines = [READING_PROMPT.format(document=document, number=number, title=title)]
    if spec is not None:
        lines.append(
            "The section's questions:\n"
            + "\n".join(
                f"{i + 1}. {q}" + (" (answered)" if i in answered else "")
                for i, q in enumerate(spec.questions)
            )
        )
    if pending is not None:
        lines.append(f"Pending question: {pending + 1}.")
    if draft_waiting:
        lines.append("A draft of the section is awaiting the user's approval.")
    return ChatRequest(
        messages=(Message("system", "\n\n".join(lines)), Message("user", text)), temperature=0
    )


def turn_kind(
    reading: TurnReading,
    *,
    pending: int | None,
    draft_waiting: bool,
    count: int,
    answered: set[int],
) -> tuple[TurnKind, int | None]:
    """What the flow does with ``reading``, and for an answer the question's index (from 0).

    A reading that does not fit where the phase stands (a change request with no draft, an
    answer while a draft waits, an answer to a question answered already) is taken the way
    the offline rules would take it: an answer to the pending question, a change request.
    """
    if reading.kind == "command":
        if reading.command == "approve" and draft_waiting:
            return "approve", None
        if reading.command == "that_was_an_answer":
            return "was_answer", None
    if reading.kind == "free_question":
        return "question", None
    if draft_waiting and pending is None:
        return "change", None
    if pending is None:
        return "question", None
    index = (reading.question or 0) - 1
    return "answer", index if 0 <= index < count and index not in answered else pending
