"""Long memory: every stored message is embedded into ``message`` chunks of its project, from
which the planner recalls older messages by meaning (hybrid search over those chunks).

A turn's two messages (the user's and the reply) are embedded once the reply is complete, and
their chunks written in the transaction that stores the reply: no transaction of their own. A
message whose embedding failed is still in the conversation, only not recallable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from providers import embedding_space, estimate_tokens
from server.documents.index import NewChunk, write_chunks
from server.metering import usage_scope

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

CHUNK_WORDS = 180
"""Words per message chunk: long replies become several recallable pieces."""
_WORDS = re.compile(r"\S+")


def split_words(text: str, size: int = CHUNK_WORDS) -> list[str]:
    """``text`` in pieces of at most ``size`` words (whitespace normalised)."""
    words = _WORDS.findall(text)
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


class Remembered(msgspec.Struct):
    """A stored message's text, as memory embeds it."""

    id: UUID
    project_id: UUID
    phase_number: int | None
    content: str


@dataclass(frozen=True)
class Memory:
    """The embedded chunks of some messages, computed before the transaction that writes them."""

    project_id: UUID
    space: str
    chunks: list[NewChunk]

    async def write(self, db: AsyncSession) -> None:
        """Add the chunks to the caller's transaction."""
        await write_chunks(db, project_id=self.project_id, space=self.space, chunks=self.chunks)


async def remember(embedder: Embedder, messages: Sequence[Remembered]) -> Memory | None:
    """Embed ``messages`` into memory chunks (None when they have no words). No database work:
    the replies writes the result with the reply, in one transaction."""
    pieces = [(m, n, text) for m in messages for n, text in enumerate(split_words(m.content))]
    if not pieces:
        return None
    with usage_scope(purpose="memory", project_id=pieces[0][0].project_id):
        vectors = await embedder.embed([text for _, _, text in pieces])
    return Memory(
        project_id=pieces[0][0].project_id,
        space=embedding_space(embedder),
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
