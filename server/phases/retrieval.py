"""Passages for a phase draft: the project's document chunks and earlier conversation.

Lexical retrieval with PostgreSQL full text: the phase's title, goal and answers become an OR
query, ranked with ``ts_rank``. Document passages come from ``chunks``; conversation recall
searches the project's stored user messages, so something said weeks ago in another session can
ground today's draft.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from server.db.models import ChatMessage, Chunk, Document

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

_WORD = re.compile(r"[^\W\d_]{3,}")
MAX_TERMS = 40


class Hit:
    """One retrieved passage and where it came from."""

    __slots__ = (
        "chunk_id",
        "document_id",
        "kind",
        "label",
        "message_id",
        "page",
        "score",
        "text",
    )

    def __init__(
        self,
        kind: str,
        text: str,
        label: str,
        score: float,
        *,
        chunk_id: UUID | None = None,
        document_id: UUID | None = None,
        message_id: UUID | None = None,
        page: int | None = None,
    ) -> None:
        self.kind, self.text, self.label, self.score = kind, text, label, score
        self.chunk_id, self.document_id = chunk_id, document_id
        self.message_id, self.page = message_id, page


def or_query(text: str) -> str | None:
    """A ``to_tsquery`` expression matching any distinct word of ``text`` (None if no words)."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in words:
            words.append(word)
    return " | ".join(words[:MAX_TERMS]) or None


async def search_documents(
    session: AsyncSession, project_id: UUID, text: str, limit: int
) -> list[Hit]:
    """The best-matching document chunks of the project."""
    expression = or_query(text)
    if expression is None:
        return []
    query = func.to_tsquery("english", expression)
    rank = func.ts_rank(Chunk.tsv, query).label("rank")
    rows = await session.execute(
        select(Chunk, Document.filename, rank)
        .join(Document, Document.id == Chunk.document_id)
        .where(
            Chunk.project_id == project_id,
            Chunk.source_type == "document",
            Document.status == "completed",
            Chunk.tsv.op("@@")(query),
        )
        .order_by(rank.desc(), Chunk.ordinal)
        .limit(limit)
    )
    hits = []
    for chunk, filename, score in rows.tuples():
        where = [filename]
        if chunk.page is not None:
            where.append(f"p. {chunk.page}")
        if chunk.heading_path:
            where.append(" > ".join(chunk.heading_path))
        hits.append(
            Hit(
                "document",
                chunk.text,
                ", ".join(where),
                float(score),
                chunk_id=chunk.id,
                document_id=chunk.document_id,
                page=chunk.page,
            )
        )
    return hits


async def search_messages(
    session: AsyncSession, project_id: UUID, text: str, limit: int, exclude: set[UUID]
) -> list[Hit]:
    """The user's own earlier messages in the project that match, excluding ``exclude``."""
    expression = or_query(text)
    if expression is None:
        return []
    query = func.to_tsquery("english", expression)
    vector = func.to_tsvector("english", ChatMessage.content)
    rank = func.ts_rank(vector, query).label("rank")
    statement = (
        select(ChatMessage, rank)
        .where(
            ChatMessage.project_id == project_id,
            ChatMessage.role == "user",
            vector.op("@@")(query),
        )
        .order_by(rank.desc(), ChatMessage.created_at)
        .limit(limit + len(exclude))
    )
    rows = await session.execute(statement)
    hits: list[Hit] = []
    for message, score in rows.tuples():
        if message.id in exclude or len(hits) >= limit:
            continue
        label = f"conversation, {message.created_at:%Y-%m-%d}"
        hits.append(Hit("message", message.content, label, float(score), message_id=message.id))
    return hits
