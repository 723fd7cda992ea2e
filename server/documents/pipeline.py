"""The ingest pipeline a worker runs for one document: parse, chunk, embed, index.

It is written against plain collaborators (a session factory, an embedder, an event publisher,
the file store) so that the task queue's handler is a thin wrapper and tests can run it as is.
Every step re-reads the document's status with a guarded ``UPDATE ... WHERE status =
'processing'``: a user's cancel (or delete) is noticed at the next step, and the pipeline never
overwrites it.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from typing import TYPE_CHECKING, Any, Literal, cast

import structlog
from sqlalchemy import delete, select, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB

from ingest import TOKENIZER, ChunkOptions, IngestError, Limits, embedding_text, embedding_token_ids
from providers import TokenIdEmbedder, embedding_space
from server.db.direct import Row, driver
from server.db.models import Chunk, Document
from server.events import DocumentData, DocumentUpdated, project_channel

from . import index
from .batching import embedding_batcher
from .completion import Completion, DocumentFacts, completion_writer, document_chunks
from .parsing import parse_document
from .schemas import document_out

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    import ingest
    from providers import Embedder
    from server.queue import Attempt

    from .storage import FileStore

    SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
    from server.events import ServerFrame

    EmitFrame = Callable[[list[str], ServerFrame], Awaitable[None]]
    """``(channels, frame)``: a job context's ``emit``, or `server.events.emit` bound to a
    publisher."""

logger = structlog.get_logger()

Outcome = Literal["completed", "failed", "cancelled", "gone"]
EMBED_BATCH = 64
PUBLISH_INTERVAL_S = 0.5
CANCEL_POLL_S = 0.5


_START = """
WITH earlier_chunks AS (
    DELETE FROM chunks
    WHERE document_id = $1
      AND EXISTS (SELECT FROM documents
                  WHERE id = $1 AND status IN ('uploaded', 'processing'))
)
UPDATE documents
SET status = 'processing', error = NULL, error_code = NULL, pages_done = 0, chunks_done = 0,
    updated_at = now()
