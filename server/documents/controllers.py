"""``/api/v1/documents`` (upload, get, delete, chunks, cancel), a project's document list, and
``/api/v1/search``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Controller, Request, Response, delete, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from ingest import IngestError, sniff
from providers import ProviderError
from server import audit
from server.access import EDITOR, USER, VIEWER, require_role
from server.ai import ConfigStore
from server.db import session
from server.db.models import Document, User
from server.errors import STATUS, DomainError, ErrorCode, conflict, invalid
from server.events import DocumentData, DocumentUpdated, emit, project_channel
from server.metering import usage_scope
from server.queue import cancel, enqueue
from server.runtime import runtime_of

from .jobs import INGEST_JOB
from .retrieval import search
from .schemas import Document as DocumentSchema
from .schemas import DocumentChunk, SearchHit, SearchRequest, SearchResults, chunk_out, document_out
from .services import ACTIVE, DocumentService, sha256_in_use
from .storage import file_store
from .upload import HEADROOM_BYTES, Received, receive_upload, too_large

if TYPE_CHECKING:
    from litestar import Litestar

    from providers import Embedder

    from .storage import FileStore

INGEST_ATTEMPTS = 3
INGEST_TIMEOUT_S = 900
DEPENDENCIES = {"documents": Provide(create_service_provider(DocumentService))}
ON_PROJECT = {"project_of": ("document_id", Document)}


def _store(request: Request[Any, Any, Any]) -> FileStore:
    return file_store(runtime_of(request.app).settings.app.data_dir)


def _embedder(config_store: ConfigStore) -> Embedder:
    try:
        embedder: Embedder = config_store.embedder()
    except ProviderError as exc:
        raise DomainError("unavailable", f"embeddings are unavailable: {exc}") from None
    return embedder


def _refused(error: IngestError) -> DomainError:
    """The upload error for a file refused on sight (unsupported, too large, unreadable)."""
    code: ErrorCode = error.code if error.code in STATUS else "invalid"
    return DomainError(code, error.message)


def _sniff_and_keep(store: FileStore, received: Received) -> str:
    """The file's type by its content; a file of a type we read is stored at its address."""
    if received.data is not None:
        kind = sniff(received.data, received.filename)
        store.put(received.data, received.sha256)
        return kind
    assert received.path is not None
    kind = sniff(received.path.read_bytes(), received.filename)
    store.keep(received.path, received.sha256)
    return kind


async def _enqueue(db: AsyncSession, document_id: UUID, project_id: UUID) -> None:
    await enqueue(
        db,
        INGEST_JOB,
        document_id,
        payload={"project_id": str(project_id)},
        timeout_s=INGEST_TIMEOUT_S,
        max_attempts=INGEST_ATTEMPTS,
    )


async def _remove_unreferenced(app: Litestar, store: FileStore, sha256: str) -> None:
    """After a delete has committed: remove the file unless another document took it since."""
    async with session(runtime_of(app).alchemy) as db:
        if not await sha256_in_use(db, sha256):
            await asyncio.to_thread(store.remove, sha256)


