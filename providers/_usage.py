"""Token estimates and cost from the price table."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ._config import Price
    from ._types import Message

_PIECE_RE = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Approximate the token count of ``text``, deterministically.

    BPE tokenizers spend about one token per four characters of an English word and one per
    punctuation mark, so each word costs ``ceil(len / 4)`` tokens and each symbol one. Used by
    the offline provider and when an endpoint reports no usage.
    """
    return sum(-(-len(piece) // 4) for piece in _PIECE_RE.findall(text))


def estimate_prompt_tokens(messages: Iterable[Message]) -> int:
    """Approximate prompt tokens: the messages' text plus a few tokens of framing per message."""
    return sum(estimate_tokens(m.content) + 4 for m in messages)


def cost_usd(
    prices: Mapping[str, Price], model: str, prompt_tokens: int, completion_tokens: int
) -> float:
    """What a call cost by the price table; a model missing from the table costs nothing."""
    price = prices.get(model)
    if price is None:
        return 0.0
    return (
        prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok
    ) / 1_000_000
