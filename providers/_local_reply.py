"""What the offline provider writes: drafts, quoted answers and questions built from context."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING

from ._local_draft import draft
from ._local_text import passage_sentences, terms

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._types import Passage, ReplyContext

OFFLINE_NOTICE = (
    "*Offline provider: composed on this server from your own answers and documents, "
    "without an AI model.*"
)

_QUESTION_LEAD_RE = re.compile(
    r"^(?:(?:what|which|who|how)\s+(?:is|are|was|were|will|would|do|does|did|should|can)\s+"
    r"(?:(?:your|the|you|our|this|it)\s+)?|(?:describe|explain|list|outline|summari[sz]e|tell me"
    r"(?: about)?)\s+(?:(?:your|the|our)\s+)?)",
    re.IGNORECASE,
)
_MAX_QUOTES = 3


def compose_reply(context: ReplyContext) -> str:
    """The offline provider's full reply for ``context``; the same context gives the same text.

    A draft is the document itself: it never carries the offline notice, which other replies
    carry while ``context.notice`` says it has not been shown in the conversation yet.
    """
    if context.intent == "draft":
        return draft(context)
    if context.intent == "question":
        body = _answer(context)
    elif context.intent == "ask":
        body = _ask(context)
    else:
        body = _chat(context)
    if context.notice:
        return f"{OFFLINE_NOTICE}\n\n{body.strip()}"
    return body.strip()


def _phase_label(context: ReplyContext) -> str | None:
    if context.phase_title and context.phase_number is not None:
        return f"Phase {context.phase_number}: {context.phase_title}"
    return context.phase_title


def _answer(context: ReplyContext) -> str:
    question = context.user_message.strip()
    quotes = _best_sentences(terms(question), context.passages, _MAX_QUOTES)
    if not quotes:
        searched = len(context.passages)
        where = f"the {searched} passages retrieved" if searched else "your documents"
        return (
            f"I found nothing in {where} that addresses this question. Try naming the document "
            "or section you have in mind, or upload the material that covers it."
        )
    lines = ["Here is what your documents say about this:"]
    for passage, sentence in quotes:
        lines.append(f"> {sentence} [{passage.ref}]\n> — {passage.source}")
    lines.append(_sources([p for p, _ in quotes]))
    return "\n\n".join(lines)


def _ask(context: ReplyContext) -> str:
    parts = []
    count = context.question_count
    if context.noted is not None and count:
        parts.append(f"Noted as your answer to question {context.noted} of {count}.")
    elif context.user_message.strip():
        parts.append("Noted.")
    label = _phase_label(context)
    if context.next_question:
        first = context.question_number in (None, 1)
        if first and label:
            goal = f" {context.phase_goal.strip()}" if context.phase_goal else ""
            parts.append(f"**{label}**.{goal}")
        which = (
            f"Question {context.question_number} of {count}"
            if context.question_number and count
            else "Next question"
        )
        parts.append(f"{which}: {context.next_question.strip()}")
    elif label:
        parts.append(
            f"That covers the questions for **{label}**. Ask me to draft it whenever you are ready."
        )
    else:
        parts.append("What would you like to work on next?")
    return "\n\n".join(parts)


def _chat(context: ReplyContext) -> str:
    wanted = terms(context.user_message)
    # What the user recorded as answers comes first (it is what was decided), then their
    # documents, and the rest of the conversation only when neither says anything about it.
    tiers = (
        [p for p in context.passages if p.topic],
        [p for p in context.passages if p.document_id is not None],
        [p for p in context.passages if not p.topic and p.document_id is None],
    )
    quotes: list[tuple[Passage, str]] = []
    for tier in tiers:
        quotes = _best_sentences(wanted, tier, 2)
        if quotes:
            break
    if not quotes:
        return (
            "I can't hold an open conversation the way an AI model can, and nothing said or "
            "written in this project matches that. I can draft phases from your answers, quote "
            "your documents and earlier answers, and walk you through the questions."
        )
    parts = ["Here is what is on record in this project:"]
    parts.extend(
        f"> {sentence} [{passage.ref}]\n> — {passage.source}" for passage, sentence in quotes
    )
    return "\n\n".join(parts)


def _best_sentences(
    wanted: set[str], passages: Iterable[Passage], limit: int
) -> list[tuple[Passage, str]]:
    """The sentences that best answer a query of ``wanted`` terms, at most one per passage.

    A sentence must share a term with the query. Sentences covering more of the query's terms
    rank first, counting the terms of the sentence just before it (the one that says whom or
    what it is about); among those, rarer terms weigh more (inverse frequency over every
    sentence offered) and terms only found before count half. So "He will gain €825 from the
    Budget." wins for "How much will Patrick gain?" when the sentence before names Patrick,
    and that sentence is quoted with it. A recorded answer (a passage with a topic) is one
    unit with its question.
    """
    if not wanted:
        return []
    offered = list(passages)
    units: list[list[str]] = []
    frequency: Counter[str] = Counter()
    for passage in offered:
        whole = " ".join(passage.text.split())
        unit = [whole] if passage.topic else passage_sentences(passage.text)
        units.append(unit)
        for sentence in unit:
            frequency.update(wanted & terms(sentence))
    total = sum(map(len, units)) or 1
    weight = {t: math.log(1 + total / frequency[t]) if frequency[t] else 0.0 for t in wanted}
    scored: list[tuple[tuple[int, float], int, Passage, str]] = []
    for order, (passage, unit) in enumerate(zip(offered, units, strict=True)):
        about = terms(passage.topic)
        best: tuple[tuple[int, float], str] | None = None
        for index, sentence in enumerate(unit):
            own = terms(sentence) | about
            hit = wanted & own
            if not hit:
                continue
            before = unit[index - 1] if index else ""
            lead = (wanted & terms(before)) - own
            # Relevance; the retriever's score breaks ties.
            weighed = sum(weight[t] for t in hit) + 0.5 * sum(weight[t] for t in lead)
            score = (len(hit | lead), weighed + min(passage.score, 1.0) * 0.1)
            if best is None or score > best[0]:
                best = (score, f"{before} {sentence}" if lead else sentence)
        if best is not None:
            scored.append((best[0], -order, passage, best[1]))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [(passage, sentence) for _, _, passage, sentence in scored[:limit]]


def _sources(passages: Iterable[Passage]) -> str:
    seen: dict[str, str] = {}
    for passage in passages:
        seen.setdefault(passage.ref, passage.source)
    if not seen:
        return ""
    return "Sources: " + "; ".join(f"[{ref}] {source}" for ref, source in seen.items())
