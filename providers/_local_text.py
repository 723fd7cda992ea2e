"""Plain-text helpers of the offline provider: words, stems and sentences."""

from __future__ import annotations

import re

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
STOPWORDS = frozenset(
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


def terms(text: str) -> set[str]:
    """The content words of ``text``, lower-cased and crudely stemmed."""
    return {stem(w) for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS}


def stem(word: str) -> str:
    """``word`` with a plural ending folded."""
    # Crude plural folding is enough to match "markets" with "market" in overlap ranking.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def passage_sentences(text: str) -> list[str]:
    """The quotable sentences of a passage: a line break ends a sentence (a heading, a list
    item), and table rows are not sentences."""
    return [
        sentence
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("|")
        for sentence in sentences(line.lstrip("#>-*+ \t"))
    ]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, whitespace collapsed."""
    return [s.strip() for s in SENTENCE_RE.split(" ".join(text.split())) if s.strip()]
