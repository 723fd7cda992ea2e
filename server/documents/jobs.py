"""The documents' jobs: ``ingest_document`` parses, chunks, embeds and indexes one upload.

The work itself is :func:`server.documents.pipeline.ingest_document`; this handler supplies its
collaborators from the job's context. Bad files are not job failures: the document ends
``failed`` with a reason and the job completes. Database or embedding-provider errors are
retried by the queue; when the last attempt fails, ``on_failure`` marks the document failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import update

from server.db.models import Document
from server.events import DocumentData, DocumentUpdated, project_channel
from server.metering import usage_scope
from server.queue import job_handler

from .embedders import configured_embedder
from .pipeline import ingest_document
from .schemas import document_out
from .storage import file_store

if TYPE_CHECKING:
    from server.queue import JobContext

__all__ = ("INGEST_JOB", "handle_ingest", "mark_failed")

INGEST_JOB = "ingest_document"
TIME_LIMIT_S = 900


async def mark_failed(ctx: JobContext, reason: str) -> None:
    """The job failed for good (e.g. the embedding provider stayed down): say so on the document."""
    async with ctx.session() as db:
        document = await db.scalar(
            update(Document)
            .where(Document.id == ctx.target_id, Document.status.in_(("uploaded", "processing")))
            .values(status="failed", error_code="indexing_failed", error=reason[:2000])
            .returning(Document)
        )
        await db.commit()
    if document is not None:
        await ctx.emit(
            [project_channel(document.project_id)],
            DocumentUpdated(DocumentData(document_out(document))),
        )


@job_handler(INGEST_JOB, time_limit_s=TIME_LIMIT_S, on_failure=mark_failed)
async def handle_ingest(ctx: JobContext) -> None:
    """Run the pipeline for the document ``ctx.target_id``."""
    project_id = ctx.payload.get("project_id")
    scope = usage_scope(purpose="ingest", project_id=UUID(project_id) if project_id else None)
    async with configured_embedder(ctx.settings.app.config_path) as embedder:
        with scope:
            await ingest_document(
                ctx.target_id,
                session_factory=ctx.session,
                embedder=ctx.meter.embedder(embedder),
                emit=ctx.emit,
                store=file_store(ctx.settings.app.data_dir),
                limits=ctx.settings.documents.limits(),
                should_cancel=ctx.cancelled,
                parse_pool=ctx.settings.documents.parse_pool,
                embed_shared=ctx.settings.documents.embed_shared,
                attempt=ctx.current,
            )
