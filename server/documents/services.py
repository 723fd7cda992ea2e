"""Documents and their chunks in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import delete, select, update
from uuid_utils.compat import uuid7

from server.db.direct import Row, driver
from server.db.models import Chunk, Document
from server.db.tenancy import across_orgs

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

_ADD_UPLOAD = """
INSERT INTO documents (id, project_id, uploaded_by, filename, kind, size_bytes, sha256, status,
                       pages_done, chunks_total, chunks_done, meta, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'uploaded', 0, 0, 0, '{}', now(), now())
ON CONFLICT (project_id, sha256) DO NOTHING
RETURNING *
"""

ACTIVE = ("uploaded", "processing")
"""Statuses in which a document can still be cancelled."""


async def sha256_in_use(db: AsyncSession, sha256: str) -> bool:
    """Whether any document (of any project, of any organisation: files are stored once by
    hash for the whole server) still refers to the file with this hash."""
    async with across_orgs(db, "whether a stored file is still referenced"):
        found = await db.scalar(select(Document.id).where(Document.sha256 == sha256).limit(1))
    return found is not None


class DocumentService(SQLAlchemyAsyncRepositoryService[Document]):
    """Documents of projects, their chunks, deletion and cancellation."""

    class Repo(SQLAlchemyAsyncRepository[Document]):
        model_type = Document

    repository_type = Repo

    async def list_for_project(self, project_id: UUID) -> Sequence[Document]:
        """A project's documents, newest first."""
        rows = await self.repository.session.scalars(
            select(Document)
            .where(Document.project_id == project_id)
            .order_by(Document.created_at.desc(), Document.id.desc())
        )
        return list(rows.all())

    async def find_by_hash(self, project_id: UUID, sha256: str) -> Document | None:
        """The project's document with these exact bytes, if it has one."""
        found: Document | None = await self.repository.session.scalar(
            select(Document).where(Document.project_id == project_id, Document.sha256 == sha256)
        )
        return found

    async def add_upload(
        self,
        *,
        project_id: UUID,
        uploaded_by: UUID,
        filename: str,
        kind: str,
        size_bytes: int,
        sha256: str,
    ) -> Row | None:
        """A new ``uploaded`` document, inserted on the driver's connection (every upload
        does it); the row has every column the reply shows. None when the project has a
        document with these exact bytes already (:meth:`find_by_hash` finds it): the
        uniqueness of ``(project_id, sha256)`` decides, so two uploads of the same bytes at
        once make one document."""
        row: Row | None = await (await driver(self.repository.session)).fetchrow(
            _ADD_UPLOAD,
            uuid7(),
            project_id,
            uploaded_by,
            filename,
            kind,
            size_bytes,
            sha256,
            record_class=Row,
        )
        return row

    async def chunks(self, document_id: UUID, *, limit: int, offset: int) -> Sequence[Chunk]:
        """A page of a document's chunks in reading order."""
        rows = await self.repository.session.scalars(
            select(Chunk)
            .where(Chunk.document_id == document_id)
            .order_by(Chunk.ordinal)
            .limit(limit)
            .offset(offset)
        )
        return list(rows.all())

    async def remove(self, document: Document) -> bool:
        """Delete the document with its chunks and vectors in the session's transaction.

        Returns whether its file is now unreferenced (and should be removed after commit).
        """
        db = self.repository.session
        await db.execute(delete(Chunk).where(Chunk.document_id == document.id))
        await db.execute(delete(Document).where(Document.id == document.id))
        return not await sha256_in_use(db, document.sha256)

    async def cancel(self, document: Document) -> Document:
        """Mark a queued or processing document cancelled; the worker stops at its next step."""
        db = self.repository.session
        await db.execute(
            update(Document)
            .where(Document.id == document.id, Document.status.in_(ACTIVE))
            .values(status="cancelled", error_code="cancelled", error="cancelled by a user")
        )
        await db.refresh(document)
        return document

    async def requeue(self, document: Document) -> Document:
        """Reset a failed or cancelled document so that it is processed again."""
        document.status = "uploaded"
        document.error_code = None
        document.error = None
        document.pages_done = document.chunks_done = document.chunks_total = 0
        await self.repository.session.flush()
        return document
