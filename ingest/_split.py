"""Cutting one oversized block into pieces that fit a token budget."""

from __future__ import annotations

import re

from ingest._structure import render_table_rows
from ingest._tokens import count_tokens, count_tokens_batch

__all__ = ["Piece", "split_code", "split_sentences", "split_table", "split_text", "split_words"]

# A sentence ends with . ! ? and the spaces after it, or with a CJK full-width form (no space
# needed after those). Matched forwards: a look-behind tried at every character took twice as
# long.
_SENTENCE_END = re.compile(r"[.!?]\s+|[\u3002\uff01\uff1f]")

# A table header repeated in each piece may take at most this fraction (1/n) of the budget.
_HEADER_SHARE = 4

Piece = tuple[str, int]
"""A piece of text and its token count."""


def split_sentences(text: str) -> list[str]:
    """Sentences of `text` (a simple punctuation rule; abbreviations may split early)."""
    sentences: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(text):
        if sentence := text[start : end.start() + 1].strip():
            sentences.append(sentence)
        start = end.end()
    if rest := text[start:].strip():
        sentences.append(rest)
    return sentences


def split_words(text: str, budget: int) -> list[Piece]:
    """Cut `text` into pieces of at most `budget` tokens, at spaces where possible.

    For a text with no usable spaces (CJK, long identifiers) the cut falls between characters.
    """
    total = count_tokens(text)
    if total <= budget:
        return [(text, total)]
    chars_per_token = len(text) / total
    pieces: list[Piece] = []
    rest = text
    while rest:
        cut = max(1, int(budget * chars_per_token))
        while True:
            if cut < len(rest):
                space = rest.rfind(" ", 0, cut + 1)
                end = space if space > cut // 2 else cut
            else:
                end = len(rest)
            head = rest[:end].strip()
            tokens = count_tokens(head)
            if tokens <= budget or end <= 1:
                break
            cut = max(1, int(cut * 0.85))
        if head:
            pieces.append((head, tokens))
        rest = rest[end:].strip()
    return pieces


def _pack(parts: list[str], counts: list[int], budget: int, joiner: str) -> list[Piece]:
    """Greedily join consecutive parts while they fit `budget`; oversized parts are cut.

    `joiner` is a space (sentences: a sentence joined by a space counts what it counts
    alone, its first word taking the space as its word boundary, so a piece's count is the
    sum of its sentences') or a line break (lines: a token each).
    """
    separator = joiner.count("\n")
    pieces: list[Piece] = []
    current: list[str] = []
    size = 0
    for part, tokens in zip(parts, counts, strict=True):
        if tokens > budget:
            if current:
                pieces.append((joiner.join(current), size))
                current, size = [], 0
            pieces.extend(split_words(part, budget))
            continue
        added = tokens + (separator if current else 0)
        if current and size + added > budget:
            pieces.append((joiner.join(current), size))
            current, size, added = [], 0, tokens
        current.append(part)
        size += added
    if current:
        pieces.append((joiner.join(current), size))
    return pieces


def split_text(text: str, budget: int) -> list[Piece]:
    """Pieces of whole sentences of at most `budget` tokens (sentences longer than that are
    cut at spaces)."""
    sentences = split_sentences(text)
    return _pack(sentences, count_tokens_batch(sentences), budget, " ")


def split_code(code: str, language: str | None, budget: int) -> list[Piece]:
    """Pieces of whole lines, each wrapped in its own code fence."""
    opening = f"```{language or ''}"
    fence_tokens = count_tokens(opening) + count_tokens("```") + 2
    lines = code.split("\n")
    packed = _pack(lines, count_tokens_batch(lines), max(1, budget - fence_tokens), "\n")
    return [(f"{opening}\n{text}\n```", tokens + fence_tokens) for text, tokens in packed]


def split_table(
    header: tuple[str, ...], rows: tuple[tuple[str, ...], ...], budget: int
) -> list[Piece]:
    """Pieces of whole rows, each starting with the header row (and separator line).

    A header is repeated in full only while it takes at most a quarter of `budget`: the
    first piece always has the whole header, later pieces a header whose cells are cut
    short to fit that quarter, or none when even one word per cell does not fit. A long
    header (column names that are sentences) would otherwise fill most of every piece and
    multiply the table's size in the index.
    """
    lines = render_table_rows(header, rows)
    head = "\n".join(lines[:2])
    head_tokens = count_tokens(head) + 1
    body = lines[2:]
    bound = budget // _HEADER_SHARE
    if head_tokens <= bound:
        packed = _pack(body, count_tokens_batch(body), max(1, budget - head_tokens), "\n")
        return [(f"{head}\n{text}", tokens + head_tokens) for text, tokens in packed]
    width = max([len(header), *(len(row) for row in rows)])
    short_head, short_tokens = _short_header(header, width, bound)
    counts = count_tokens_batch(body)
    first_budget = max(1, budget - head_tokens)
    taken, size = 1, counts[0] if counts else 0
    while taken < len(body) and size + counts[taken] + 1 <= first_budget:
        size += counts[taken] + 1
        taken += 1
    pieces = [
        (f"{head}\n{text}", tokens + head_tokens)
        for text, tokens in _pack(body[:taken], counts[:taken], first_budget, "\n")
    ]
    prefix = f"{short_head}\n" if short_head else ""
    rest = _pack(body[taken:], counts[taken:], max(1, budget - short_tokens), "\n")
    pieces.extend((f"{prefix}{text}", tokens + short_tokens) for text, tokens in rest)
    return pieces


def _short_header(header: tuple[str, ...], width: int, bound: int) -> tuple[str, int]:
    """The header and separator lines with cells cut to fewer words until they fit `bound`
    tokens; ("", 0) when even one word per cell is too much."""
    words = [cell.split() for cell in header]
    for keep in (8, 4, 2, 1):
        cells = [" ".join(w[:keep]) + (" …" if len(w) > keep else "") for w in words]
        lines = render_table_rows(cells, [[""] * width])[:2]
        text = "\n".join(lines)
        tokens = count_tokens(text) + 1
        if tokens <= bound:
            return text, tokens
    return "", 0
