"""Long memory: every stored message is embedded into ``message`` chunks of its project, from
which the planner recalls older messages by meaning (hybrid search over those chunks).

Embedding runs after the message is stored and published, never on a reply's critical path; a
message whose embedding failed is still in the conversation, only not recallable.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select

from providers import embedding_space, estimate_tokens
from server.db.models import ChatMessage
from server.documents.index import NewChunk, write_chunks
from server.metering import usage_scope

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

logger = structlog.get_logger()

CHUNK_WORDS = 180
"""Words per message chunk: long replies become several recallable pieces."""
_WORDS = re.compile(r"\S+")


def split_words(text: str, size: int = CHUNK_WORDS) -> list[str]:
    """``text`` in pieces of at most ``size`` words (whitespace normalised)."""
    words = _WORDS.findall(text)
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


async def embed_messages(db: AsyncSession, embedder: Embedder, message_ids: Sequence[UUID]) -> int:
    """Write the chunks of ``message_ids`` (skipping empty ones) and commit; chunks written."""
    rows = await db.scalars(
        select(ChatMessage).where(ChatMessage.id.in_(message_ids)).order_by(ChatMessage.seq)
    )
    messages = list(rows)
    pieces = [(m, n, text) for m in messages for n, text in enumerate(split_words(m.content))]
    if not pieces:
        return 0
    space = embedding_space(embedder)
    with usage_scope(purpose="memory", project_id=messages[0].project_id):
        vectors = await embedder.embed([text for _, _, text in pieces])
    await write_chunks(
        db,
        project_id=messages[0].project_id,
        space=space,
        chunks=[
            NewChunk(
                source_type="message",
                message_id=message.id,
                phase_number=message.phase_number,
                ordinal=ordinal,
                text=text,
                token_count=estimate_tokens(text),
                vector=vector,
            )
            for (message, ordinal, text), vector in zip(pieces, vectors, strict=True)
        ],
    )
    await db.commit()
    return len(pieces)
