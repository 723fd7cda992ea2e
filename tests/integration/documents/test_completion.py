"""Small documents completed in bulk (`CompletionWriter`): documents ready at the same time
share one transaction, the keyword statistics stay exact, and a document that was cancelled
or cannot be written changes nothing for the others."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from ingest import Chunk as Piece
from providers import embedding_space
from server.db.direct import Row
from server.db.models import Chunk, Document
from server.documents.completion import Completion, CompletionWriter, DocumentFacts

from .test_bm25 import _abstracts, _assert_exact

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from providers import Embedder


class CountedSessions:
    """A session factory that counts the sessions (one transaction each) it opened."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.opened = 0

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        self.opened += 1
        async with self.sessions() as db:
            yield db


async def _processing(db: AsyncSession, project_id: UUID, texts: list[str]) -> list[Document]:
    documents = []
    for number, body in enumerate(texts):
        data = f"{number}\n{body}".encode()
        documents.append(
            Document(
                project_id=project_id,
                filename=f"note-{number}.md",
                kind="markdown",
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                status="processing",
            )
        )
    db.add_all(documents)
    await db.commit()
    return documents


async def _completion(
    embedder: Embedder, document: Document, body: str, vector: list[float] | None = None
) -> Completion:
    pieces = [Piece(0, body, (), None, None, 0, "text")]
    return Completion(
        document.id,
        document.project_id,
        embedding_space(embedder),
        pieces,
        [vector] if vector is not None else await embedder.embed([body]),
        DocumentFacts(title=None, page_count=None, chunks_total=1),
    )


async def _chunks_of(db: AsyncSession, document_id: UUID) -> int:
    count = await db.scalar(
        select(func.count()).select_from(Chunk).where(Chunk.document_id == document_id)
    )
    return int(count or 0)


async def test_documents_ready_together_share_a_transaction_and_bm25_stays_exact(
    db: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    make_account: Any,
    make_project: Any,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    texts = _abstracts(24)
    documents = await _processing(db, project_id, texts)
    writer = CompletionWriter(max_documents=10)
    counted = CountedSessions(sessions)
    completions = [await _completion(embedder, d, t) for d, t in zip(documents, texts, strict=True)]

    written = await asyncio.gather(*(writer.complete(counted, c) for c in completions))

    assert [d.id for d in written if d is not None] == [d.id for d in documents]
    assert {d.status for d in written if d is not None} == {"completed"}
    assert counted.opened == 3  # 24 documents in batches of at most 10
    ids = [d.id for d in documents]
    db.expire_all()
    for document_id in ids:
        assert await _chunks_of(db, document_id) == 1
        assert await db.scalar(select(Document.status).where(Document.id == document_id)) == (
            "completed"
        )
    await _assert_exact(db, owner.id, project_id)


async def test_cancelled_and_failing_documents_leave_the_others_completed(
    db: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    make_account: Any,
    make_project: Any,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    texts = _abstracts(6)
    documents = await _processing(db, project_id, texts)
    cancelled, broken = documents[1], documents[3]
    await db.execute(update(Document).where(Document.id == cancelled.id).values(status="cancelled"))
    await db.commit()
    completions = [
        # A vector of the wrong size cannot enter the embedding space's index.
        await _completion(embedder, d, t, [1.0, 0.0, 0.0] if d is broken else None)
        for d, t in zip(documents, texts, strict=True)
    ]

    writer = CompletionWriter()
    counted = CountedSessions(sessions)
    results = await asyncio.gather(
        *(writer.complete(counted, c) for c in completions), return_exceptions=True
    )

    assert results[1] is None  # cancelled: nothing of it written
    assert isinstance(results[3], Exception)
    assert all(isinstance(r, Row) for n, r in enumerate(results) if n not in {1, 3})
    assert counted.opened == 1 + len(documents)  # the batch, then each document alone
    ids = [d.id for d in documents]
    db.expire_all()
    statuses = dict((await db.execute(select(Document.id, Document.status))).tuples().all())
    assert [statuses[i] for i in ids] == [
        "completed",
        "cancelled",
        "completed",
        "processing",
        "completed",
        "completed",
    ]
    assert await _chunks_of(db, ids[1]) == 0
    assert await _chunks_of(db, ids[3]) == 0
    await _assert_exact(db, owner.id, project_id)
