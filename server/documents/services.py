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

_BY_HASH = "SELECT id FROM documents WHERE project_id = $1 AND sha256 = $2"
_ADD_UPLOAD = """
INSERT INTO documents (id, project_id, uploaded_by, filename, kind, size_bytes, sha256, status,
                       pages_done, chunks_total, chunks_done, meta, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'uploaded', 0, 0, 0, '{}', now(), now())
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
        """The project's document with these exact bytes, if it has one.

        Every upload asks, and almost always for bytes the project does not have yet: the
        question goes on the driver's connection (:mod:`server.db.direct`), and only a
        document found is loaded as an object."""
        db = self.repository.session
        found: UUID | None = await (await driver(db)).fetchval(_BY_HASH, project_id, sha256)
        return None if found is None else await db.get(Document, found)

    async def add_upload(
        self,
        *,
        project_id: UUID,
        uploaded_by: UUID,
        filename: str,
        kind: str,
        size_bytes: int,
        sha256: str,
    ) -> Row:
        """A new ``uploaded`` document, inserted on the driver's connection (every upload
        does it); the row has every column the reply shows."""
        row: Row = await (await driver(self.repository.session)).fetchrow(
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