WHERE id = $1 AND status IN ('uploaded', 'processing')
RETURNING *
"""


class _Stopped(Exception):  # noqa: N818 - control flow, not an error
    """The document was cancelled or deleted while being processed."""


class _Run:
    """One run of the pipeline over one document."""

    def __init__(
        self,
        document_id: UUID,
        session_factory: SessionFactory,
        embedder: Embedder,
        emit: EmitFrame,
        should_cancel: Callable[[], Awaitable[bool]] | None,
        *,
        parse_pool: int,
        embed_shared: bool,
        attempt: Attempt | None,
    ) -> None:
        self.document_id = document_id
        self.attempt = attempt
        self.sessions = session_factory
        self.embedder = embedder
        self.emit = emit
        self.should_cancel = should_cancel
        self.parse_pool = parse_pool
        self.embed_shared = embed_shared
        self._published_at = 0.0

    async def _publish(self, document: Document | Row, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._published_at < PUBLISH_INTERVAL_S:
            return
        self._published_at = now
        await self.emit(
            [project_channel(document.project_id)],
            DocumentUpdated(DocumentData(document_out(document))),
        )

    async def progress(self, *, force: bool = False, **values: Any) -> Document:
        """Write ``values`` while the document is processing; raise `_Stopped` otherwise."""
        async with self.sessions() as db:
            document = await db.scalar(
                update(Document)
                .where(Document.id == self.document_id, Document.status == "processing")
                .values(**values)
                .returning(Document)
            )
            await db.commit()
        if document is None:
            raise _Stopped
        await self._publish(document, force=force)
        return document

    async def check_cancelled(self) -> None:
        """Raise `_Stopped` when the queue says this job was cancelled."""
        if self.should_cancel is not None and await self.should_cancel():
            raise _Stopped

    async def start(self) -> Row | None:
        """Move the document to ``processing`` and drop chunks of an earlier attempt, in one
        statement (on the driver's connection: every document runs it)."""
        async with self.sessions() as db:
            document: Row | None = await (await driver(db)).fetchrow(
                _START, self.document_id, record_class=Row
            )
            if document is None:
                return None
            await db.commit()
        await self._publish(document, force=True)
        return document

    async def finish(
        self, status: Outcome, code: str | None = None, message: str | None = None
    ) -> None:
        """Leave the document ``status``; on anything but success, without chunks."""
        async with self.sessions() as db:
            if status != "completed":
                await db.execute(delete(Chunk).where(Chunk.document_id == self.document_id))
            values: dict[str, Any] = {"status": status}
            if code is not None:
                values |= {"error_code": code, "error": message}
            document = await db.scalar(
                update(Document)
                .where(Document.id == self.document_id, Document.status == "processing")
                .values(**values)
                .returning(Document)
            )
            if document is None:
                document = await db.get(Document, self.document_id)
            await db.commit()
        if document is not None:
            await self._publish(document, force=True)

    async def parse(
        self,
        read: Callable[[], bytes],
        kind: ingest.DocumentKind,
        limits: Limits,
        chunking: ChunkOptions,
    ) -> tuple[ingest.ParsedDocument, list[ingest.Chunk]]:
        """Parse the file ``read`` returns and cut it into chunks in a separate process
        (pooled or fresh), reporting pages as they are done."""
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        latest: list[ingest.Progress] = []

        def on_progress(report: ingest.Progress) -> None:
            latest.append(report)

        async def watch() -> None:
            reported = None
            while not cancel.is_set():
                await asyncio.sleep(CANCEL_POLL_S)
                try:
                    await self.check_cancelled()
                    if latest and latest[-1] != reported:
                        reported = latest[-1]
                        await self.progress(
                            pages_done=reported.pages_done, page_count=reported.page_count
                        )
                except _Stopped:
                    cancel.set()

        watcher = loop.create_task(watch())
        try:
            parsed = await asyncio.to_thread(
                parse_document,
                read,
                kind,
                limits,
                on_progress,
                cancel,
                chunking=chunking,
                pool_size=self.parse_pool,
            )
        finally:
            stopped = cancel.is_set()
            cancel.set()
            watcher.cancel()
            if stopped:
                raise _Stopped
        if not parsed.chunks:
            raise IngestError("empty", "the document has no text to index")
        return parsed, list(parsed.chunks)

    async def embed(self, chunks: Sequence[ingest.Chunk]) -> list[list[float]]:
        """Vectors of ``chunks``: from their token ids when the embedder takes the ids of the
        tokenizer that cut them (the local WordLlama does), which spares tokenizing their
        texts again; else of their texts, in a batch shared with concurrent documents when
        enabled."""
        embedder = self.embedder
        if (
            isinstance(embedder, TokenIdEmbedder)
            and embedder.tokenizer == TOKENIZER
            and all(c.token_ids for c in chunks)
        ):
            return await embedder.embed_token_ids([embedding_token_ids(c) for c in chunks])
        texts = [embedding_text(c.heading_path, c.text) for c in chunks]
        if self.embed_shared:
            return await embedding_batcher().embed(embedder, texts)
        return await embedder.embed(texts)

    async def complete(
        self, project_id: UUID, chunks: list[ingest.Chunk], facts: DocumentFacts
    ) -> None:
        """Embed all ``chunks`` and end ``completed`` with them, written in one transaction
        shared with other documents completing at the same time (a document whose chunks
        fit one embedding batch: most are small). A cancel is seen by the write's guarded
        ``UPDATE`` (cancelling a job cancels its document in the same transaction), so the
        queue is not asked again (a transaction of its own per document)."""
        space = embedding_space(self.embedder)
        vectors = await self.embed(chunks)
        document = await completion_writer().complete(
            self.sessions,
            Completion(self.document_id, project_id, space, chunks, vectors, facts, self.attempt),
        )
        if document is None:
            raise _Stopped
        await self._publish(document, force=True)

    async def index(self, chunks: list[ingest.Chunk]) -> None:
        """Embed and store the chunks in batches, counting ``chunks_done``."""
        space = embedding_space(self.embedder)
        done = 0
        for start in range(0, len(chunks), EMBED_BATCH):
            await self.check_cancelled()
            batch = chunks[start : start + EMBED_BATCH]
            vectors = await self.embed(batch)
            async with self.sessions() as db:
                document = await db.scalar(
                    select(Document)
                    .where(Document.id == self.document_id, Document.status == "processing")
                    .with_for_update()
                )
                if document is None:
                    raise _Stopped
                await index.write_chunks(
                    db,
                    project_id=document.project_id,
                    space=space,
                    chunks=document_chunks(self.document_id, batch, vectors),
                )
                await db.commit()
            done += len(batch)
            await self.progress(chunks_done=done)


def _columns(facts: DocumentFacts) -> dict[str, Any]:
    """``facts`` as the columns an ORM ``UPDATE`` of the document sets."""
    return {
        "title": facts.title,
        "page_count": facts.page_count,
        "pages_done": facts.page_count or 0,
        "chunks_total": facts.chunks_total,
        "meta": Document.meta.op("||")(type_coerce({"warnings": list(facts.warnings)}, JSONB)),
    }


async def write_chunks(
    db: AsyncSession,
    *,
    project_id: UUID,
    document_id: UUID,
    chunks: Sequence[ingest.Chunk],
    vectors: Sequence[Sequence[float]],
    space: str,
) -> None:
    """Index a document's chunks with their vectors (see :func:`index.write_chunks`)."""
    await index.write_chunks(
        db,
        project_id=project_id,
        space=space,
        chunks=document_chunks(document_id, chunks, vectors),
    )


async def ingest_document(
    document_id: UUID,
    *,
    session_factory: SessionFactory,
    embedder: Embedder,
    emit: EmitFrame,
    store: FileStore,
    limits: Limits | None = None,
    options: ChunkOptions | None = None,
    should_cancel: Callable[[], Awaitable[bool]] | None = None,
    parse_pool: int = 0,
    embed_shared: bool = True,
    attempt: Attempt | None = None,
) -> Outcome:
    """Parse, chunk, embed and index one uploaded document; returns how it ended.

    Bad files end ``failed`` with the parser's code and message; a cancel (the document's
    status, or ``should_cancel``) ends ``cancelled`` without chunks; a document that is gone or
    no longer waiting is left alone (``gone``). Other errors (database, embedding provider)
    propagate so that the queue retries the job. A small document's job ``attempt`` is
    completed in the transaction that completes the document.
    """
    run = _Run(
        document_id,
        session_factory,
        embedder,
        emit,
        should_cancel,
        parse_pool=parse_pool,
        embed_shared=embed_shared,
        attempt=attempt,
    )
    document = await run.start()
    if document is None:
        return "gone"
    log = logger.bind(document_id=str(document_id), project_id=str(document.project_id))
    try:
        try:
            parsed, pieces = await run.parse(
                functools.partial(store.read, document.sha256),
                cast("ingest.DocumentKind", document.kind),
                limits or Limits(),
                options or ChunkOptions(),
            )
        except FileNotFoundError:
            await run.finish("failed", "missing_file", "the uploaded file is no longer stored")
            return "failed"
        facts = DocumentFacts(
            title=(parsed.title or None) and parsed.title[:500],
            page_count=parsed.page_count,
            chunks_total=len(pieces),
            warnings=parsed.warnings,
        )
        if len(pieces) <= EMBED_BATCH:
            await run.complete(document.project_id, pieces, facts)
        else:
            await run.progress(force=True, **_columns(facts))
            await run.index(pieces)
            await run.finish("completed")
    except IngestError as exc:
        if exc.code == "cancelled":
            await run.finish("cancelled")
            return "cancelled"
        log.info("document failed", code=exc.code, reason=exc.message)
        await run.finish("failed", exc.code, exc.message)
        return "failed"
    except _Stopped:
        await run.finish("cancelled")
        log.info("document processing stopped")
        return "cancelled"
    log.info("document indexed", chunks=len(pieces), warnings=len(parsed.warnings))
    return "completed"
