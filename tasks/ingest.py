"""The ``ingest_document`` job: parse, chunk, embed and index one uploaded document.

The work itself is :func:`server.documents.pipeline.ingest_document`; this handler supplies its
collaborators from the job's context. Bad files are not job failures: the document ends
``failed`` with a reason and the job completes. Database or embedding-provider errors are
retried by the queue; when the last attempt fails, ``on_failure`` marks the document failed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sqlalchemy import update

from providers import build_registry, parse_config
from server.db.models import Document
from server.documents.pipeline import ingest_document
from server.documents.schemas import document_out
from server.documents.settings import document_settings
from server.documents.storage import file_store
from server.events import DocumentData, DocumentUpdated, project_channel
from tasks.jobs import job_handler

if TYPE_CHECKING:
    from tasks.jobs import JobContext

__all__ = ("handle_ingest", "mark_failed")

TIME_LIMIT_S = 900


async def mark_failed(ctx: JobContext, reason: str) -> None:
    """The job failed for good (e.g. the embedding provider stayed down): say so on the document."""
    async with ctx.session() as session:
        document = await session.scalar(
            update(Document)
            .where(Document.id == ctx.target_id, Document.status.in_(("uploaded", "processing")))
            .values(status="failed", error_code="indexing_failed", error=reason[:2000])
            .returning(Document)
        )
        await session.commit()
    if document is not None:
        await ctx.emit(
            [project_channel(document.project_id)],
            DocumentUpdated(DocumentData(document_out(document))),
        )


@job_handler("ingest_document", time_limit_s=TIME_LIMIT_S, on_failure=mark_failed)
async def handle_ingest(ctx: JobContext) -> None:
    """Run the pipeline for the document ``ctx.target_id``."""
    config_bytes = await asyncio.to_thread(ctx.settings.app.config_path.read_bytes)
    registry = build_registry(parse_config(config_bytes))
    try:
        await ingest_document(
            ctx.target_id,
            session_factory=ctx.session,
            embedder=registry.embedder(),
            emit=ctx.emit,
            store=file_store(ctx.settings.app.data_dir),
            limits=document_settings().limits(),
            should_cancel=ctx.cancelled,
        )
    finally:
        await registry.aclose()