class DocumentController(Controller):
    """Uploaded documents of projects."""

    path = "/api/v1"
    tags = ["documents"]
    dependencies = DEPENDENCIES

    @post(
        "/documents",
        opt=USER,
        operation_id="upload_document",
        request_max_body_size=None,
        status_code=202,
    )
    async def upload_document(
        self,
        request: Request[User, Any, Any],
        documents: NamedDependency[DocumentService],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[DocumentSchema]:
        """Upload a PDF, DOCX or Markdown file (multipart ``file`` and ``project_id``).

        202 with the new document, queued for processing; 200 with the existing document when
        the project already has these exact bytes (a failed or cancelled one is queued again,
        202). The type is judged by content (415 otherwise); over the size limit, 413. The
        route reads the body itself, enforcing the limit while reading.
        """
        limit = runtime_of(request.app).settings.documents.max_upload_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit + HEADROOM_BYTES:
            raise too_large(limit)
        project: list[UUID] = []

        async def check_project(name: str, value: str) -> None:
            if name != "project_id":
                return
            try:
                project_id = UUID(value.strip())
            except ValueError:
                raise invalid("project_id is not a valid id") from None
            await require_role(db_session, request.user.id, project_id, "editor")
            project.append(project_id)

        store = _store(request)
        received = await receive_upload(
            request.headers.get("content-type"), request.stream(), store, limit, check_project
        )
        try:
            if not project:
                raise invalid("the form has no project_id field")
            try:
                kind = await asyncio.to_thread(_sniff_and_keep, store, received)
            except IngestError as exc:
                raise _refused(exc) from None
        finally:
            if received.path is not None:
                received.path.unlink(missing_ok=True)
        project_id = project[0]
        document = await documents.add_upload(
            project_id=project_id,
            uploaded_by=request.user.id,
            filename=(received.filename or "upload")[:255],
            kind=kind,
            size_bytes=received.size,
            sha256=received.sha256,
        )
        if document is not None:
            await _enqueue(db_session, document.id, project_id)
            audit.note(request, "document", document.id, project_id=project_id)
            return Response(document_out(document), status_code=202)
        existing = await documents.find_by_hash(project_id, received.sha256)
        if existing is None:  # deleted between the two statements
            raise conflict("the same file was being changed; upload it again")
        status = 200
        if existing.status in ("failed", "cancelled"):
            await documents.requeue(existing)
            await _enqueue(db_session, existing.id, project_id)
            status = 202
        audit.note(request, "document", existing.id, project_id=project_id, duplicate=True)
        return Response(document_out(existing), status_code=status)

    @get("/projects/{project_id:uuid}/documents", opt=VIEWER, operation_id="list_project_documents")
    async def list_documents(
        self, project_id: FromPath[UUID], documents: NamedDependency[DocumentService]
    ) -> list[DocumentSchema]:
        """A project's documents, newest first."""
        return [document_out(d) for d in await documents.list_for_project(project_id)]

    @get("/documents/{document_id:uuid}", opt={**VIEWER, **ON_PROJECT}, operation_id="get_document")
    async def get_document(
        self, document_id: FromPath[UUID], documents: NamedDependency[DocumentService]
    ) -> DocumentSchema:
        """One document with its processing status and progress."""
        return document_out(await documents.get(document_id))

    @get(
        "/documents/{document_id:uuid}/chunks",
        opt={**VIEWER, **ON_PROJECT},
        operation_id="list_document_chunks",
    )
    async def list_chunks(
        self,
        document_id: FromPath[UUID],
        documents: NamedDependency[DocumentService],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[DocumentChunk]:
        """A page of the document's chunks in reading order."""
        return [
            chunk_out(c) for c in await documents.chunks(document_id, limit=limit, offset=offset)
        ]

    @delete(
        "/documents/{document_id:uuid}",
        opt={**EDITOR, **ON_PROJECT},
        operation_id="delete_document",
        status_code=204,
    )
    async def delete_document(
        self,
        request: Request[User, Any, Any],
        document_id: FromPath[UUID],
        documents: NamedDependency[DocumentService],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[None]:
        """Delete a document with its chunks and vectors; its file goes once nothing uses it."""
        document = await documents.get(document_id)
        await cancel(db_session, INGEST_JOB, document_id)
        unreferenced = await documents.remove(document)
        audit.note(request, "document", document_id, project_id=document.project_id)
        background = None
        if unreferenced:
            background = BackgroundTask(
                _remove_unreferenced, request.app, _store(request), document.sha256
            )
        return Response(None, status_code=204, background=background)

    @post(
        "/documents/{document_id:uuid}/cancel",
        opt={**EDITOR, **ON_PROJECT},
        operation_id="cancel_document",
        status_code=200,
    )
    async def cancel_document(
        self,
        request: Request[User, Any, Any],
        document_id: FromPath[UUID],
        documents: NamedDependency[DocumentService],
        db_session: NamedDependency[AsyncSession],
    ) -> DocumentSchema:
        """Stop processing a document; it ends ``cancelled`` without chunks (409 when done)."""
        document = await documents.get(document_id)
        if document.status not in ACTIVE:
            raise conflict(f"the document is already {document.status}")
        document = await documents.cancel(document)
        await cancel(db_session, INGEST_JOB, document_id)
        await db_session.commit()
        schema = document_out(document)
        await emit(
            runtime_of(request.app).publisher,
            [project_channel(document.project_id)],
            DocumentUpdated(DocumentData(schema)),
        )
        return schema


class SearchController(Controller):
    """Search over a project's documents."""

    path = "/api/v1/search"
    tags = ["documents"]

    @post("/", opt={**USER, "audit": False}, operation_id="search", status_code=200)
    async def search(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[SearchRequest],
        db_session: NamedDependency[AsyncSession],
        config_store: NamedDependency[ConfigStore],
    ) -> SearchResults:
        """Keyword, vector or hybrid (default) search over the project's completed documents.

        Only chunks of projects the caller belongs to are ever returned; a project the caller
        is not a member of answers 404.
        """
        await require_role(db_session, request.user.id, data.project_id)
        embedder = None if data.mode == "keyword" else _embedder(config_store)
        with usage_scope(purpose="search", user_id=request.user.id, project_id=data.project_id):
            hits = await search(
                db_session,
                user_id=request.user.id,
                project_id=data.project_id,
                query=data.query,
                k=data.k,
                mode=data.mode,
                embedder=embedder,
            )
        return SearchResults(
            query=data.query,
            mode=data.mode,
            hits=[
                SearchHit(
                    chunk_id=h.chunk_id,
                    document_id=h.document_id,
                    filename=h.filename,
                    text=h.text,
                    heading_path=h.heading_path,
                    page=h.page,
                    page_end=h.page_end,
                    score=h.score,
                    keyword_rank=h.keyword_rank,
                    vector_rank=h.vector_rank,
                )
                for h in hits
            ],
        )
