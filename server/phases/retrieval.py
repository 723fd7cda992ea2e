"""Passages for a phase draft: the project's documents and its earlier conversation.

Both come from :func:`server.documents.retrieval.search` (hybrid keyword + vector search, with
the caller's access checked in SQL): document chunks first, then chunks of earlier messages, so
something said weeks ago in another session can ground today's draft. The messages a phase's
answers came from are left out: the answers are in the prompt already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.documents.retrieval import search

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder
    from server.documents.retrieval import Hit

DOCUMENT_LIMIT = 8
MESSAGE_LIMIT = 4


async def retrieve(
    session: AsyncSession,
    *,
    user_id: UUID,
    project_id: UUID,
    query: str,
    embedder: Embedder | None,
    exclude_messages: set[UUID],
) -> list[Hit]:
    """Document passages, best first, then recalled messages not in ``exclude_messages``."""
    documents = await search(
        session,
        user_id=user_id,
        project_id=project_id,
        query=query,
        k=DOCUMENT_LIMIT,
        embedder=embedder,
    )
    messages = await search(
        session,
        user_id=user_id,
        project_id=project_id,
        query=query,
        k=MESSAGE_LIMIT + len(exclude_messages),
        embedder=embedder,
        source_types=("message",),
    )
    recalled = [hit for hit in messages if hit.message_id not in exclude_messages]
    return [*documents, *recalled[:MESSAGE_LIMIT]]
