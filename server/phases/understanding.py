"""What a user's turn means for the phase it is said in, decided offline by plain rules.

While a question is pending, a turn is its answer by default, whatever its punctuation: people
end answers with "…is that what you mean?". Only a short, single-sentence question that opens
the way questions to an assistant open ("What did we decide…?", "How much will…?") is taken
as a free question then, and "that was an answer" moves it back. While a draft awaits approval,
a turn approves it or asks for changes, unless it is such a question.
"""

from __future__ import annotations

import re
from typing import Literal

TurnKind = Literal["answer", "change", "question", "approve", "was_answer"]

_APPROVALS = frozenset(
    {
        "approve",
        "approved",
        "i approve",
        "approve it",
        "looks good",
        "looks good approve",
        "lgtm",
        "yes approve",
        "ok approve",
        "good approve it",
        "perfect approve",
    }
)
_WAS_ANSWER = re.compile(
    r"^(?:no[, ]+)?(?:that|this|it)\s+was\s+(?:my|an|the)\s+answer\b|"
    r"^(?:please\s+)?(?:record|take|use|file)\s+(?:that|this|it)\s+as\s+(?:my|an|the)\s+answer\b",
    re.IGNORECASE,
)
_ASKING = re.compile(
    r"^(?:what|which|who|whom|whose|how|why|when|where)\b(?:'s)?\s+"
    r"(?:is|are|was|were|will|would|do|does|did|should|could|can|have|has|had|much|many|"
    r"about|exactly|else|did)\b|"
    r"^(?:what|which|how\s+(?:much|many))\b(?:\s+[\w'-]+){0,4}\s+"
    r"(?:did|do|does|will|would|should|can|have|has)\s+(?:we|i|you|they)\b|"
    r"^(?:can|could|would|will)\s+you\b|"
    r"^(?:do|does|did|is|are|was|were|have|has)\s+(?:we|i|you|our|my|the|it|they|there)\b|"
    r"^(?:remind me|tell me|show me|explain)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?](?:\s+|$)")
MAX_QUESTION_WORDS = 25


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def is_approval(text: str) -> bool:
    """Whether ``text`` on its own approves a draft ("approve", "looks good, approve")."""
    return _words(text) in _APPROVALS


def is_free_question(text: str) -> bool:
    """A question to the assistant rather than an answer: one sentence, ending in ``?``,
    opening the way questions to an assistant open, and short."""
    text = text.strip()
    if not text.endswith("?") or len(text.split()) > MAX_QUESTION_WORDS:
        return False
    if len(_SENTENCE_END.findall(text)) > 1:
        return False
    return _ASKING.match(text) is not None


def classify(text: str, *, question_pending: bool, draft_waiting: bool) -> TurnKind:
    """What the turn ``text`` is, given where its phase stands."""
    if _WAS_ANSWER.match(text.strip()):
        return "was_answer"
    if draft_waiting and not question_pending:
        if is_approval(text):
            return "approve"
        return "question" if is_free_question(text) else "change"
    if question_pending:
        return "question" if is_free_question(text) else "answer"
    return "question"
