"""The Chainlit side of ``make bench-chat``: the minimal app that streams a reply.

It runs in the benchmark's own environment (``chainlit run bench/chainlit_app.py``, with
Chainlit installed there by the make target, never in the project's), streams the same
``TOKENS`` tokens from the same zero-latency generator as our server, and persists nothing
(no data layer configured).
"""

from __future__ import annotations

import chainlit as cl

from bench._zero import tokens


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Answer every message with the zero-latency reply, streamed token by token."""
    reply = cl.Message(content="")
    async for token in tokens():
        await reply.stream_token(token)
    await reply.send()
