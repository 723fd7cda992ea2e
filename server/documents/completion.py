"""Small documents completed in bulk: the chunks of every document ready at the same time
written in one transaction.

A small document's chunks, their vectors and its move to ``completed`` are one transaction.
Its chunks' BM25 statistics (migration 0006's trigger) lock the project's statistics rows
until that transaction commits, so concurrent completions in one project queue behind each
other, each holding the lock across a round trip to this process and a commit. Here a
completion that arrives while another is being written waits for that write and goes into
the next one with every other completion that arrived meanwhile: per batch, one guarded
``UPDATE`` per document, one multi-row insert of all their chunks (one run of the statistics
trigger over all of them, set-wise), one commit. A batch that fails is written again one
document at a time, so that one document's error stays its own.

Each document's job is marked completed in the same transaction (`server.queue.record_completed`),
so that the queue does not need a transaction of its own per document to say so.

The batch commits with ``synchronous_commit = off``: it does not wait for its WAL to reach the
disk (holding the statistics lock while it did). A crash can lose the last few hundred
milliseconds of completions, never corrupt them, and loses each with its job's: those jobs are
still ``running`` under a lease nobody renews, so the queue's sweep runs them again.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.db.direct import Row, driver, jsonb
from server.db.tenancy import current_org
from server.queue import record_completed

from . import index

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    import ingest
    from server.queue import Attempt

    SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

__all__ = [
    "Completion",
    "CompletionWriter",
    "DocumentFacts",
    "completion_writer",
    "document_chunks",
]

MAX_DOCUMENTS = 64
"""Documents written in one transaction at most."""


def document_chunks(
    document_id: UUID,
    chunks: Sequence[ingest.Chunk],
    vectors: Sequence[Sequence[float]],
) -> list[index.NewChunk]:
    """A document's chunks with their vectors, as the index writes them."""
    return [
        index.NewChunk(
            source_type="document",
            document_id=document_id,
            ordinal=piece.ordinal,
            text=piece.text,
            heading_path=piece.heading_path,
            page=piece.page,
            page_end=piece.page_end,
            token_count=piece.token_count,
            vector=vector,
        )
        for piece, vector in zip(chunks, vectors, strict=True)
    ]


@dataclass(frozen=True)
class DocumentFacts:
    """What parsing learnt of a document, written on it with its chunks."""

    title: str | None
    page_count: int | None
    chunks_total: int
    warnings: Sequence[str] = ()
    """The parser's warnings (pages left out, ...); they replace an earlier attempt's."""


@dataclass(frozen=True)
class Completion:
    """A processed document: its chunks, their vectors, and what parsing learnt of it."""

    document_id: UUID
    project_id: UUID
    space: str
    chunks: Sequence[ingest.Chunk]
    vectors: Sequence[Sequence[float]]
    facts: DocumentFacts
    attempt: Attempt | None = None
    """The job's attempt, completed with the document (None outside a job)."""


@dataclass
class _Request:
    completion: Completion
    sessions: SessionFactory
    future: asyncio.Future[Row | None]


_COMPLETE = """
UPDATE documents AS d
SET status = 'completed', title = v.title, page_count = v.page_count,
    pages_done = coalesce(v.page_count, 0), chunks_total = v.chunks_total,
    chunks_done = v.chunks_done, meta = d.meta || jsonb_build_object('warnings', v.warnings),
    updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[], $5::int[], $6::jsonb[])
     AS v (id, title, page_count, chunks_total, chunks_done, warnings)
WHERE d.id = v.id AND d.status = 'processing'
RETURNING d.*
"""
"""Every document of a batch still ``processing`` moved to ``completed``, in one statement."""


async def _write(sessions: SessionFactory, completions: Sequence[Completion]) -> dict[UUID, Row]:
    """Complete every document still ``processing`` with its chunks, in one transaction;
    returns the completed documents by id. The statements go on the driver's connection
    (:mod:`server.db.direct`): every small document runs them."""
    async with sessions() as db:
        connection = await driver(db)
        await connection.execute("SET LOCAL synchronous_commit = off")
        rows: list[Row] = await connection.fetch(
            _COMPLETE,
            [c.document_id for c in completions],
            [c.facts.title for c in completions],
            [c.facts.page_count for c in completions],
            [c.facts.chunks_total for c in completions],
            [len(c.chunks) for c in completions],
            [jsonb(list(c.facts.warnings)) for c in completions],
            record_class=Row,
        )
        completed = {row.id: row for row in rows}
        await record_completed(
            db,
            [
                c.attempt
                for c in completions
                if c.attempt is not None and c.document_id in completed
            ],
        )
        # One insert per project and embedding space (in practice, one).
        groups: dict[tuple[UUID, str], list[index.NewChunk]] = {}
        for completion in completions:
            if completion.document_id in completed:
                groups.setdefault((completion.project_id, completion.space), []).extend(
                    document_chunks(completion.document_id, completion.chunks, completion.vectors)
                )
        for (project_id, space), chunks in groups.items():
            await index.write_chunks(db, project_id=project_id, space=space, chunks=chunks)
        await db.commit()
    return completed


def _settle(request: _Request, result: dict[UUID, Row] | BaseException) -> None:
    if request.future.done():
        return
    if isinstance(result, asyncio.CancelledError):
        request.future.cancel()
    elif isinstance(result, BaseException):
        request.future.set_exception(result)
    else:
        request.future.set_result(result.get(request.completion.document_id))


@dataclass
class CompletionWriter:
    """Writes completions of one event loop, a batch at a time per organisation."""

    max_documents: int = MAX_DOCUMENTS
    _pending: dict[UUID | None, list[_Request]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def complete(self, sessions: SessionFactory, completion: Completion) -> Row | None:
        """Write ``completion``; returns the completed document, or None when it was no longer
        ``processing`` (cancelled or deleted), in which case nothing of it is written."""
        loop = asyncio.get_running_loop()
        request = _Request(completion, sessions, loop.create_future())
        # Row-level security: a batch writes for one organisation, the one its first
        # document's job works for (the task below inherits the caller's context).
        org = current_org()
        pending = self._pending.get(org)
        if pending is None:
            self._pending[org] = [request]
            task = loop.create_task(self._drain(org))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            pending.append(request)
        return await request.future

    async def _drain(self, org: UUID | None) -> None:
        """Write the organisation's batches until none is waiting."""
        batch: list[_Request] = []
        try:
            while True:
                waiting = self._pending.get(org, [])
                batch = [r for r in waiting[: self.max_documents] if not r.future.done()]
                del waiting[: self.max_documents]
                if not waiting and not batch:
                    del self._pending[org]
                    return
                if batch:
                    await self._write_batch(batch)
        except BaseException as exc:
            for request in (*batch, *self._pending.pop(org, [])):
                _settle(request, exc)
            raise

    @staticmethod
    async def _write_batch(batch: list[_Request]) -> None:
        try:
            written = await _write(batch[0].sessions, [r.completion for r in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            for request in batch:
                try:
                    alone = await _write(request.sessions, [request.completion])
                except Exception as error:
                    _settle(request, error)
                else:
                    _settle(request, alone)
            return
        for request in batch:
            _settle(request, written)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CompletionWriter] = (
    weakref.WeakKeyDictionary()
)


def completion_writer() -> CompletionWriter:
    """The completion writer of the running event loop."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = CompletionWriter()
    return writer
