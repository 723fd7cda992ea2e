"""The ``local`` chat provider: always available, no network, no model."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from ._local_reply import compose_reply
from ._types import StreamEnd, TextDelta, Usage
from ._usage import estimate_prompt_tokens, estimate_tokens

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ._types import ChatRequest

_CHUNK_RE = re.compile(r"\s*\S+\s*")
_HANDOVER = "\n\n---\n\n"


class LocalChat:
    """Composes replies from ``ChatRequest.context`` and streams them word by word.

    Token counts are estimates (see ``estimate_tokens``), so the same input always reports the
    same usage. When it takes over a reply an AI model left unfinished, it cannot continue that
    model's sentence, so it closes it off and adds its own complete reply below a rule.
    """

    name = "local"

    async def stream(
        self, request: ChatRequest, model: str
    ) -> AsyncIterator[TextDelta | StreamEnd]:
        """Stream the composed reply; see ``ChatProvider.stream``."""
        reply = compose_reply(request.context)
        if request.partial:
            if reply.startswith(request.partial):
                reply = reply[len(request.partial) :]
            else:
                reply = _HANDOVER + reply
        for chunk in _CHUNK_RE.findall(reply):
            yield TextDelta(text=chunk, provider=self.name)
            # Yield to the loop between words so a long draft never starves other requests.
            await asyncio.sleep(0)
        yield StreamEnd(
            usage=Usage(estimate_prompt_tokens(request.messages), estimate_tokens(reply)),
            finish_reason="stop",
        )
