"""Keeping files, rows and vectors in agreement: re-embedding and the orphan check.

``reembed`` brings every chunk into the configured embedding space after the model changed
(creating that space's HNSW index first); ``check`` finds files without rows, documents whose
file is missing, and chunks of another embedding space, and with ``repair`` fixes them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import delete, func, select, text, update

from ingest import embedding_text
from providers import embedding_space
from server.db.models import Chunk, Document

from .index import ensure_hnsw_index, vector_literal

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

    from .storage import FileStore

    SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

REEMBED_BATCH = 256


class Report(msgspec.Struct):
    """What ``check`` found (and, with ``repair``, fixed)."""

    space: str
    orphan_files: list[str]
    """Stored files no document refers to."""
    missing_files: list[str]
    """Ids of documents whose file is gone (repair deletes them: nothing can be re-read)."""
    foreign_chunks: int
    """Chunks whose vector is of another embedding space (or missing)."""
    repaired: bool = False

    @property
    def clean(self) -> bool:
        """Whether nothing is out of place."""
        return not (self.orphan_files or self.missing_files or self.foreign_chunks)


async def reembed(
    sessions: SessionFactory,
    embedder: Embedder,
    *,
    batch_size: int = REEMBED_BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed every chunk not in ``embedder``'s space again; returns how many were updated.

    Works in batches, each its own transaction, so it can be interrupted and run again; search
    keeps working on the chunks already moved (and keyword search on all of them).
    """
    space = embedding_space(embedder)
    async with sessions() as db:
        await ensure_hnsw_index(db, space)
        await db.commit()
        total = await db.scalar(
            select(func.count()).where(Chunk.embedding_space.is_distinct_from(space))
        )
    done = 0
    while True:
        async with sessions() as db:
            rows = (
                await db.execute(
                    select(Chunk.id, Chunk.heading_path, Chunk.text)
                    .where(Chunk.embedding_space.is_distinct_from(space))
                    .order_by(Chunk.id)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                return done
            vectors = await embedder.embed([embedding_text(r.heading_path, r.text) for r in rows])
            await db.execute(
                text(
                    "UPDATE chunks SET embedding = CAST(:vector AS vector), "
                    "embedding_space = :space WHERE id = :id"
                ),
                [
                    {"id": row.id, "vector": vector_literal(vector), "space": space}
                    for row, vector in zip(rows, vectors, strict=True)
                ],
            )
            await db.commit()
        done += len(rows)
        if progress is not None:
            progress(done, int(total or 0))


async def check(
    sessions: SessionFactory, store: FileStore, space: str, *, repair: bool = False
) -> Report:
    """Compare files, document rows and chunk spaces; with ``repair``, fix what is found.

    Repair removes orphan files, deletes documents whose file is gone (with their chunks),
    and clears vectors of other spaces (run ``reembed`` to refill
    them; until then those chunks are found by keyword search only).
    """
    async with sessions() as db:
        hashes = set((await db.scalars(select(Document.sha256).distinct())).all())
        documents = (await db.execute(select(Document.id, Document.sha256))).all()
        foreign = int(
            await db.scalar(
                select(func.count()).where(
                    Chunk.embedding.is_not(None), Chunk.embedding_space.is_distinct_from(space)
                )
            )
            or 0
        )
    stored = await asyncio.to_thread(store.hashes)
    orphans = sorted(stored - hashes)
    missing_hashes = hashes - stored
    missing = sorted(str(d.id) for d in documents if d.sha256 in missing_hashes)
    report = Report(
        space=space, orphan_files=orphans, missing_files=missing, foreign_chunks=foreign
    )
    if not repair or report.clean:
        return report
    for sha256 in orphans:
        async with sessions() as db:
            # Only remove a file that is still unreferenced: an upload may have claimed it.
            if await db.scalar(select(Document.id).where(Document.sha256 == sha256).limit(1)):
                continue
        await asyncio.to_thread(store.remove, sha256)
    async with sessions() as db:
        if missing_hashes:
            # Nothing can be re-read from a lost file: its rows go, as a delete would remove them.
            missing_ids = select(Document.id).where(Document.sha256.in_(missing_hashes))
            await db.execute(delete(Chunk).where(Chunk.document_id.in_(missing_ids)))
            await db.execute(delete(Document).where(Document.sha256.in_(missing_hashes)))
        if foreign:
            await db.execute(
                update(Chunk)
                .where(Chunk.embedding.is_not(None), Chunk.embedding_space.is_distinct_from(space))
                .values(embedding=None, embedding_space=None)
            )
        await db.commit()
    report.repaired = True
    return report
