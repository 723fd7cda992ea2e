"""What the offline provider writes: drafts, quoted answers and questions built from context."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._types import Passage, ReplyContext

OFFLINE_NOTICE = (
    "*Offline provider: composed on this server from your own answers and documents, "
    "without an AI model.*"
)

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_QUESTION_LEAD_RE = re.compile(
    r"^(?:(?:what|which|who|how)\s+(?:is|are|was|were|will|would|do|does|did|should|can)\s+"
    r"(?:(?:your|the|you|our|this|it)\s+)?|(?:describe|explain|list|outline|summari[sz]e|tell me"
    r"(?: about)?)\s+(?:(?:your|the|our)\s+)?)",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "also",
        "any",
        "just",
        "more",
        "most",
        "should",
        "such",
        "what's",
    ]
)
_MAX_QUOTES = 3


def compose_reply(context: ReplyContext) -> str:
    """The offline provider's full reply for ``context``; the same context gives the same text."""
    if context.intent == "draft":
        body = _draft(context)
    elif context.intent == "question":
        body = _answer(context)
    elif context.intent == "ask":
        body = _ask(context)
    else:
        body = _chat(context)
    return f"{OFFLINE_NOTICE}\n\n{body.strip()}\n"


def _phase_label(context: ReplyContext) -> str | None:
    if context.phase_title and context.phase_number is not None:
        return f"Phase {context.phase_number}: {context.phase_title}"
    return context.phase_title


def _draft(context: ReplyContext) -> str:
    label = _phase_label(context) or "Draft"
    parts = [f"## {label}"]
    if context.phase_goal:
        parts.append(f"*Goal: {context.phase_goal.strip()}*")
    answered = [a for a in context.answers if a.answer.strip()]
    unanswered = [a.question for a in context.answers if not a.answer.strip()]
    cited: set[str] = set()
    for answer in answered:
        parts.append(f"### {_heading(answer.question)}")
        parts.append(_paragraph(answer.answer))
        support = _best_sentences(_terms(f"{answer.question} {answer.answer}"), context.passages, 1)
        for passage, sentence in support:
            if passage.ref not in cited:
                cited.add(passage.ref)
                parts.append(f"> {sentence} [{passage.ref}]")
    if context.dependencies:
        parts.append("### Building on earlier phases")
        parts.append(
            "\n".join(
                f"- **{title}**: {_first_sentences(summary, 2)}"
                for title, summary in context.dependencies
            )
        )
    remaining = [p for p in _ranked_passages(context) if p.ref not in cited][:_MAX_QUOTES]
    if remaining:
        parts.append("### From your documents")
        cited.update(p.ref for p in remaining)
        parts.append("\n".join(f"- {_first_sentences(p.text, 2)} [{p.ref}]" for p in remaining))
    if not answered and not context.passages and not context.dependencies:
        parts.append(
            "There is nothing to draft from yet: this phase has no answers, and no documents "
            "matched it."
        )
    gaps = [
        f"- Phase *{title}* has no content yet, so this draft does not draw on it."
        for title in context.gaps
    ]
    gaps.extend(f"- Not answered yet: {question}" for question in unanswered)
    if gaps:
        parts.append("### Still open")
        parts.append("\n".join(gaps))
    sources = _sources([p for p in context.passages if p.ref in cited])
    if sources:
        parts.append(sources)
    return "\n\n".join(parts)


def _answer(context: ReplyContext) -> str:
    question = context.user_message.strip()
    quotes = _best_sentences(_terms(question), context.passages, _MAX_QUOTES)
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
    if context.user_message.strip():
        parts.append("Thank you, I have noted that.")
    label = _phase_label(context)
    if context.next_question:
        lead = f"Next, for **{label}**:" if label else "Next question:"
        parts.append(f"{lead} {context.next_question.strip()}")
        if context.phase_goal:
            parts.append(f"This helps with the phase's goal: {context.phase_goal.strip()}")
    elif label:
        parts.append(
            f"That covers the questions for **{label}**. Ask me to draft it whenever you are ready."
        )
    else:
        parts.append("What would you like to work on next?")
    return "\n\n".join(parts)


def _chat(context: ReplyContext) -> str:
    parts = [
        "I can't hold an open conversation the way an AI model can, but I can draft phases from "
        "your answers, quote your documents, and walk you through the questions."
    ]
    quotes = _best_sentences(_terms(context.user_message), context.passages, 2)
    if quotes:
        parts.append("Related passages from your documents:")
        parts.extend(f"> {sentence} [{passage.ref}]" for passage, sentence in quotes)
        parts.append(_sources([p for p, _ in quotes]))
    label = _phase_label(context)
    if label and context.next_question:
        parts.append(f"We are on **{label}**. {context.next_question.strip()}")
    elif label:
        parts.append(f"We are on **{label}**. Ask me to draft it, or ask about your documents.")
    return "\n\n".join(parts)


def _heading(question: str) -> str:
    text = question.strip().rstrip("?.:! ")
    stripped = _QUESTION_LEAD_RE.sub("", text, count=1).strip()
    if len(stripped) >= 3:
        text = stripped
    return text[:1].upper() + text[1:]


def _paragraph(text: str) -> str:
    text = " ".join(text.split())
    if text and text[-1] not in ".!?\"')]":
        text += "."
    return text[:1].upper() + text[1:]


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD_RE.findall(text.lower()) if w not in _STOPWORDS}


def _stem(word: str) -> str:
    # Crude plural folding is enough to match "markets" with "market" in overlap ranking.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(" ".join(text.split())) if s.strip()]


def _first_sentences(text: str, count: int) -> str:
    return " ".join(_sentences(text)[:count])


def _best_sentences(
    terms: set[str], passages: Iterable[Passage], limit: int
) -> list[tuple[Passage, str]]:
    """The sentences sharing the most words with ``terms``, at most one per passage."""
    if not terms:
        return []
    scored: list[tuple[float, int, Passage, str]] = []
    for order, passage in enumerate(passages):
        best: tuple[float, str] | None = None
        for sentence in _sentences(passage.text):
            overlap = len(terms & _terms(sentence))
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, sentence)
        if best is not None:
            # Overlap ranks; the retriever's score breaks ties, then the original order.
            scored.append((best[0] + min(passage.score, 1.0) * 0.5, -order, passage, best[1]))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [(passage, sentence) for _, _, passage, sentence in scored[:limit]]


def _ranked_passages(context: ReplyContext) -> list[Passage]:
    terms = _terms(" ".join(filter(None, (context.phase_title, context.phase_goal))))
    terms |= _terms(" ".join(f"{a.question} {a.answer}" for a in context.answers))
    return sorted(
        context.passages,
        key=lambda p: (len(terms & _terms(p.text)), p.score),
        reverse=True,
    )


def _sources(passages: Iterable[Passage]) -> str:
    seen: dict[str, str] = {}
    for passage in passages:
        seen.setdefault(passage.ref, passage.source)
    if not seen:
        return ""
    return "Sources: " + "; ".join(f"[{ref}] {source}" for ref, source in seen.items())
