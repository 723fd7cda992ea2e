"""Memory of what was decided: the answers recorded in a project's phases, found again for a
free question ("What price per shop did we decide on?") and handed to the reply as passages
naming the phase, the question and the message they came from."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from providers import Message, Passage, content_terms

if TYPE_CHECKING:
    from server.chat import ReplyPlan
    from server.db.models import Phase

MIN_SHARED = 2
"""Content words an answer (with its question) must share with the free question (all of
them when the question has fewer)."""
LIMIT = 3
_ASKING_WORDS = frozenset(
    {"say", "said", "tell", "told", "mention", "mentioned", "write", "wrote", "remind", "answer"}
)
"""Words of a question about the conversation itself ("What did I say about customers?"),
which no answer is expected to contain."""


def recalled_answers(rows: dict[int, Phase], question: str, first_ref: int) -> list[Passage]:
    """The recorded answers that bear on ``question``, best first, as passages numbered
    from ``S<first_ref>``."""
    wanted = content_terms(question) - _ASKING_WORDS
    if not wanted:
        return []
    needed = min(MIN_SHARED, len(wanted))
    scored: list[tuple[int, int, int, Passage]] = []
    for number, row in sorted(rows.items()):
        for answer in row.answers:
            text = str(answer["answer"])
            shared = len(wanted & content_terms(f"{answer['question']} {text}"))
            if shared < needed:
                continue
            when = datetime.fromisoformat(str(answer["answered_at"])).strftime("%Y-%m-%d")
            index = int(answer["index"])
            source = f"your answer in phase {number} ({row.title}), question {index + 1}, {when}"
            topic = str(answer["question"])
            message = answer.get("message_id")
            passage = Passage(
                ref="",
                text=text,
                source=source,
                score=1.0,
                topic=topic,
                message_id=str(message) if message else None,
            )
            scored.append((shared, -number, -index, passage))
    scored.sort(key=lambda item: item[:3], reverse=True)
    return [
        msgspec.structs.replace(p, ref=f"S{first_ref + i}")
        for i, (*_, p) in enumerate(scored[:LIMIT])
    ]


def with_memory(plan: ReplyPlan, rows: dict[int, Phase], question: str) -> ReplyPlan:
    """``plan`` (a free-conversation reply) with the recorded answers that bear on
    ``question`` added to its passages and its prompt."""
    if plan.request is None:
        return plan
    recalled = recalled_answers(rows, question, len(plan.passages) + 1)
    if not recalled:
        return plan
    plan.passages = [*plan.passages, *recalled]
    context = msgspec.structs.replace(
        plan.request.context, passages=(*plan.request.context.passages, *recalled)
    )
    note = Message(
        "system",
        "Answers the user recorded earlier in this project (quote and cite them when they "
        "answer the question):\n" + "\n".join(f"[{p.ref}] ({p.source}) {p.text}" for p in recalled),
    )
    messages = (plan.request.messages[0], note, *plan.request.messages[1:])
    plan.request = msgspec.structs.replace(plan.request, messages=messages, context=context)
    return plan
