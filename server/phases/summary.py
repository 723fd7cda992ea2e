"""Deterministic extractive summaries of earlier phases, to fit a drafting prompt's budget.

No model call: a text that fits is kept whole; otherwise its headings and the first sentence of
each paragraph are kept in document order until the budget is spent. Headings carry a section's
structure and first sentences usually carry its claim, so the summary stays faithful (every word
in it is the user's own) and the same content always gives the same prompt.
"""

from __future__ import annotations

import re

from providers import estimate_tokens

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9*])")
_ELLIPSIS = " …"


def _first_sentence(block: str) -> str:
    flat = " ".join(block.split())
    return _SENTENCE_END.split(flat, maxsplit=1)[0]


def _pieces(text: str) -> list[str]:
    pieces = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].lstrip().startswith("#"):
            pieces.append(lines[0].strip())
            lines = lines[1:]
        if not lines:
            continue
        if lines[0].lstrip().startswith(("|", "- ", "* ", "1.")):
            pieces.append(lines[0].strip())
        else:
            pieces.append(_first_sentence("\n".join(lines)))
    return pieces


def summarise(text: str, max_tokens: int) -> tuple[str, bool]:
    """``text`` within ``max_tokens`` (estimated), and whether it had to be shortened."""
    if estimate_tokens(text) <= max_tokens:
        return text.strip(), False
    kept: list[str] = []
    used = 0
    for piece in _pieces(text):
        cost = estimate_tokens(piece) + 1
        if used + cost > max_tokens:
            break
        kept.append(piece)
        used += cost
    if not kept:
        words = text.split()
        budget_words = max(1, max_tokens // 2)
        return " ".join(words[:budget_words]) + _ELLIPSIS, True
    return "\n".join(kept) + _ELLIPSIS, True
