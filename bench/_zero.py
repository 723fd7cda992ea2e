"""The zero-latency provider of the chat benchmarks: ``TOKENS`` tokens at once, no network, no
model.

It imports nothing but the standard library, so that every server of the comparison streams
from this very code: ours through :class:`bench._chat_server.ZeroLatencyChat`, the Chainlit app
(:mod:`bench.chainlit_app`, in the benchmark's own environment) and the bare Litestar handler
directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

TOKENS = 100
"""Tokens in every reply."""


async def tokens(count: int = TOKENS) -> AsyncIterator[str]:
    """``count`` short tokens, without waiting."""
    for n in range(count):
        yield f"t{n} "
