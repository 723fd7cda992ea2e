"""Token estimates and cost from the price table."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ._config import Price
    from ._types import Message

_PIECE_RE = re.compile(r"\w{1,4}|[^\w\s]")
"""Up to four characters of a word (so a word of ``n`` characters is ``ceil(n / 4)`` pieces),
or one punctuation mark."""


@lru_cache(maxsize=1024)
def estimate_tokens(text: str) -> int:
    """Approximate the token count of ``text``, deterministically.

    BPE tokenizers spend about one token per four characters of an English word and one per
    punctuation mark, so each word costs ``ceil(len / 4)`` tokens and each symbol one. Used by
    the offline provider and when an endpoint reports no usage. The same texts come back turn
    after turn (a phase's draft, the passages recalled), so the last estimates are kept.
    """
    return len(_PIECE_RE.findall(text))


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
